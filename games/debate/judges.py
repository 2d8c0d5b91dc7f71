"""Judges for ``Debate-v1``, the verdict parser, and the arithmetic-claim checker.

A judge is any spenv agent (``act(obs) -> str``). The env asks it with an observation of role
``judge`` whose ``legal_actions`` are ``("[A]", "[B]")``, and reads the verdict with
:func:`parse_verdict` (and a stated ``P(A) = 0.7`` with :func:`judge_probability`). The
observation's ``state`` holds ``question``, ``answers`` (``{"A": ..., "B": ...}``),
``transcript`` (a tuple of ``{"round", "debater", "answer", "text", "quotes"}``, the text as
relayed: cleaned, capped, quotes marked verified or not; ``quotes`` each ``{"text",
"verified"}``), ``rounds``, ``protocol`` and ``hidden_passage`` (whether the debaters saw a
passage the judge does not); judges marked ``privileged = True`` also get
``correct`` (the label of the correct answer). Only the oracle is privileged.

The scripted judges, by spec (:func:`make_judge`):

- ``oracle``: knows the truth and always picks the correct answer (an upper bound).
- ``random``: picks A or B uniformly with its own generator.
- ``length``: picks the side whose debater wrote more characters (a biased judge: it measures
  how far verbosity alone wins); ties broken at random.
- ``keyword``: weighs only evidence it can check, so off-topic, repeated or content-free text earns
  nothing. On passage questions (the judge never sees the passage) a side's evidence is its best
  verified quote: the most question words (four letters or more, not stop words) one sentence of a
  verified quote shares while naming the side's own answer and not the other's (only the side's
  first ``QUOTE_WORD_BUDGET`` = 30 words of distinct verified quotes count, so quoting the whole
  passage hands it nothing); each distinct unverified quote costs 2. On other questions it is
  arithmetic: every claim written as ``expression = number`` (or ``≠``) is recomputed exactly,
  and each distinct false claim costs 3. On a generated question (``questions="arithmetic"``) the
  judge reads the intended computation back from the question text
  (:func:`~spenv.games.debate.questions.solve_with_leaves`, as anyone who knows the question
  templates could): a side earns 2 when it states the computation's last step as a true claim and
  that step's value is its own answer, plus a tenth per step of the computation it states (over
  the step's operands or over the question numbers it is computed from:
  :func:`derivation_evidence`); no other true claim counts, so a contrived chain of true claims
  that ends on a wrong answer earns nothing. On other numeric questions (no known computation) a
  side whose chain of true claims, starting from the question's numbers (in digits or as number
  words), reaches its own answer earns 2 (and a tenth more per question number that chain uses, so a
  full derivation outweighs a one-number coincidence; a claim uses only the numbers its value
  depends on, so ``9 - 9 = 0`` or ``0 * 11 = 0`` add none); true claims that lead nowhere earn
  nothing, however many. The higher evidence wins; a tie (no
  checkable evidence, say) is a coin flip. In a consultancy (one side speaks) it believes the
  consultant only when its evidence is complete (a verified sentence naming its answer with every
  question word; the computation's last step reaching its answer, or on other questions a derived
  answer that depends on a question number, with no false claim), and
  otherwise picks the other answer. It states ``P(A)`` from the evidence margin (0.5 on a coin
  flip).

Randomness: each judge has its own generator (``seed=``). When the env builds a judge from a spec
it re-seeds it from the env's generator before every game, so episodes replay exactly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from spenv.agents.base import Agent, BaseAgent
from spenv.games.debate.questions import Step, parse_number, solve_with_leaves
from spenv.observation import Observation

LABELS = ("A", "B")
#: The exact answers a judge may give (any text with a parseable verdict is also accepted).
VERDICT_ACTIONS = ("[A]", "[B]")

# ------------------------------------------------------------------------------------------
# The verdict parser
# ------------------------------------------------------------------------------------------

_VERDICT_RE = re.compile(
    r"\[\s*([ABab])\s*\]"
    r"|\\boxed\s*\{\s*(?:\\text(?:bf|tt)?\s*\{\s*)?([ABab])\s*\}"
    r"|(?i:\b(?:final\s+)?(?:answer|verdict))\s*(?:[:=]|(?i:\s+is))\s*\**\s*\(?\s*([AB])\b",
    re.ASCII,
)


def parse_verdict(text: str) -> str | None:
    """The verdict ``"A"`` or ``"B"`` in a judge's answer, or None.

    Accepted forms: ``[A]``, ``\\boxed{A}`` (also ``\\boxed{\\text{A}}``), ``Answer: A``,
    ``The answer is (B)``, ``Verdict: A``; brackets and boxes in either case, the ``Answer:``
    form with a capital letter only (so "answer: a number" is not a verdict). When the answer
    holds several, the last one counts.
    """
    last = _last_match(_VERDICT_RE, text)
    if last is None:
        return None
    return (last.group(1) or last.group(2) or last.group(3)).upper()


def _last_match(pattern: re.Pattern[str], text: Any) -> re.Match[str] | None:
    """The last match of ``pattern`` in ``text`` (None when there is none or it is not text)."""
    if not isinstance(text, str):
        return None
    last = None
    for last in pattern.finditer(text):  # noqa: B007
        pass
    return last


_PROB_RE = re.compile(
    r"P\s*\(\s*([AB])\s*\)\s*(?:=|:|is)\s*(1(?:\.0+)?|0(?:\.\d+)?|\.\d+)(?!\.?\d)", re.I
)


def judge_probability(text: str) -> float | None:
    """The probability that A is correct stated in a judge's answer as ``P(A) = 0.7`` (or
    ``P(B) = 0.3``, read as 1 - 0.3); the last statement counts; None when there is none."""
    last = _last_match(_PROB_RE, text)
    if last is None:
        return None
    p = float(last.group(2))
    return p if last.group(1).upper() == "A" else 1.0 - p


# ------------------------------------------------------------------------------------------
# Arithmetic claims
# ------------------------------------------------------------------------------------------

_NUM = r"\d+(?:,\d{3})*(?:\.\d+)?"
_OP = r"[-+−–*/×÷·xX]"
# An arithmetic expression ending where a relation sign follows (searched in a short window).
_EXPR_RE = re.compile(
    rf"(?<![\w.,])((?:\(\s*)*\$?{_NUM}(?:\s*\))*(?:\s*{_OP}\s*(?:\(\s*)*\$?{_NUM}(?:\s*\))*)+)\s*$"
)
_REL_RE = re.compile(r"=|≠|!=|=/=")
_VALUE_RE = re.compile(rf"\s*\$?\s*(-?{_NUM})(?![\d])")
_TOKEN_RE = re.compile(rf"{_NUM}|[-+−–*/×÷·xX()]")
_WINDOW = 80

_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
    "ninety": 90, "hundred": 100, "thousand": 1000, "dozen": 12, "twice": 2, "double": 2,
    "triple": 3, "half": 2, "quarter": 4, "week": 7, "hour": 60,
}  # fmt: skip


@dataclass(frozen=True)
class Claim:
    """``expr rel value`` found in a text; ``true`` says whether it holds."""

    expr: str
    relation: str  # "=" or "≠"
    value: Fraction
    operands: tuple[Fraction, ...]
    true: bool

    @property
    def key(self) -> tuple[str, str, Fraction]:
        return (re.sub(r"\s+", "", self.expr), self.relation, self.value)


def find_claims(text: str) -> list[Claim]:
    """Every arithmetic claim ``expression = number`` (or ``≠``, ``!=``) in ``text``, in order,
    each checked exactly (decimals on the right may be rounded: ``10 / 3 = 3.33`` holds)."""
    claims = []
    for m in _REL_RE.finditer(text):
        start = m.start()
        left = text[max(0, start - _WINDOW) : start]
        em = _EXPR_RE.search(left)
        if em is None:
            continue
        vm = _VALUE_RE.match(text, m.end())
        if vm is None:
            continue
        expr = em.group(1).strip()
        parsed = evaluate(expr)
        if parsed is None:
            continue
        result, operands = parsed
        raw_value = vm.group(1)
        value = Fraction(raw_value.replace(",", ""))
        relation = "=" if m.group() == "=" else "≠"
        equal = result is not None and _matches(result, value, raw_value)
        claims.append(Claim(expr, relation, value, operands, equal == (relation == "=")))
    return claims


def _matches(result: Fraction, value: Fraction, raw: str) -> bool:
    if result == value:
        return True
    decimals = len(raw.partition(".")[2])
    return decimals > 0 and abs(result - value) <= Fraction(1, 2 * 10**decimals)


def evaluate(
    expr: str, replace: Mapping[Fraction, Fraction] | None = None
) -> tuple[Fraction | None, tuple[Fraction, ...]] | None:
    """Evaluate ``+ − × ÷`` arithmetic with parentheses exactly.

    Returns (value, operands), value None on division by zero; None when ``expr`` is not a
    well-formed expression. Unmatched opening parentheses at the start are ignored. ``replace``
    maps numbers to the values computed in their place (the operands are still the written
    numbers).
    """
    tokens = _TOKEN_RE.findall(expr.replace("$", ""))
    while tokens and tokens[0] == "(" and tokens.count("(") > tokens.count(")"):
        tokens.pop(0)
    operands: list[Fraction] = []
    pos = 0

    def atom() -> Fraction | None:
        nonlocal pos
        if pos >= len(tokens):
            raise ValueError("expression ends early")
        tok = tokens[pos]
        pos += 1
        if tok == "(":
            v = additive()
            if pos >= len(tokens) or tokens[pos] != ")":
                raise ValueError("unbalanced parenthesis")
            pos += 1
            return v
        if tok[0].isdigit():
            v = Fraction(tok.replace(",", ""))
            operands.append(v)
            return replace.get(v, v) if replace else v
        raise ValueError(f"unexpected {tok!r}")

    def multiplicative() -> Fraction | None:
        nonlocal pos
        v = atom()
        while pos < len(tokens) and tokens[pos] in "*/×÷·xX":
            op = tokens[pos]
            pos += 1
            w = atom()
            if v is None or w is None:
                v = None
            elif op in "/÷":
                v = None if w == 0 else v / w
            else:
                v = v * w
        return v

    def additive() -> Fraction | None:
        nonlocal pos
        v = multiplicative()
        while pos < len(tokens) and tokens[pos] in "+-−–":
            op = tokens[pos]
            pos += 1
            w = multiplicative()
            v = None if v is None or w is None else (v + w if op == "+" else v - w)
        return v

    try:
        value = additive()
    except (ValueError, ZeroDivisionError):
        return None
    if pos != len(tokens) or len(operands) < 2:
        return None
    return value, tuple(operands)


def distinct_claims(texts: Iterable[str]) -> Iterator[Claim]:
    """The claims of ``texts`` in order, each distinct claim once (a repeat earns nothing)."""
    seen: set[tuple[str, str, Fraction]] = set()
    for text in texts:
        for claim in find_claims(text):
            if claim.key not in seen:
                seen.add(claim.key)
                yield claim


def _bearing(claim: Claim) -> set[Fraction]:
    """The operands a claim's value depends on: changing every occurrence of one changes the
    value. ``9 - 9 = 0``, ``0 * 11 = 0`` or ``(3 + 48) - 3 = 48`` use a number without depending
    on it, so they cannot stretch a derivation over question numbers it never needed."""
    out = set()
    for op in set(claim.operands):
        moved = evaluate(claim.expr, {op: op + Fraction(7, 3)})
        if moved is None or moved[0] != claim.value:
            out.add(op)
    return out


def question_numbers(text: str) -> set[Fraction]:
    """The numbers a question states, in digits or as common number words."""
    nums = {Fraction(m.replace(",", "")) for m in re.findall(_NUM, text)}
    for word in re.findall(r"[a-z]+", text.lower()):
        if word in _NUMBER_WORDS:
            nums.add(Fraction(_NUMBER_WORDS[word]))
    return nums


@dataclass
class SideScore:
    """What the keyword judge found in one side's arguments."""

    true_grounded: int = 0
    true_ungrounded: int = 0
    false: int = 0
    derived: bool = False
    keywords: int = 0
    #: How many of the question's numbers the derivation of the side's answer uses.
    coverage: int = 0

    @property
    def claims(self) -> int:
        return self.true_grounded - 3 * self.false + (2 if self.derived else 0)


