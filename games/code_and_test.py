"""Code-and-test (``CodeAndTest-v1``): a coder writes a solution, a tester writes unit tests, and
sandboxed execution decides both rewards (after Sol-Ver and CURE).

Seats: ``coder`` and ``tester``. Both see the same programming problem: a Python function
signature with its docstring (an MBPP training problem by default). Neither sees the other's answer
before the game ends, nor the hidden tests, nor the reference solution.

Rules:

1. The coder moves first and writes a complete solution in a ``<code>...</code>`` tag (or a
   ```` ```python ```` fenced block; the tool-call format of :mod:`spenv.games.toolcalls`). When
   there are several, the last one counts (of the first 8 read; more are reported). A body
   without the ``def`` line is accepted too: when the code does not define the entry point, it
   is appended to the prompt (HumanEval's completion style).
2. The tester then writes unit tests in a ``<tests>...</tests>`` tag (or a fenced block): Python
   statements whose top-level ``assert`` statements call the entry point. Each top-level
   statement that holds an ``assert`` is one test; the statements before it are its setup. At
   most ``max_tests`` tests count (the rest are dropped and reported).
3. An answer without such a tag is an invalid move (the core's ``retries`` policy; with the
   default ``retries=0`` the offender forfeits: ``invalid_reward``, default -1, and the game
   ends, the other seat getting 0). Code that does not compile is a valid move that scores 0.

Verification (all code runs in :class:`spenv.verifiers.sandbox.Sandbox`, never in this process;
the program under test in one sandbox, the tests in another, calling it through proxies that
carry only plain data; the prompt, when it is code, runs beside the tests as trusted setup).
Scoring ``"classic"`` (the default):

- Coder: the solution runs against the problem's hidden tests; the coder's reward is the pass
  rate (HumanEval's ``check(candidate)`` is split into its asserts, so partial credit exists).
- Tester: its tests first run on the reference solution. If any fails (or they do not compile,
  or hold no assert), the tests are invalid and the tester's reward is 0. Otherwise the tests run
  on the *wrong programs*: ``n_mutants`` mutants of the reference solution (made by
  :func:`mutants`, a deterministic AST mutator: flipped comparisons, off-by-one constants,
  swapped arithmetic and boolean operators, negated conditions, changed return values), each
  kept only when it fails the hidden tests (a mutant the hidden tests cannot tell from the
  reference is not counted), plus the coder's solution when it failed a hidden test. The
  tester's reward is the fraction of wrong programs its tests catch (some test fails), and 0
  when there is no wrong program (nothing was caught: tests that pass everything, such as
  ``assert True``, earn nothing).
- Outcomes: the coder wins when every hidden test passes, draws when some pass, loses when none
  do; the tester wins with valid tests that catch every wrong program, draws with valid tests
  that catch some (or when there is no wrong program), and loses otherwise. Rewards are not
  zero-sum.

Every verifier verdict (hidden tests on the coder's code, the tests on the reference, each
mutant's screening and each catch) is recorded in the episode's ``verdicts``: ``check``,
``subject``, ``status``, ``score``, ``detail``, ``passed``/``total`` and per-test results (no
timings other than ``elapsed``, so replays reproduce them).

Scoring ``"cure"`` (CURE, Sol-Ver): the coder is asked ``n_solutions`` times with the identical
prompt (``Observation.repeat`` counting down; no answer sees another; an answer without code is
a solution failing every test), then the tester once. Every solution (the coder's, the
reference, and the mutants the hidden tests reject, as extra incorrect solutions) runs against
every test (the tester's and the hidden ones); the execution matrix is ``info["matrix"]``. A
solution is correct when it passes every hidden test, a test when the reference passes it. Each
coder answer earns the fraction it passes of the correct tests among ``test_source``'s
(``"tester"``, ``"reference"`` or ``"both"``); each tester test earns 0 if it is not correct,
else the fraction of the incorrect solutions it fails (0 when there are none); the tester's
decision earns their mean. These are the per-decision rewards (:meth:`decision_rewards`); the
seat rewards are the means.

Problems (constructor option ``source``): ``"mbpp"`` (the default: MBPP from the packaged data,
``split`` by task id: ``"train"`` 601-974, the default, ``"validation"`` 511-600, ``"test"``
11-510, ``"prompt"`` 1-10, ``"all"``; the prompt is a stub of the tested function with the task
text as docstring; :data:`MBPP_EXCLUDED` are left out), ``"humaneval"`` (the 164 problems of
:func:`spenv.benchmarks.suites.humaneval_rows`), a path to a JSONL file, or
``"hf:NAME[:SPLIT]"`` for a Hugging Face dataset already in the local cache (needs
``datasets``). HumanEval and MBPP's ``test``/``all`` splits are evaluation problems: they need
``allow_eval_overlap=True`` (else ``ValueError``). ``env_options()`` always records ``source``
and ``split``. JSONL/dataset records hold:

- ``task_id`` (optional; default ``"<file>/<line>"``),
- ``prompt`` (or ``text``): what the players see,
- the reference: ``solution`` (complete source), or ``canonical_solution`` (appended to
  ``prompt``, HumanEval style), or ``code``,
- the hidden tests: ``tests`` or ``test_list`` (a list of assert snippets, MBPP style) or
  ``test`` (a string: HumanEval's ``check(candidate)`` module or a script of asserts),
- ``entry_point`` (optional; default: the first function the reference solution defines).

Constructor options: ``source``, ``split`` (MBPP: as above; other sources: ``"all"``, the
default, ``"train"`` or ``"test"``, a stable 80/20 hash split of task ids),
``allow_eval_overlap`` (default False), ``scoring`` (``"classic"`` or ``"cure"``),
``n_solutions`` (cure, default 4), ``test_source`` (cure, default ``"both"``), ``n_mutants``
(default 3), ``max_tests`` (default 30), ``time_limit`` (wall seconds per sandbox run, default
4.0), ``per_test_timeout`` (default 1.0), ``test_repeats`` (default 5: the tester's tests run
that many times on each program, from the same random state; a test that passes some runs and
fails others is unstable: it does not pass the reference and catches nothing, so tests that
depend on chance or clocks earn nothing), ``backend`` (the sandbox backend, default
``"auto"``: bubblewrap, or a clear error when it cannot run; ``"process"`` is an explicit opt-in
without isolation). Every verdict record names the ``backend`` used. Reset option ``problem``:
a task id or an index into the split fixes the problem (otherwise it is drawn from the env's
generator).

Reference agents (:func:`reference_agent`): ``oracle`` (coder: submits the reference solution
looked up in the problem source, or, with ``mutant=K``, its K-th mutant; tester: the hidden
tests as asserts), ``doctest`` (tester: the docstring's examples as asserts; coder: a function
that answers the docstring's examples from a table, partially correct) and ``random``.
"""

