"""Hostile inputs for every verifier and every registered env, on a fixed budget: huge numbers,
deep nesting, 100 KB of unicode, binary, NUL bytes, lone surrogates, format strings. Nothing
may escape as an exception: a verifier answers with a verdict (``error`` and ``format_error``
are fine), an env records an invalid move, and every game ends with a serialisable episode."""

from __future__ import annotations

import json
import random
import time

import pytest

import spenv
from spenv.agents.base import BaseAgent
from spenv.episode import Episode
from spenv.observation import Observation
from spenv.verifiers import Verdict

SEED = 20261204


def hostile_inputs(rng: random.Random) -> list[str]:
    """The hostile texts (deterministic for a seed)."""
    blob = bytes(rng.randrange(256) for _ in range(4096))
    return [
        "9" * 5000,  # over Python's 4,300-digit int-to-str limit
        "-" + "1" * 4301 + ".5",
        "1e999999999999",
        "10^{10^{10^{10}}}",
        "\\boxed{" * 2000 + "1" + "}" * 2000,
        "(" * 5000 + ")" * 4999,
        "[" * 3000,
        "{" * 3000 + "}" * 3000,
        "".join(
            chr(rng.choice([0x4E2D, 0x05D0, 0x0301, 0x1F600, 0x200F, 0xFEFF, 0x0627]))
            for _ in range(25_000)
        ),  # fmt: skip  100 KB of mixed scripts, marks, RTL, emoji
        blob.decode("latin-1"),
        blob.decode("utf-8", errors="surrogateescape"),
        "\x00" * 64 + "bet\x00call",
        "\udfff\ud800 \udc00 lone surrogates",  # no high-low pair: JSON would join it
        "{0} {} %s %(x)s {{}} ${x} \\x00",
        "\x1b[31m\x1b]0;title\x07 ansi",
        "",
        " \n\t\r " * 100,
        '{"action": "' + "a" * 10_000 + '"}',
        "[[A]] [[B]] Score: 11/10 \\boxed{" + "9" * 5000 + "}",
    ]


HOSTILE = hostile_inputs(random.Random(SEED))


def _all_verdicts(got: list, n: int) -> None:
    assert len(got) == n and all(isinstance(v, Verdict) for v in got), got
    for v in got:
        json.dumps(v.to_dict() if hasattr(v, "to_dict") else v.__dict__, default=str)


# ------------------------------------------------------------------------------- verifiers


def test_math_grader_gives_a_verdict_for_every_hostile_pair():
    from spenv.verifiers.math import grade_batch

    golds = ["42", "\\frac{1}{3}", "[2,5]", "7\\text{ km}"]
    items = [(h, g) for h in HOSTILE for g in golds]
    items += [("\\boxed{42}", h) for h in HOSTILE]
    items += [(h, 1, "ABCD") for h in HOSTILE[:6]]
    t0 = time.monotonic()
    got = grade_batch(items, timeout=3)
    assert time.monotonic() - t0 < 240
    _all_verdicts(got, len(items))


class _Parrot(BaseAgent):
    """Answers each request with the next hostile text."""

    name = "parrot"

    def __init__(self) -> None:
        super().__init__()
        self.i = 0

    def act(self, obs: Observation) -> str:
        self.i += 1
        return HOSTILE[self.i % len(HOSTILE)]


def test_judges_give_a_verdict_for_hostile_questions_answers_and_replies():
    from spenv.verifiers.judge import Jury, PairwiseJudge, PointwiseJudge

    pair, point = PairwiseJudge(_Parrot(), retries=1), PointwiseJudge(_Parrot(), retries=1)
    items2 = [(h, HOSTILE[-i], h[:100], h) for i, h in enumerate(HOSTILE)]
    items1 = [(h, HOSTILE[-i], h) for i, h in enumerate(HOSTILE)]
    _all_verdicts(pair.judge_batch(items2), len(items2))
    _all_verdicts(point.judge_batch(items1), len(items1))
    jury = Jury([PointwiseJudge(_Parrot()), PointwiseJudge(_Parrot())])
    _all_verdicts(jury.judge_batch(items1), len(items1))
    # items that are not text, or not items at all, get verdicts too
    odd = [None, 7, b"\x00bytes", ("q",), ("q", 10**5000), {"question": "q"}, ("q", "a", ["x"])]
    _all_verdicts(pair.judge_batch(odd), len(odd))
    _all_verdicts(point.judge_batch(odd), len(odd))
    _all_verdicts(jury.judge_batch(odd), len(odd))