def score_side(
    texts: Iterable[str], question: str, own_answer: str, other_answer: str
) -> SideScore:
    """The keyword judge's score of one side (see the module docstring)."""
    score = SideScore()
    grounded = question_numbers(question)
    # Which question numbers each grounded value was derived from.
    deps: dict[Fraction, frozenset[Fraction]] = {n: frozenset([n]) for n in grounded}
    target = parse_number(own_answer)
    texts = list(texts)
    for claim in distinct_claims(texts):
        if not claim.true:
            score.false += 1
        elif all(op in grounded for op in claim.operands):
            score.true_grounded += 1
            if claim.relation == "=":
                grounded.add(claim.value)
                used = frozenset().union(*(deps.get(op, frozenset()) for op in _bearing(claim)))
                if len(used) > len(deps.get(claim.value, ())):
                    deps[claim.value] = used
                if target is not None and claim.value == target:
                    score.derived = True
                    score.coverage = max(score.coverage, len(deps.get(claim.value, ())))
        else:
            score.true_ungrounded += 1
    words = set().union(*(_content_words(text) for text in texts))
    mine = _content_words(own_answer) - _content_words(other_answer)
    score.keywords = len(words & (_content_words(question) | mine))
    return score


_STOP_WORDS = (
    "about above after again against also among answer because been before being below between "
    "both cannot could does doing down during each every from further have having here however "
    "into itself just more most much must only other ours over same should since some such "
    "than that their them then there these they this those through under until very were what many "
    "when where which while will with would your yours correct wrong debater opponent"
)
_STOP = frozenset(_STOP_WORDS.split())


