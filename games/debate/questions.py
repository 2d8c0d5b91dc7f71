"""Questions for ``Debate-v1``: two candidate answers, exactly one correct.

Three sources, each giving :class:`Question` records:

- **generated** (the default): arithmetic word problems made from a seed by :func:`generate`,
  with the correct answer and a plausible wrong one (a typical slip: one group miscounted, a carry
  error, an off-by-one, the wrong operation). They need no data files and their arithmetic can be
  checked, which is what the ``keyword`` judge and the ``advocate`` debater build on.
  :func:`solve` re-derives a generated question's worked computation from its text alone.
- **a JSONL file** (``data="questions.jsonl"``): one object per line with the fields ``question``,
  ``correct`` and ``incorrect`` (strings, or numbers), and optionally ``id``.
- **a benchmark suite** (``suite="gsm8k"``) read from ``data_dir``, else the ``SPENV_DATA``
  environment variable, else the benchmark data that ships with spenv (:mod:`spenv.datafiles`):
  ``mmlu_stem`` (the correct choice against one other choice drawn at random), ``gsm8k`` (the
  gold number against a near miss), and the numeric suites ``amc23``, ``aime24``, ``aime25``
  (likewise).

Files are read once and cached per process (keyed by path, size and modification time), never per
reset, and nothing here touches the network.
"""

from __future__ import annotations

import json
import os
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from spenv.datafiles import benchmark_root

#: Suites read from the benchmark folder, and how each one's rows become questions.
SUITES = ("mmlu_stem", "gsm8k", "amc23", "aime24", "aime25")


@dataclass(frozen=True)
class Question:
    """One debate question: the text, the correct answer and the wrong one."""

    id: str
    question: str
    correct: str
    incorrect: str
    source: str = "custom"
    #: Source-specific facts (for generated questions the template and worked steps); never
    #: shown to the debaters or the judge.
    meta: Mapping[str, Any] = field(default_factory=dict)
    #: The passage the question is about, shown to the debaters only (never to the judge);
    #: ``None`` for questions without one.
    passage: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {
            "id": self.id,
            "question": self.question,
            "correct": self.correct,
            "incorrect": self.incorrect,
            "source": self.source,
        }
        if self.passage is not None:
            out["passage"] = self.passage
        return out


def question_from_mapping(data: Any, *, default_id: str = "custom") -> Question:
    """Validate a ``{"question", "correct", "incorrect"[, "id"]}`` mapping into a Question."""
    if not isinstance(data, Mapping):
        raise ValueError(f"a question is a mapping with question/correct/incorrect, got {data!r}")
    missing = [k for k in ("question", "correct", "incorrect") if k not in data]
    if missing:
        raise ValueError(f"question is missing field(s) {missing}; it has {sorted(data)}")
    q = _text_field(data, "question")
    correct = _text_field(data, "correct")
    incorrect = _text_field(data, "incorrect")
    if correct == incorrect:
        raise ValueError(f"question {q[:60]!r}: correct and incorrect answers are the same")
    qid = data.get("id", default_id)
    passage = data.get("passage")
    if passage is not None and (not isinstance(passage, str) or not passage.strip()):
        raise ValueError(f"question {q[:60]!r}: passage must be a non-empty text")
    return Question(
        id=str(qid),
        question=q,
        correct=correct,
        incorrect=incorrect,
        source=str(data.get("source", "custom")),
        passage=passage,
    )


def _text_field(data: Mapping[str, Any], key: str) -> str:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"question field {key!r} must be text or a number, got {value!r}")
    text = format_number(Fraction(str(value))) if not isinstance(value, str) else value.strip()
    if not text:
        raise ValueError(f"question field {key!r} is empty")
    return text


# --------------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------------


class Source:
    """Where an env's questions come from; ``draw(rng)`` picks one with the env's generator."""

    name = "source"

    def draw(self, rng: np.random.Generator) -> Question:
        raise NotImplementedError

    def options(self) -> dict[str, Any]:
        """The env options that rebuild this source (recorded in episodes)."""
        return {}