def test_search_corpus_answers_hostile_queries_and_stores_hostile_documents():
    from spenv.verifiers.search import Corpus, Document, sanitize_query

    corpus = Corpus.default(n_docs=200)
    for h in HOSTILE:
        assert isinstance(sanitize_query(h), str)
        hits = corpus.search(h, k=5)
        assert isinstance(hits, list)
    for i, h in enumerate(HOSTILE):
        doc = Document(f"hostile-{i}", h[:200], h)
        if _utf8(h):
            assert corpus.add([doc]) == 1
            assert corpus.get(doc.doc_id).text == h  # stored as given
        else:  # a lone surrogate is no text a corpus can hold: a clear error naming the doc
            with pytest.raises(ValueError, match=f"document 'hostile-{i}'.*not valid Unicode"):
                corpus.add([doc])
        corpus.search(h[:500], k=3)
    corpus.close()


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def test_proof_checkers_give_a_verdict_for_hostile_statements_and_proofs():
    from spenv.verifiers.proof import CoqChecker, LeanChecker

    coq, lean = CoqChecker(), LeanChecker()
    if not coq.available():
        pytest.skip("coqc is not installed")
    picks = [*HOSTILE[::3], "forall n : nat, n + 0 = n"]
    for h in picks:
        _all_verdicts([coq.check(h, "intros. reflexivity. Qed.")], 1)
        _all_verdicts([coq.check("forall n : nat, n = n", h)], 1)
        _all_verdicts([coq.check_statement(h)], 1)
        _all_verdicts([lean.check(h, h)], 1)  # not installed here: an error verdict saying so


def test_code_sandbox_gives_a_verdict_for_hostile_programs_and_tests():
    from spenv.verifiers.code import RunResult, Sandbox, bwrap_available

    if not bwrap_available():
        pytest.skip("bubblewrap is not available")
    box = Sandbox("bwrap")
    picks = HOSTILE[::3]
    results = box.run_many(picks)
    assert len(results) == len(picks) and all(isinstance(r, RunResult) for r in results)
    _all_verdicts([r.verdict() for r in results], len(picks))
    jobs = [(h, ["assert f(1) == 1"]) for h in picks]
    jobs += [("def f(x): return x", h) for h in picks if h.strip()]
    got = [box.run_tests(sol, tests, entry_point="f") for sol, tests in jobs]
    _all_verdicts(got, len(jobs))
    with pytest.raises(ValueError, match="tests is empty"):  # the caller's tests, documented
        box.run_tests("def f(x): return x", " \n")


# ------------------------------------------------------------------------------------ envs


@pytest.mark.parametrize("env_id", spenv.list_envs())
def test_every_env_turns_hostile_actions_into_invalid_moves(env_id: str):
    """Three games per env: each decision is a hostile text, sometimes (one in three) a legal
    move so that the game goes deeper; the game must end with a serialisable episode."""
    rng = random.Random(f"{SEED}:{env_id}")
    for seed in range(3):
        env = spenv.make(env_id)
        env.reset(seed=seed)
        for _agent in env.agent_iter(max_iter=400):
            _, _, term, trunc, info = env.last()
            if term or trunc:
                env.step(None)
                continue
            obs = info["observation"]
            if obs.legal_actions and rng.random() < 1 / 3:
                env.step(rng.choice(list(obs.legal_actions)))
            else:
                env.step(rng.choice(HOSTILE))
        episode = env.episode()
        assert episode.turns, env_id
        back = Episode.from_json(episode.to_json())
        assert back.replay_key() == episode.replay_key()
        env.close()
