"""LLM-as-judge verifiers over any :class:`~spenv.agents.base.Agent`.

A judge is an agent (a language model, a script, a person) shown a rubric and the material to
judge as an :class:`~spenv.observation.Observation` with role ``"judge"``; its free-text answer
is parsed into a verdict. Three kinds:

- :class:`PairwiseJudge`: which of two answers to a question is better. With
  ``both_orders=True`` (the default) it asks twice, once with the answers as A/B and once
  swapped, to cancel position bias: when the two readings agree the verdict is that answer,
  when they disagree it is a tie, and ``data`` records both readings.
- :class:`PointwiseJudge`: a score for one answer on a ``0..scale`` rubric.
- :class:`Jury`: several judges of one kind; pairwise verdicts by majority vote, pointwise
  scores by their mean.

Verdicts: ``status`` is ``ok`` when the judge's answer was read (the outcome is in ``score`` and
``data``), ``format_error`` when it could not be read (never a silent pick: the raw text is in
``data``), ``error`` when the agent itself failed (the exception in ``detail``). A pairwise
``score`` is 1.0 when A is better, 0.0 when B is, 0.5 for a tie and also 0.5 (no preference)
when the status is not ``ok``; ``data["winner"]`` is ``"A"``, ``"B"`` or ``"tie"`` (``None``
when not ok). A pointwise ``score`` is ``rating / scale`` (0.0 when not ok).

Parsing (:func:`parse_verdict`, :func:`parse_score`) reads the forms judges write: ``[[A]]``,
``[B]``, ``\\boxed{A}``, "Verdict: A", "Answer B is better", ``[[TIE]]``/"it's a tie" for
pairwise; ``Score: 7/10``, ``Rating: [[8]]``, ``\\boxed{7}``, "8 out of 10" for pointwise. When a
text holds several, the last one counts (judges reason first and conclude last).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from spenv.observation import Observation
from spenv.verifiers.verdict import Verdict

__all__ = [
    "DEFAULT_PAIRWISE_RUBRIC",
    "DEFAULT_POINTWISE_RUBRIC",
    "Jury",
    "PairwiseJudge",
    "PointwiseJudge",
    "parse_score",
    "parse_verdict",
]

DEFAULT_PAIRWISE_RUBRIC = (
    "You are an impartial judge. Compare two answers to the same question and decide which one "
    "is better. Judge correctness first, then completeness, clarity and relevance. Do not let "
    "the order of the answers, their length or the names of their authors influence you."
)
DEFAULT_POINTWISE_RUBRIC = (
    "You are an impartial judge. Rate the quality of an answer to a question. Judge correctness "
    "first, then completeness, clarity and relevance."
)

PAIRWISE_TEMPLATE = (
    "[Question]\n{question}\n\n"
    "{reference_block}"
    "[The Start of Answer A]\n{answer_a}\n[The End of Answer A]\n\n"
    "[The Start of Answer B]\n{answer_b}\n[The End of Answer B]\n\n"
    "Explain your comparison briefly, then give your final verdict on the last line in exactly "
    'this format: "[[A]]" if answer A is better, "[[B]]" if answer B is better, or "[[TIE]]" if '
    "they are equally good."
)
POINTWISE_TEMPLATE = (
    "[Question]\n{question}\n\n"
    "{reference_block}"
    "[The Start of the Answer]\n{answer}\n[The End of the Answer]\n\n"
    "Explain your assessment briefly, then rate the answer on a scale of 0 to {scale} on the "
    'last line in exactly this format: "Rating: [[N]]", for example "Rating: [[{example}]]".'
)
REFERENCE_BLOCK = "[Reference Answer]\n{reference}\n\n"

_WINNERS = ("A", "B", "tie")

# ------------------------------------------------------------------------------------ parsing

_TIE_WORD = r"(?i:(?:a\s++)?(?:tie|draw)|equal(?:ly\s++good)?|neither|C)"
_PAIR_PATTERNS: list[re.Pattern[str]] = [
    # [[A]], [[B]], [[TIE]], [[C]] (MT-bench's tie)
    re.compile(r"\[\[\s*+(A|B|C|(?i:tie|draw))\s*+\]\]"),
    # [A], [B], [TIE]
    re.compile(r"(?<!\[)\[\s*+(A|B|(?i:tie|draw))\s*+\](?!\])"),
    # \boxed{A}, \boxed{\text{B}}, \boxed{tie}
    re.compile(r"\\boxed\s*+\{\s*+(?:\\text(?:bf)?\s*+\{)?\s*+(A|B|(?i:tie|draw))\s*+\}?\s*+\}"),
    # Verdict: A / Final verdict is **B** / Winner: Answer A / Better answer: tie
    re.compile(
        r"(?i:final\s++verdict|verdict|winner|decision|judg(?:e)?ment"
        r"|(?:better|preferred|stronger)\s++(?:answer|response))"
        r"\s*+(?i:is)?\s*+[:=\-]?\s*+[*_\"'`]*\s*+"
        r"(?:(?i:answer|response|assistant|option)\s++)?[\[(]*\s*+"
        rf"(A|B|{_TIE_WORD})(?![\w])"
    ),
    # Answer A is better / B is clearly better / Response B wins
    re.compile(
        r"(?:(?i:answer|response|assistant|option)\s++)?\b(A|B)\s++"
        r"(?i:is\s++(?:clearly\s++|slightly\s++|much\s++|significantly\s++)?"
        r"(?:better|superior|stronger|preferable|more\s++(?:correct|accurate|helpful|complete))"
        r"|wins)"
    ),
    # It's a tie / both answers are equally good
    re.compile(
        r"(?i:it(?:'s|\s++is)\s++a\s++(tie|draw)"
        r"|both\s++(?:answers|responses)\s++are\s++(equally)\s++(?:good|bad|correct|strong))"
    ),
]
_PAIR_ALONE = re.compile(r"^[\s*_\[(\"'`]*(A|B|(?i:tie|draw))[\s*_\])\"'`.]*$")

_NUM = r"(\d+(?:\.\d+)?)"
_SCORE_PATTERNS: list[tuple[re.Pattern[str], bool]] = [
    # (pattern, needs the denominator to equal the scale)
    (re.compile(rf"\[\[\s*+{_NUM}\s*+(?:/\s*+(\d+))?\s*+\]\]"), False),
    (
        re.compile(
            r"(?i:score|rating|grade|rated|overall)\s*+(?i:is|of)?\s*+[:=\-]?\s*+[*_]*\s*+\[*\s*+"
            rf"{_NUM}\s*+(?:(?:/|(?i:out\s++of))\s*+(\d+))?"
        ),
        False,
    ),
    (re.compile(rf"\\boxed\s*+\{{\s*+{_NUM}\s*+(?:/\s*+(\d+))?\s*+\}}"), False),
    (re.compile(rf"(?<![\d.]){_NUM}\s*+(?:/|(?i:out\s++of))\s*+(\d+)"), True),
]


def _winner_of(token: str) -> str:
    t = token.strip().upper()
    return t if t in ("A", "B") else "tie"


def parse_verdict(text: str) -> str | None:
    """The pairwise verdict a judge wrote: ``"A"``, ``"B"``, ``"tie"``, or ``None`` when the
    text states none. The last verdict in the text counts."""
    if not isinstance(text, str):
        return None
    best: tuple[int, str] | None = None
    for pattern in _PAIR_PATTERNS:
        for m in pattern.finditer(text):
            token = next(g for g in m.groups() if g is not None)
            if best is None or m.end() > best[0]:
                best = (m.end(), _winner_of(token))
    if best is not None:
        return best[1]
    alone = _PAIR_ALONE.match(text)
    return _winner_of(alone.group(1)) if alone else None


def parse_score(text: str, scale: float = 10) -> float | None:
    """The rating a judge wrote, on ``0..scale`` (``None`` when there is none, or when it is out
    of range). A rating given on another scale ("4/5") is rescaled; the last rating counts."""
    if not isinstance(text, str):
        return None
    best: tuple[int, float, float | None] | None = None
    for pattern, needs_scale in _SCORE_PATTERNS:
        for m in pattern.finditer(text):
            value = float(m.group(1))
            denom = float(m.group(2)) if m.group(2) else None
            if needs_scale and denom != float(scale):
                continue
            if best is None or m.end() > best[0]:
                best = (m.end(), value, denom)
    if best is None:
        alone = re.fullmatch(rf"[\s*_\[]*{_NUM}[\s*_\].]*", text)
        if not alone:
            return None
        best = (0, float(alone.group(1)), None)
    _, value, denom = best
    if denom is not None and denom != float(scale):
        if denom <= 0:
            return None
        value = value * float(scale) / denom
    return value if 0 <= value <= float(scale) else None


# ------------------------------------------------------------------------------------ asking


def _ask(agent: Any, observations: list[Observation]) -> list[str | BaseException]:
    """The agent's answers, in order; an exception in place of an answer when it failed."""
    if not observations:
        return []
    batch = getattr(agent, "act_batch", None)
    if callable(batch):
        try:
            out = list(batch(observations))
        except Exception as e:
            return [e] * len(observations)
        if len(out) != len(observations):
            err = RuntimeError(
                f"act_batch returned {len(out)} answers for {len(observations)} observations"
            )
            return [err] * len(observations)
        return out
    answers: list[str | BaseException] = []
    for obs in observations:
        try:
            answers.append(agent.act(obs))
        except Exception as e:
            answers.append(e)
    return answers