from __future__ import annotations

import ast
import copy
import doctest
import gzip
import hashlib
import json
import re
import textwrap
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from spenv.agents.base import Agent, BaseAgent
from spenv.env import TextEnv
from spenv.games.toolcalls import parse_calls, render_tools
from spenv.observation import Observation
from spenv.options import Bool, Custom, Int, Number, OneOf, Option
from spenv.verifiers.verdict import Verdict

__all__ = [
    "CodeAndTestAgent",
    "CodeAndTestEnv",
    "Mutant",
    "Problem",
    "load_problems",
    "mutants",
    "reference_agent",
    "split_tests",
]

SEATS = ("coder", "tester")
#: ``classic``: one solution, scored on the hidden tests; ``cure``: n independent solutions and
#: the tests scored on their execution matrix (see the module docstring).
SCORINGS = ("classic", "cure")
#: Where the tests of the ``cure`` matrix come from.
TEST_SOURCES = ("tester", "reference", "both")
REFERENCE_AGENTS = ("oracle", "doctest", "random")
MAX_SOURCE_CHARS = 20_000
_TEST_RECORDS = 50  # per-test results kept in a verdict record

_SYSTEM_CODER = """You are the coder in a code-and-test game.
You get a Python programming problem: a function signature with its docstring. Write a \
complete, correct implementation. Hidden unit tests decide your score: the fraction of them your \
code passes.
{tools}
Put your whole solution (imports, helper functions and the function itself) in one <code> tag."""

_SYSTEM_TESTER = """You are the tester in a code-and-test game.
You get a Python programming problem: a function signature with its docstring. Write unit tests \
for it: Python assert statements that call the function `{entry}`. Your tests must all pass on a \
correct solution (otherwise you score 0), and should fail on wrong solutions: your score is the \
fraction of wrong programs (subtly broken versions of a correct solution, and the coder's code \
if it is wrong) that your tests catch.
{tools}
Each top-level assert is one test; other statements before it are its setup. At most \
{max_tests} tests count."""


# ------------------------------------------------------------------------------ problems
@dataclass(frozen=True, slots=True)
class Problem:
    """One problem: what players see (``prompt``), the reference solution (complete source),
    the hidden tests (snippets, each one test) and the function under test."""

    task_id: str
    prompt: str
    solution: str
    tests: tuple[str, ...]
    entry_point: str


def split_tests(code: str) -> list[str]:
    """Split test code into tests: each top-level statement holding an ``assert`` ends a test,
    and the statements since the previous test are its setup. Raises ``SyntaxError``."""
    tree = ast.parse(code)
    tests: list[str] = []
    pending: list[str] = []
    for stmt in tree.body:
        pending.append(ast.unparse(stmt))
        if any(isinstance(n, ast.Assert) for n in ast.walk(stmt)):
            tests.append("\n".join(pending))
            pending = []
    return tests


def _humaneval_tests(test: str, entry_point: str) -> tuple[str, ...]:
    """HumanEval's ``check(candidate)`` module as one snippet per assert (module setup and
    ``candidate = <entry_point>`` lead the first); the whole check as one test as a fallback."""
    whole = (f"{test}\ncheck({entry_point})",)
    try:
        tree = ast.parse(test)
    except SyntaxError:
        return whole
    check = None
    setup: list[ast.stmt] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef) and stmt.name == "check" and check is None:
            check = stmt
        else:
            setup.append(stmt)
    if check is None or len(check.args.args) != 1:
        return whole
    param = check.args.args[0].arg
    lines = [ast.unparse(s) for s in setup]
    lines.append(f"{param} = {entry_point}")
    lines += [ast.unparse(s) for s in check.body]
    try:
        tests = split_tests("\n".join(lines))
    except SyntaxError:
        return whole
    return tuple(tests) if tests else whole


def _first_function(source: str) -> str | None:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            return stmt.name
    return None


def _problem_from_record(rec: Mapping[str, Any], where: str) -> Problem:
    prompt = rec.get("prompt", rec.get("text"))
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError(f"{where}: no 'prompt' (or 'text') string")
    if isinstance(rec.get("solution"), str):
        solution = rec["solution"]
    elif isinstance(rec.get("canonical_solution"), str):
        solution = prompt + rec["canonical_solution"]
    elif isinstance(rec.get("code"), str):
        solution = rec["code"]
    else:
        raise ValueError(f"{where}: no reference ('solution', 'canonical_solution' or 'code')")
    entry = rec.get("entry_point") or _first_function(solution)
    if not isinstance(entry, str) or not entry.isidentifier():
        raise ValueError(f"{where}: no 'entry_point' and no function in the solution")
    raw = rec.get("tests", rec.get("test_list", rec.get("test")))
    if isinstance(raw, str):
        if re.search(r"def\s+check\s*\(", raw):
            tests = _humaneval_tests(raw, entry)
        else:
            try:
                tests = tuple(split_tests(raw))
            except SyntaxError as exc:
                raise ValueError(f"{where}: the tests do not parse: {exc}") from None
    elif isinstance(raw, list) and raw and all(isinstance(t, str) for t in raw):
        setup = rec.get("test_setup_code") or ""
        tests = tuple((setup + "\n" + t) if setup and i == 0 else t for i, t in enumerate(raw))
    else:
        raise ValueError(f"{where}: no hidden tests ('tests', 'test_list' or 'test')")
    if not tests:
        raise ValueError(f"{where}: the hidden tests hold no assert")
    task_id = str(rec.get("task_id", where))
    return Problem(task_id, prompt, solution, tests, entry)


_LOAD_LOCK = threading.Lock()


#: MBPP's task-id splits (the MBPP paper's): the files under ``spenv/data/benchmarks/mbpp``.
MBPP_SPLITS = ("train", "validation", "test", "prompt")
#: MBPP tasks left out of CodeAndTest: their reference solutions fail their own tests here
#: (123: too slow for the time limit; 341, 596, 642: see the data's README) or their tests
#: build objects of the solution's own classes (367, 601, 927), which cannot cross into the
#: tests' sandbox as plain data.
MBPP_EXCLUDED = frozenset({123, 341, 367, 596, 601, 642, 927})


