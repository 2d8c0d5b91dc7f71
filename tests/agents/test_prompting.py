"""Prompt styles, history modes, the context guard and move extraction."""

from __future__ import annotations

import pytest

import spenv
from spenv.agents.prompting import (
    OMITTED,
    Conversations,
    build_messages,
    check_style,
    clip_ids,
    extract_move,
    fit_messages,
    render_plain,
    system_prompt,
    system_text,
)
from spenv.observation import Observation


def first_obs(env_id: str, seed: int = 0) -> Observation:
    env = spenv.make(env_id)
    env.reset(seed=seed)
    return env.infos[env.agent_selection]["observation"]


def chars(messages: list[dict[str, str]]) -> int:
    return sum(len(m["content"]) for m in messages)


def test_personas_come_from_the_registry_entries() -> None:
    for env_id in ("KuhnPoker-v1", "TicTacToe-v1", "SimpleNegotiation-v1", "DealOrNoDeal-v1"):
        assert system_prompt(env_id) == spenv.registry.spec(env_id).persona != ""
    assert system_prompt("NoSuchGame-v1") is None
    spenv.register("Personaless-v1", "spenv.games.tictactoe:TicTacToeEnv", overwrite=True)
    try:
        assert system_prompt("Personaless-v1") is None
    finally:
        spenv.registry._REGISTRY.pop("Personaless-v1", None)


def test_styles_build_the_system_message() -> None:
    obs = first_obs("KuhnPoker-v1")
    assert system_text(obs, "plain") == obs.system
    system = system_text(obs, "system")
    assert system.startswith(system_prompt("KuhnPoker-v1")) and obs.system in system
    reasoning = system_text(obs, "reasoning")
    assert "<think>" in reasoning and "[check]" in reasoning and obs.system in reasoning
    free = system_text(first_obs("Taboo-v1"), "reasoning")
    assert "<think>" in free and "your message" in free
    # bare: the state only, no rules
    assert obs.system and system_text(obs, "bare") == ""
    assert build_messages(obs, "bare") == [{"role": "user", "content": obs.user}]
    assert "Your card:" in obs.user and "Rules" not in obs.user


def test_unknown_game_falls_back_to_its_own_system_text() -> None:
    obs = Observation(system="Rules of X.", user="Go.", role="p", env_id="Other-v9", turn=0)
    assert system_text(obs, "system") == "Rules of X."
    assert build_messages(obs) == [
        {"role": "system", "content": "Rules of X."},
        {"role": "user", "content": "Go."},
    ]
    bare = Observation(system="", user="Go.", role="p", env_id="Other-v9", turn=0)
    assert build_messages(bare, "plain") == [{"role": "user", "content": "Go."}]


def test_messages_history_alternates_roles() -> None:
    obs = first_obs("KuhnPoker-v1")
    msgs = build_messages(obs, "plain", past=[("u1", "a1"), ("u2", "a2")])
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert [m["content"] for m in msgs[1:5]] == ["u1", "a1", "u2", "a2"]
    assert msgs[-1]["content"] == obs.user


def test_check_style_names_the_choices() -> None:
    check_style("system", "messages")
    with pytest.raises(ValueError, match="plain"):
        check_style("nope", "transcript")
    with pytest.raises(ValueError, match="transcript"):
        check_style("plain", "nope")


def test_render_plain() -> None:
    text = render_plain([{"role": "system", "content": "S"}, {"role": "user", "content": "U"}])
    assert text == "System: S\n\nUser: U\n\nAssistant:"


def test_fit_messages_keeps_short_prompts_untouched() -> None:
    msgs = build_messages(first_obs("KuhnPoker-v1"), past=[("u", "a")])
    assert fit_messages(msgs, chars, 10**6) == (msgs, 0)


def test_fit_messages_drops_oldest_pairs_first() -> None:
    obs = Observation(system="S" * 10, user="now", role="p", env_id="X-v1", turn=5)
    past = [(f"user {i} " + "x" * 50, f"answer {i} " + "y" * 50) for i in range(6)]
    msgs = build_messages(obs, "plain", past)
    limit = chars(msgs) - 150  # room for all but about one and a half pairs
    fitted, dropped = fit_messages(msgs, chars, limit)
    assert chars(fitted) <= limit
    assert dropped == 4  # the two oldest pairs: the fewest that fit
    assert fitted[0] == msgs[0]
    assert fitted[1]["content"].startswith("user 2")
    assert fitted[-1]["content"].startswith(OMITTED.format(n=4, what="messages"))
    assert fitted[-1]["content"].endswith("now")
    roles = [m["role"] for m in fitted[1:]]
    assert roles == ["user", "assistant"] * 4 + ["user"]


