"""``KuhnPoker-v1``: the text env against OpenSpiel's ``kuhn_poker``, its parser and invalid-move
policy, matches of several hands, episodes and replay, ``policy_of`` and the reference agents.

OpenSpiel deals player 0's card, then player 1's (chance actions J=0, Q=1, K=2); action 0 is
pass (check / fold) and 1 is bet (bet / call); ``returns()`` are the chips won.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyspiel
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spenv
from spenv.agents import BaseAgent, FixedAgent, RandomAgent
from spenv.episode import Episode
from spenv.games.kuhn_poker import (
    NashAgent,
    exploitability,
    policy_of,
    reference_agent,
    theory,
)

ENV_ID = "KuhnPoker-v1"
SEATS = ("player_0", "player_1")
CARDS = ("J", "Q", "K")
CARD_ACTION = {"J": 0, "Q": 1, "K": 2}
DEALS = [(a, b) for a in CARDS for b in CARDS if a != b]
MOVES = ("check", "bet", "call", "fold")
SHOWDOWN = ("pp", "pbb", "bb")
GAME = pyspiel.load_game("kuhn_poker")


def make(**kwargs: Any):
    return spenv.make(ENV_ID, **kwargs)


def at(history: str, deal: Sequence[str] = ("Q", "K"), **kwargs: Any):
    """A fresh env whose first hand has reached ``history`` (``p``/``b`` letters)."""
    env = make(**kwargs)
    env.reset(seed=0, options={"deal": list(deal)})
    for ch in history:
        env.step(env.infos[env.agent_selection]["legal_actions"][ch == "b"])
    return env


def card_letters(text: str) -> set[str]:
    return set(re.findall(r"\b[JQK]\b", text))


def assert_private(env, deal: Sequence[str], *, revealed: bool) -> None:
    """Each agent's view holds its own card and, unless ``revealed``, not the other's."""
    for i, agent in enumerate(SEATS):
        if agent not in env.infos:
            continue
        view = env.infos[agent]["observation"]
        own, other = deal[i], deal[1 - i]
        assert view.state["card"] == own
        assert f"Your card: {own}." in view.user
        if revealed:
            assert view.state["opponent_card"] == other
            assert card_letters(view.user) == {own, other}
        else:
            assert "opponent_card" not in view.state
            assert card_letters(view.user) == {own}
            for value in view.state.values():
                if isinstance(value, str):
                    assert other not in value, (agent, dict(view.state))
        assert env.observe(agent) == view.text


# --------------------------------------------------------------------------------------------
# Exhaustive comparison with OpenSpiel
# --------------------------------------------------------------------------------------------


def _terminal_paths() -> list[tuple[tuple[str, str], tuple[int, ...]]]:
    paths = []
    for deal in DEALS:
        stack: list[tuple[int, ...]] = [()]
        while stack:
            moves = stack.pop()
            state = _osp_state(deal, moves)
            if state.is_terminal():
                paths.append((deal, moves))
            else:
                stack.extend((*moves, a) for a in state.legal_actions())
    return sorted(paths)


def _osp_state(deal: Sequence[str], moves: Sequence[int]):
    state = GAME.new_initial_state()
    state.apply_action(CARD_ACTION[deal[0]])
    state.apply_action(CARD_ACTION[deal[1]])
    for a in moves:
        state.apply_action(a)
    return state


PATHS = _terminal_paths()


def test_all_terminal_histories_are_covered() -> None:
    assert len(PATHS) == 6 * 5
    histories = {"".join("pb"[a] for a in moves) for _, moves in PATHS}
    assert histories == {"pp", "pbp", "pbb", "bp", "bb"}


def _as_text(action: int, facing_bet: bool) -> str:
    """A free-text answer for an OpenSpiel action, exercising the parser."""
    if action == 0:
        return "Hmm, not this time. \\boxed{pass}"
    return "I'll put chips in: [ CALL ]" if facing_bet else "[Bet]"


@pytest.mark.parametrize("mode", ["exact", "text"])
@pytest.mark.parametrize(("deal", "moves"), PATHS, ids=lambda v: "".join(map(str, v)))
def test_matches_openspiel(
    deal: tuple[str, str], moves: tuple[int, ...], mode: str, finish
) -> None:
    env = make()
    env.reset(seed=123, options={"deal": list(deal)})
    state = _osp_state(deal, ())
    for a in moves:
        assert not env.done
        player = state.current_player()
        agent = SEATS[player]
        assert env.agent_selection == agent
        view = env.infos[agent]["observation"]
        # legal moves: (pass-like, bet-like) in OpenSpiel's action order
        assert state.legal_actions() == [0, 1]
        facing_bet = "b" in view.state["history"]
        assert view.legal_actions == (("[fold]", "[call]") if facing_bet else ("[check]", "[bet]"))
        assert [state.action_to_string(player, x) for x in (0, 1)] == ["Pass", "Bet"]
        # the information state is the same: card + public history
        osp_info = state.information_state_string(player)
        assert view.state["infoset"] == CARDS[int(osp_info[0])] + osp_info[1:]
        assert_private(env, deal, revealed=False)
        env.step(view.legal_actions[a] if mode == "exact" else _as_text(a, facing_bet))
        assert env.episode().turns[-1].valid
        state.apply_action(a)
    assert state.is_terminal() and env.done
    history = "".join("pb"[a] for a in moves)
    assert_private(env, deal, revealed=history in SHOWDOWN)
    expected = dict(zip(SEATS, state.returns(), strict=True))
    assert env.total_rewards() == expected
    episode = env.episode()
    assert episode.rewards == expected
    assert episode.info["histories"] == [history]
    assert episode.info["deals"] == [list(deal)]
    outcomes = {s: "win" if r > 0 else "loss" for s, r in expected.items()}
    assert episode.outcomes == outcomes
    assert finish(env) == expected


def test_random_deals_are_uniform_and_seeded() -> None:
    env = make()
    counts: dict[tuple[str, str], int] = {}
    first_by_seed = []
    for seed in range(3000):
        env.reset(seed=seed)
        deal = (env.infos["player_0"]["observation"].state["card"],
                env.infos["player_1"]["observation"].state["card"])  # fmt: skip
        counts[deal] = counts.get(deal, 0) + 1
        if seed < 20:
            first_by_seed.append(deal)
    assert set(counts) == set(DEALS)
    # each deal has p = 1/6: 3000 draws give 500 +- 20.4; allow 5 sigma
    assert all(abs(c - 500) < 5 * math.sqrt(3000 * (1 / 6) * (5 / 6)) for c in counts.values())
    again = []
    for seed in range(20):
        env.reset(seed=seed)
        again.append(tuple(env.infos[s]["observation"].state["card"] for s in SEATS))
    assert again == first_by_seed


# --------------------------------------------------------------------------------------------
# The parser
# --------------------------------------------------------------------------------------------

VALID_ANSWERS = [
    ("", "[bet]", "bet"),
    ("", "[Bet]", "bet"),
    ("", "[ BET ]", "bet"),
    ("", "[check]", "check"),
    ("", "\\boxed{bet}", "bet"),
    ("", "\\boxed{\\text{check}}", "check"),
    ("", "\\boxed{ \\textbf{ Bet } }", "bet"),
    ("", "I think [check] ... actually [bet]", "bet"),
    ("", "[bet]? No. Final answer: \\boxed{check}", "check"),
    ("", "pass it is: [pass]", "check"),
    ("", "\\boxed{PASS}", "check"),
    ("p", "[bet]", "bet"),
    ("p", "[ check ]", "check"),
    ("b", "\\boxed{call}", "call"),
    ("b", "[pass]", "fold"),
    ("b", "Let me think.\n\n[Fold]", "fold"),
    ("pb", "[CALL]", "call"),
    ("pb", "[pass]", "fold"),
]


@pytest.mark.parametrize(("history", "answer", "move"), VALID_ANSWERS)
def test_parser_accepts(history: str, answer: str, move: str) -> None:
    env = at(history)
    agent = env.agent_selection
    env.step(answer)
    turn = env.episode().turns[-1]
    assert (turn.agent, turn.action, turn.move, turn.valid, turn.error) == (
        agent,
        answer,
        move,
        True,
        None,
    )
    letter = "b" if move in ("bet", "call") else "p"
    assert env.episode().info["histories"][-1] == history + letter


INVALID_ANSWERS = [
    ("", "[call]", "not legal"),
    ("", "[fold]", "not legal"),
    ("", "[check] then [call]", "not legal"),  # the last move counts, even when illegal
    ("b", "[check]", "not legal"),
    ("b", "[bet]", "not legal"),
    ("pb", "\\boxed{bet}", "not legal"),
    ("", "I bet", "no move found"),
    ("", "[raise]", "no move found"),
    ("", "[bet", "no move found"),
    ("", "\\boxed{}", "no move found"),
    ("", "[chec\u212a]", "no move found"),  # Kelvin sign: only ASCII case folding
    ("", "[\uff42et]", "no move found"),  # fullwidth b
    ("", "", "no move found"),
    ("", "   \n\t ", "no move found"),
    ("p", "[call]", "not legal"),
]


@pytest.mark.parametrize(("history", "answer", "error"), INVALID_ANSWERS)
def test_parser_rejects(history: str, answer: str, error: str) -> None:
    env = at(history)
    agent = env.agent_selection
    env.step(answer)
    turn = env.episode().turns[-1]
    assert (turn.agent, turn.action, turn.move, turn.valid) == (agent, answer, None, False)
    assert error in turn.error
    # the error names the moves that are legal there
    legal = ("[fold]", "[call]") if "b" in history else ("[check]", "[bet]")
    assert all(m in turn.error for m in legal)
    assert env.outcomes[agent] == "invalid"


@pytest.mark.parametrize("action", [None, 5, 3.5, b"[bet]", ["[bet]"], {"move": "bet"}])
def test_non_string_actions_are_invalid_moves(action: Any) -> None:
    env = at("")
    env.step(action)
    turn = env.episode().turns[-1]
    assert not turn.valid and turn.move is None
    assert "must be a string" in turn.error
    assert type(action).__name__ in turn.error
    assert env.outcomes == {"player_0": "invalid", "player_1": "win"}


# --------------------------------------------------------------------------------------------
# The invalid-move policy
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("history", ["", "p", "b", "pb"])
def test_forfeit_with_no_retries(history: str, finish) -> None:
    deal = ("K", "J")  # the offender may hold the best card: the hand still counts as folded
    env = at(history, deal)
    offender = env.agent_selection
    other = SEATS[1 - SEATS.index(offender)]
    env.step("I do not know")
    assert env.done
    assert env.outcomes == {offender: "invalid", other: "win"}
    expected = {offender: -1.0, other: 1.0}  # nobody to act has bet yet: folding loses the ante
    assert env.total_rewards() == expected
    assert env.episode().rewards == expected
    assert env.episode().status == "completed"
    assert_private(env, deal, revealed=False)  # no showdown after a forfeit
    assert finish(env) == expected


def test_retries_reask_with_feedback_then_forfeit() -> None:
    env = make(retries=2)
    env.reset(seed=0, options={"deal": ["J", "Q"]})
    agent = env.agent_selection
    waiting_view = env.infos["player_1"]["observation"]
    prompts = [env.infos[agent]["observation"]]
    for attempt in range(2):
        env.step(f"no idea {attempt}")
        assert not env.done
        assert env.agent_selection == agent
        view = env.infos[agent]["observation"]
        assert env.last()[0] == view.text
        assert view.legal_actions == ("[check]", "[bet]")
        assert view.user != prompts[-1].user
        assert "not a valid move" in view.user
        assert "no move found" in view.user
        assert f"{2 - attempt} attempt" in view.user
        assert env.infos["player_1"]["observation"] == waiting_view
        prompts.append(view)
    env.step("still no idea")
    assert env.done
    assert env.outcomes == {"player_0": "invalid", "player_1": "win"}
    assert env.total_rewards() == {"player_0": -1.0, "player_1": 1.0}
    turns = env.episode().turns
    assert [(t.agent, t.valid) for t in turns] == [("player_0", False)] * 3
    assert [t.action for t in turns] == ["no idea 0", "no idea 1", "still no idea"]
    assert all("no move found" in t.error for t in turns)
    # each attempt recorded the prompt the agent actually saw
    assert [t.observation["user"] for t in turns] == [p.user for p in prompts]


def test_retry_then_valid_move_continues_the_game() -> None:
    env = make(retries=1)
    env.reset(seed=0, options={"deal": ["K", "Q"]})
    env.step("[call]")
    assert "not legal" in env.infos["player_0"]["observation"].user
    env.step("[bet]")
    view = env.infos["player_1"]["observation"]
    assert "not a valid move" not in view.user
    env.step("[call]")
    assert env.outcomes == {"player_0": "win", "player_1": "loss"}
    assert env.total_rewards() == {"player_0": 2.0, "player_1": -2.0}
    assert [t.valid for t in env.episode().turns] == [False, True, True]
    assert "not a valid move" not in env.infos["player_0"]["observation"].user


def test_retries_count_per_game() -> None:
    env = make(retries=1)
    env.reset(seed=0, options={"deal": ["K", "Q"]})
    env.step("??")  # player_0's one allowed invalid answer
    env.step("[check]")
    env.step("[bet]")
    env.step("??")  # the second invalid answer of the game forfeits
    assert env.outcomes == {"player_0": "invalid", "player_1": "win"}
    assert env.total_rewards() == {"player_0": -1.0, "player_1": 1.0}


@pytest.mark.parametrize("retries", [1, 2])
def test_prompt_states_the_retry_policy(retries: int) -> None:
    env = make(retries=retries)
    env.reset(seed=0)
    system = env.infos[env.agent_selection]["observation"].system
    m = re.search(r"after (\d+) invalid answers? you forfeit", system)
    assert m is not None, system
    n = int(m.group(1))
    for _ in range(n - 1):
        env.step("??")
    assert not env.done
    env.step("??")
    assert env.done, f"the prompt says {n} invalid answers forfeit; the game goes on"


def test_action_longer_than_the_action_space_is_invalid() -> None:
    env = make()
    env.reset(seed=0)
    limit = env.action_space("player_0").max_length
    action = " " * limit + "[check]"
    assert not env.action_space("player_0").contains(action)
    env.step(action)
    assert not env.episode().turns[-1].valid


# --------------------------------------------------------------------------------------------
# Property: any text is a legal move or a recorded invalid move, never an exception
# --------------------------------------------------------------------------------------------

TOKENS = [
    "[bet]", "[check]", "[call]", "[fold]", "[pass]", "[ BET ]", "\\boxed{call}",
    "\\boxed{\\text{fold}}", "\\boxed{", "\\text{", "[", "]", "{", "}", "\\", "bet", "check",
    "K", "\u212a", "\u017f", "\x00", "\n", " ", "\ud7ff", "\U0001f0cf",
]  # fmt: skip
ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

answers = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=8)), max_size=40).map("".join),
    st.builds(
        lambda unit, n, tail: (unit * n)[:100_000] + tail,
        st.text(min_size=1, max_size=40),
        st.one_of(st.integers(1, 1_000), st.just(100_000)),  # up to 100 KB of text
        st.sampled_from(["", *TOKENS]),
    ),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=st.sampled_from(["", "p", "b", "pb"]), answer=answers, retries=st.integers(0, 1))
def test_any_text_is_a_move_or_a_recorded_invalid_move(
    history: str, answer: str, retries: int
) -> None:
    env = at(history, retries=retries)
    agent = env.agent_selection
    env.step(answer)
    turns = env.episode().turns
    assert len(turns) == len(history) + 1
    turn = turns[-1]
    assert (turn.agent, turn.action) == (agent, answer)
    folded = answer.translate(ASCII_LOWER)
    if turn.valid:
        assert turn.move in MOVES and turn.error is None
        facing_bet = "b" in history
        assert (turn.move in ("call", "fold")) == facing_bet
        assert turn.move in folded or "pass" in folded
    else:
        assert turn.move is None
        assert isinstance(turn.error, str) and turn.error
        if retries == 0:
            assert env.outcomes[agent] == "invalid"
        else:
            assert not env.done and env.agent_selection == agent
    if not any(m in folded for m in (*MOVES, "pass")):
        assert not turn.valid


# --------------------------------------------------------------------------------------------
# Matches of several hands
# --------------------------------------------------------------------------------------------


def osp_hand_returns(first_card: str, second_card: str, history: str) -> tuple[float, float]:
    """OpenSpiel's returns (first player, second player) of one hand."""
    state = _osp_state((first_card, second_card), [0 if ch == "p" else 1 for ch in history])
    assert state.is_terminal()
    r = state.returns()
    return r[0], r[1]


