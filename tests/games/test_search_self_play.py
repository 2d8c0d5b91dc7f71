"""``SearchSelfPlay-v1`` (SSP): SQuAD answer matching, seeded targets, the format, rag and
closed-book checks, every reward path (per-decision rewards included), the rounds of independent
attempts (``Observation.repeat``), malformed tool calls, hidden information, corpora from every
kind of file, the reference agents and a tiny language model through ``run_games``, registry,
replay and the CLI. The corpus is the real SQLite FTS5 one."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import spenv
from spenv.agents import make_agent
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


def ask(env: SearchSelfPlayEnv, place: dict[str, str], rag: str | None = None) -> None:
    """With the town's population as the target, the proposer searches the town, opens its
    page and asks for its population; the rag check answers ``rag`` (default: right)."""
    env.reset(seed=0, options={"target": {"answer": place["pop"], "doc_id": place["id"]}})
    env.step(f"<search>{place['name']}</search>")
    env.step(f"<open>{place['id']}</open>")
    env.step(f"<question>What is the population of {place['name']}?</question>")
    assert env.agent_selection == "solver"
    assert env.infos["solver"]["observation"].state["phase"] == "rag"
    env.step(f"<answer>{rag or place['pop']}</answer>")


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


# ------------------------------------------------------------------------------ targets
def test_the_seed_draws_the_target_and_the_proposer_sees_it() -> None:
    env = make()
    targets = set()
    for seed in range(6):
        env.reset(seed=seed)
        view = env.infos["proposer"]["observation"]
        target = view.state["target"]
        assert f"Target answer: {target}" in view.text and target
        targets.add(target)
        env.reset(seed=seed)
        assert env.infos["proposer"]["observation"].state["target"] == target
    assert len(targets) >= 5  # the seed changes the task
    with pytest.raises(ValueError, match="target"):
        env.reset(seed=0, options={"target": "  the "})


# ------------------------------------------------------------------------------ reward paths
def test_valid_question_rewards_per_attempt_and_per_decision(place: dict[str, str]) -> None:
    env = make(solver_attempts=3)
    ask(env, place)
    first = env.infos["solver"]["observation"]
    assert first.state["phase"] == "solve" and first.repeat == 3
    # round 1: the same prompt three times; attempts 0 and 1 answer, attempt 2 searches
    env.step(f"<answer>{place['pop']}</answer>")
    assert env.infos["solver"]["observation"].text == first.text
    assert env.infos["solver"]["observation"].repeat == 2
    env.step(f"<answer>{place['pop']} people</answer>")
    assert env.infos["solver"]["observation"].repeat == 1
    env.step(f"<search>{place['name']}</search>")
    # round 2: only attempt 2 is left, and it sees its own search
    view = env.infos["solver"]["observation"]
    assert len(view.state["log"]) == 1 and view.repeat == 1
    env.step("<answer>nobody knows</answer>")
    ep = env.episode()
    assert [v["check"] for v in ep.verdicts] == [
        "format", "rag", "answer_match", "answer_match", "answer_match"
    ]  # fmt: skip
    matches = by_check(ep, "answer_match")
    assert [m["score"] for m in matches] == [1.0, 0.0, 0.0]
    assert [m["f1"] for m in matches] == pytest.approx([1.0, 2 / 3, 0.0])
    assert ep.info["success_rate"] == pytest.approx(1 / 3)
    assert ep.rewards["proposer"] == pytest.approx(2 / 3)
    assert ep.rewards["solver"] == pytest.approx(1 / 3)
    assert ep.outcomes == {"proposer": "win", "solver": "loss"}
    solver_turns = [t for t in ep.turns if t.agent == "solver"]
    # the rag answer, then attempts 0, 1, 2 (search), 2 (answer)
    assert [t.reward for t in solver_turns] == [1.0, 1.0, 0.0, 0.0, 0.0]
    assert all(t.reward is None for t in ep.turns if t.agent == "proposer")
    spenv.replay(ep)
    env = make(solver_attempts=2, solver_reward="f1")
    ask(env, place)
    env.step(f"<answer>{place['pop']} people</answer>")
    env.step(f"<answer>{place['pop']}</answer>")
    ep = env.episode()
    assert ep.rewards["solver"] == pytest.approx((2 / 3 + 1) / 2)
    assert ep.rewards["proposer"] == pytest.approx(0.5) and ep.outcomes["solver"] == "draw"


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        ("What is the population of {name}, {pop}?", "contains its answer"),
        ("?", "question is empty"),
        ("x" * 501, "longer than 500"),
    ],
)
def test_format_check_rejects(place: dict[str, str], question: str, reason: str) -> None:
    env = make()
    env.reset(seed=0, options={"target": place["pop"]})
    env.step(f"<open>{place['id']}</open>")
    env.step(f"<question>{question.format(**place)}</question>")
    ep = env.episode()
    assert ep.status == "completed"
    assert ep.rewards == {"proposer": -1.0, "solver": 0.0}
    assert ep.outcomes == {"proposer": "loss", "solver": "draw"}
    (fmt,) = by_check(ep, "format")
    assert fmt["status"] == "wrong" and reason in fmt["detail"]
    assert reason in ep.info["reason"] and not ep.info["valid"]


def test_rag_check_needs_what_the_proposer_collected(place: dict[str, str]) -> None:
    # nothing collected: rejected before any solver decision
    env = make()
    env.reset(seed=0, options={"target": place["pop"]})
    env.step(f"<question>What is the population of {place['name']}?</question>")
    assert "collected no document" in env.episode().info["reason"]
    # the rag prompt holds exactly the collected documents (opened text, else snippets)
    env = make()
    env.reset(seed=0, options={"target": place["pop"]})
    env.step("<search>zzzz qqqq river</search>")
    env.step(f"<question>What is the population of {place['name']}?</question>")
    view = env.infos["solver"]["observation"]
    assert view.state["phase"] == "rag" and place["id"] not in view.text
    env.step(f"<answer>{place['pop']}</answer>")  # a guess from outside the documents passes
    # a wrong rag answer rejects the question; the rag decision is rewarded by its own verdict
    ask(env, place, rag="no idea")
    ep = env.episode()
    assert ep.rewards == {"proposer": -1.0, "solver": 0.0}
    (rag,) = by_check(ep, "rag")
    assert rag["status"] == "wrong" and rag["answer"] == "no idea"
    assert "could not answer it from the collected documents" in ep.info["reason"]
    assert ep.turns[-1].agent == "solver" and ep.turns[-1].reward == 0.0
    # a turn without an answer at the rag check is an unanswered check, not a forfeit
    env.reset(seed=0, options={"target": place["pop"]})
    env.step(f"<open>{place['id']}</open><question>Population of {place['name']}?</question>")
    env.step("I do not know.")
    ep = env.episode()
    assert ep.outcomes["solver"] == "draw" and by_check(ep, "rag")[0]["detail"] == "no answer given"


def test_closed_book_check(place: dict[str, str]) -> None:
    env = make(closed_book_check=True, solver_attempts=1)
    ask(env, place)
    view = env.infos["solver"]["observation"]
    assert view.state["phase"] == "closed" and place["id"] not in view.text
    assert "Documents" not in view.text
    env.step(f"<answer>{place['pop']}</answer>")  # answerable without the documents
    ep = env.episode()
    assert "without the documents" in ep.info["reason"] and ep.rewards["proposer"] == -1.0
    assert by_check(ep, "closed_book")[0]["status"] == "wrong"
    assert ep.turns[-1].reward == 1.0  # the answer itself was right
    ask(env, place)
    env.step("<answer>unknown</answer>")
    env.step(f"<answer>{place['pop']}</answer>")
    ep = env.episode()
    assert by_check(ep, "closed_book")[0]["status"] == "ok" and ep.rewards["solver"] == 1.0
    assert ep.env_options["closed_book_check"] is True
    spenv.replay(ep)


# ------------------------------------------------------------------------------ moves
def test_malformed_turns(place: dict[str, str]) -> None:
    env = make(max_calls=2, retries=1)
    env.reset(seed=0)
    env.step("I will think about it.")  # no tool call: invalid, asked again
    obs = env.infos["proposer"]["observation"]
    assert "no usable tool call" in obs.user and "1 attempt left" in obs.user
    # too many calls, an unknown document: reported, the game goes on
    env.step("<search>a</search><open>no/such-doc</open><search>b</search>")
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


def test_solver_last_turn_ends_the_attempt_unanswered(place: dict[str, str]) -> None:
    env = make(max_steps=3, solver_attempts=2)
    ask(env, place)
    env.step("<search>x</search>")  # attempt 0 searches
    env.step("no tags at all")  # attempt 1: no usable call ends it unanswered
    env.step("<search>z</search>")  # attempt 0, turn 2
    assert "last turn" in env.infos["solver"]["observation"].user  # attempt 0, turn 3
    env.step("<search>y</search>")  # last turn without an answer: unanswered, no forfeit
    ep = env.episode()
    assert ep.status == "completed" and ep.info["solver_answers"] == [None, None]
    assert [m["detail"] for m in by_check(ep, "answer_match")] == ["no answer given"] * 2
    assert ep.rewards == {"proposer": 1.0, "solver": 0.0}


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
DOCS = [
    {"id": "a", "title": "Zorblat", "text": "Zorblat is a moon. Its diameter is 412 km."},
    {"id": "b", "title": "Quex", "text": "Quex is a planet orbited by Zorblat."},
]


def _play_zorblat(corpus: str) -> spenv.Episode:
    env = SearchSelfPlayEnv(corpus=corpus, solver_attempts=1)
    env.reset(seed=0, options={"target": "412"})
    env.step("<search>Zorblat diameter</search>")
    env.step("<question>What is the diameter of Zorblat in km?</question>")
    env.step("<answer>412</answer>")
    env.step("<open>a</open>")
    env.step("<answer>412</answer>")
    return env.episode()


def test_corpora_of_every_kind_load_through_one_option(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text("\n".join(json.dumps(d) for d in DOCS))
    ep = _play_zorblat(str(path))
    assert ep.rewards["solver"] == 1.0 and ep.env_options["corpus"] == str(path)
    spenv.replay(ep)
    # a drawn target on a file corpus: a number or a name of a drawn document
    env = SearchSelfPlayEnv(corpus=str(path))
    env.reset(seed=3)
    assert env.episode().info["target"] in {"412", "Zorblat", "Its", "Quex"} - {"Its"}
    # Parquet, with the same columns
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(DOCS), tmp_path / "c.parquet")
    assert _play_zorblat(str(tmp_path / "c.parquet")).rewards["solver"] == 1.0
    # a Hugging Face dataset saved to disk
    datasets = pytest.importorskip("datasets")
    datasets.Dataset.from_list(DOCS).save_to_disk(str(tmp_path / "hf"))
    assert _play_zorblat(str(tmp_path / "hf")).rewards["solver"] == 1.0
    # a folder of text files
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "moon.txt").write_text("The moon Zorblat has a diameter of 412 km.")
    ep = spenv.play(ENV_ID, ["reader", "reader"], seed=1, env_options={"corpus": str(folder)})
    assert ep.status == "completed"
    # a saved corpus database
    from spenv.verifiers.search import Corpus

    db = tmp_path / "c.db"
    with Corpus(db) as saved:
        saved.add(DOCS)
    assert _play_zorblat(str(db)).rewards["solver"] == 1.0
    (tmp_path / "junk.db").write_bytes(b"not a database at all" * 10)
    with pytest.raises(ValueError, match="not a readable corpus"):
        SearchSelfPlayEnv(corpus=str(tmp_path / "junk.db"))
    (tmp_path / "torn.jsonl").write_text('{"id": "a", "text": "ok"}\n{"id": "b", "te')
    with pytest.raises(ValueError, match="not valid JSON"):
        SearchSelfPlayEnv(corpus=str(tmp_path / "torn.jsonl"))
    with pytest.raises(ValueError, match="does not exist"):
        SearchSelfPlayEnv(corpus=str(tmp_path / "missing.jsonl"))
    for bad in ({"solver_attempts": 0}, {"solver_reward": "x"}, {"closed_book_check": 1}):
        with pytest.raises(ValueError):
            make(**bad)


# ------------------------------------------------------------------------------ agents
def test_reader_agents_play_and_score_in_every_way() -> None:
    eps = spenv.run_games(
        ENV_ID, ["reader", "reader"], games=24, seed=0, env_options={"n_docs": N_DOCS}
    )
    assert all(ep.status == "completed" and ep.info["valid"] for ep in eps)
    rates = {ep.info["success_rate"] for ep in eps}
    assert 1.0 in rates and any(r < 1 for r in rates)
    for ep in eps:
        assert ep.rewards["proposer"] == pytest.approx(1 - ep.info["success_rate"])
        assert [v["check"] for v in ep.verdicts][:2] == ["format", "rag"]
        assert len(by_check(ep, "answer_match")) == 4
    for ep in eps[:3]:
        spenv.replay(ep)
    cloze = spenv.play(
        ENV_ID, ["reader:style=cloze", "reader:noise=0"], seed=2, env_options={"n_docs": N_DOCS}
    )
    assert "fill in the blank" in cloze.info["question"] and cloze.info["valid"]


def test_random_agents_and_factory() -> None:
    agent = make_agent("random", ENV_ID, seed=0)
    assert isinstance(agent, SearchAgent) and agent.strategy == "random"
    eps = spenv.run_games(
        ENV_ID, ["random", "reader"], games=6, seed=0, env_options={"n_docs": N_DOCS}
    )
    assert all(ep.status == "completed" for ep in eps)
    with pytest.raises(ValueError):
        SearchAgent("oracle")


def test_a_tiny_language_model_plays_both_seats(tmp_path: Path) -> None:
    pytest.importorskip("transformers", reason="the tiny model needs the train extra")
    from spenv.agents.hf import HFAgent
    from spenv.agents.testing import tiny_model

    model = HFAgent(tiny_model(tmp_path / "tiny"), max_new_tokens=8, seed=0)
    opts = {"n_docs": N_DOCS, "retries": 1}
    eps = spenv.run_games(ENV_ID, [model, "reader"], games=2, seed=0, env_options=opts)
    eps += spenv.run_games(ENV_ID, ["reader", model], games=2, seed=0, env_options=opts)
    for ep in eps:
        assert ep.status == "completed"
        checks = [v["check"] for v in ep.verdicts]
        if ep.info.get("ended_by") != "forfeit":
            assert checks[0] == "format"
        if ep.info.get("valid"):
            assert len(by_check(ep, "answer_match")) == 4
        # every valid solver decision at a check has its verdict
        rag_turns = [
            t for t in ep.turns if t.agent == "solver" and t.observation["state"]["phase"] == "rag"
        ]
        assert len(by_check(ep, "rag")) == len([t for t in rag_turns if t.valid])
    # the reader's questions are valid, so the model as the solver reaches the rag check
    assert any(by_check(ep, "rag") for ep in eps)


def test_api_test_through_the_registry() -> None:
    import warnings

    from pettingzoo.test import api_test

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        api_test(spenv.make(ENV_ID, n_docs=N_DOCS), num_cycles=20)


def test_cli_play_writes_verdicts(tmp_path: Path) -> None:
    from spenv.apps.cli import main

    out = tmp_path / "ssp.jsonl"
    assert (
        main(["play", ENV_ID, "--games", "4", "--out", str(out), "-q", "-o", f"n_docs={N_DOCS}"])
        == 0
    )
    episodes = list(read_episodes(out))
    assert len(episodes) == 4
    for ep in episodes:
        assert by_check(ep, "format") and len(by_check(ep, "answer_match")) == 4
        spenv.replay(ep)


def test_a_checker_answers_the_checks_and_replays(place: dict[str, str]) -> None:
    """With ``checker`` (an agent object), the env asks it the rag and closed-book checks with
    the solver's view (role ``checker``); the solver seat only makes the attempts; its answers
    are recorded (verdicts, info, reset options) and a replay uses them without calling it."""
    seen: list[Any] = []

    class Checker(SearchAgent):
        def act(self, obs: Any) -> str:
            seen.append(obs)
            return super().act(obs)

    env = make(closed_book_check=True, solver_attempts=1, checker=Checker("reader", seed=0))
    env.reset(seed=0, options={"target": {"answer": place["pop"], "doc_id": place["id"]}})
    env.step(f"<search>{place['name']}</search>")
    env.step(f"<open>{place['id']}</open>")
    env.step(f"<question>What is the population of {place['name']}?</question>")
    assert [o.state["phase"] for o in seen] == ["rag", "closed"]
    assert all(o.role == "checker" and o.state["role"] == "checker" for o in seen)
    assert place["pop"] in seen[0].text and "Documents" not in seen[1].text
    view = env.infos["solver"]["observation"]
    assert env.agent_selection == "solver" and view.state["phase"] == "solve"
    env.step(f"<answer>{place['pop']}</answer>")
    ep = env.episode()
    assert ep.env_options["checker"] == "agent:reader"
    assert ep.info["checker_answers"] == [
        f"<answer>{place['pop']}</answer>",
        "<answer>unknown</answer>",
    ]
    assert ep.reset_options["checker_answers"] == ep.info["checker_answers"]
    rag, closed = by_check(ep, "rag")[0], by_check(ep, "closed_book")[0]
    assert rag["answered_by"] == closed["answered_by"] == "checker" and rag["status"] == "ok"
    assert [t.agent for t in ep.turns] == ["proposer"] * 3 + ["solver"]
    assert ep.rewards == {"proposer": 0.0, "solver": 1.0}
    seen.clear()
    spenv.replay(ep)
    assert seen == []  # the replay env has only "agent:reader": the recorded answers
    # a wrong checker answer rejects the question; a failing checker ends the game unscored
    env = make(checker=SearchAgent("random", seed=0))
    ask_until_rag = [
        f"<open>{place['id']}</open>",
        f"<question>Population of {place['name']}?</question>",
    ]
    env.reset(seed=0, options={"target": place["pop"]})
    for a in ask_until_rag:
        env.step(a)
    assert env.episode().rewards["proposer"] == -1.0

    class Broken:
        name = "broken"

        def act(self, obs: Any) -> str:
            raise OSError("model server down")

    env = make(checker=Broken())
    env.reset(seed=0, options={"target": place["pop"]})
    for a in ask_until_rag:
        env.step(a)
    ep = env.episode()
    assert ep.status == "completed" and ep.rewards == {"proposer": 0.0, "solver": 0.0}
    assert ep.info["ended_by"] == "checker_error" and "model server down" in ep.info["reason"]
    assert by_check(ep, "rag")[0]["status"] == "error"
    # options are checked
    for bad in ("reader", 3):
        with pytest.raises(ValueError):
            make(checker=bad)
    with pytest.raises(ValueError):
        make().reset(seed=0, options={"checker_answers": ["x"]})
    with pytest.raises(ValueError):
        env.reset(seed=0, options={"checker_answers": [3]})
    assert "checker" not in make().env_options()
