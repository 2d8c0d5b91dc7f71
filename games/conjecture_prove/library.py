"""The seed library of ConjectureProve: lemmas the conjecturer builds on and the prover may use.

The library ships as package data:

- ``data/library.jsonl``: the structured index, one lemma a line: ``name``, ``topic`` (``nat``,
  ``list``, ``bool``), ``difficulty`` (1 easy .. 3 needs induction and earlier lemmas), the Coq
  form (``coq``: ``binders`` as ``[name, type]`` pairs, ``lhs``, ``rel``, ``rhs``), ``sort``
  (the sort of both sides of an equation: ``nat``, ``list``, ``bool``; ``prop`` for ``<->``),
  the Coq ``proof`` (a tactic script), and where Lean 4's core library has the same fact, the
  Lean form (``lean``) and the core theorem's name (``lean_name``).
- ``data/Library.v``: the Coq library rendered from the index (:func:`render_coq`): two helper
  definitions (``double``, ``sum``), every lemma with its proof, and the hint database
  ``library`` holding every lemma (``auto with library``). A test keeps the file equal to the
  rendering.

Statements are written from the structured forms (:meth:`Form.statement`), so templates can
specialise a bound variable or rename binders apart without parsing Coq.

:func:`canonical` is the textual duplicate test: whitespace-insensitive tokens, bound variables
renamed in binding order (alpha-equivalence), binder groups split into one binder each.

:func:`compiled_library` compiles the library (plus any extra lemmas) with ``coqc`` once per
process and text, into a temporary folder that checks load with ``-Q DIR SpenvConj``.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = [
    "COQ_PREAMBLE",
    "LIBRARY_MODULE",
    "Form",
    "Lemma",
    "LibraryBuildError",
    "canonical",
    "compiled_library",
    "lemmas",
    "load_lemmas",
    "render_coq",
]

#: The logical path the compiled library is mapped to (``-Q DIR SpenvConj``).
LIBRARY_MODULE = "SpenvConj"
#: What every Coq check starts with: the standard modules the library uses, and the library.
COQ_PREAMBLE = (
    "From Coq Require Import Arith Bool List Lia.\n"
    "Import ListNotations.\n"
    f"From {LIBRARY_MODULE} Require Import Library."
)
_COQ_HEADER = """(* The seed library of spenv's ConjectureProve-v1 game, from library.jsonl.
   Compile with: coqc -Q . SpenvConj Library.v *)
From Coq Require Import Arith Bool List Lia.
Import ListNotations.

Fixpoint double (n : nat) : nat :=
  match n with
  | 0 => 0
  | S k => S (S (double k))
  end.

Fixpoint sum (l : list nat) : nat :=
  match l with
  | [] => 0
  | x :: t => x + sum t
  end.

Create HintDb library.
"""

_LEAN_REL = {"=": "=", "<=": "≤", "<": "<", "<>": "≠", "<->": "↔", ">=": "≥", ">": ">"}
_NAME_RE = re.compile(r"[a-z_][A-Za-z0-9_']*\Z")


@dataclass(frozen=True)
class Form:
    """A lemma's statement in one language: ``forall binders, lhs rel rhs``."""

    binders: tuple[tuple[str, str], ...]
    lhs: str
    rel: str
    rhs: str

    def body(self, lang: str = "coq") -> str:
        rel = _LEAN_REL.get(self.rel, self.rel) if lang == "lean" else self.rel
        return f"{self.lhs} {rel} {self.rhs}"

    def statement(self, lang: str = "coq") -> str:
        """The proposition: ``forall (n : nat) (m : nat), ...`` (Lean: ``∀ (n : Nat) ...``)."""
        return quantify(self.binders, self.body(lang), lang)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Form:
        return cls(
            tuple((str(n), str(t)) for n, t in d["binders"]),
            str(d["lhs"]),
            str(d["rel"]),
            str(d["rhs"]),
        )


def quantify(binders: Sequence[tuple[str, str]], body: str, lang: str = "coq") -> str:
    """``body`` under the binders (none: the body alone)."""
    if not binders:
        return body
    kw = "∀" if lang == "lean" else "forall"
    return f"{kw} " + " ".join(f"({n} : {t})" for n, t in binders) + f", {body}"


