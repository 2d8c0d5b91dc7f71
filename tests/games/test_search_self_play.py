"""``SearchSelfPlay-v1``: SQuAD answer matching, the support check, every reward path (supported
and unsupported questions, exact and partial answers, the band), the judge, malformed tool calls,
hidden information, corpora from files, the reference agents, registry, replay and the CLI. The
corpus is the real SQLite FTS5 one."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import spenv
from spenv.agents import make_agent
from spenv.agents.base import FixedAgent
from spenv.episode import read_episodes
from spenv.games.search_self_play import (
    SearchAgent,
    SearchSelfPlayEnv,
    exact_match,
    f1_score,
    load_corpus,
    normalize_answer,
    supports,
)

ENV_ID = "SearchSelfPlay-v1"
N_DOCS = 200


def make(**kw: Any) -> SearchSelfPlayEnv:
    kw.setdefault("n_docs", N_DOCS)
    return SearchSelfPlayEnv(**kw)


@pytest.fixture(scope="module")
def place() -> dict[str, str]:
    """A town of the small default corpus: its id, name, population and founding year."""
    corpus = load_corpus(None, n_docs=N_DOCS)
    doc = next(d for d in corpus if d.doc_id.startswith("place/"))
    pop = re.search(r"The population of \w+ is (\d+)", doc.text).group(1)
    year = re.search(r"\b(\d{3,4})\b", doc.text).group(1)
    return {"id": doc.doc_id, "name": doc.title, "pop": pop, "year": year, "text": doc.text}


def ask(env: SearchSelfPlayEnv, place: dict[str, str], answer: str | None = None) -> None:
    """The proposer searches the town, opens its page and asks for its population."""
    env.reset(seed=0)
    env.step(f"<search>{place['name']}</search>")
    env.step(f"<open>{place['id']}</open>")
    env.step(
        f"<question>What is the population of {place['name']}?</question>"
        f"<answer>{answer or place['pop']}</answer>"
    )


def by_check(ep: spenv.Episode, check: str) -> list[dict[str, Any]]:
    return [v for v in ep.verdicts if v["check"] == check]


# ------------------------------------------------------------------------------ matching
def test_squad_normalisation_and_scores() -> None:
    assert normalize_answer("The  Nile-River!") == "nile river"
    assert normalize_answer("an Apple, a day") == "apple day"
    assert exact_match("the Nile", "Nile.") == 1.0 and exact_match("Nile", "Amazon") == 0.0
    assert f1_score("Worndukar Glernara", "Glernara") == pytest.approx(2 / 3)
    assert f1_score("a", "the") == 1.0  # both empty after normalisation
    assert f1_score("x", "") == 0.0 and f1_score("red blue", "green") == 0.0
    assert supports("It was founded in 1248 by Worn.", "1248")
    assert not supports("It was founded in 12480.", "1248")  # whole words only
    assert supports("Banks of the Vellethmorik river.", "vellethmorik RIVER")
    assert not supports("anything", "the")  # empty after normalisation


# ------------------------------------------------------------------------------ reward paths
def test_supported_question_exact_partial_and_wrong_answers(place: dict[str, str]) -> None:
    env = make(solver_attempts=3)
    ask(env, place)
    assert env.agent_selection == "solver"
    for answer in (place["pop"], f"{place['pop']} people", "nobody knows"):
        env.step(f"<answer>{answer}</answer>")
    ep = env.episode()
    (support,) = by_check(ep, "support")
    assert support["status"] == "ok" and support["doc_id"] == place["id"]
    matches = by_check(ep, "answer_match")
    assert [m["em"] for m in matches] == [1.0, 0.0, 0.0]
    assert [m["score"] for m in matches] == pytest.approx([1.0, 2 / 3, 0.0])
    assert ep.rewards["solver"] == pytest.approx((1 + 2 / 3) / 3)
    assert ep.info["success_rate"] == pytest.approx(1 / 3) and ep.info["in_band"]
    assert ep.rewards["proposer"] == 1.0
    assert ep.outcomes == {"proposer": "win", "solver": "loss"}
    spenv.replay(ep)


@pytest.mark.parametrize(
    ("answers", "proposer", "solver_outcome"),
    [((True, True, True), 0.0, "win"), ((False, False, False), 0.0, "loss"),
     ((True, True, False), 1.0, "win")],
)  # fmt: skip
def test_band(
    place: dict[str, str], answers: tuple[bool, ...], proposer: float, solver_outcome: str
) -> None:
    env = make(solver_attempts=3, solver_reward="em")
    ask(env, place)
    for right in answers:
        env.step(f"<answer>{place['pop'] if right else 'seven'}</answer>")
    ep = env.episode()
    assert ep.rewards["proposer"] == proposer
    assert ep.rewards["solver"] == pytest.approx(sum(answers) / 3)
    assert ep.outcomes["solver"] == solver_outcome
    env = make(solver_attempts=2, band=(0.5, 0.5))
    ask(env, place)
    env.step(f"<answer>{place['pop']}</answer>")
    env.step("<answer>no idea</answer>")
    ep = env.episode()
    assert ep.rewards["proposer"] == 1.0 and ep.outcomes["solver"] == "draw"


@pytest.mark.parametrize(
    ("question", "answer", "reason"),
    [
        ("What is the population of {name}?", "123456789", "appears in no document"),
        ("What is the population of {name}, {pop}?", "{pop}", "contains its answer"),
        ("What is the population of {name}?", "the", "empty"),
        ("What is {name}?", "{text}", "longer than 8 words"),
        ("?", "{pop}", "question is empty"),
    ],
)
def test_unsupported_questions_are_rejected(
    place: dict[str, str], question: str, answer: str, reason: str
) -> None:
    env = make()
    env.reset(seed=0)
    env.step(f"<open>{place['id']}</open>")
    env.step(
        f"<question>{question.format(**place)}</question><answer>{answer.format(**place)}</answer>"
    )
    ep = env.episode()
    assert ep.status == "completed"
    assert ep.rewards == {"proposer": -1.0, "solver": 0.0}
    assert ep.outcomes == {"proposer": "loss", "solver": "draw"}
    (support,) = by_check(ep, "support")
    assert support["status"] == "wrong" and reason in support["detail"]
    assert reason in ep.info["reason"] and not ep.info["supported"]


def test_support_needs_what_the_proposer_was_shown(place: dict[str, str]) -> None:
    # the right fact, but the proposer never retrieved the page: rejected
    env = make()
    env.reset(seed=0)
    env.step("<search>zzzz qqqq</search>")
    question = f"What is the population of {place['name']}?"
    env.step(f"<question>{question}</question><answer>{place['pop']}</answer>")
    assert env.episode().info["supported"] is False
    # a search result's snippet counts (the proposer was shown it)
    env.reset(seed=0)
    env.step(f"<search>{place['name']}</search>")
    hit = env.infos["proposer"]["observation"].state["log"][0]["hits"][0]
    assert hit["doc_id"] == place["id"]
    number = re.search(r"\b\d+\b", hit["snippet"]).group(0)
    env.step(
        f"<question>Which number is given for {place['name']}?</question><answer>{number}</answer>"
    )
    assert env.episode().info["supported"] is True
    # search and open in the asking turn run first, so their text counts
    env.reset(seed=0)
    env.step("<search>zzzz</search>")
    env.step(
        f"<open>{place['id']}</open><question>Population of {place['name']}?</question>"
        f"<answer>{place['pop']}</answer>"
    )
    assert env.episode().info["supported"] is True


class _EchoJudge:
    """A scripted judge: rates 9 when the reference text states the answer, else 1."""

    name = "echo-judge"

    def act(self, obs: Any) -> str:
        ok = supports(obs.state.get("reference", ""), obs.state["answer"])
        return f"Rating: [[{9 if ok else 1}]]"


def test_judge_confirms_or_rejects(place: dict[str, str]) -> None:
    env = make(judge=_EchoJudge())
    ask(env, place)
    ep = env.episode()
    (judged,) = by_check(ep, "answerable")
    assert judged["verifier"] == "judge" and judged["rating"] == 9 and judged["status"] == "ok"
    assert env.agent_selection == "solver" and ep.info["supported"]
    env = make(judge=FixedAgent("Rating: [[2]]"))
    ask(env, place)
    ep = env.episode()
    assert ep.info["supported"] is False and "judge did not confirm" in ep.info["reason"]
    assert by_check(ep, "answerable")[0]["score"] == pytest.approx(0.2)
    env = make(judge=FixedAgent("I cannot say."))
    ask(env, place)
    ep = env.episode()
    assert ep.info["supported"] is False
    assert by_check(ep, "answerable")[0]["status"] == "format_error"


# ------------------------------------------------------------------------------ moves
def test_malformed_turns(place: dict[str, str]) -> None:
    env = make(max_calls=2, retries=1)
    env.reset(seed=0)
    env.step("I will think about it.")  # no tool call: invalid, asked again
    obs = env.infos["proposer"]["observation"]
    assert "no usable tool call" in obs.user and "1 attempt left" in obs.user
    # too many calls, an unknown document, a lone question: reported, the game goes on
    env.step("<search>a</search><open>no/such-doc</open><search>b</search><question>Q?</question>")
    log = env.infos["proposer"]["observation"].state["log"]
    assert log[1]["error"] == "no document 'no/such-doc'"
    notes = [e["text"] for e in log if e["tool"] == "note"]
    assert any("at most 2" in n for n in notes)
    assert env.agent_selection == "proposer" and not env.terminations["proposer"]
    text = env.infos["proposer"]["observation"].text
    assert "error: no document" in text and "note:" in text


def test_last_turn_must_finish_and_forfeits() -> None:
    env = make(max_steps=2)
    env.reset(seed=0)
    env.step("<search>river</search>")
    assert "last turn" in env.infos["proposer"]["observation"].user
    env.step("<search>town</search>")
    ep = env.episode()
    assert ep.outcomes == {"proposer": "invalid", "solver": "win"}
    assert ep.rewards == {"proposer": -1.0, "solver": 0.0}
    assert "must hold a <question>" in ep.turns[-1].error


def test_solver_last_turn_and_attempt_isolation(place: dict[str, str]) -> None:
    env = make(max_steps=3, solver_attempts=2)
    ask(env, place)
    env.step(f"<search>{place['name']}</search>")
    view = env.infos["solver"]["observation"]
    assert len(view.state["log"]) == 1
    env.step(f"<answer>{place['pop']}</answer>")
    # the second attempt starts with an empty log and no trace of the first
    view = env.infos["solver"]["observation"]
    assert view.state["log"] == [] and place["pop"] not in view.text
    env.step("<search>x</search>")
    env.step("<open>x</open>")
    assert "last turn" in env.infos["solver"]["observation"].user
    env.step("<search>y</search>")  # last turn without an answer: invalid, forfeit
    ep = env.episode()
    assert ep.outcomes["solver"] == "invalid" and ep.rewards["solver"] == -1.0
    assert "must hold an <answer>" in ep.turns[-1].error


def test_hidden_information(place: dict[str, str]) -> None:
    env = make()
    answer = place["pop"]
    ask(env, place)
    while not env.terminations["solver"]:
        view = env.infos["solver"]["observation"]
        assert answer not in view.text and answer not in json.dumps(dict(view.state))
        assert env.infos["proposer"]["observation"].legal_actions == ()
        env.step("<answer>unknown</answer>")
    final = env.infos["solver"]["observation"]
    assert answer in final.text  # revealed at the end


# ------------------------------------------------------------------------------ corpora
def test_corpus_from_jsonl_and_folder(tmp_path: Path) -> None:
    docs = [
        {"id": "a", "title": "Zorblat", "text": "Zorblat is a moon. Its diameter is 412 km."},
        {"id": "b", "title": "Quex", "text": "Quex is a planet orbited by Zorblat."},
    ]
    path = tmp_path / "c.jsonl"
    path.write_text("\n".join(json.dumps(d) for d in docs))
    env = SearchSelfPlayEnv(corpus=str(path), solver_attempts=1)
    env.reset(seed=0)
    env.step("<search>Zorblat diameter</search>")
    env.step("<question>What is the diameter of Zorblat in km?</question><answer>412</answer>")
    env.step("<search>Zorblat diameter</search>")
    env.step("<open>a</open>")
    env.step("<answer>412</answer>")
    ep = env.episode()
    assert ep.rewards["solver"] == 1.0 and ep.env_options["corpus"] == str(path)
    spenv.replay(ep)
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "moon.txt").write_text("The moon Zorblat has a diameter of 412 km.")
    ep = spenv.play(ENV_ID, ["reader", "reader"], seed=1, env_options={"corpus": str(folder)})
    assert ep.status == "completed"
    # a saved corpus database
    from spenv.verifiers.search import Corpus

    db = tmp_path / "c.db"
    with Corpus(db) as saved:
        saved.add(docs)
    env = SearchSelfPlayEnv(corpus=str(db), solver_attempts=1)
    env.reset(seed=0)
    env.step("<open>b</open>")
    env.step("<question>Which planet does Zorblat orbit?</question><answer>Quex</answer>")
    assert env.episode().info["supported"] is True
    (tmp_path / "junk.db").write_bytes(b"not a database at all" * 10)
    with pytest.raises(ValueError, match="not a readable corpus"):
        SearchSelfPlayEnv(corpus=str(tmp_path / "junk.db"))
    with pytest.raises(ValueError, match="does not exist"):
        SearchSelfPlayEnv(corpus=str(tmp_path / "missing.jsonl"))
    for bad in ({"band": (0.9, 0.1)}, {"solver_attempts": 0}, {"solver_reward": "x"}):
        with pytest.raises(ValueError):
            make(**bad)


# ------------------------------------------------------------------------------ agents
def test_reader_agents_play_and_score_in_every_way() -> None:
    eps = spenv.run_games(ENV_ID, ["reader", "reader"], games=24, seed=0)
    assert all(ep.status == "completed" and ep.info["supported"] for ep in eps)
    rates = {ep.info["success_rate"] for ep in eps}
    assert 1.0 in rates and any(0 < r < 1 for r in rates)  # easy and banded questions
    assert {ep.rewards["proposer"] for ep in eps} == {0.0, 1.0}
    for ep in eps[:3]:
        spenv.replay(ep)
    cloze = spenv.play(ENV_ID, ["reader:style=cloze", "reader:noise=0"], seed=2)
    assert "fill in the blank" in cloze.info["question"] and cloze.info["success_rate"] == 1.0


def test_random_agents_and_factory() -> None:
    agent = make_agent("random", ENV_ID, seed=0)
    assert isinstance(agent, SearchAgent) and agent.strategy == "random"
    eps = spenv.run_games(ENV_ID, ["random", "reader"], games=6, seed=0)
    assert all(ep.status == "completed" for ep in eps)
    with pytest.raises(ValueError):
        SearchAgent("oracle")


def test_api_test_through_the_registry() -> None:
    import warnings

    from pettingzoo.test import api_test

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        api_test(spenv.make(ENV_ID, n_docs=N_DOCS), num_cycles=20)


def test_cli_play_writes_verdicts(tmp_path: Path) -> None:
    from spenv.cli import main

    out = tmp_path / "ssp.jsonl"
    assert (
        main(["play", ENV_ID, "--games", "4", "--out", str(out), "-q", "-o", f"n_docs={N_DOCS}"])
        == 0
    )
    episodes = list(read_episodes(out))
    assert len(episodes) == 4
    for ep in episodes:
        assert by_check(ep, "support") and len(by_check(ep, "answer_match")) == 3
        spenv.replay(ep)