def _check_agent(agent: Any) -> None:
    if not callable(getattr(agent, "act", None)) and not callable(
        getattr(agent, "act_batch", None)
    ):
        raise TypeError(f"a judge needs an agent with act(obs) -> str, got {type(agent).__name__}")


def _check_template(template: str, fields: Sequence[str], what: str) -> None:
    try:
        template.format(**dict.fromkeys(fields, ""))
    except (KeyError, IndexError, ValueError) as e:
        raise ValueError(
            f"{what} must be a format string using only the fields {sorted(fields)}: {e!r}"
        ) from None


def _describe_failure(answer: Any) -> str:
    if isinstance(answer, BaseException):
        return f"the judge agent failed: {type(answer).__name__}: {answer}"
    return f"the judge agent returned {type(answer).__name__}, not text"


@dataclass(frozen=True, slots=True)
class _Item:
    question: str
    answers: tuple[str, ...]
    reference: str | None


def _unpack_all(items: Sequence[Any], n_answers: int) -> tuple[list[_Item], dict[int, Verdict]]:
    """The well-formed items, and a ``format_error`` verdict (with the reason) for each
    malformed one, keyed by its index: one bad item never stops a batch."""
    parsed: list[_Item] = []
    bad: dict[int, Verdict] = {}
    for i, item in enumerate(items):
        try:
            parsed.append(_unpack(i, item, n_answers))
        except (TypeError, ValueError) as exc:
            bad[i] = Verdict("format_error", 0.5 if n_answers == 2 else 0.0, str(exc), 0.0, {})
    return parsed, bad