@dataclass(frozen=True)
class Lemma:
    """One library lemma (see the module docstring for the fields)."""

    name: str
    topic: str
    difficulty: int
    coq: Form
    sort: str
    proof: str
    lean: Form | None = None
    lean_name: str | None = None
    note: str = ""
    extra: bool = field(default=False, compare=False)

    def statement(self, lang: str = "coq") -> str:
        if lang == "lean":
            if self.lean is None:
                raise ValueError(f"lemma {self.name} has no Lean form")
            return self.lean.statement("lean")
        return self.coq.statement("coq")

    def form(self, lang: str = "coq") -> Form | None:
        return self.lean if lang == "lean" else self.coq

    def ref(self, lang: str = "coq") -> str | None:
        """The name a proof uses to cite the lemma (Lean: the core theorem)."""
        return self.lean_name if lang == "lean" else self.name

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "topic": self.topic,
            "difficulty": self.difficulty,
            "statement": self.statement("coq"),
        }
        if self.lean is not None:
            d["lean_statement"] = self.lean.statement("lean")
            d["lean_name"] = self.lean_name
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Lemma:
        lean = d.get("lean")
        return cls(
            name=str(d["name"]),
            topic=str(d.get("topic", "")),
            difficulty=int(d.get("difficulty", 1)),
            coq=Form.from_dict(d["coq"]),
            sort=str(d.get("sort", "")),
            proof=str(d["proof"]),
            lean=Form.from_dict(lean) if lean else None,
            lean_name=d.get("lean_name"),
            note=str(d.get("note", "")),
        )


def load_lemmas(path: str | Path | None = None) -> tuple[Lemma, ...]:
    """Lemmas from a JSONL index (default: the shipped ``data/library.jsonl``)."""
    if path is None:
        text = resources.files(__package__).joinpath("data", "library.jsonl").read_text("utf-8")
        where = "library.jsonl"
    else:
        text = Path(path).read_text(encoding="utf-8")
        where = str(path)
    out = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(Lemma.from_dict(json.loads(line)))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{where}:{lineno}: not a lemma record ({exc})") from None
    return tuple(out)


@cache
def lemmas() -> tuple[Lemma, ...]:
    """The shipped library (read once per process)."""
    return load_lemmas()


def shipped_coq_source() -> str:
    """The text of the shipped ``data/Library.v``."""
    return resources.files(__package__).joinpath("data", "Library.v").read_text("utf-8")


def render_coq(items: Iterable[Lemma], extra: Iterable[tuple[str, str, str]] = ()) -> str:
    """The Coq library: header, every lemma with its proof, extra ``(name, statement, proof)``
    lemmas, and the ``library`` hint database."""
    chunks = [_COQ_HEADER]
    names = []
    for lem in items:
        chunks.append(f"Lemma {lem.name} : {lem.statement('coq')}.\nProof.\n  {lem.proof}\nQed.\n")
        names.append(lem.name)
    for name, statement, proof in extra:
        chunks.append(f"Lemma {name} : {statement}.\nProof.\n{proof.strip()}\nQed.\n")
        names.append(name)
    lines = []
    for i in range(0, len(names), 6):
        lines.append("Global Hint Resolve " + " ".join(names[i : i + 6]) + " : library.")
    chunks.append("\n".join(lines) + "\n")
    return "\n".join(chunks)


def valid_name(name: str) -> bool:
    """Whether ``name`` may name an extra lemma (a lower-case Coq/Lean identifier)."""
    return bool(_NAME_RE.match(name))


# ----------------------------------------------------------------------------- compiling


class LibraryBuildError(RuntimeError):
    """The library (or an extra lemma in it) did not compile."""


_BUILT: dict[str, Path] = {}
_BUILD_LOCK = threading.Lock()


def _cleanup() -> None:
    for path in _BUILT.values():
        shutil.rmtree(path, ignore_errors=True)


atexit.register(_cleanup)


