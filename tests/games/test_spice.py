"""``SPICE-v1``: the seeded document, multiple choice and free-form questions and their checks,
the doc check, the k independent reasoner attempts (``Observation.repeat``), the variance-shaped
challenger reward and per-attempt rewards, the reference agents and a tiny language model
through ``run_games``, registry, replay and PettingZoo's api_test."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spenv
from spenv.games.search_self_play import load_corpus
from spenv.games.spice import SpiceEnv, challenger_reward, parse_choices

ENV_ID = "SPICE-v1"
N_DOCS = 200


def make(**kw: Any) -> SpiceEnv:
    kw.setdefault("n_docs", N_DOCS)
    return SpiceEnv(**kw)


@pytest.fixture(scope="module")
def place() -> dict[str, str]:
    corpus = load_corpus(None, n_docs=N_DOCS)
    doc = next(d for d in corpus if d.doc_id.startswith("place/"))
    pop = re.search(r"The population of \w+ is (\d+)", doc.text).group(1)
    return {"id": doc.doc_id, "name": doc.title, "pop": pop}


def by_check(ep: spenv.Episode, check: str) -> list[dict[str, Any]]:
    return [v for v in ep.verdicts if v["check"] == check]


MCQ = (
    "<question>What is the population of {name}?</question>\n"
    "<choices>\nA. 17\nB. {pop}\nC. 23\nD. 99\n</choices>\n<answer>B</answer>"
)


def test_challenger_reward_is_largest_at_one_half() -> None:
    assert challenger_reward(0.5) == pytest.approx(1.0)
    assert challenger_reward(0.0) == challenger_reward(1.0) == pytest.approx(math.exp(-3.125))
    assert challenger_reward(0.25) == pytest.approx(math.exp(-(0.0625**2) / 0.02))
    rates = [i / 8 for i in range(9)]
    rewards = [challenger_reward(r) for r in rates]
    assert max(rewards) == rewards[4] and rewards[:5] == sorted(rewards[:5])
    assert parse_choices("A. x\nB) y\n(C) z\nD: w") == (["x", "y", "z", "w"], None)
    assert parse_choices("A. x\nB. x\nC. z\nD. w")[0] is None
    assert parse_choices("A. x\nC. y\nB. z\nD. w")[0] is None
    assert parse_choices("A. x\nB. y\nC. z")[0] is None


def test_the_seed_draws_the_document() -> None:
    env = make()
    docs = set()
    for seed in range(6):
        env.reset(seed=seed)
        docs.add(env.infos["challenger"]["observation"].state["document"]["doc_id"])
    assert len(docs) >= 5


def test_multiple_choice_doc_check_attempts_and_rewards(place: dict[str, str]) -> None:
    env = make(attempts=4)
    env.reset(seed=0, options={"doc_id": place["id"]})
    env.step(MCQ.format(**place))
    view = env.infos["reasoner"]["observation"]
    assert view.state["phase"] == "doc_check" and place["name"] in view.text
    env.step("<answer>B</answer>")
    first = env.infos["reasoner"]["observation"]
    # without the document: the question and its options only, asked 4 times in a row
    assert first.state["phase"] == "solve" and "document" not in first.state
    assert "Scholars" not in first.text and f"B. {place['pop']}" in first.text
    repeats = []
    for answer in ("<answer>B</answer>", "(B) it is", "<answer>A</answer>", "\\boxed{C}"):
        view = env.infos["reasoner"]["observation"]
        assert view.text == first.text
        repeats.append(view.repeat)
        env.step(answer)
    assert repeats == [4, 3, 2, 1]
    ep = env.episode()
    assert [v["check"] for v in ep.verdicts] == ["format", "doc_check"] + ["answer_match"] * 4
    assert ep.info["reasoner_correct"] == [1.0, 1.0, 0.0, 0.0]
    assert ep.rewards["challenger"] == pytest.approx(1.0)
    assert ep.rewards["reasoner"] == pytest.approx(0.5)
    assert [t.reward for t in ep.turns] == [None, 1.0, 1.0, 1.0, 0.0, 0.0]
    assert ep.outcomes == {"challenger": "win", "reasoner": "draw"}
    spenv.replay(ep)


def test_free_form_always_right_pays_the_challenger_little(place: dict[str, str]) -> None:
    env = make(attempts=2, doc_check=False)
    env.reset(seed=0, options={"doc_id": place["id"]})
    question = f"What is the population of {place['name']}?"
    env.step(f"<question>{question}</question><answer>{place['pop']}</answer>")
    env.step(f"<answer>{place['pop']}</answer>")
    env.step(f"{int(place['pop']):,}")  # no tag: the text itself; numbers compare by value
    ep = env.episode()
    assert ep.info["kind"] == "free_form" and ep.rewards["reasoner"] == 1.0
    assert ep.rewards["challenger"] == pytest.approx(math.exp(-3.125))
    assert ep.outcomes == {"challenger": "loss", "reasoner": "win"}


@pytest.mark.parametrize(
    ("turn", "reason"),
    [
        ("no tags", "must hold a <question> and an <answer>"),
        ("<question>Q?</question><answer>123456789</answer>", "not stated in the document"),
        ("<question>Is {pop} the population of {name}?</question><answer>{pop}</answer>",
         "contains its answer"),
        ("<question>Q?</question><choices>A. 1\nB. 2</choices><answer>A</answer>",
         "exactly four options"),
        ("<question>Q {name}?</question><choices>A. 17\nB. {pop}\nC. 23\nD. 99</choices>"
         "<answer>E</answer>", "label A to D"),
        ("<question>Q {name}?</question><choices>A. 17\nB. {pop}\nC. 23\nD. 99</choices>"
         "<answer>A</answer>", "not stated in the document"),
        ("<question>Q?</question><answer>the</answer>", "not stated in the document"),
    ],
)  # fmt: skip
def test_invalid_questions_are_penalised(place: dict[str, str], turn: str, reason: str) -> None:
    env = make()
    env.reset(seed=0, options={"doc_id": place["id"]})
    env.step(turn.format(**place))
    ep = env.episode()
    assert ep.rewards == {"challenger": -0.1, "reasoner": 0.0}
    assert ep.outcomes == {"challenger": "loss", "reasoner": "draw"}
    (fmt,) = by_check(ep, "format")
    assert fmt["status"] == "wrong" and reason in fmt["detail"]


def test_failed_doc_check_rejects(place: dict[str, str]) -> None:
    env = make(invalid_question_reward=-0.5)
    env.reset(seed=0, options={"doc_id": place["id"]})
    env.step(MCQ.format(**place))
    env.step("<answer>A</answer>")
    ep = env.episode()
    assert ep.rewards == {"challenger": -0.5, "reasoner": 0.0}
    assert by_check(ep, "doc_check")[0]["status"] == "wrong" and ep.turns[-1].reward == 0.0
    with pytest.raises(ValueError):
        env.reset(seed=0, options={"doc_id": "no/such"})
    for bad in ({"attempts": 0}, {"reward_sigma": 0}, {"doc_check": "yes"}):
        with pytest.raises(ValueError):
            make(**bad)


def test_reference_agents_play() -> None:
    opts = {"n_docs": N_DOCS}
    eps = spenv.run_games(
        ENV_ID, ["reader:mcq=1", "reader"], games=16, seed=0, env_options=opts, swap_seats=False
    )
    valid = [ep for ep in eps if ep.info["valid"]]
    assert len(valid) >= 12
    for ep in valid:
        assert ep.info["kind"] == "multiple_choice" and len(by_check(ep, "answer_match")) == 8
        rate = ep.info["success_rate"]
        assert ep.rewards["challenger"] == pytest.approx(challenger_reward(rate))
    # the reasoner guesses without the document: about a quarter right
    mean = sum(ep.info["success_rate"] for ep in valid) / len(valid)
    assert 0.1 < mean < 0.45
    spenv.replay(eps[0])
    eps = spenv.run_games(ENV_ID, ["random", "random"], games=4, seed=0, env_options=opts)
    assert all(ep.status == "completed" for ep in eps)


def test_a_tiny_language_model_plays_both_seats(tmp_path: Path) -> None:
    pytest.importorskip("transformers", reason="the tiny model needs the train extra")
    from spenv.agents.hf import HFAgent
    from spenv.agents.testing import tiny_model

    model = HFAgent(tiny_model(tmp_path / "tiny"), max_new_tokens=8, seed=0)
    opts = {"n_docs": N_DOCS, "attempts": 3, "doc_check": False}
    eps = spenv.run_games(ENV_ID, [model, "reader:mcq=1"], games=2, seed=0, env_options=opts)
    eps += spenv.run_games(ENV_ID, ["reader:mcq=1", model], games=2, seed=0, env_options=opts)
    for ep in eps:
        assert ep.status == "completed" and by_check(ep, "format")
        reasoner_turns = [t for t in ep.turns if t.agent == "reasoner"]
        assert len(by_check(ep, "answer_match")) == len(reasoner_turns)
        assert all(t.reward in (0.0, 1.0) for t in reasoner_turns)
    assert any(ep.info["valid"] for ep in eps)


def test_api_test_through_the_registry() -> None:
    import warnings

    from pettingzoo.test import api_test

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        api_test(spenv.make(ENV_ID, n_docs=N_DOCS), num_cycles=20)


@pytest.mark.parametrize(
    ("env_id", "options", "suffix"),
    [
        (ENV_ID, {"attempts": 3}, ""),
        ("SearchSelfPlay-v1", {"solver_attempts": 2, "max_steps": 2}, "<question>Who?</question>"),
    ],
)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(st.text(max_size=300), min_size=1, max_size=12))
def test_arbitrary_text_never_breaks_the_game(
    env_id: str, options: dict[str, Any], suffix: str, texts: list[str]
) -> None:
    """Any text, in either grounded game (every third move with a question appended, so SSP
    games reach the checks): the game ends, rewards are per-decision verdicts."""
    env = spenv.make(env_id, n_docs=N_DOCS, **options)
    env.reset(seed=0)
    for i in range(60):
        if not env.agents:
            break
        if env.terminations[env.agent_selection]:
            env.step(None)
            continue
        env.step(texts[i % len(texts)] + (suffix if i % 3 == 2 else ""))
    ep = env.episode()
    assert ep.status == "completed"
    assert ep.info.get("ended_by") in ("forfeit", "rejected", "answers")
    assert all(t.reward in (None, 0.0, 1.0) for t in ep.turns)


def test_cli_play_writes_verdicts(tmp_path: Path) -> None:
    from spenv.apps.cli import main
    from spenv.episode import read_episodes

    out = tmp_path / "spice.jsonl"
    args = ["play", ENV_ID, "--games", "4", "--out", str(out), "-q", "-o", f"n_docs={N_DOCS}"]
    assert main(args) == 0
    episodes = list(read_episodes(out))
    assert len(episodes) == 4
    for ep in episodes:
        assert by_check(ep, "format")
        if ep.info["valid"]:
            assert len(by_check(ep, "answer_match")) == 8
            assert [t.reward for t in ep.turns if t.agent == "reasoner"][1:] == ep.info[
                "reasoner_correct"
            ]
        spenv.replay(ep)


def test_a_checker_answers_the_doc_check_and_replays(place: dict[str, str]) -> None:
    from spenv.games.spice import SpiceAgent

    seen: list[Any] = []

    class Checker(SpiceAgent):
        def act(self, obs: Any) -> str:
            seen.append(obs)
            return super().act(obs)

    env = make(attempts=2, checker=Checker("reader", seed=0))
    env.reset(seed=0, options={"doc_id": place["id"]})
    env.step(MCQ.format(**place))
    (obs,) = seen
    assert obs.role == "checker" and obs.state["phase"] == "doc_check" and place["name"] in obs.text
    assert env.infos["reasoner"]["observation"].state["phase"] == "solve"
    env.step("<answer>B</answer>")
    env.step("<answer>A</answer>")
    ep = env.episode()
    assert ep.env_options["checker"] == "agent:reader"
    assert ep.info["checker_answers"] == ["<answer>B</answer>"]
    assert ep.reset_options["checker_answers"] == ["<answer>B</answer>"]
    (doc,) = by_check(ep, "doc_check")
    assert doc["answered_by"] == "checker" and doc["status"] == "ok"
    assert [t.agent for t in ep.turns] == ["challenger", "reasoner", "reasoner"]
    assert [t.reward for t in ep.turns] == [None, 1.0, 0.0]
    assert ep.rewards["challenger"] == pytest.approx(1.0)
    seen.clear()
    spenv.replay(ep)
    assert seen == []

    # a wrong checker answer rejects the question; the reasoner is never asked
    class Wrong:
        name = "wrong"

        def act(self, obs: Any) -> str:
            return "<answer>A</answer>"

    env = make(checker=Wrong())
    env.reset(seed=0, options={"doc_id": place["id"]})
    env.step(MCQ.format(**place))
    ep = env.episode()
    assert ep.rewards == {"challenger": -0.1, "reasoner": 0.0} and len(ep.turns) == 1
    assert by_check(ep, "doc_check")[0]["status"] == "wrong"
    for bad in ("reader", 3):
        with pytest.raises(ValueError):
            make(checker=bad)