def _mbpp_entry(code: str, tests: list[str]) -> str | None:
    """The function the tests call (the first called name the reference defines)."""
    defined = set()
    try:
        for stmt in ast.parse(code).body:
            if isinstance(stmt, ast.FunctionDef | ast.ClassDef):
                defined.add(stmt.name)
        for t in tests:
            for node in ast.walk(ast.parse(t)):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id in defined
                ):
                    return node.func.id
    except SyntaxError:
        return None
    return _first_function(code)


def _mbpp_problem(rec: Mapping[str, Any]) -> Problem:
    """An MBPP record as a problem: the prompt is a stub of the function the tests call (its
    ``def`` line from the reference, the task text as its docstring); the three asserts of
    ``test_list`` are hidden (never shown: they hold the expected values)."""
    code = str(rec["code"]).replace("\r", "")
    tests = [str(t) for t in rec["test_list"]]
    entry = _mbpp_entry(code, tests)
    where = f"mbpp/{rec['task_id']}"
    if entry is None:
        raise ValueError(f"{where}: no function to test")
    sig = "(*args)"
    for stmt in ast.parse(code).body:
        if isinstance(stmt, ast.FunctionDef) and stmt.name == entry:
            sig = f"({ast.unparse(stmt.args)})"
    text = " ".join(str(rec["text"]).split()).replace('"', "'").replace("\\", "/")
    prompt = f'def {entry}{sig}:\n    """{text}"""\n'
    return _problem_from_record(
        {
            "task_id": f"mbpp/{rec['task_id']}",
            "prompt": prompt,
            "code": code,
            "test_list": tests,
            "test_setup_code": rec.get("test_setup_code") or "",
            "entry_point": entry,
        },
        where,
    )


def _mbpp_records(split: str) -> list[dict[str, Any]]:
    from spenv.datafiles import benchmark_root

    rows = []
    for name in MBPP_SPLITS if split == "all" else (split,):
        path = benchmark_root() / "mbpp" / f"{name}.jsonl"
        with open(path, encoding="utf-8") as fh:
            rows += [json.loads(line) for line in fh if line.strip()]
    return rows


@lru_cache(maxsize=8)
def _load_cached(source: str, stamp: float) -> tuple[Problem, ...]:
    if source == "humaneval":
        from spenv.benchmarks.suites import humaneval_rows

        return tuple(_problem_from_record(r, r["task_id"]) for r in humaneval_rows())
    if source.startswith("mbpp"):
        rows = _mbpp_records(source.partition(":")[2] or "all")
        with warnings.catch_warnings():  # MBPP's code has invalid escapes ("\d" in regexes)
            warnings.simplefilter("ignore", (SyntaxWarning, DeprecationWarning))
            return tuple(_mbpp_problem(r) for r in rows if int(r["task_id"]) not in MBPP_EXCLUDED)
    if source.startswith("hf:"):
        try:
            import datasets
        except ImportError:
            raise ValueError(
                "source 'hf:...' needs the datasets package (pip install datasets)"
            ) from None
        name, _, split = source[3:].partition(":")
        ds = datasets.load_dataset(
            name, split=split or "test", download_mode="reuse_cache_if_exists"
        )
        return tuple(_problem_from_record(r, f"{name}/{i}") for i, r in enumerate(ds))
    path = Path(source)
    opener = gzip.open if path.suffix == ".gz" else open
    problems = []
    with opener(path, "rt", encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{path.name}/{i}"
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{where}: not JSON ({exc})") from None
            if not isinstance(rec, dict):
                raise ValueError(f"{where}: a record must be a JSON object")
            problems.append(_problem_from_record(rec, where))
    if not problems:
        raise ValueError(f"{source}: no problems")
    ids = [p.task_id for p in problems]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{source}: task ids are not unique")
    return tuple(problems)


def load_problems(source: str = "mbpp") -> tuple[Problem, ...]:
    """The problems of ``source`` (see the module docstring; ``"mbpp:SPLIT"`` for one MBPP
    split), cached per process (a file is reread when it changes). Raises ``ValueError`` naming
    the bad record."""
    if not isinstance(source, str) or not source:
        raise ValueError(
            f"source must be 'mbpp', 'humaneval', 'hf:NAME' or a JSONL path, got {source!r}"
        )
    if source.startswith("mbpp") and source not in ("mbpp", *(f"mbpp:{s}" for s in MBPP_SPLITS)):
        raise ValueError(f"MBPP sources are 'mbpp' and 'mbpp:SPLIT' {MBPP_SPLITS}, got {source!r}")
    stamp = 0.0
    if source != "humaneval" and not source.startswith(("hf:", "mbpp")):
        path = Path(source)
        if not path.is_file():
            raise ValueError(f"problem source {source!r} is not a file")
        stamp = path.stat().st_mtime
    with _LOAD_LOCK:
        return _load_cached(source, stamp)


def _source_option(source: Any) -> str:
    if not isinstance(source, str) or source.startswith("mbpp:"):
        raise ValueError("choose MBPP's split with the split option")
    return source


def _eval_overlap(source: str, split: str) -> str | None:
    """Which evaluation the problems of ``source``/``split`` belong to, or None."""
    if source == "humaneval" or (source.startswith("hf:") and "humaneval" in source.lower()):
        return "the HumanEval evaluation suite (spenv eval transfer)"
    if source == "mbpp" and split in ("test", "all"):
        return "MBPP's test split (task ids 11-510), the split MBPP results are reported on"
    return None


def _in_split(task_id: str, split: str) -> bool:
    if split == "all":
        return True
    h = int.from_bytes(hashlib.sha256(task_id.encode()).digest()[:4], "big") % 100
    return (h < 80) == (split == "train")


# ------------------------------------------------------------------------------ mutants
@dataclass(frozen=True, slots=True)
class Mutant:
    """A program differing from the original by one small change (``description``)."""

    source: str
    description: str


_CMP_SWAP = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
_BIN_SWAP = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Add,
    ast.Div: ast.Mult,
    ast.FloorDiv: ast.Div,
    ast.Mod: ast.FloorDiv,
    ast.Pow: ast.Mult,
    ast.BitAnd: ast.BitOr,
    ast.BitOr: ast.BitAnd,
    ast.LShift: ast.RShift,
    ast.RShift: ast.LShift,
}
_MAX_SITES = 400