MATCHES = [
    ([("K", "J"), ("Q", "K"), ("J", "Q")], ["bb", "pp", "bp"]),
    ([("J", "Q"), ("J", "K"), ("K", "Q")], ["pbb", "bp", "pp"]),
    ([("Q", "J"), ("Q", "J"), ("K", "J")], ["pp", "pbp", "bb"]),
    ([("Q", "K"), ("K", "Q"), ("J", "K")], ["pp", "pp", "bb"]),  # -1, -1, +2: a draw
]


@pytest.mark.parametrize(("deals", "histories"), MATCHES)
def test_match_of_three_hands(deals: list[tuple[str, str]], histories: list[str], finish) -> None:
    env = make(hands=3)
    env.reset(seed=7, options={"deal": [list(d) for d in deals]})
    expected = [0.0, 0.0]
    seen = dict.fromkeys(SEATS, 0.0)  # rewards summed over last(), the AEC way
    for hand, (deal, history) in enumerate(zip(deals, histories, strict=True)):
        first = hand % 2
        for depth, ch in enumerate(history):
            agent = env.agent_selection
            assert agent == SEATS[(first + depth) % 2], f"hand {hand + 1}, move {depth}"
            _, reward, termination, _, info = env.last()
            assert not termination
            seen[agent] += reward
            view = info["observation"]
            assert view.state["hand"] == hand + 1 and view.state["hands"] == 3
            assert view.state["first_player"] == SEATS[first]
            assert view.state["chips"] == expected[SEATS.index(agent)]
            assert view.state["card"] == deal[SEATS.index(agent)]
            assert view.state["history"] == history[:depth]
            assert card_letters(view.user) == {view.state["card"]}
            assert f"Hand {hand + 1} of 3" in view.user
            env.step(info["legal_actions"][ch == "b"])
        r_first, r_second = osp_hand_returns(deal[first], deal[1 - first], history)
        expected[first] += r_first
        expected[1 - first] += r_second
    assert env.done
    totals = dict(zip(SEATS, expected, strict=True))
    assert env.total_rewards() == totals
    if expected[0] == expected[1]:
        assert env.outcomes == {"player_0": "draw", "player_1": "draw"}
    else:
        winner = SEATS[int(expected[1] > expected[0])]
        assert env.outcomes[winner] == "win" and "loss" in env.outcomes.values()
    info = env.episode().info
    assert info["deals"] == [list(d) for d in deals]
    assert info["histories"] == histories
    assert info["chips"] == totals
    for agent, reward in finish(env).items():
        seen[agent] += reward
    assert seen == totals