def _content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]{4,}", text.lower()) if w not in _STOP}


# ------------------------------------------------------------------------------------------
# Judges
# ------------------------------------------------------------------------------------------


def _debate_state(obs: Observation) -> Mapping[str, Any]:
    state = obs.state
    if "answers" not in state or "transcript" not in state or "your_answer" in state:
        raise ValueError("this judge reads a Debate-v1 judge observation (role 'judge')")
    return state


def _side_texts(state: Mapping[str, Any], label: str) -> list[str]:
    return [m["text"] for m in state["transcript"] if m["answer"] == label]


class DebateJudge(BaseAgent):
    """Base of the scripted judges: answers with a short reason and ``[A]`` or ``[B]``."""

    name = "judge"
    #: Whether the env shows this judge the correct label (``state["correct"]``).
    privileged = False

    def act(self, obs: Observation) -> str:
        state = _debate_state(obs)
        label, reason = self.decide(state)
        p = self.probability_a(label)
        return f"{reason} P(A) = {p:.2f}. Verdict: [{label}]"

    def decide(self, state: Mapping[str, Any]) -> tuple[str, str]:
        raise NotImplementedError

    def probability_a(self, label: str) -> float:
        """The probability that A is correct this judge states with its verdict (by default
        certainty in its verdict; judges that weigh evidence say how sure they are)."""
        return 1.0 if label == "A" else 0.0

    def _coin(self) -> str:
        return LABELS[int(self.rng.random() * 2)]