class _Mutator(ast.NodeTransformer):
    """Counts mutation sites inside functions (in a fixed order) and applies the one numbered
    ``target`` (none when ``target`` is None)."""

    def __init__(self, target: int | None) -> None:
        self.target = target
        self.count = 0
        self.applied: str | None = None
        self._depth = 0

    def _site(self, desc: str) -> bool:
        i = self.count
        self.count += 1
        if i == self.target:
            self.applied = desc
            return True
        return False

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        self._depth += 1
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            node.body = [body[0], *[self.visit(s) for s in body[1:]]]  # leave the docstring
        else:
            node.body = [self.visit(s) for s in body]
        self._depth -= 1
        return node

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        self._depth += 1
        node = self.generic_visit(node)  # type: ignore[assignment]
        self._depth -= 1
        return node

    def generic_visit(self, node: ast.AST) -> ast.AST:
        node = super().generic_visit(node)
        if self._depth == 0:
            return node
        line = getattr(node, "lineno", "?")
        if isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                new = _CMP_SWAP.get(type(op))
                if new is not None and self._site(
                    f"line {line}: {type(op).__name__} -> {new.__name__}"
                ):
                    node.ops[i] = new()
        elif isinstance(node, ast.BinOp | ast.AugAssign):
            new = _BIN_SWAP.get(type(node.op))
            if new is not None and self._site(
                f"line {line}: {type(node.op).__name__} -> {new.__name__}"
            ):
                node.op = new()
        elif isinstance(node, ast.BoolOp):
            new_b = ast.Or if isinstance(node.op, ast.And) else ast.And
            if self._site(f"line {line}: {type(node.op).__name__} -> {new_b.__name__}"):
                node.op = new_b()
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.USub):
            if self._site(f"line {line}: drop {type(node.op).__name__}"):
                return node.operand
        elif isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool):
                if self._site(f"line {line}: {v} -> {not v}"):
                    return ast.copy_location(ast.Constant(not v), node)
            elif isinstance(v, int):
                for delta in (1, -1):
                    if self._site(f"line {line}: {v} -> {v + delta}"):
                        return ast.copy_location(ast.Constant(v + delta), node)
        elif isinstance(node, ast.If | ast.While):
            if self._site(f"line {line}: negate the {type(node).__name__.lower()} condition"):
                node.test = ast.UnaryOp(ast.Not(), node.test)
        elif (
            isinstance(node, ast.Return)
            and node.value is not None
            and not (isinstance(node.value, ast.Constant) and node.value.value is None)
            and self._site(f"line {line}: return None")
        ):
            node.value = ast.Constant(None)
        return node


@lru_cache(maxsize=512)
def mutants(source: str) -> tuple[Mutant, ...]:
    """Every single-change mutant of the functions in ``source``, in a fixed order, without
    duplicates or copies of the original (empty when ``source`` does not parse).

    Changes: comparison operators flipped (``<``/``<=``, ``==``/``!=``, ``in``/``not in``, ...),
    integer constants off by one, ``True``/``False`` swapped, arithmetic and bitwise operators
    swapped, ``and``/``or`` swapped, ``not``/unary minus dropped, ``if``/``while`` conditions
    negated, returned values replaced by ``None``. Docstrings and module-level code stay.
    """
    try:
        tree = ast.parse(source)
        original = ast.unparse(tree)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ()
    counter = _Mutator(None)
    counter.visit(copy.deepcopy(tree))
    seen = {original}
    out = []
    for k in range(min(counter.count, _MAX_SITES)):
        m = _Mutator(k)
        new = m.visit(copy.deepcopy(tree))
        try:
            text = ast.unparse(ast.fix_missing_locations(new))
            compile(text, "<mutant>", "exec")
        except (SyntaxError, ValueError, RecursionError):
            continue
        if text not in seen and m.applied is not None:
            seen.add(text)
            out.append(Mutant(text, m.applied))
    return tuple(out)


# ------------------------------------------------------------------------------ the env
_SANDBOXES: dict[str, Any] = {}
_SANDBOX_LOCK = threading.Lock()


def _sandbox(backend: str) -> Any:
    """One shared :class:`~spenv.verifiers.sandbox.Sandbox` per backend (made on first use)."""
    with _SANDBOX_LOCK:
        sb = _SANDBOXES.get(backend)
        if sb is None:
            from spenv.verifiers.sandbox import Sandbox

            sb = _SANDBOXES[backend] = Sandbox(backend)
        return sb


_HEX_RE = re.compile(r"0x[0-9a-fA-F]{6,}")


def _scrub(text: Any, n: int = 300) -> Any:
    """Error text for the record: addresses masked (they differ between runs), bounded."""
    if not isinstance(text, str):
        return text
    text = _HEX_RE.sub("0x…", text)
    return text if len(text) <= n else text[:n] + "…"


def _caught(v: Verdict) -> bool:
    """Whether tests caught a wrong program: some test failed on it in every one of its runs (a
    test that passed some runs and failed others caught nothing)."""
    if v.status != "wrong":
        return v.status != "ok"
    return any(not t.get("passed") and not t.get("unstable") for t in v.data.get("tests") or [])