def _merge(good: list[Verdict], bad: dict[int, Verdict]) -> list[Verdict]:
    """The verdicts in input order: ``good`` fills the indices ``bad`` does not hold."""
    it = iter(good)
    return [bad[i] if i in bad else next(it) for i in range(len(good) + len(bad))]


def _as_text(value: Any, name: str, i: int) -> str:
    if not isinstance(value, str):
        raise TypeError(f"item {i}: {name} must be a string, got {type(value).__name__}")
    return value


def _unpack(i: int, item: Any, n_answers: int) -> _Item:
    keys = ("answer_a", "answer_b") if n_answers == 2 else ("answer",)
    if isinstance(item, Mapping):
        missing = [k for k in ("question", *keys) if k not in item]
        if missing:
            raise ValueError(f"item {i}: missing keys {missing}")
        question = item["question"]
        answers = tuple(item[k] for k in keys)
        reference = item.get("reference")
    elif isinstance(item, tuple | list) and len(item) in (n_answers + 1, n_answers + 2):
        question, answers = item[0], tuple(item[1 : n_answers + 1])
        reference = item[n_answers + 1] if len(item) == n_answers + 2 else None
    else:
        shape = (
            "(question, answer_a, answer_b[, reference])"
            if n_answers == 2
            else ("(question, answer[, reference])")
        )
        raise ValueError(f"item {i}: expected {shape} or a mapping, got {item!r:.80}")
    return _Item(
        _as_text(question, "question", i),
        tuple(_as_text(a, k, i) for a, k in zip(answers, keys, strict=True)),
        None if reference is None else _as_text(reference, "reference", i),
    )


# ------------------------------------------------------------------------------------ judges