class OracleJudge(DebateJudge):
    """Knows which answer is correct and always picks it."""

    name = "oracle"
    privileged = True

    def decide(self, state: Mapping[str, Any]) -> tuple[str, str]:
        correct = state.get("correct")
        if correct not in LABELS:
            raise ValueError("the oracle judge needs a privileged observation (state['correct'])")
        return correct, "I know the correct answer."


class RandomJudge(DebateJudge):
    """Picks A or B uniformly at random."""

    name = "random"

    def decide(self, state: Mapping[str, Any]) -> tuple[str, str]:
        return self._coin(), "I pick at random."


class LengthJudge(DebateJudge):
    """Picks the side whose debater wrote more characters (ties at random)."""

    name = "length"

    def decide(self, state: Mapping[str, Any]) -> tuple[str, str]:
        a, b = (sum(len(t) for t in _side_texts(state, x)) for x in LABELS)
        label = "A" if a > b else "B" if b > a else self._coin()
        return label, f"Side A wrote {a} characters, side B {b}."


class KeywordJudge(DebateJudge):
    """Weighs checkable evidence only (module docstring): verified quotes on passage questions,
    arithmetic claims on the others; with none, a coin flip. Text that is neither counts for
    nothing, so off-topic, repeated or content-free text cannot sway it."""

    name = "keyword"

    def __init__(self, *, seed: int | None = None) -> None:
        super().__init__(seed=seed)
        self._margin = 0

    def decide(self, state: Mapping[str, Any]) -> tuple[str, str]:
        answers, question = state["answers"], state["question"]
        consultancy = state.get("protocol") == "consultancy"
        if state.get("hidden_passage"):
            scores = {x: quote_evidence(state["transcript"], question, answers, x) for x in LABELS}
            full = len(_content_words(question))
            kind = "quote evidence"
        elif (steps := solve_with_leaves(question)) is not None:
            scores = {
                x: derivation_evidence(_side_texts(state, x), steps, answers[x]) for x in LABELS
            }
            full = 2.1  # complete: the question's last step, stated, reaching the side's answer
            kind = "arithmetic evidence"
        else:
            scores = {
                x: claim_evidence(_side_texts(state, x), question, answers[x]) for x in LABELS
            }
            # complete: a derivation that depends on at least one question number
            full = 2.1
            kind = "arithmetic evidence"
        a, b = scores["A"], scores["B"]
        spoke = {m["answer"] for m in state["transcript"]}
        if consultancy and len(spoke) == 1:
            # One side spoke: believe it only when its evidence is complete.
            (side,) = spoke
            believed = scores[side] >= full
            label = side if believed else _other(side)
            self._margin = 2 if believed else -2
            return label, f"The consultant's {kind} scores {scores[side]:g} of {full}."
        if a != b:
            label = "A" if a > b else "B"
            self._margin = abs(a - b)
        else:
            label = self._coin()
            self._margin = 0
        return label, f"Side A's {kind} scores {a:g}, side B's {b:g}."

    def probability_a(self, label: str) -> float:
        sure = min(0.45, 0.15 * abs(self._margin))
        p = 0.5 + sure
        return p if label == "A" else 1.0 - p