def compiled_library(source: str, coqc: str = "coqc", timeout: float = 300.0) -> Path:
    """The folder holding ``Library.vo`` compiled from ``source`` (compiled once per process).

    Raises :class:`LibraryBuildError` with coqc's message when it does not compile, or when
    coqc is missing.
    """
    exe = shutil.which(coqc)
    if exe is None:
        raise LibraryBuildError(f"coqc not found ({coqc!r}); install Coq, e.g. apt-get install coq")
    key = hashlib.sha256((exe + "\0" + source).encode()).hexdigest()
    with _BUILD_LOCK:
        built = _BUILT.get(key)
        if built is not None and (built / "Library.vo").exists():
            return built
        folder = Path(tempfile.mkdtemp(prefix="spenv-conjlib-"))
        (folder / "Library.v").write_text(source, encoding="utf-8")
        try:
            proc = subprocess.run(
                [exe, "-q", "-Q", str(folder), LIBRARY_MODULE, str(folder / "Library.v")],
                cwd=folder,
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            shutil.rmtree(folder, ignore_errors=True)
            raise LibraryBuildError(
                f"the lemma library did not compile within {timeout:g} s"
            ) from None
        if proc.returncode != 0:
            shutil.rmtree(folder, ignore_errors=True)
            message = " ".join((proc.stdout + proc.stderr).split())[-600:]
            raise LibraryBuildError(f"the lemma library does not compile: {message}")
        _BUILT[key] = folder
        return folder


# ----------------------------------------------------------------------------- canonical text

_TOKEN_RE = re.compile(r"[^\W\d][\w'.]*|\d+|\S", re.UNICODE)
_BINDER_KEYWORDS = {"forall": "forall", "∀": "forall", "exists": "exists", "∃": "exists"}
_FUN_KEYWORDS = {"fun": "fun", "λ": "fun"}
_OPEN, _CLOSE = "([{", ")]}"


def _tokens(text: str) -> list[str]:
    toks = _TOKEN_RE.findall(text)
    # Identifiers may not end with a '.' (it ends a qualified name only when followed by more).
    out: list[str] = []
    for t in toks:
        if len(t) > 1 and t.endswith(".") and t[0] not in "0123456789":
            out.extend([t.rstrip("."), *(["."] * (len(t) - len(t.rstrip("."))))])
        else:
            out.append(t)
    return out


def canonical(statement: str) -> str:
    """A canonical text of a proposition, for duplicate detection.

    Whitespace does not matter; bound variables (``forall``/``exists``/``fun``, and the Unicode
    ``∀``/``∃``/``λ``) are renamed ``_0``, ``_1``, ... in binding order, binder groups
    (``forall n m : nat``, ``forall (n : nat) (m : nat)``) become one binder each, and
    redundant parentheses around a whole statement are dropped. Two statements equal up to
    these changes have the same canonical text.
    """
    toks = _tokens(statement)
    while len(toks) >= 2 and toks[0] == "(" and _matching(toks, 0) == len(toks) - 1:
        toks = toks[1:-1]
    out: list[str] = []
    _canon(toks, 0, len(toks), [], [0], out)
    return " ".join(out)


def _matching(toks: Sequence[str], i: int) -> int:
    depth = 0
    for j in range(i, len(toks)):
        if toks[j] in _OPEN:
            depth += 1
        elif toks[j] in _CLOSE:
            depth -= 1
            if depth == 0:
                return j
    return len(toks) - 1


def _lookup(scopes: list[dict[str, str]], name: str) -> str:
    for scope in reversed(scopes):
        if name in scope:
            return scope[name]
    return name


def _canon(
    toks: Sequence[str],
    start: int,
    end: int,
    scopes: list[dict[str, str]],
    counter: list[int],
    out: list[str],
) -> None:
    """Write the canonical tokens of ``toks[start:end]`` to ``out`` (recursive on binders)."""
    i = start
    pushed = 0
    while i < end:
        tok = toks[i]
        if tok in _BINDER_KEYWORDS or tok in _FUN_KEYWORDS:
            fun = tok in _FUN_KEYWORDS
            kw = _FUN_KEYWORDS.get(tok) or _BINDER_KEYWORDS[tok]
            stop = _binder_end(toks, i + 1, end, fun)
            if stop is None:  # not a binder we understand: keep the tokens as they are
                out.append(_lookup(scopes, tok))
                i += 1
                continue
            binders = _binder_groups(toks, i + 1, stop)
            scope: dict[str, str] = {}
            for names, typ in binders:
                for name in names:
                    canon = f"_{counter[0]}"
                    counter[0] += 1
                    out.append(kw)
                    out.append(canon)
                    if typ:
                        out.append(":")
                        scopes.append(scope)
                        _canon(typ, 0, len(typ), scopes, counter, out)
                        scopes.pop()
                    out.append(",")
                    scope[name] = canon
            scopes.append(scope)
            pushed += 1
            i = stop + (2 if fun else 1)
            continue
        if tok in _OPEN:
            j = min(_matching(toks, i), end - 1)
            out.append(tok)
            _canon(toks, i + 1, j, scopes, counter, out)
            if toks[j] in _CLOSE:
                out.append(toks[j])
            i = j + 1
            continue
        out.append(_lookup(scopes, tok))
        i += 1
    for _ in range(pushed):
        scopes.pop()


def _binder_end(toks: Sequence[str], i: int, end: int, fun: bool) -> int | None:
    """Index of the ``,`` (or, for ``fun``, the ``=`` of ``=>``) that ends a binder list."""
    depth = 0
    for j in range(i, end):
        t = toks[j]
        if t in _OPEN:
            depth += 1
        elif t in _CLOSE:
            depth -= 1
            if depth < 0:
                return None
        elif depth == 0:
            if fun and t == "=" and j + 1 < end and toks[j + 1] == ">":
                return j
            if not fun and t == ",":
                return j
    return None


def _binder_groups(toks: Sequence[str], i: int, stop: int) -> list[tuple[list[str], list[str]]]:
    """``[(names, type tokens)]`` of a binder list ``toks[i:stop]``."""
    groups: list[tuple[list[str], list[str]]] = []
    if i < stop and toks[i] in "([{":
        while i < stop:
            if toks[i] not in "([{":
                groups.append(([toks[i]], []))
                i += 1
                continue
            j = min(_matching(toks, i), stop - 1)
            inner = list(toks[i + 1 : j])
            if ":" in inner:
                k = inner.index(":")
                groups.append((inner[:k], inner[k + 1 :]))
            else:
                groups.append((inner, []))
            i = j + 1
        return groups
    inner = list(toks[i:stop])
    if ":" in inner:
        k = inner.index(":")
        groups.append((inner[:k], inner[k + 1 :]))
    else:
        groups.append((inner, []))
    return groups