class PairwiseJudge:
    """Which of two answers is better, by asking ``agent`` (see the module docstring).

    ``rubric`` is the system message; ``template`` the user message, a format string with the
    fields ``question``, ``answer_a``, ``answer_b`` and ``reference_block`` (the reference
    answer's block, empty when none is given). ``both_orders`` asks A/B and B/A and combines
    them; ``retries`` re-asks (in one batch) when an answer cannot be read.
    """

    kind = "pairwise"

    def __init__(
        self,
        agent: Any,
        rubric: str = DEFAULT_PAIRWISE_RUBRIC,
        *,
        template: str = PAIRWISE_TEMPLATE,
        both_orders: bool = True,
        retries: int = 0,
        env_id: str = "judge/pairwise",
    ) -> None:
        _check_agent(agent)
        _check_template(
            template, ("question", "answer_a", "answer_b", "reference_block"), "template"
        )
        if not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries must be a non-negative integer, got {retries!r}")
        self.agent = agent
        self.rubric = rubric
        self.template = template
        self.both_orders = both_orders
        self.retries = retries
        self.env_id = env_id

    @property
    def name(self) -> str:
        return f"pairwise({getattr(self.agent, 'name', type(self.agent).__name__)})"

    def observation(
        self, question: str, answer_a: str, answer_b: str, reference: str | None = None
    ) -> Observation:
        """What the judge agent sees for one ordering of the two answers."""
        block = REFERENCE_BLOCK.format(reference=reference) if reference is not None else ""
        user = self.template.format(
            question=question, answer_a=answer_a, answer_b=answer_b, reference_block=block
        )
        state = {"question": question, "answer_a": answer_a, "answer_b": answer_b}
        if reference is not None:
            state["reference"] = reference
        return Observation(
            system=self.rubric, user=user, role="judge", env_id=self.env_id, turn=0, state=state
        )

    def judge(
        self, question: str, answer_a: str, answer_b: str, reference: str | None = None
    ) -> Verdict:
        """One verdict: score 1.0 when A is better, 0.0 when B is, 0.5 for a tie."""
        return self.judge_batch([(question, answer_a, answer_b, reference)])[0]

    def judge_batch(self, items: Sequence[Any]) -> list[Verdict]:
        """Verdicts for many ``(question, answer_a, answer_b[, reference])`` items (or mappings
        with those keys), asking the agent once per ordering with ``act_batch`` when it has it."""
        t0 = time.perf_counter()
        parsed, bad = _unpack_all(items, 2)
        orders = ("AB", "BA") if self.both_orders else ("AB",)
        observations: list[Observation] = []
        for it in parsed:
            a, b = it.answers
            for order in orders:
                x, y = (a, b) if order == "AB" else (b, a)
                observations.append(self.observation(it.question, x, y, it.reference))
        readings = _read_all(self.agent, observations, parse_verdict, self.retries)
        per_item = len(orders)
        elapsed = (time.perf_counter() - t0) / max(1, len(parsed))
        good = [
            self._combine(readings[k * per_item : (k + 1) * per_item], orders, elapsed)
            for k in range(len(parsed))
        ]
        return _merge(good, bad)

    def _combine(self, readings: list[_Reading], orders: Sequence[str], elapsed: float) -> Verdict:
        record = []
        for order, r in zip(orders, readings, strict=True):
            entry: dict[str, Any] = {"order": order, "raw": r.raw, "parsed": r.value}
            if r.value is not None:
                entry["winner"] = _unswap(r.value) if order == "BA" else r.value
            if r.attempts > 1:
                entry["attempts"] = r.attempts
            record.append(entry)
        data: dict[str, Any] = {"winner": None, "readings": record}
        failed = [r for r in readings if r.error is not None]
        if failed:
            return Verdict("error", 0.5, failed[0].error or "", elapsed, data)
        unread = [e["order"] for e in record if e["parsed"] is None]
        if unread:
            return Verdict(
                "format_error",
                0.5,
                f"no verdict could be read from the judge's answer ({', '.join(unread)} order)",
                elapsed,
                data,
            )
        winners = [e["winner"] for e in record]
        consistent = len(set(winners)) == 1
        winner = winners[0] if consistent else "tie"
        data["winner"] = winner
        if len(winners) > 1:
            data["consistent"] = consistent
        detail = (f"{winner} better" if winner != "tie" else "tie") + (
            "" if consistent else f" (the two orders disagreed: {winners[0]} then {winners[1]})"
        )
        return Verdict("ok", {"A": 1.0, "B": 0.0, "tie": 0.5}[winner], detail, elapsed, data)