class GeneratedSource(Source):
    """Arithmetic word problems generated from a seed drawn from the env's generator."""

    name = "generated"

    def draw(self, rng: np.random.Generator) -> Question:
        return generate(int(rng.integers(2**63)))


class GeneratedArithmetic(GeneratedSource):
    """The arithmetic set chosen with ``questions="arithmetic"`` (recorded in the options)."""

    def options(self) -> dict[str, Any]:
        return {"questions": "arithmetic"}


def passage_question(row: Mapping[str, Any], source: str) -> Question:
    """A Question from a passage row of :mod:`.passages` (``id``, ``passage``, ``question``,
    ``correct``, ``incorrect``, ``meta``)."""
    return Question(
        id=row["id"],
        question=row["question"],
        correct=row["correct"],
        incorrect=row["incorrect"],
        source=source,
        meta=row["meta"],
        passage=row["passage"],
    )


class PassageSource(Source):
    """Generated reading-comprehension questions over passages (:mod:`.passages`)."""

    name = "passages"

    def draw(self, rng: np.random.Generator) -> Question:
        from spenv.games.debate.passages import generate_passage

        return passage_question(generate_passage(int(rng.integers(2**63))), "passages")

    def options(self) -> dict[str, Any]:
        return {}


class RowSource(Source):
    """Rows of a file, each made into a question at draw time (drawing the wrong answer)."""

    def __init__(
        self,
        name: str,
        rows: tuple[Any, ...],
        convert: Callable[[Any, int, np.random.Generator], Question],
        options: dict[str, Any],
    ) -> None:
        if not rows:
            raise ValueError(f"the question source {name!r} has no questions")
        self.name = name
        self.rows = rows
        self._convert = convert
        self._options = options

    def __len__(self) -> int:
        return len(self.rows)

    def draw(self, rng: np.random.Generator) -> Question:
        i = int(rng.integers(len(self.rows)))
        return self._convert(self.rows[i], i, rng)

    def options(self) -> dict[str, Any]:
        return dict(self._options)


def default_data_dir() -> Path:
    """``$SPENV_DATA`` if set, else the benchmark data that ships with spenv."""
    return benchmark_root()


#: The generated question sets (env option ``questions``).
GENERATED = ("passages", "arithmetic")


def open_source(
    data: str | os.PathLike[str] | None = None,
    suite: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    quality: str | os.PathLike[str] | None = None,
    questions: str = "passages",
) -> Source:
    """The question source for the env options ``data``, ``suite`` (with ``data_dir``),
    ``quality`` (a QuALITY-format file) or, with none of them, the generated set
    ``questions`` (``"passages"``, the default, or ``"arithmetic"``)."""
    if questions not in GENERATED:
        raise ValueError(f"questions must be one of {GENERATED}, got {questions!r}")
    if sum(x is not None for x in (data, suite, quality)) > 1:
        raise ValueError("give at most one of data (a JSONL file), suite and quality")
    if quality is not None:
        from spenv.games.debate.passages import load_quality

        path = Path(quality).expanduser().resolve()
        rows = tuple(passage_question(r, "quality") for r in load_quality(path))
        return RowSource("quality", rows, lambda q, i, rng: q, {"quality": str(path)})
    if data is not None:
        path = Path(data).expanduser().resolve()
        rows = _read_jsonl(path)
        # Every row is checked now, so a bad file fails when the env is made, not mid-run.
        checked = _CHECKED.get(id(rows))
        if checked is None or checked[0] is not rows:
            checked = (rows, tuple(_custom_row(row, path.name) for row in rows))
            _CHECKED.clear()
            _CHECKED[id(rows)] = checked
        return RowSource(f"jsonl:{path.name}", checked[1], lambda q, i, rng: q, {"data": str(path)})
    if suite is not None:
        if suite not in SUITES:
            raise ValueError(f"unknown suite {suite!r}; known: {', '.join(SUITES)}")
        root = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
        root = root.resolve()
        path = root / suite / "test.jsonl"
        if not path.is_file():
            raise ValueError(f"suite {suite!r}: no file {path}")
        rows = _read_jsonl(path)
        convert = _mmlu_row if suite == "mmlu_stem" else _numeric_row(suite)
        return RowSource(suite, rows, convert, {"suite": suite, "data_dir": str(root)})
    if data_dir is not None:
        raise ValueError("data_dir goes with suite=...; it names the benchmark folder")
    if questions == "arithmetic":
        return GeneratedArithmetic()
    return PassageSource()