def _compiles(source: str) -> str | None:
    """None when ``source`` compiles (nothing runs), else the reason."""
    try:
        compile(source, "<solution>", "exec")
    except SyntaxError as exc:
        return f"{exc.msg} (line {exc.lineno})"
    except (ValueError, RecursionError, MemoryError, OverflowError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _defines(source: str, name: str) -> bool:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    for n in tree.body:
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and n.name == name:
            return True
        if isinstance(n, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in n.targets
        ):
            return True
        if isinstance(n, ast.Import | ast.ImportFrom) and any(
            (a.asname or a.name) == name for a in n.names
        ):
            return True
    return False


class CodeAndTestEnv(TextEnv):
    """Code-and-test; see the module docstring for the rules, rewards and options."""

    metadata: ClassVar[dict[str, Any]] = {**TextEnv.metadata, "name": "code_and_test_v1"}
    env_id = "CodeAndTest-v1"
    possible_agents: ClassVar[list[str]] = list(SEATS)
    zero_sum = False
    _moves: ClassVar[dict[str, str]] = {}

    OPTIONS: ClassVar[tuple[Option, ...]] = (
        Option(
            "source",
            "mbpp",
            Custom(_source_option, "'mbpp', 'humaneval', 'hf:NAME' or a JSONL path"),
            "where the problems come from",
            record="always",
        ),
        Option(
            "split",
            None,
            None,
            "which problems of the source (None: MBPP's train split, or all of another source)",
            record="always",
        ),
        Option(
            "allow_eval_overlap",
            False,
            Bool(),
            "allow playing on problems an evaluation uses",
        ),
        Option("scoring", "classic", OneOf(*SCORINGS), "classic, or cure (CURE's rewards)"),
        Option(
            "n_solutions",
            4,
            Int(1),
            "solutions asked of the coder under cure scoring (1 under classic)",
            record="own",
        ),
        Option("test_source", "both", OneOf(*TEST_SOURCES), "tests the cure solutions face"),
        Option("test_repeats", 5, Int(1, 100), "runs of the tester's tests (unstable: no credit)"),
        Option("n_mutants", 3, Int(0), "buggy variants of the reference the tests must catch"),
        Option("max_tests", 30, Int(1), "most asserts the tester may write"),
        Option("time_limit", 4.0, Number(gt=0), "wall seconds per sandbox run"),
        Option("per_test_timeout", 1.0, Number(gt=0), "seconds per test"),
        Option(
            "backend",
            "auto",
            OneOf("auto", "bwrap", "process", "docker"),
            "the sandbox backend",
        ),
    )

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        source, split = self.source, self.split
        splits = ("all", *MBPP_SPLITS) if source == "mbpp" else ("train", "test", "all")
        if split is None:
            split = self.split = "train" if source == "mbpp" else "all"
        if split not in splits:
            raise ValueError(
                f"{self.env_id} option split for source {source!r} must be one of {splits}, "
                f"got {split!r}"
            )
        overlap = _eval_overlap(source, split)
        if overlap and not self.allow_eval_overlap:
            raise ValueError(
                f"CodeAndTest problems from {source!r} (split {split!r}) are {overlap}: playing "
                "(and training) on them contaminates that evaluation. Use the default training "
                "source (source='mbpp', split='train'), or pass allow_eval_overlap=True to play "
                "on them anyway"
            )
        if self.scoring != "cure":
            self.n_solutions = 1
        if source == "mbpp":
            self._problems = list(load_problems("mbpp" if split == "all" else f"mbpp:{split}"))
        else:
            self._problems = [p for p in load_problems(source) if _in_split(p.task_id, split)]
        # The sandbox now, so that a machine without an isolating backend fails here, clearly,
        # rather than every game scoring an error.
        self._sandbox = _sandbox(self.backend)
        if not self._problems:
            raise ValueError(f"no problems of {source!r} in split {split!r}")
        self._by_id = {p.task_id: i for i, p in enumerate(self._problems)}
        self._problem: Problem = self._problems[0]
        self._code: str | None = None
        self._codes = []
        self._code_turns = []
        self._tester_turn = None
        self._decision = {}
        self._tests: list[str] | None = None
        self._raw_tests: str | None = None
        self._parse_notes: dict[str, list[str]] = {}
        self._verdicts: list[dict[str, Any]] = []
        self._result: dict[str, Any] = {}
        self._pending: Any = None
        self._mutant_ids: list[int] = []

    # ------------------------------------------------------------------ bookkeeping
    def env_options(self) -> dict[str, Any]:
        """The declared options (``source`` and ``split`` always: an evaluation reads them to
        notice overlap), with ``n_solutions`` when it differs from its scoring's default."""
        opts = super().env_options()
        if self.n_solutions != (4 if self.scoring == "cure" else 1):
            opts["n_solutions"] = self.n_solutions
        return {k: opts[k] for k in self._declared() if k in opts}  # in declaration order

    def system_prompts(self) -> dict[str, str]:
        p = self._problem
        return {
            "coder": _SYSTEM_CODER.format(tools=render_tools(["code"], fenced="code")),
            "tester": _SYSTEM_TESTER.format(
                entry=p.entry_point,
                tools=render_tools(["tests"], fenced="tests"),
                max_tests=self.max_tests,
            ),
        }

    @property
    def problem(self) -> Problem:
        """The current problem (for tests and analysis; agents never see the reference)."""
        return self._problem

    def _check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        if "problem" in options:
            key = options["problem"]
            if isinstance(key, str) and key in self._by_id:
                return {**options, "problem": key}
            if (
                isinstance(key, int)
                and not isinstance(key, bool)
                and 0 <= key < len(self._problems)
            ):
                return {**options, "problem": self._problems[key].task_id}
            raise ValueError(
                f"reset option problem must be a task id or an index below "
                f"{len(self._problems)}, got {key!r}"
            )
        return options

    def _new_game(self, options: dict[str, Any]) -> str:
        key = options.get("problem")
        n = len(self._problems)
        idx = int(self.np_random.integers(n)) if key is None else self._by_id[key]
        self._problem = self._problems[idx]
        self._code = None
        self._codes: list[str] = []
        self._code_turns: list[int] = []
        self._tester_turn: int | None = None
        self._decision: dict[int, float] = {}
        self._tests = None
        self._raw_tests = None
        self._parse_notes = {}
        self._verdicts = []
        self._result = {}
        self._mutant_ids = []
        return "coder"

    # ------------------------------------------------------------------ observations
    def _observe(self, agent: str) -> Observation:
        p = self._problem
        finished = bool(self._outcomes)
        acting = not finished and agent == self.agent_selection
        lines = [f"Problem {p.task_id}:", "```python", p.prompt.rstrip(), "```"]
        state: dict[str, Any] = {
            "role": agent,
            "task_id": p.task_id,
            "entry_point": p.entry_point,
            "prompt": p.prompt,
            "source": self.source,
        }
        if finished:
            lines.append(self._summary(agent))
            state["result"] = dict(self._result)
            state["outcome"] = self._outcomes.get(agent)
        elif acting:
            if agent == "coder":
                lines.append(
                    f"Write your complete solution defining `{p.entry_point}` in a <code> tag."
                )
            else:
                lines.append(
                    f"Write your unit tests (assert statements calling `{p.entry_point}`) in a "
                    "<tests> tag."
                )
        else:
            lines.append("Waiting for the " + ("tester." if agent == "coder" else "coder."))
        return Observation(
            system=self.system_prompts()[agent],
            user="\n".join(lines),
            role=agent,
            env_id=self.env_id,
            turn=self._turn,
            legal_actions=None if acting else (),
            state=state,
            # cure: the coder's prompt is asked n times in a row, each answer independent
            repeat=self.n_solutions - len(self._codes) if acting and agent == "coder" else 1,
        )

    def _summary(self, agent: str) -> str:
        r = self._result
        if r.get("ended_by") == "forfeit":
            return (
                f"The game is over: the {r.get('forfeit')} forfeited (invalid move). "
                f"Your outcome: {self._outcomes.get(agent)}, score {self._totals[agent]:+g}."
            )
        if r.get("scoring") == "cure":
            return (
                f"The game is over. Coder: {r.get('coder_correct')}/{r.get('n_solutions')} "
                f"solutions correct. Tester: {len(r.get('test_rewards') or [])} tests, "
                f"{r.get('wrong_programs')} wrong programs to catch. Your outcome: "
                f"{self._outcomes.get(agent)}, score {self._totals[agent]:+g}."
            )
        lines = [
            "The game is over.",
            f"Coder: {r.get('coder_passed')}/{r.get('coder_total')} hidden tests passed.",
            f"Tester: tests {'valid' if r.get('tests_valid') else 'invalid'} "
            f"({r.get('tests_detail', '')}); caught {r.get('caught')}/{r.get('wrong_programs')} "
            "wrong programs.",
            f"Your outcome: {self._outcomes.get(agent)}, score {self._totals[agent]:+g}.",
        ]
        return "\n".join(lines)

    # ------------------------------------------------------------------ moves
    def _parse(self, agent: str, action: str) -> tuple[str | None, str | None]:
        tag = "code" if agent == "coder" else "tests"
        parsed = parse_calls(action, {tag}, max_calls=8, fenced=tag, max_chars=MAX_SOURCE_CHARS)
        calls = parsed.of(tag)
        if not calls and self.scoring == "cure" and agent == "coder":
            # One of n samples: an answer without code is a solution that fails every test,
            # not a forfeit of the whole game.
            self._pending = ("", [f"no <{tag}> tag (or ```python block) found", *parsed.errors])
            return tag, None
        if not calls:
            why = f"; {'; '.join(parsed.errors)}" if parsed.errors else ""
            return None, f"no <{tag}> tag (or ```python block) found{why}"
        self._pending = (calls[-1].argument, list(parsed.errors))
        return tag, None

    def _apply(self, agent: str, move: str) -> None:
        text, notes = self._pending
        if notes:
            self._parse_notes[agent] = notes
        if agent == "coder":
            self._code = text
            self._codes.append(text)
            self._code_turns.append(len(self._turns) - 1)
            # cure: the same prompt again until n independent solutions are in
            self._next("coder" if len(self._codes) < self.n_solutions else "tester")
            return
        self._raw_tests = text
        self._tester_turn = len(self._turns) - 1
        if self.scoring == "cure":
            self._verify_cure()
        else:
            self._verify()

    def _solution(self, code: str | None = None) -> str:
        """The coder's program as it runs: its code, or the prompt plus its code when the code
        does not define the entry point (a completion)."""
        code = (self._code if code is None else code) or ""
        p = self._problem
        if _defines(code, p.entry_point):
            return code
        # A function body: the code as given, or (dedented by the tool-call parser) indented
        # into the prompt's function.
        for body in (code, textwrap.indent(code, "    ")):
            joined = p.prompt + body
            if _compiles(joined) is None and _defines(joined, p.entry_point):
                return joined
        return code

    def _record(self, check: str, subject: str, v: Verdict, **extra: Any) -> dict[str, Any]:
        tests = v.data.get("tests") or []
        rec = {
            "verifier": "sandbox",
            "check": check,
            "subject": subject,
            "status": v.status,
            "score": v.score,
            "detail": _scrub(v.detail, 500),
            "elapsed": v.elapsed,
            "passed": v.data.get("passed"),
            "total": v.data.get("total"),
            "backend": v.data.get("backend") or self._sandbox.backend,
            "tests": [
                {"passed": bool(t.get("passed")), "error": _scrub(t.get("error"))}
                for t in tests[:_TEST_RECORDS]
            ],
            **extra,
        }
        self._verdicts.append(rec)
        return rec

    def _run(self, jobs: list[dict[str, Any]]) -> list[Verdict]:
        """Run test jobs in the sandbox (concurrently); a failure of the sandbox itself becomes
        an ``error`` verdict, never an exception or a silent zero."""
        if not jobs:
            return []
        sb = self._sandbox
        p = self._problem
        # The prompt, when it is code (HumanEval's, MBPP's stub), runs beside the tests: the
        # helpers they call come from it, never from the program under test.
        setup = p.prompt if _compiles(p.prompt) is None else None
        full = [
            {
                **j,
                "setup": setup,
                "entry_point": self._problem.entry_point,
                "timeout": self.time_limit,
                "per_test_timeout": self.per_test_timeout,
            }
            for j in jobs
        ]
        try:
            return sb.run_tests_many(full)
        except Exception as exc:  # the sandbox failed: say so in every verdict
            data = {"backend": sb.backend}
            return [Verdict("error", 0.0, f"sandbox failure: {exc}", 0.0, data) for _ in jobs]

    def _verify(self) -> None:
        p = self._problem
        solution = self._solution()
        compile_error = _compiles(solution)
        tests: list[str] = []
        tests_error = None
        try:
            tests = split_tests(self._raw_tests or "")
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            tests_error = f"the tests do not compile: {getattr(exc, 'msg', exc)}"
        if not tests_error and not tests:
            tests_error = "the tests hold no assert statement"
        dropped = max(0, len(tests) - self.max_tests)
        tests = tests[: self.max_tests]
        self._tests = tests

        # Phase 1: the coder's code on the hidden tests; the tests on the reference.
        jobs, kinds = [], []
        if compile_error is None:
            jobs.append({"solution": solution, "tests": list(p.tests)})
            kinds.append("coder")
        if tests_error is None:
            jobs.append({"solution": p.solution, "tests": tests, "repeat": self.test_repeats})
            kinds.append("reference")
        results = dict(zip(kinds, self._run(jobs), strict=True))
        if compile_error is not None:
            coder_v = Verdict(
                "format_error",
                0.0,
                f"the solution does not compile: {compile_error}",
                0.0,
                {"passed": 0, "total": len(p.tests)},
            )
        else:
            coder_v = results["coder"]
        self._record("hidden_tests", "coder", coder_v)
        coder_total = len(p.tests)
        coder_passed = int(coder_v.data.get("passed") or 0)
        coder_score = coder_v.score if coder_v.status in ("ok", "wrong", "timeout") else 0.0
        if coder_v.status == "ok":
            coder_score = 1.0

        if tests_error is not None:
            ref_v = Verdict("format_error", 0.0, tests_error)
        else:
            ref_v = results["reference"]
        detail = ref_v.detail + (f"; {dropped} tests over the limit dropped" if dropped else "")
        self._record("tests_on_reference", "reference", ref_v, n_tests=len(tests))
        valid = ref_v.status == "ok"

        caught = wrong = 0
        if valid:
            # Phase 2: screen the mutants with the hidden tests and run the tester's tests on
            # every candidate wrong program, all at once.
            # (Mutants are made and drawn only here: most games with invalid tests need none.)
            cands = mutants(p.solution)
            if cands and self.n_mutants:
                k = min(self.n_mutants, len(cands))
                picks = self.np_random.choice(len(cands), size=k, replace=False)
                self._mutant_ids = sorted(int(i) for i in picks)
            chosen = [(i, cands[i]) for i in self._mutant_ids]
            jobs = []
            for _, m in chosen:
                jobs.append({"solution": m.source, "tests": list(p.tests)})
                jobs.append({"solution": m.source, "tests": tests, "repeat": self.test_repeats})
            coder_wrong = compile_error is None and coder_v.status != "ok"
            if coder_wrong:
                jobs.append({"solution": solution, "tests": tests, "repeat": self.test_repeats})
            out = self._run(jobs)
            for k, (i, m) in enumerate(chosen):
                screen, catch = out[2 * k], out[2 * k + 1]
                is_wrong = screen.status != "ok"
                self._record(
                    "mutant_on_hidden_tests", f"mutant {i}", screen, mutation=m.description
                )
                if is_wrong:
                    wrong += 1
                    hit = _caught(catch)
                    caught += hit
                    self._record(
                        "tests_on_wrong_program",
                        f"mutant {i}",
                        catch,
                        mutation=m.description,
                        caught=hit,
                    )
            if coder_wrong:
                catch = out[-1]
                hit = _caught(catch)
                wrong += 1
                caught += hit
                self._record("tests_on_wrong_program", "coder", catch, caught=hit)
        tester_score = caught / wrong if valid and wrong else 0.0

        def outcome(score: float, full: bool) -> str:
            return "win" if full else ("draw" if score > 0 else "loss")

        self._result = {
            "ended_by": "verdict",
            "coder_passed": coder_passed,
            "coder_total": coder_total,
            "coder_status": coder_v.status,
            "tests_valid": valid,
            "tests_detail": _scrub(detail, 300),
            "n_tests": len(tests),
            "wrong_programs": wrong,
            "caught": caught,
        }
        self._give({"coder": coder_score, "tester": tester_score})
        self._finish(
            {
                "coder": outcome(coder_score, coder_v.status == "ok"),
                "tester": (
                    "loss"
                    if not valid
                    else "draw"
                    if not wrong  # valid tests, but no wrong program to catch
                    else outcome(tester_score, caught == wrong)
                ),
            }
        )

    def _verify_cure(self) -> None:
        """CURE/Sol-Ver scoring: every solution (the coder's n, the reference, the mutants that
        fail the hidden tests) against every test (the tester's, the hidden ones, or both); see
        the module docstring for the rewards."""
        p = self._problem
        tester_tests: list[str] = []
        tests_error = None
        try:
            tester_tests = split_tests(self._raw_tests or "")[: self.max_tests]
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            tests_error = f"the tests do not compile: {getattr(exc, 'msg', exc)}"
        self._tests = tester_tests
        hidden = list(p.tests)
        columns = [("tester", t) for t in tester_tests] + [("hidden", t) for t in hidden]
        run_tests = [t for _, t in columns]
        solutions = [(f"coder {i}", self._solution(c)) for i, c in enumerate(self._codes)]
        solutions.append(("reference", p.solution))
        cands = mutants(p.solution)
        if cands and self.n_mutants:
            k = min(self.n_mutants, len(cands))
            picks = self.np_random.choice(len(cands), size=k, replace=False)
            self._mutant_ids = sorted(int(i) for i in picks)
        solutions += [(f"mutant {i}", cands[i].source) for i in self._mutant_ids]
        runnable = [(label, src) for label, src in solutions if _compiles(src) is None]
        verdicts = dict(
            zip(
                [label for label, _ in runnable],
                self._run(
                    [
                        {"solution": src, "tests": run_tests, "repeat": self.test_repeats}
                        for _, src in runnable
                    ]
                ),
                strict=True,
            )
        )
        matrix: list[list[bool]] = []
        unstable: list[list[bool]] = []  # a test that passed some runs and failed others
        truth: list[bool] = []
        for label, src in solutions:
            v = verdicts.get(label) or Verdict(
                "format_error", 0.0, f"the solution does not compile: {_compiles(src)}"
            )
            got = [bool(t.get("passed")) for t in v.data.get("tests") or []]
            row = got if len(got) == len(columns) else [False] * len(columns)
            flaky = [bool(t.get("unstable")) for t in v.data.get("tests") or []]
            unstable.append(flaky if len(flaky) == len(columns) else [False] * len(columns))
            matrix.append(row)
            truth.append(all(row[len(tester_tests) :]))
            self._record("solution_on_tests", label, v)
        ref = len(self._codes)
        # The tests that score the solutions (the tester's are rewarded in any case).
        scoring_kind = {"tester": ("tester",), "reference": ("hidden",)}
        kinds = scoring_kind.get(self.test_source, ("tester", "hidden"))
        used = [j for j, (kind, _) in enumerate(columns) if kind in kinds]
        correct_tests = [j for j in used if matrix[ref][j]]
        wrong_solutions = [
            i for i, (label, _) in enumerate(solutions) if label != "reference" and not truth[i]
        ]
        coder_rewards = [
            sum(matrix[i][j] for j in correct_tests) / len(correct_tests) if correct_tests else 0.0
            for i in range(len(self._codes))
        ]
        test_rewards = []
        for j in range(len(tester_tests)):
            if not matrix[ref][j] or not wrong_solutions:
                test_rewards.append(0.0)
            else:
                caught = sum(not matrix[i][j] and not unstable[i][j] for i in wrong_solutions)
                test_rewards.append(caught / len(wrong_solutions))
        tester_score = sum(test_rewards) / len(test_rewards) if test_rewards else 0.0
        coder_score = sum(coder_rewards) / len(coder_rewards)
        self._decision = dict(zip(self._code_turns, coder_rewards, strict=True))
        if self._tester_turn is not None:
            self._decision[self._tester_turn] = tester_score
        self._result = {
            "ended_by": "verdict",
            "scoring": "cure",
            "test_source": self.test_source,
            "tests_detail": tests_error or f"{len(tester_tests)} tester tests",
            "matrix": {
                "solutions": [label for label, _ in solutions],
                "tests": [f"{kind}: {t[:200]}" for kind, t in columns],
                "passed": [[int(x) for x in row] for row in matrix],
                "solution_correct": truth,
                "test_correct": [bool(x) for x in matrix[ref]],
                "scored_tests": used,
            },
            "solution_rewards": coder_rewards,
            "test_rewards": test_rewards,
            "coder_correct": sum(truth[: len(self._codes)]),
            "n_solutions": len(self._codes),
            "wrong_programs": len(wrong_solutions),
        }
        self._give({"coder": coder_score, "tester": tester_score})

        def outcome(score: float) -> str:
            return "win" if score >= 1.0 else ("draw" if score > 0 else "loss")

        self._finish({"coder": outcome(coder_score), "tester": outcome(tester_score)})

    def decision_rewards(self) -> dict[int, float]:
        """cure scoring: each coder answer's reward (its pass rate on the correct tests) and the
        tester's (the mean of its tests' rewards); classic scoring: none."""
        return dict(self._decision)

    def _forfeit(self, agent: str, reason: str) -> None:
        self._result = {"ended_by": "forfeit", "forfeit": agent, "reason": reason}
        super()._forfeit(agent, reason)

    # ------------------------------------------------------------------ the record
    def episode_info(self) -> dict[str, Any]:
        return {
            "task_id": self._problem.task_id,
            "source": self.source,
            "split": self.split,
            "backend": self._sandbox.backend,
            "mutants": list(self._mutant_ids),
            "code": self._code,
            "tests": self._raw_tests,
            "parse_notes": {k: list(v) for k, v in self._parse_notes.items()},
            **self._result,
        }

    def episode_verdicts(self) -> list[dict[str, Any]]:
        """Every verifier verdict of the game, in the order they were given."""
        return [dict(v) for v in self._verdicts]


# ------------------------------------------------------------------------------ agents
def _doc_examples(prompt: str, entry: str) -> list[tuple[str, str]]:
    """(call, expected) pairs from the docstring: doctest examples (``>>> f(x)`` then the
    output), or lines like ``f(x) == y``, ``f(x) ➞ y``, ``f(x) -> y``, ``f(x) => y``."""
    out: list[tuple[str, str]] = []
    try:
        examples = doctest.DocTestParser().get_examples(prompt)
    except ValueError:
        examples = []
    for ex in examples:
        call = ex.source.strip()
        # The expected output ends at the docstring's closing quotes; several lines are one.
        want = " ".join(re.split(r"\"\"\"|\'\'\'", ex.want)[0].split())
        if entry in call and want and "\n" not in call:
            out.append((call, want))
    if out:
        return out
    pat = re.compile(
        rf"({re.escape(entry)}\s*\(.*\))\s*(?:==|➞|->|=>|should return|returns?)\s*(.+?)\s*$"
    )
    for line in prompt.splitlines():
        m = pat.search(line.strip())
        if m:
            out.append((m.group(1), m.group(2).rstrip(".,;")))
    return out


def _valid_expr(text: str) -> bool:
    try:
        ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError):
        return False
    return True