#: The words of distinct verified quotes a side may spend over a debate; quotes past it (in the
#: order quoted) earn no evidence, so dumping the passage cannot stand in for finding the line.
QUOTE_WORD_BUDGET = 30


def quote_evidence(
    transcript: Sequence[Mapping[str, Any]],
    question: str,
    answers: Mapping[str, str],
    label: str,
) -> int:
    """A side's quote evidence: the most question words any one sentence of its verified quotes
    shares while naming its own answer and not the other's, minus 2 per distinct unverified
    quote. Repeating a quote adds nothing; verified quotes past :data:`QUOTE_WORD_BUDGET` words
    (distinct quotes, in order) earn nothing."""
    own, other = answers[label], answers[_other(label)]
    q = _content_words(question)
    best, unverified = 0, set()
    seen = set()
    budget = QUOTE_WORD_BUDGET
    for m in transcript:
        if m["answer"] != label:
            continue
        for quote in m.get("quotes", ()):
            text = quote["text"]
            if not quote["verified"]:
                unverified.add(" ".join(text.lower().split()))
                continue
            if text in seen:
                continue
            seen.add(text)
            # Quoting the whole passage would hand the judge the reading: past the side's
            # word budget, verified quotes earn nothing.
            budget -= len(text.split())
            if budget < 0:
                continue
            for sent in re.split(r"(?<=[.!?])\s+", text):
                if _names(sent, own) and not _names(sent, other):
                    best = max(best, len(q & _content_words(sent)))
    return best - 2 * len(unverified)