_FILE_CACHE: dict[tuple[str, int, int], tuple[Any, ...]] = {}
# The last custom file's rows (by identity) and their questions.
_CHECKED: dict[int, tuple[tuple[Any, ...], tuple[Question, ...]]] = {}


def _read_jsonl(path: Path) -> tuple[Any, ...]:
    """The parsed lines of a JSONL file, cached by (path, size, modification time)."""
    try:
        st = path.stat()
    except OSError as exc:
        raise ValueError(f"cannot read questions from {path}: {exc}") from exc
    key = (str(path), st.st_size, st.st_mtime_ns)
    rows = _FILE_CACHE.get(key)
    if rows is None:
        parsed = []
        with open(path, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    parsed.append((lineno, json.loads(line)))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{lineno}: not valid JSON: {exc}") from exc
        rows = tuple(parsed)
        if len(_FILE_CACHE) > 32:
            _FILE_CACHE.clear()
        _FILE_CACHE[key] = rows
    return rows


def _custom_row(row: tuple[int, Any], filename: str) -> Question:
    lineno, data = row
    try:
        q = question_from_mapping(data, default_id=f"{filename}:{lineno}")
    except ValueError as exc:
        raise ValueError(f"{filename}:{lineno}: {exc}") from exc
    return Question(q.id, q.question, q.correct, q.incorrect, source="jsonl")


def _mmlu_row(row: tuple[int, Any], index: int, rng: np.random.Generator) -> Question:
    lineno, data = row
    try:
        choices = [str(c).strip() for c in data["choices"]]
        gold = int(data["answer"])
        question = str(data["question"]).strip()
        if not 0 <= gold < len(choices):
            raise ValueError(f"answer index {gold} outside the {len(choices)} choices")
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"mmlu_stem line {lineno}: malformed row: {exc}") from exc
    others = [i for i, c in enumerate(choices) if i != gold and c != choices[gold]]
    if not others:
        raise ValueError(f"mmlu_stem line {lineno}: no wrong choice to debate")
    wrong = others[int(rng.integers(len(others)))]
    return Question(
        id=f"mmlu_stem-{index}",
        question=question,
        correct=choices[gold],
        incorrect=choices[wrong],
        source="mmlu_stem",
        meta={"subject": data.get("type"), "wrong_choice": wrong},
    )


def _numeric_row(suite: str) -> Callable[[Any, int, np.random.Generator], Question]:
    def convert(row: tuple[int, Any], index: int, rng: np.random.Generator) -> Question:
        lineno, data = row
        try:
            question = str(data.get("question") or data["problem"]).strip()
            raw = data["answer"]
            if suite == "gsm8k":
                raw = str(raw).rpartition("####")[2]
            gold = parse_number(str(raw))
            if gold is None:
                raise ValueError(f"answer {raw!r} is not a number")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"{suite} line {lineno}: malformed row: {exc}") from exc
        wrong = near_miss(gold, rng)
        return Question(
            id=f"{suite}-{index}",
            question=question,
            correct=format_number(gold),
            incorrect=format_number(wrong),
            source=suite,
        )

    return convert


# --------------------------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------------------------

_NUMBER_RE = re.compile(r"^\s*\$?\s*(-?\d+(?:,\d{3})*(?:\.\d+)?|-?\.\d+)\s*$")


def parse_number(text: str) -> Fraction | None:
    """``"2,125"``, ``"$18"``, ``"3.5"``, ``"-4"`` as an exact number; None if not a number."""
    m = _NUMBER_RE.match(text)
    if not m:
        return None
    return Fraction(m.group(1).replace(",", ""))