def _unswap(winner: str) -> str:
    return {"A": "B", "B": "A"}.get(winner, winner)


class PointwiseJudge:
    """A score for one answer on ``0..scale``, by asking ``agent``.

    ``template`` is a format string with the fields ``question``, ``answer``, ``scale``,
    ``example`` and ``reference_block``. The verdict's score is ``rating / scale``.
    """

    kind = "pointwise"

    def __init__(
        self,
        agent: Any,
        rubric: str = DEFAULT_POINTWISE_RUBRIC,
        *,
        scale: int | float = 10,
        template: str = POINTWISE_TEMPLATE,
        retries: int = 0,
        env_id: str = "judge/pointwise",
    ) -> None:
        _check_agent(agent)
        if isinstance(scale, bool) or not isinstance(scale, int | float) or not scale > 0:
            raise ValueError(f"scale must be a positive number, got {scale!r}")
        _check_template(
            template, ("question", "answer", "scale", "example", "reference_block"), "template"
        )
        if not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries must be a non-negative integer, got {retries!r}")
        self.agent = agent
        self.rubric = rubric
        self.scale = scale
        self.template = template
        self.retries = retries
        self.env_id = env_id

    @property
    def name(self) -> str:
        return f"pointwise({getattr(self.agent, 'name', type(self.agent).__name__)})"

    def observation(self, question: str, answer: str, reference: str | None = None) -> Observation:
        block = REFERENCE_BLOCK.format(reference=reference) if reference is not None else ""
        example = self.scale * 7 // 10 if isinstance(self.scale, int) else round(self.scale * 0.7)
        user = self.template.format(
            question=question,
            answer=answer,
            scale=self.scale,
            example=example,
            reference_block=block,
        )
        state = {"question": question, "answer": answer, "scale": self.scale}
        if reference is not None:
            state["reference"] = reference
        return Observation(
            system=self.rubric, user=user, role="judge", env_id=self.env_id, turn=0, state=state
        )

    def judge(self, question: str, answer: str, reference: str | None = None) -> Verdict:
        """One verdict: score ``rating / scale``; ``data["rating"]`` holds the rating."""
        return self.judge_batch([(question, answer, reference)])[0]

    def judge_batch(self, items: Sequence[Any]) -> list[Verdict]:
        """Verdicts for many ``(question, answer[, reference])`` items or mappings."""
        t0 = time.perf_counter()
        parsed, bad = _unpack_all(items, 1)
        observations = [self.observation(it.question, it.answers[0], it.reference) for it in parsed]

        def parse(text: str) -> float | None:
            return parse_score(text, self.scale)

        readings = _read_all(self.agent, observations, parse, self.retries)
        elapsed = (time.perf_counter() - t0) / max(1, len(parsed))
        out = []
        for r in readings:
            data: dict[str, Any] = {"rating": r.value, "scale": self.scale, "raw": r.raw}
            if r.attempts > 1:
                data["attempts"] = r.attempts
            if r.error is not None:
                out.append(Verdict("error", 0.0, r.error, elapsed, data))
            elif r.value is None:
                out.append(
                    Verdict(
                        "format_error",
                        0.0,
                        f"no rating between 0 and {self.scale} could be read from the judge",
                        elapsed,
                        data,
                    )
                )
            else:
                score = r.value / self.scale
                out.append(Verdict("ok", score, f"rated {r.value:g}/{self.scale}", elapsed, data))
        return _merge(out, bad)


@dataclass(slots=True)
class _Reading:
    raw: str | None
    value: Any = None
    error: str | None = None
    attempts: int = 1


def _read_all(agent: Any, observations: list[Observation], parse: Any, retries: int):
    """Ask for every observation and parse the answers; re-ask the unreadable ones."""
    readings = [_Reading(None) for _ in observations]
    todo = list(range(len(observations)))
    for attempt in range(retries + 1):
        answers = _ask(agent, [observations[i] for i in todo])
        again = []
        for i, answer in zip(todo, answers, strict=True):
            r = readings[i]
            r.attempts = attempt + 1
            if not isinstance(answer, str):
                r.raw, r.value, r.error = None, None, _describe_failure(answer)
                continue
            r.raw, r.error = answer, None
            r.value = parse(answer)
            if r.value is None:
                again.append(i)
        todo = again
        if not todo:
            break
    return readings