def test_fit_messages_then_drops_oldest_lines_of_a_long_transcript() -> None:
    lines = ["You are player_0."] + [f"turn {i}: " + "z" * 40 for i in range(30)] + ["Your move?"]
    obs = Observation(system="S", user="\n".join(lines), role="p", env_id="X-v1", turn=30)
    msgs = build_messages(obs, "plain")
    fitted, dropped = fit_messages(msgs, chars, 600)
    assert dropped == 1 and chars(fitted) <= 600
    text = fitted[-1]["content"]
    assert text.startswith("You are player_0.\n[... ") and "lines omitted" in text
    assert text.endswith("turn 29: " + "z" * 40 + "\nYour move?")
    assert "turn 0:" not in text


def test_fit_messages_gives_up_gracefully_and_clip_keeps_newest_tokens() -> None:
    obs = Observation(system="S" * 1000, user="one line", role="p", env_id="X-v1", turn=0)
    msgs = build_messages(obs, "plain")
    fitted, _ = fit_messages(msgs, chars, 100)
    assert chars(fitted) > 100  # nothing left to drop: the caller clips tokens
    assert clip_ids(list(range(10)), 4) == [6, 7, 8, 9]
    assert clip_ids([1, 2], 4) == [1, 2]


@pytest.mark.parametrize(
    ("answer", "move"),
    [
        ("<think>I have K, so [check] is weak.</think>\n\\boxed{bet}", "[bet]"),
        ("<think>hmm</think> \\boxed{[Check]}", "[check]"),
        ("\\boxed{\\text{bet}}", "[bet]"),
        ("reasoning... final: [bet]", "reasoning... final: [bet]"),
        ("<think>never closed [bet]", "<think>never closed [bet]"),
        ("<think>a</think><think>b</think> [check]", "[check]"),
        ("\\boxed{raise}", "\\boxed{raise}"),  # not a legal move: left for the game's parser
    ],
)
def test_extract_move_for_finite_moves(answer: str, move: str) -> None:
    obs = first_obs("KuhnPoker-v1")  # legal: [check], [bet]
    assert extract_move(answer, obs) == move


def test_extract_move_keeps_free_text_boxes() -> None:
    taboo = first_obs("Taboo-v1")
    assert extract_move("<think>secret plan</think>Do you like \\boxed{apple}?", taboo) == (
        "Do you like \\boxed{apple}?"
    )
    assert extract_move("plain message", None) == "plain message"


@pytest.mark.parametrize(
    ("env_id", "answer"),
    [
        ("KuhnPoker-v1", "<think>Q is middling; checking is safe.</think> \\boxed{check}"),
        ("KuhnPoker-v1", "Let me think about this: a bet is risky.\nFinal move: [check]"),
        ("TicTacToe-v1", "<think>the centre is best</think>\n\\boxed{[5]}"),
        ("TicTacToe-v1", "The centre [1] or [5]? The centre. [5]"),
        (
            "SimpleNegotiation-v1",
            "<think>I prefer Gold.</think> \\boxed{[Offer: 3 Wood -> 2 Gold]}",
        ),
        (
            "DealOrNoDeal-v1",
            "<think>books are cheap</think> I propose this. [Propose] books=4 hats=0 balls=0",
        ),
    ],
)
def test_every_answer_form_is_a_valid_move(env_id: str, answer: str) -> None:
    """The reasoning format, after extraction, is accepted by each game's own parser."""
    env = spenv.make(env_id)
    env.reset(seed=0)
    obs = env.infos[env.agent_selection]["observation"]
    env.step(extract_move(answer, obs))
    turn = env.episode().turns[0]
    assert turn.valid, turn.error
    assert "<think>" not in (turn.action or "")


def test_conversations_track_games_and_reset() -> None:
    conv = Conversations(max_threads=2)
    obs0 = Observation(system="", user="u0", role="p", env_id="X-v1", turn=0)
    obs2 = Observation(system="", user="u2", role="p", env_id="X-v1", turn=2)
    assert conv.past("g1", obs0) == []
    conv.add("g1", obs0, "a0")
    assert conv.past("g1", obs2) == [("u0", "a0")]
    conv.add("g1", obs2, "a2")
    # A lower turn under the same key is a new game.
    assert conv.past("g1", obs0) == []
    conv.add("g1", obs0, "a0")
    conv.add("g2", obs0, "b0")
    conv.add("g3", obs0, "c0")  # evicts the least recently used: g1
    assert len(conv) == 2
    assert conv.past("g1", obs2) == [] and conv.past("g3", obs2) == [("u0", "c0")]
    conv.forget("g3")
    assert len(conv) == 1
    assert Conversations.default_key(obs0) == ("X-v1", "p")