def _names(text: str, answer: str) -> bool:
    """Whether ``text`` states ``answer`` as whole words (case aside)."""
    words = re.findall(r"\w+", answer.lower())
    if not words:
        return False
    pattern = r"\b" + r"\W+".join(re.escape(w) for w in words) + r"\b"
    return re.search(pattern, text.lower()) is not None


def claim_evidence(texts: Iterable[str], question: str, own_answer: str) -> float:
    """A side's arithmetic evidence: 2 when a chain of true claims from the question's numbers
    reaches its own answer (plus a tenth for each question number that chain uses, so a full
    derivation outweighs a one-number coincidence), minus 3 per distinct false claim. True
    claims that lead nowhere earn nothing, however many."""
    s = score_side(texts, question, own_answer, "")
    return (2 + 0.1 * s.coverage if s.derived else 0) - 3 * s.false


def derivation_evidence(
    texts: Iterable[str], steps: Sequence[tuple[Step, tuple[int, ...]]], own_answer: str
) -> float:
    """A side's arithmetic evidence on a generated question, whose intended computation the
    judge reads back from the question text (:func:`questions.solve_with_leaves`): 2 when the
    side states the question's last step as a true claim and that step's value is its own
    answer, plus a tenth for each step of the computation it states (a step is stated by a true
    claim ``x op y = value`` over the step's own operands, or over all the question numbers the
    step is computed from, in any order: ``3 * 15 = 45``, ``45 - 7 = 38``, ``3 * 15 - 7 = 38``),
    minus 3 per distinct false claim. Any other true claim earns nothing, so a chain of true
    identities or a sum of the question's numbers adjusted to reach a wrong answer gets no
    credit: only the question's own computation leads to an answer."""
    target = parse_number(own_answer)
    stated = [False] * len(steps)
    false = 0
    for claim in distinct_claims(texts):
        if not claim.true:
            false += 1
            continue
        if claim.relation != "=":
            continue
        ops = tuple(sorted(claim.operands))
        for k, (step, leaves) in enumerate(steps):
            if claim.value != step.value:
                continue
            direct = tuple(sorted((Fraction(step.left), Fraction(step.right))))
            if ops == direct or ops == tuple(Fraction(x) for x in leaves):
                stated[k] = True
    derived = stated[-1] and target is not None and target == steps[-1][0].value
    return (2 + 0.1 * sum(stated) if derived else 0) - 3 * false


def _other(label: str) -> str:
    return "B" if label == "A" else "A"


_JUDGES: dict[str, type[DebateJudge]] = {
    "oracle": OracleJudge,
    "random": RandomJudge,
    "length": LengthJudge,
    "keyword": KeywordJudge,
}
#: Names of the scripted judges.
JUDGES = tuple(_JUDGES)


def make_judge(spec: str, seed: int | None = None) -> DebateJudge:
    """A scripted judge by name: ``oracle``, ``random``, ``length`` or ``keyword``."""
    if not isinstance(spec, str):
        raise ValueError(f"a judge spec is a name, got {spec!r}")
    cls = _JUDGES.get(spec.strip().lower())
    if cls is None:
        raise ValueError(f"no Debate judge named {spec!r}; known: {', '.join(JUDGES)}")
    return cls(seed=seed)


def jury_specs(judge: Any) -> list[Any]:
    """The jurors a ``judge=`` option names: one spec/agent, a list, or ``"a+b+c"``."""
    if isinstance(judge, str):
        parts = [p.strip() for p in judge.split("+")] if "+" in judge else [judge]
        if any(not p for p in parts):
            raise ValueError(f"judge spec {judge!r} has an empty part")
        return parts
    if isinstance(judge, Sequence):
        jurors = list(judge)
        if not jurors:
            raise ValueError("a jury needs at least one judge")
        for j in jurors:
            if isinstance(j, list | tuple):
                raise ValueError("a jury is a flat list of judges")
        return jurors
    if isinstance(judge, Agent) or callable(getattr(judge, "act", None)):
        return [judge]
    raise ValueError(f"judge must be a spec, an agent or a list of them, got {judge!r}")