def format_number(value: Fraction) -> str:
    """An exact number as plain text: ``18``, ``3.5``, ``-0.25`` (or ``7/3`` when it does not
    terminate)."""
    if value.denominator == 1:
        return str(value.numerator)
    den = value.denominator
    while den % 2 == 0:
        den //= 2
    while den % 5 == 0:
        den //= 5
    if den != 1:
        return f"{value.numerator}/{value.denominator}"
    text = f"{float(value):.12f}".rstrip("0").rstrip(".")
    return text if Fraction(text) == value else str(value)


def near_miss(gold: Fraction, rng: np.random.Generator) -> Fraction:
    """A plausible wrong number near ``gold``: a slip of 1, 2, 5 or 10 either way, a doubled or
    halved result, or a misplaced decimal point; never ``gold`` itself, never below zero when
    ``gold`` is not."""
    candidates: list[Fraction] = []
    for d in (1, 2, 5, 10):
        candidates += [gold + d, gold - d]
    candidates += [gold * 2, gold / 2 if (gold / 2).denominator == 1 else gold + 3]
    if gold.denominator == 1 and abs(gold) >= 20:
        candidates.append(gold * 10)
    ok = [c for c in candidates if c != gold and (gold < 0 or c >= 0)]
    return ok[int(rng.integers(len(ok)))]


# --------------------------------------------------------------------------------------------
# Generated questions
# --------------------------------------------------------------------------------------------

_NAMES = (
    "Ava", "Ben", "Chloe", "Dev", "Emma", "Femi", "Grace", "Hiro",
    "Ines", "Jon", "Kai", "Lena", "Maya", "Noah", "Omar", "Priya",
)  # fmt: skip
_ITEMS = ("pencils", "apples", "candles", "stickers", "batteries", "lemons", "buttons", "cards")

#: Display symbols of the operations in worked steps.
SYMBOL = {"+": "+", "-": "−", "*": "×", "/": "÷"}


@dataclass(frozen=True)
class _Template:
    name: str
    text: str
    #: Steps ``(left, op, right)``; operands name a quantity (``a``...) or an earlier step
    #: (``s0``...). The last step's value is the answer.
    steps: tuple[tuple[str, str, str], ...]
    sample: Callable[[np.random.Generator], dict[str, int]]


def _r(rng: np.random.Generator, lo: int, hi: int) -> int:
    return int(rng.integers(lo, hi + 1))


def _shop(rng: np.random.Generator) -> dict[str, int]:
    a, b = _r(rng, 3, 19), _r(rng, 6, 24)
    return {"a": a, "b": b, "c": _r(rng, 5, a * b - 5)}