def test_waiting_view_is_current_at_each_hand() -> None:
    env = make(hands=3)
    deals = [["K", "J"], ["Q", "K"], ["J", "Q"]]
    env.reset(seed=7, options={"deal": deals})
    env.step("[bet]")
    env.step("[call]")  # player_1 ends hand 1 and opens hand 2
    assert env.agent_selection == "player_1"
    view = env.infos["player_0"]["observation"]
    assert env.observe("player_0") == view.text
    assert view.state["hand"] == 2
    assert view.state["card"] == "Q"
    assert view.state["chips"] == 2
    assert view.state["history"] == ""


def test_match_hands_after_the_fixed_ones_are_drawn() -> None:
    env = make(hands=4)
    env.reset(seed=3, options={"deal": [["J", "K"]]})
    while not env.done:
        env.step(env.infos[env.agent_selection]["legal_actions"][0])
    deals = env.episode().info["deals"]
    assert len(deals) == 4 and deals[0] == ["J", "K"]
    assert all(tuple(d) in DEALS for d in deals)


def test_match_forfeit_ends_the_match() -> None:
    env = make(hands=3)
    env.reset(seed=0, options={"deal": [["K", "J"], ["K", "J"]]})
    env.step("[bet]")
    env.step("[call]")  # hand 1: player_0 +2
    assert env.agent_selection == "player_1"
    env.step("[bet]")
    env.step("gibberish")  # player_0 forfeits hand 2 facing a bet: -1
    assert env.done
    assert env.outcomes == {"player_0": "invalid", "player_1": "win"}
    # hand 3 is never played: quitting costs the most a hand can cost, 2 chips
    assert env.total_rewards() == {"player_0": -1.0, "player_1": 1.0}
    assert env.episode().info["chips"] == {"player_0": -1, "player_1": 1}
    assert env.episode().info["histories"] == ["bb", "b"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"deal": ["K", "K"]}, "same card"),
        ({"deal": ["A", "K"]}, "unknown card 'A'"),
        ({"deal": ["K"]}, "two cards"),
        ({"deal": ["K", "J", "Q"]}, "two cards"),
        ({"deal": [["K", "J"], ["Q", "Q"]]}, "same card"),
        ({"deal": [["K", "J"], ["Q", "J"], ["J", "Q"]]}, "match has 2"),
        ({"deal": []}, "two cards"),
        ({"deal": "KK"}, "same card"),
        ({"deal": [["K", "J"], ["Q", "X"]]}, "unknown card 'X'"),
    ],
)
def test_bad_deal_raises(options: dict[str, Any], message: str) -> None:
    env = make(hands=2)
    with pytest.raises(ValueError, match=message):
        env.reset(seed=0, options=options)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"hands": 0}, "hands must be a positive integer"),
        ({"hands": -2}, "hands must be a positive integer"),
        ({"hands": 1.5}, "hands must be a positive integer"),
        ({"hands": True}, "hands must be a positive integer"),
        ({"retries": -1}, "retries must be a non-negative integer"),
        ({"retries": 0.5}, "retries must be a non-negative integer"),
        ({"render_mode": "rgb_array"}, "render_mode"),
    ],
)
def test_bad_constructor_options_raise(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make(**kwargs)


def test_bad_seed_raises() -> None:
    env = make()
    for seed in (-1, 1.5, "7"):
        with pytest.raises(ValueError, match="seed"):
            env.reset(seed=seed)  # type: ignore[arg-type]


def test_bad_reset_loses_no_state() -> None:
    env = make()
    env.reset(seed=1)
    env.step("[bet]")
    env.step("[call]")
    before = env.episode().replay_key()
    with pytest.raises(ValueError):
        env.reset(seed=2, options={"deal": ["A", "K"]})
    assert env.episode().replay_key() == before
    assert env.done


# --------------------------------------------------------------------------------------------
# Episodes and replay
# --------------------------------------------------------------------------------------------


class SloppyAgent(BaseAgent):
    """Mostly legal moves in free text; sometimes garbage, an illegal move, a non-string, or
    an exception (which the rollout engine records as ``agent failed``)."""

    name = "sloppy"

    def act(self, obs):
        u = self.rng.random()
        legal = obs.legal_actions
        if u < 0.1:
            return "let me think about it"
        if u < 0.15:
            return "[call]" if legal[0] == "[check]" else "[check]"
        if u < 0.2:
            raise RuntimeError("model server hiccup")
        word = legal[int(self.rng.integers(2))].strip("[]")
        return f"My reasoning... \\boxed{{{word}}}"


def _assert_round_trip(ep: Episode) -> None:
    back = Episode.from_json(ep.to_json())
    assert back.replay_key() == ep.replay_key()
    assert back.to_dict() == json.loads(ep.to_json())
    assert back.id == ep.id and back.players == ep.players


def test_play_episodes_round_trip_and_replay() -> None:
    agents = [("nash", "random"), ("aggressive", "passive"), ("honest", "nash:alpha=0.2")]
    for seed in range(30):
        pair = agents[seed % len(agents)]
        ep = spenv.play(ENV_ID, list(pair), seed=seed)
        assert ep.status == "completed"
        assert ep.seed == seed
        assert ep.players == dict(zip(SEATS, pair, strict=True))
        _assert_round_trip(ep)
        replayed = spenv.replay(ep)
        assert replayed.replay_key() == ep.replay_key()
        assert spenv.replay(Episode.from_json(ep.to_json())).replay_key() == ep.replay_key()


def test_run_games_with_invalid_moves_replay() -> None:
    for env_options in ({}, {"retries": 1}, {"hands": 3, "retries": 2}):
        episodes = spenv.run_games(
            ENV_ID, [SloppyAgent(seed=1), "random"], games=40, seed=11, env_options=env_options
        )
        assert len(episodes) == 40
        invalid = [t for ep in episodes for t in ep.turns if not t.valid]
        assert any(t.error.startswith("agent failed") for t in invalid)
        assert any(t.action is not None for t in invalid)
        for ep in episodes:
            assert ep.env_options == env_options
            _assert_round_trip(ep)
            spenv.replay(Episode.from_json(ep.to_json()))


def test_continued_rng_episodes_replay() -> None:
    env = make(retries=1)
    agent = SloppyAgent(seed=5)
    rng = np.random.default_rng(0)
    episodes = []
    env.reset(seed=99)
    for game in range(25):
        if game:
            env.reset()  # no seed: the generator continues its stream
        while not env.done:
            try:
                action = agent.act(env.infos[env.agent_selection]["observation"])
            except RuntimeError:
                action = str(rng.integers(10))
            env.step(action)
        episodes.append(env.episode())
    assert {ep.seed for ep in episodes} == {99}
    assert episodes[0].rng_state is None
    assert all(ep.rng_state is not None for ep in episodes[1:])
    assert len({json.dumps(ep.info["deals"]) + str(ep.rng_state) for ep in episodes}) == 25
    for ep in episodes:
        _assert_round_trip(ep)
        spenv.replay(ep)
        spenv.replay(Episode.from_json(ep.to_json()))


def test_unseeded_first_reset_is_recorded_and_replays() -> None:
    env = make()
    env.reset()
    seed = env.episode().seed
    assert isinstance(seed, int) and seed >= 0
    while not env.done:
        env.step(env.infos[env.agent_selection]["legal_actions"][1])
    spenv.replay(env.episode())


def test_run_games_unseeded_replay() -> None:
    episodes = spenv.run_games(ENV_ID, ["nash", "random"], games=12, seed=None, batch_size=3)
    assert len(episodes) == 12
    for ep in episodes:
        spenv.replay(ep)


def test_same_seed_same_actions_same_episode() -> None:
    actions = ["[check]", "nonsense", "[bet]", "[call]"]
    eps = []
    for _ in range(2):
        env = make(retries=1)
        env.reset(seed=2024)
        for a in actions:
            env.step(a)
        eps.append(env.episode())
    assert eps[0].replay_key() == eps[1].replay_key()
    assert eps[0].id != eps[1].id
    a = spenv.run_games(ENV_ID, ["nash", "random"], games=20, seed=3)
    b = spenv.run_games(ENV_ID, ["nash", "random"], games=20, seed=3)
    assert [e.replay_key() for e in a] == [e.replay_key() for e in b]
    c = spenv.run_games(ENV_ID, ["nash", "random"], games=20, seed=4)
    assert [e.replay_key() for e in a] != [e.replay_key() for e in c]


def _tampered(ep: Episode, change) -> Episode:
    copy = Episode.from_json(ep.to_json())
    change(copy)
    return copy


def test_tampered_episode_is_caught() -> None:
    ep = spenv.play(ENV_ID, ["nash", "random"], seed=5)
    spenv.replay(ep)

    def swap_first_action(e: Episode) -> None:
        t = e.turns[0]
        legal = t.observation["legal_actions"]
        t.action = legal[1] if t.action == legal[0] else legal[0]

    def bump_reward(e: Episode) -> None:
        e.rewards["player_0"] += 1.0

    def flip_outcome(e: Episode) -> None:
        e.outcomes = {a: ("loss" if o == "win" else "win") for a, o in e.outcomes.items()}

    def other_seed(e: Episode) -> None:
        e.seed = (e.seed or 0) + 1

    def edit_prompt(e: Episode) -> None:
        e.turns[0].observation["user"] += " Psst: the other card is K."

    def drop_turn(e: Episode) -> None:
        e.turns.pop()

    for change in (swap_first_action, bump_reward, flip_outcome, edit_prompt, drop_turn):
        with pytest.raises(spenv.ReplayMismatch):
            spenv.replay(_tampered(ep, change))
    # a different seed replays to a different deal in most cases; find one that does
    differs = 0
    for seed in range(5):
        e = spenv.play(ENV_ID, ["passive", "passive"], seed=seed)
        try:
            spenv.replay(_tampered(e, other_seed))
        except spenv.ReplayMismatch:
            differs += 1
    assert differs > 0


@pytest.mark.parametrize("action", [7, b"[check]"])
def test_replay_of_non_string_actions(action: Any) -> None:
    env = make(retries=1)
    env.reset(seed=0)
    env.step(action)
    env.step("[bet]")
    env.step("[fold]")
    spenv.replay(env.episode())


def test_round_trip_with_tuple_options() -> None:
    env = make()
    env.reset(seed=1, options={"deal": ("K", "J")})
    env.step("[bet]")
    env.step("[call]")
    ep = env.episode()
    assert Episode.from_json(ep.to_json()).replay_key() == ep.replay_key()


# --------------------------------------------------------------------------------------------
# policy_of, exploitability and the reference agents
# --------------------------------------------------------------------------------------------

REFERENCE_TABLES = {
    "nash": theory.equilibrium_policy(0.0),
    "nash:alpha=0.2": theory.equilibrium_policy(0.2),
    "aggressive": dict.fromkeys(theory.INFOSETS, 1.0),
    # check, and always call a bet
    "passive": {k: float(k.endswith("b")) for k in theory.INFOSETS},
    # bet and call with K; call with Q facing a bet; otherwise check or fold
    "honest": {k: float(k[0] == "K" or (k[0] == "Q" and k.endswith("b"))) for k in theory.INFOSETS},
    "uniform": theory.uniform_policy(),
}


@pytest.mark.parametrize("spec", list(REFERENCE_TABLES))
def test_policy_of_reference_agents(spec: str) -> None:
    samples = 400
    agent = spenv.make_agent(spec, ENV_ID, seed=0)
    table = policy_of(agent, samples=samples)
    assert set(table) == set(theory.INFOSETS)
    assert table.samples == samples
    assert all(v == 0 for v in table.invalid.values())
    for key, p in REFERENCE_TABLES[spec].items():
        sigma = math.sqrt(p * (1 - p) / samples)
        assert abs(table[key] - p) <= 5 * sigma, (key, table[key], p)


def _exploitability_tolerance(table: dict[str, float], samples: int, z: float = 5.0) -> float:
    """z standard errors of ``exploitability`` of a sampled table (delta method, each entry
    binomial; slopes measured numerically, the steeper side; summed absolutely, which also
    covers the kink at an equilibrium)."""
    base = exploitability(table)
    total = 0.0
    for key, p in table.items():
        sigma = math.sqrt(p * (1 - p) / samples)
        if sigma == 0:
            continue
        slope = 0.0
        for q in (min(1.0, p + sigma), max(0.0, p - sigma)):
            if q != p:
                slope = max(slope, abs(exploitability({**table, key: q}) - base) / abs(q - p))
        total += slope * z * sigma
    return total


def test_exploitability_of_estimated_policies() -> None:
    samples = 2000
    nash = theory.equilibrium_policy(0.0)
    estimated = policy_of(NashAgent(seed=1), samples=samples)
    assert 0.0 <= exploitability(estimated) <= _exploitability_tolerance(nash, samples)
    uniform = theory.uniform_policy()
    assert exploitability(uniform) == pytest.approx(11 / 24)
    assert exploitability(uniform) == pytest.approx(0.458, abs=5e-4)
    estimated = policy_of(RandomAgent(seed=2), samples=samples)
    tol = _exploitability_tolerance(uniform, samples)
    assert tol < 0.15  # the check means something
    assert exploitability(estimated) == pytest.approx(11 / 24, abs=tol)


class NoisyBatchAgent(BaseAgent):
    """Answers through act_batch only; a third of the answers are garbage or not strings."""

    name = "noisy"

    def act(self, obs):  # pragma: no cover - policy_of must use act_batch
        raise AssertionError("act_batch should have been used")

    def act_batch(self, observations):
        out = []
        for i, obs in enumerate(observations):
            out.append([obs.legal_actions[1], "hmm", None][i % 3])
        return out


def test_policy_of_counts_invalid_answers() -> None:
    garbage = policy_of(FixedAgent("I would rather not say"), samples=50)
    assert dict(garbage) == dict.fromkeys(theory.INFOSETS, 0.0)
    assert garbage.invalid == dict.fromkeys(theory.INFOSETS, 50)
    # "[bet]" is legal only where no bet is faced
    always_bet = policy_of(FixedAgent("[bet]"), samples=10)
    for key in theory.INFOSETS:
        facing = key.endswith("b")
        assert always_bet.invalid[key] == (10 if facing else 0)
        assert always_bet[key] == (0.0 if facing else 1.0)
    noisy = policy_of(NoisyBatchAgent(), samples=30)
    assert noisy.invalid == dict.fromkeys(theory.INFOSETS, 20)
    assert dict(noisy) == dict.fromkeys(theory.INFOSETS, 10 / 30)
    with pytest.raises(ValueError, match="samples"):
        policy_of(FixedAgent("[bet]"), samples=0)


def test_reference_agent_factory() -> None:
    assert isinstance(reference_agent("nash", seed=0), NashAgent)
    assert reference_agent("nash", alpha=0.2).alpha == 0.2
    assert isinstance(reference_agent("random"), RandomAgent)
    with pytest.raises(ValueError, match="no Kuhn poker agent"):
        reference_agent("bluffer")


def _nash_vs_uniform_exact() -> float:
    nash, uniform = theory.equilibrium_policy(0.0), theory.uniform_policy()
    return (theory.game_value(nash, uniform) - theory.game_value(uniform, nash)) / 2


def test_nash_against_random_over_both_seats() -> None:
    exact = _nash_vs_uniform_exact()
    # cross-check the exact value with OpenSpiel's policy evaluation
    from open_spiel.python import policy as osp_policy
    from open_spiel.python.algorithms import expected_game_score

    def tabular(table: dict[str, float]):
        pol = osp_policy.TabularPolicy(GAME)
        for info, index in pol.state_lookup.items():
            bet = table[CARDS[int(info[0])] + info[1:]]
            pol.action_probability_array[index] = [1 - bet, bet]
        return pol

    nash, uniform = tabular(theory.equilibrium_policy(0.0)), tabular(theory.uniform_policy())
    as_first = expected_game_score.policy_value(GAME.new_initial_state(), [nash, uniform])[0]
    as_second = expected_game_score.policy_value(GAME.new_initial_state(), [uniform, nash])[1]
    assert exact == pytest.approx((as_first + as_second) / 2, abs=1e-12)
    assert exact == pytest.approx(1 / 9, abs=1e-12)

    games = 20_000
    episodes = spenv.run_games(ENV_ID, ["nash", "random"], games=games, seed=0)
    assert len(episodes) == games
    chips = np.array(
        [ep.rewards[s] for ep in episodes for s, p in ep.players.items() if p == "nash"]
    )
    assert len(chips) == games
    # seats alternate on shared deals: average each pair, then the pairs are independent
    pairs = chips.reshape(-1, 2).mean(axis=1)
    stderr = pairs.std(ddof=1) / math.sqrt(len(pairs))
    assert 0.002 < stderr < 0.01
    assert abs(pairs.mean() - exact) < 5 * stderr


@pytest.mark.parametrize("env_options", [{}, {"hands": 3}, {"retries": 1}])
def test_fast_path_matches_the_general_path(env_options: dict) -> None:
    """Kuhn poker inlines reset/step for speed; the general TextEnv path must agree exactly."""
    answers = ["[check]", "[bet]", "[call]", "[fold]", "I [bet]", "\\boxed{pass}", "??", None]

    def play(fast: bool) -> list[dict]:
        env = spenv.make("KuhnPoker-v1", **env_options)
        env._fast_path = fast
        rng = np.random.default_rng(11)
        out = []
        env.reset(seed=3)
        for game in range(300):
            if game % 7 == 0:
                env.reset(seed=game)
            else:
                env.reset()
            while not env.done:
                info = env.infos[env.agent_selection]
                views = {a: env.infos[a]["observation"] for a in env.agents}
                assert views == {a: env._observe(a) for a in env.agents}
                if rng.random() < 0.8:
                    action = info["legal_actions"][int(rng.random() * 2)]
                else:
                    action = answers[int(rng.random() * len(answers))]
                env.step(action)
            ep = env.episode()
            assert spenv.replay(ep).replay_key() == ep.replay_key()
            out.append(ep.replay_key())
        return out

    assert play(True) == play(False)