class CodeAndTestAgent(BaseAgent):
    """The scripted players of ``CodeAndTest-v1`` (every one plays both seats).

    ``strategy``:

    - ``oracle``: as the coder, the reference solution looked up in the problem source named in
      the observation's state (``mutant=K`` submits the K-th mutant instead, modulo their
      number: a configurable buggy coder); as the tester, the hidden tests.
    - ``doctest``: as the tester, the docstring's examples as asserts (``assert f(x) == y``);
      as the coder, a function answering the docstring's examples from a table (and ``None``
      otherwise), which passes some hidden tests at best.
    - ``random``: as the coder, a function returning a random constant (sometimes with a
      syntax error); as the tester, asserts with random arguments and expected values.
    """

    def __init__(
        self, strategy: str = "oracle", *, mutant: int = -1, seed: int | None = None
    ) -> None:
        if strategy not in REFERENCE_AGENTS:
            raise ValueError(f"no CodeAndTest agent named {strategy!r}; known: {REFERENCE_AGENTS}")
        super().__init__(name=strategy, seed=seed)
        self.strategy = strategy
        self.mutant = int(mutant)

    def _problem(self, obs: Observation) -> Problem | None:
        st = obs.state
        try:
            problems = load_problems(st["source"])
        except (KeyError, ValueError):
            return None
        return next((p for p in problems if p.task_id == st.get("task_id")), None)

    def act(self, obs: Observation) -> str:
        coder = obs.role == "coder"
        entry = obs.state.get("entry_point", "f")
        prompt = obs.state.get("prompt", "")
        if self.strategy == "oracle":
            p = self._problem(obs)
            if p is None:
                return "<code>pass</code>" if coder else "<tests>assert True</tests>"
            if coder:
                code = p.solution
                if self.mutant >= 0:
                    ms = mutants(p.solution)
                    if ms:
                        code = ms[self.mutant % len(ms)].source
                return f"Here is my solution.\n<code>\n{code}\n</code>"
            return "<tests>\n" + "\n".join(p.tests) + "\n</tests>"
        if self.strategy == "doctest":
            examples = [(c, w) for c, w in _doc_examples(prompt, entry) if _valid_expr(w)]
            if not coder:
                if not examples:
                    return f"<tests>\nassert callable({entry})\n</tests>"
                body = "\n".join(f"assert {c} == {w}" for c, w in examples)
                return f"<tests>\n{body}\n</tests>"
            rows = []
            for call, want in examples:
                inner = call[call.index("(") + 1 : call.rindex(")")]
                if _valid_expr(f"({inner},)") and _valid_expr(want):
                    rows.append(f"    (({inner},), {want}),")
            table = "\n".join(rows)
            return (
                "<code>\n"
                f"def {entry}(*args):\n"
                f"    table = [\n{table}\n    ]\n"
                "    for key, value in table:\n"
                "        if key == args:\n"
                "            return value\n"
                "    return None\n"
                "</code>"
            )
        values = ("0", "1", "-1", "''", "'a'", "[]", "[1, 2]", "True", "False", "None", "2.5")
        pick = self.rng.choice
        if coder:
            if self.rng.random() < 0.1:
                return f"<code>\ndef {entry}(*args:\n    return\n</code>"
            return f"<code>\ndef {entry}(*args, **kwargs):\n    return {pick(values)}\n</code>"
        n = int(self.rng.integers(1, 4))
        body = "\n".join(f"assert {entry}({pick(values)}) == {pick(values)}" for _ in range(n))
        return f"<tests>\n{body}\n</tests>"


def reference_agent(name: str, *, seed: int | None = None, **params: Any) -> Agent:
    """Build a CodeAndTest agent: ``oracle`` (takes ``mutant``), ``doctest`` or ``random``."""
    if name not in REFERENCE_AGENTS:
        raise ValueError(f"no CodeAndTest agent named {name!r}; known: {REFERENCE_AGENTS}")
    return CodeAndTestAgent(name, seed=seed, **params)