def _change(rng: np.random.Generator) -> dict[str, int]:
    a, b = _r(rng, 2, 9), _r(rng, 3, 15)
    return {"a": a, "b": b, "c": (a * b // 20 + 1 + _r(rng, 0, 2)) * 20}


def _trip(rng: np.random.Generator) -> dict[str, int]:
    return {"a": _r(rng, 4, 12) * 10 + _r(rng, 0, 9), "b": _r(rng, 2, 9), "c": _r(rng, 12, 95)}


def _marbles(rng: np.random.Generator) -> dict[str, int]:
    b, c = _r(rng, 2, 12), _r(rng, 2, 9)
    return {"a": b * c + _r(rng, 3, 60), "b": b, "c": c}


def _orchard(rng: np.random.Generator) -> dict[str, int]:
    return {"a": _r(rng, 3, 16), "b": _r(rng, 5, 25), "c": _r(rng, 2, 9)}


def _groups(rng: np.random.Generator) -> dict[str, int]:
    b = _r(rng, 3, 8)
    return {"a": b * _r(rng, 3, 12), "b": b, "c": _r(rng, 2, 9)}


def _savings(rng: np.random.Generator) -> dict[str, int]:
    a, b = _r(rng, 6, 45), _r(rng, 3, 12)
    return {"a": a, "b": b, "c": _r(rng, 5, a * b - 5)}


def _bakery(rng: np.random.Generator) -> dict[str, int]:
    return {"a": _r(rng, 2, 9), "b": _r(rng, 6, 24), "c": _r(rng, 2, 7)}


def _pages(rng: np.random.Generator) -> dict[str, int]:
    b, c = _r(rng, 8, 40), _r(rng, 2, 9)
    return {"a": b * c + _r(rng, 10, 150), "b": b, "c": c}


def _tickets(rng: np.random.Generator) -> dict[str, int]:
    return {"a": _r(rng, 9, 30), "b": _r(rng, 3, 12), "c": _r(rng, 2, 9), "d": _r(rng, 2, 12)}


TEMPLATES: tuple[_Template, ...] = (
    _Template(
        "shop",
        "A shop has {a} boxes of {item}, with {b} {item} in each box. It sells {c} {item}. "
        "How many {item} are left?",
        (("a", "*", "b"), ("s0", "-", "c")),
        _shop,
    ),
    _Template(
        "change",
        "{name} buys {a} notebooks that cost ${b} each and pays with ${c}. "
        "How many dollars of change does {name} get?",
        (("a", "*", "b"), ("c", "-", "s0")),
        _change,
    ),
    _Template(
        "trip",
        "A train travels at {a} km per hour for {b} hours and then another {c} km. "
        "How many km does it travel in total?",
        (("a", "*", "b"), ("s0", "+", "c")),
        _trip,
    ),
    _Template(
        "marbles",
        "{name} has {a} marbles and gives {b} marbles to each of {c} friends. "
        "How many marbles does {name} have left?",
        (("b", "*", "c"), ("a", "-", "s0")),
        _marbles,
    ),
    _Template(
        "orchard",
        "An orchard has {a} rows of {b} trees. The farmer plants {c} more trees in every row. "
        "How many trees are in the orchard now?",
        (("b", "+", "c"), ("a", "*", "s0")),
        _orchard,
    ),
    _Template(
        "groups",
        "{a} students are split into groups of {b}. Each group gets {c} markers. "
        "How many markers are handed out?",
        (("a", "/", "b"), ("s0", "*", "c")),
        _groups,
    ),
    _Template(
        "savings",
        "{name} saves ${a} every week for {b} weeks and then spends ${c} on a bike. "
        "How many dollars does {name} have left?",
        (("a", "*", "b"), ("s0", "-", "c")),
        _savings,
    ),
    _Template(
        "bakery",
        "A bakery bakes {a} trays of {b} cookies every day. "
        "How many cookies does it bake in {c} days?",
        (("a", "*", "b"), ("s0", "*", "c")),
        _bakery,
    ),
    _Template(
        "pages",
        "A book has {a} pages. {name} reads {b} pages a day for {c} days. "
        "How many pages are left to read?",
        (("b", "*", "c"), ("a", "-", "s0")),
        _pages,
    ),
    _Template(
        "tickets",
        "Tickets cost ${a} for adults and ${b} for children. A group of {c} adults and {d} "
        "children buys tickets. What is the total cost in dollars?",
        (("a", "*", "c"), ("b", "*", "d"), ("s0", "+", "s1")),
        _tickets,
    ),
)


@dataclass(frozen=True)
class Step:
    """One worked step: ``left op right = value`` (numbers, as shown in an argument)."""

    left: int
    op: str
    right: int
    value: int

    @property
    def expr(self) -> str:
        return f"{self.left} {SYMBOL[self.op]} {self.right}"

    def __str__(self) -> str:
        return f"{self.expr} = {self.value}"


def _apply_op(x: int, op: str, y: int) -> int:
    if op == "+":
        return x + y
    if op == "-":
        return x - y
    if op == "*":
        return x * y
    return x // y


def worked_steps(template: _Template, values: Mapping[str, int]) -> list[Step]:
    """The template's steps with the numbers filled in and computed."""
    results: list[int] = []
    steps = []
    for left, op, right in template.steps:
        x = results[int(left[1:])] if left.startswith("s") else values[left]
        y = results[int(right[1:])] if right.startswith("s") else values[right]
        v = _apply_op(x, op, y)
        results.append(v)
        steps.append(Step(x, op, y, v))
    return steps


def generate(seed: int) -> Question:
    """The generated question of ``seed`` (the same seed always gives the same question).

    The wrong answer is the result of one typical slip (one group miscounted, a carry error of
    10, an off-by-one, or the last operation swapped between + and −), positive and different
    from the correct answer.
    """
    rng = np.random.default_rng(seed)
    template = TEMPLATES[int(rng.integers(len(TEMPLATES)))]
    values = template.sample(rng)
    name = _NAMES[int(rng.integers(len(_NAMES)))]
    item = _ITEMS[int(rng.integers(len(_ITEMS)))]
    text = template.text.format(name=name, item=item, **values)
    steps = worked_steps(template, values)
    correct = steps[-1].value
    slips = _slips(template, values, correct)
    slip, wrong = slips[int(rng.integers(len(slips)))]
    return Question(
        id=f"gen-{seed}",
        question=text,
        correct=str(correct),
        incorrect=str(wrong),
        source="generated",
        meta={
            "template": template.name,
            "values": dict(values),
            "steps": [str(s) for s in steps],
            "slip": slip,
        },
    )


def _slips(template: _Template, values: Mapping[str, int], correct: int) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    # one group miscounted: the first product's left factor off by one
    for left, op, _right in template.steps:
        if op == "*" and not left.startswith("s"):
            for d in (1, -1):
                v = dict(values)
                v[left] += d
                if v[left] > 0:
                    out.append((f"miscount{d:+d}", worked_steps(template, v)[-1].value))
            break
    for d in (10, -10, 1, -1):
        out.append((f"slip{d:+d}", correct + d))
    left, op, right = template.steps[-1]
    if op in "+-":
        swapped = _Template(
            template.name, template.text, (*template.steps[:-1], (left, "+-"[op == "+"], right)),
            template.sample,
        )  # fmt: skip
        out.append(("wrong-operation", worked_steps(swapped, values)[-1].value))
    return [(name, w) for name, w in out if w > 0 and w != correct]


def _template_regex(template: _Template) -> re.Pattern[str]:
    parts = []
    seen: set[str] = set()
    for literal, fieldname, _, _ in string.Formatter().parse(template.text):
        parts.append(re.escape(literal))
        if fieldname is None:
            continue
        if fieldname in seen:
            parts.append(f"(?P={fieldname})")
        elif fieldname in ("name", "item"):
            parts.append(f"(?P<{fieldname}>[A-Za-z]+)")
        else:
            parts.append(f"(?P<{fieldname}>\\d+)")
        seen.add(fieldname)
    return re.compile("".join(parts) + r"\Z")


_TEMPLATE_RES = tuple((t, _template_regex(t)) for t in TEMPLATES)


def _read_back(question: str) -> tuple[_Template, dict[str, int]] | None:
    text = question.strip()
    for template, regex in _TEMPLATE_RES:
        m = regex.match(text)
        if m:
            values = {k: int(v) for k, v in m.groupdict().items() if k not in ("name", "item")}
            return template, values
    return None


def solve(question: str) -> list[Step] | None:
    """The worked steps of a generated question, read back from its text (None for any other
    text). The last step's value is the correct answer."""
    found = _read_back(question)
    return None if found is None else worked_steps(*found)


def solve_with_leaves(question: str) -> list[tuple[Step, tuple[int, ...]]] | None:
    """:func:`solve`, each step with the question numbers it is computed from (sorted): the
    numbers one expression of the whole step would use (``a * b - c`` for ``s0 - c``)."""
    found = _read_back(question)
    if found is None:
        return None
    template, values = found
    leaves: list[tuple[int, ...]] = []
    for left, _op, right in template.steps:
        used: list[int] = []
        for name in (left, right):
            used.extend(leaves[int(name[1:])] if name.startswith("s") else (values[name],))
        leaves.append(tuple(sorted(used)))
    return list(zip(worked_steps(template, values), leaves, strict=True))
