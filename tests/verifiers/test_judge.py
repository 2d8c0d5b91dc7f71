"""Tests of the LLM-as-judge verifiers (spenv.verifiers.judge) with scripted judge agents."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from spenv.agents.base import BaseAgent, FixedAgent
from spenv.observation import Observation
from spenv.verifiers import Verdict
from spenv.verifiers.judge import (
    Jury,
    PairwiseJudge,
    PointwiseJudge,
    parse_score,
    parse_verdict,
)

# The questions the scripted judges know the truth about: question -> the right answer.
TRUTH = {
    "What is 6 times 7?": "42",
    "What is the capital of France?": "Paris",
    "How many sides has a hexagon?": "6",
}
WRONG = {"What is 6 times 7?": "48", "What is the capital of France?": "Lyon"}
WRONG["How many sides has a hexagon?"] = "8"


class Oracle(BaseAgent):
    """Knows the right answers; reasons, then concludes with [[A]]/[[B]] (or [[TIE]])."""

    name = "oracle"

    def __init__(self, style: str = "[[{w}]]") -> None:
        super().__init__()
        self.style = style

    def act(self, obs: Observation) -> str:
        assert obs.role == "judge"
        right = TRUTH[obs.state["question"]]
        a_ok = obs.state["answer_a"] == right
        b_ok = obs.state["answer_b"] == right
        w = "A" if a_ok and not b_ok else "B" if b_ok and not a_ok else "TIE"
        return f"Answer A says {obs.state['answer_a']}, B says {obs.state['answer_b']}.\n" + (
            self.style.format(w=w)
        )


class Counting(BaseAgent):
    """Wraps an agent and counts act / act_batch calls."""

    name = "counting"

    def __init__(self, inner: BaseAgent) -> None:
        super().__init__()
        self.inner = inner
        self.act_calls = 0
        self.batch_sizes: list[int] = []

    def act(self, obs: Observation) -> str:
        self.act_calls += 1
        return self.inner.act(obs)

    def act_batch(self, observations: Sequence[Observation]) -> list[str]:
        self.batch_sizes.append(len(observations))
        return [self.inner.act(o) for o in observations]


class ActOnly:
    """A plain object with just ``name`` and ``act`` (the minimal Agent protocol)."""

    name = "act-only"

    def __init__(self, text: str) -> None:
        self.text = text
        self.seen: list[Observation] = []

    def act(self, obs: Observation) -> str:
        self.seen.append(obs)
        return self.text


class Failing(BaseAgent):
    name = "failing"

    def act(self, obs: Observation) -> str:
        raise RuntimeError("the model server is down")


class Flaky(BaseAgent):
    """Garbage on the first call for each prompt, a verdict afterwards."""

    name = "flaky"

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def act(self, obs: Observation) -> str:
        if obs.user not in self.seen:
            self.seen.add(obs.user)
            return "Hmm, let me think about it."
        return "Verdict: A"


Q = "What is 6 times 7?"


# ----------------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[[A]]", "A"),
        ("Reasoning...\n[[B]]", "B"),
        ("My final verdict: [B]", "B"),
        ("$\\boxed{A}$", "A"),
        ("\\boxed{\\text{B}}", "B"),
        ("Verdict: A", "A"),
        ("Final verdict is **B**.", "B"),
        ("Winner: Answer A", "A"),
        ("Answer B is clearly better than answer A.", "B"),
        ("Response A wins.", "A"),
        ("[[TIE]]", "tie"),
        ("[[C]]", "tie"),
        ("Verdict: a tie", "tie"),
        ("It's a tie: both are wrong.", "tie"),
        ("Both answers are equally good.", "tie"),
        ("\\boxed{tie}", "tie"),
        ("B", "B"),
        ("  [A].  ", "A"),
        ("First I thought [[A]], but on reflection the verdict is [[B]]", "B"),  # last counts
        ("Answer A is better... no wait, it's a tie.", "tie"),
        ("A is not better than B, nor worse.", None),
        ("I cannot decide.", None),
        ("The decision is a close call.", None),
        ("", None),
    ],
)
def test_parse_verdict(text, expected):
    assert parse_verdict(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Score: 7/10", 7.0),
        ("Rating: [[8]]", 8.0),
        ("The answer is good. Score: 6", 6.0),
        ("\\boxed{9}", 9.0),
        ("I would give it 8 out of 10.", 8.0),
        ("Overall rating: 4/5", 8.0),  # rescaled to the 10-point scale
        ("Score: 3/10 at first, but after checking again, Rating: [[5]]", 5.0),
        ("It has 3/4 of the steps right. Rating: [[6.5]]", 6.5),
        ("7", 7.0),
        ("Score: 14/10", None),  # out of range
        ("It covers 3 of the 4 cases.", None),
        ("no rating here", None),
    ],
)
def test_parse_score(text, expected):
    assert parse_score(text, scale=10) == expected


# ---------------------------------------------------------------------------------- pairwise


def test_position_biased_judge_comes_out_as_a_tie_under_both_orders():
    judge = PairwiseJudge(FixedAgent("After careful thought: [[A]]"))
    v = judge.judge(Q, "42", "48")
    assert isinstance(v, Verdict)
    assert (v.status, v.score, v.data["winner"]) == ("ok", 0.5, "tie")
    assert v.data["consistent"] is False
    assert [r["order"] for r in v.data["readings"]] == ["AB", "BA"]
    assert [r["parsed"] for r in v.data["readings"]] == ["A", "A"]
    assert [r["winner"] for r in v.data["readings"]] == ["A", "B"]
    assert "disagreed" in v.detail
    # Asked once only, the bias shows through: that is what both_orders is for.
    once = PairwiseJudge(FixedAgent("[[A]]"), both_orders=False).judge(Q, "42", "48")
    assert (once.data["winner"], once.score) == ("A", 1.0)


def test_oracle_judge_picks_the_right_answer_in_either_position():
    judge = PairwiseJudge(Oracle())
    a = judge.judge(Q, "42", "48")
    b = judge.judge(Q, "48", "42")
    tie = judge.judge(Q, "48", "48")
    assert (a.status, a.score, a.data["winner"], a.data["consistent"]) == ("ok", 1.0, "A", True)
    assert (b.score, b.data["winner"]) == (0.0, "B")
    assert (tie.score, tie.data["winner"]) == (0.5, "tie")


@pytest.mark.parametrize("style", ["[[{w}]]", "\\boxed{{{w}}}", "Verdict: {w}", "[{w}]"])
def test_oracle_in_several_verdict_styles(style):
    v = PairwiseJudge(Oracle(style)).judge(Q, "48", "42")
    assert v.data["winner"] == "B"


def test_garbage_judge_gives_a_format_error_never_a_pick():
    v = PairwiseJudge(FixedAgent("I really like both of them, to be honest.")).judge(Q, "42", "48")
    assert v.status == "format_error"
    assert v.score == 0.5 and v.data["winner"] is None
    assert v.data["readings"][0]["raw"] == "I really like both of them, to be honest."
    # One readable order and one unreadable one is still no verdict.
    half = PairwiseJudge(Flaky(), both_orders=True).judge(Q, "42", "48")
    assert half.status == "format_error"


def test_retries_reask_only_the_unreadable_answers():
    agent = Counting(Flaky())
    v = PairwiseJudge(agent, retries=1).judge(Q, "42", "48")
    assert v.status == "ok"
    assert agent.batch_sizes == [2, 2]
    assert all(r["attempts"] == 2 for r in v.data["readings"])


def test_failing_agent_gives_an_error_verdict():
    v = PairwiseJudge(Failing()).judge(Q, "42", "48")
    assert v.status == "error" and "model server is down" in v.detail
    assert v.score == 0.5


def test_judge_batch_uses_one_act_batch_call_with_both_orders():
    agent = Counting(Oracle())
    judge = PairwiseJudge(agent)
    items = [(q, TRUTH[q], WRONG[q]) for q in TRUTH] + [
        {"question": q, "answer_a": WRONG[q], "answer_b": TRUTH[q]} for q in TRUTH
    ]
    verdicts = judge.judge_batch(items)
    assert agent.batch_sizes == [2 * len(items)] and agent.act_calls == 0
    assert [v.data["winner"] for v in verdicts] == ["A"] * 3 + ["B"] * 3


def test_observations_are_judge_observations_with_the_rubric():
    agent = ActOnly("[[B]]")
    judge = PairwiseJudge(agent, rubric="Prefer the shorter answer.", both_orders=True)
    v = judge.judge(Q, "forty-two", "42", reference="42")
    assert v.ok
    first, second = agent.seen
    assert first.role == "judge" and first.system == "Prefer the shorter answer."
    assert "[Reference Answer]\n42" in first.user
    assert first.state["answer_a"] == "forty-two" and second.state["answer_a"] == "42"
    assert first.legal_actions is None


def test_custom_template_and_bad_configuration():
    judge = PairwiseJudge(
        ActOnly("[[A]]"),
        template="Q: {question}\n1) {answer_a}\n2) {answer_b}\n{reference_block}Pick [[A]]/[[B]].",
        both_orders=False,
    )
    assert judge.observation(Q, "x", "y").user.startswith("Q: What is 6 times 7?\n1) x\n2) y")
    with pytest.raises(ValueError, match="template"):
        PairwiseJudge(ActOnly("[[A]]"), template="{question} {answers}")
    with pytest.raises(TypeError, match="agent"):
        PairwiseJudge(object())
    # a malformed item gets a format_error verdict with the reason; the rest of the batch is judged
    bad, good, worse = PairwiseJudge(ActOnly("[[A]]"), both_orders=False).judge_batch(
        [(Q, "42"), (Q, "42", "48"), {"question": Q, "answer_a": 3, "answer_b": "x"}]
    )
    assert bad.status == "format_error" and "item 0" in bad.detail and bad.score == 0.5
    assert good.status == "ok" and good.score == 1.0
    assert worse.status == "format_error" and "answer_a must be a string" in worse.detail
    none = PairwiseJudge(ActOnly("[[A]]")).judge(Q, "42", None)  # type: ignore[arg-type]
    assert none.status == "format_error" and "answer_b" in none.detail
    point = PointwiseJudge(ActOnly("8")).judge_batch([(Q,), (Q, "42")])
    assert [v.status for v in point] == ["format_error", "ok"]


# --------------------------------------------------------------------------------- pointwise


def test_pointwise_scores_and_failures():
    judge = PointwiseJudge(FixedAgent("Correct and clear. Score: 7/10"), scale=10)
    v = judge.judge(Q, "42")
    assert (v.status, v.score, v.data["rating"], v.data["scale"]) == ("ok", 0.7, 7.0, 10)
    five = PointwiseJudge(FixedAgent("Rating: [[4]]"), scale=5).judge(Q, "42")
    assert five.score == pytest.approx(0.8)
    bad = PointwiseJudge(FixedAgent("Nice answer!")).judge(Q, "42")
    assert (bad.status, bad.score, bad.data["rating"]) == ("format_error", 0.0, None)
    assert bad.data["raw"] == "Nice answer!"
    over = PointwiseJudge(FixedAgent("Score: 11/10")).judge(Q, "42")
    assert over.status == "format_error"
    err = PointwiseJudge(Failing()).judge(Q, "42")
    assert err.status == "error"
    with pytest.raises(ValueError, match="scale"):
        PointwiseJudge(FixedAgent("7"), scale=0)


def test_pointwise_prompt_names_the_scale():
    agent = ActOnly("Rating: [[3]]")
    PointwiseJudge(agent, "Grade the rigour.", scale=5).judge(Q, "42", reference="42")
    obs = agent.seen[0]
    assert obs.system == "Grade the rigour." and "0 to 5" in obs.user
    assert obs.state == {"question": Q, "answer": "42", "scale": 5, "reference": "42"}


# -------------------------------------------------------------------------------------- jury


def test_jury_majority_vote():
    jury = Jury(
        [
            PairwiseJudge(Oracle()),
            PairwiseJudge(Oracle("Verdict: {w}")),
            PairwiseJudge(FixedAgent("[[B]]"), both_orders=False),  # always B
        ]
    )
    v = jury.judge(Q, "42", "48")
    assert (v.status, v.score, v.data["winner"]) == ("ok", 1.0, "A")
    assert v.data["counts"] == {"A": 2, "B": 1, "tie": 0}
    assert len(v.data["votes"]) == 3
    w = jury.judge_batch([(Q, "48", "42")])[0]
    assert w.data["winner"] == "B" and w.data["counts"]["B"] == 3


def test_jury_split_votes_abstentions_and_no_votes():
    split = Jury(
        [
            PairwiseJudge(FixedAgent("[[A]]"), both_orders=False),
            PairwiseJudge(FixedAgent("[[B]]"), both_orders=False),
            PairwiseJudge(FixedAgent("gibberish")),
        ]
    ).judge(Q, "42", "48")
    assert (split.data["winner"], split.score) == ("tie", 0.5)
    assert list(split.data["abstained"].values()) == ["format_error"]
    none = Jury([PairwiseJudge(FixedAgent("?")), PairwiseJudge(Failing())]).judge(Q, "42", "48")
    assert none.status == "error" and none.data["winner"] is None and none.score == 0.5


def test_pointwise_jury_takes_the_mean():
    jury = Jury(
        [
            PointwiseJudge(FixedAgent("Score: 6/10")),
            PointwiseJudge(FixedAgent("Score: 8/10")),
            PointwiseJudge(FixedAgent("no idea")),
        ]
    )
    v = jury.judge(Q, "42")
    assert v.ok and v.score == pytest.approx(0.7)
    assert len(v.data["scores"]) == 2 and v.data["abstained"]


def test_jury_rejects_mixed_or_empty_panels():
    with pytest.raises(ValueError):
        Jury([])
    with pytest.raises(ValueError, match="all"):
        Jury([PairwiseJudge(FixedAgent("A")), PointwiseJudge(FixedAgent("7"))])


@pytest.mark.timeout(30)  # a hang guard: these took minutes before the patterns were fixed
def test_parsers_stay_linear_on_degenerate_generations():
    assert parse_verdict("verdict" + " " * 50_000 + "x") is None
    assert parse_score("score" + " " * 50_000 + "x") is None
    assert parse_verdict("[[" * 50_000) is None
    assert parse_verdict("It is " + "very " * 20_000 + "close. [[B]]") == "B"