class Jury:
    """Several judges of one kind voting on each item.

    Pairwise: the verdict with the most votes among the judges whose verdicts were read (a tie
    in votes between A and B is a tie); ``data["votes"]`` maps each judge that voted
    (``name#index``) to its winner.
    Pointwise: the mean of the scores that were read. Judges whose verdict was not ``ok`` do not
    vote (their statuses are in ``data["abstained"]``); when none voted, the verdict is theirs
    (``format_error`` or ``error``).
    """

    def __init__(self, judges: Sequence[PairwiseJudge | PointwiseJudge]) -> None:
        judges = list(judges)
        if not judges:
            raise ValueError("a jury needs at least one judge")
        kinds = {getattr(j, "kind", None) for j in judges}
        if len(kinds) != 1 or kinds.pop() not in ("pairwise", "pointwise"):
            raise ValueError("a jury's judges must all be PairwiseJudge or all PointwiseJudge")
        self.judges = judges
        self.kind = judges[0].kind

    def judge(self, *args: Any, **kwargs: Any) -> Verdict:
        """Same arguments as the judges' ``judge``."""
        return self.judge_batch([_item_from_call(self.kind, args, kwargs)])[0]

    def judge_batch(self, items: Sequence[Any]) -> list[Verdict]:
        items = list(items)
        per_judge = [j.judge_batch(items) for j in self.judges]
        return [self._combine([verdicts[k] for verdicts in per_judge]) for k in range(len(items))]

    def _combine(self, verdicts: list[Verdict]) -> Verdict:
        names = [f"{getattr(j, 'name', 'judge')}#{i}" for i, j in enumerate(self.judges)]
        elapsed = sum(v.elapsed for v in verdicts)
        ok = [(n, v) for n, v in zip(names, verdicts, strict=True) if v.ok]
        abstained = {n: v.status for n, v in zip(names, verdicts, strict=True) if not v.ok}
        data: dict[str, Any] = {"verdicts": [v.to_dict() for v in verdicts]}
        if abstained:
            data["abstained"] = abstained
        if not ok:
            statuses = {v.status for v in verdicts}
            status = "error" if "error" in statuses else "format_error"
            neutral = 0.5 if self.kind == "pairwise" else 0.0
            data["winner" if self.kind == "pairwise" else "rating"] = None
            return Verdict(
                status, neutral, f"no judge's verdict could be read ({status})", elapsed, data
            )
        if self.kind == "pointwise":
            score = sum(v.score for _, v in ok) / len(ok)
            data["scores"] = {n: v.score for n, v in ok}
            return Verdict("ok", score, f"mean of {len(ok)} ratings", elapsed, data)
        votes = {n: v.data["winner"] for n, v in ok}
        counts = Counter(votes.values())
        top = max(counts.values())
        leaders = [w for w in _WINNERS if counts.get(w, 0) == top]
        winner = leaders[0] if len(leaders) == 1 else "tie"
        data.update(winner=winner, votes=votes, counts={w: counts.get(w, 0) for w in _WINNERS})
        detail = (
            f"{winner} by {top} of {len(ok)} votes"
            if len(leaders) == 1
            else (f"tie: {' and '.join(leaders)} got {top} votes each")
        )
        return Verdict("ok", {"A": 1.0, "B": 0.0, "tie": 0.5}[winner], detail, elapsed, data)


def _item_from_call(kind: str, args: tuple, kwargs: dict) -> tuple:
    names = (
        ("question", "answer_a", "answer_b", "reference")
        if kind == "pairwise"
        else ("question", "answer", "reference")
    )
    values = dict(zip(names, args, strict=False))
    for k, v in kwargs.items():
        if k not in names:
            raise TypeError(f"unexpected argument {k!r}; a {kind} jury takes {names}")
        values[k] = v
    missing = [n for n in names[:-1] if n not in values]
    if missing:
        raise TypeError(f"missing arguments {missing}")
    return tuple(values.get(n) for n in names)
