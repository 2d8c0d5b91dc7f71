"""Proof checkers: is a tactic script a real proof of exactly the stated conjecture?

Two backends with one contract, :meth:`CoqChecker.check` and :meth:`LeanChecker.check`::

    check(statement, proof, *, preamble="") -> Verdict

**statement** is the proposition alone, e.g. ``forall n : nat, n + 0 = n`` (Coq) or
``∀ n : Nat, n + 0 = n`` (Lean). A trailing period is dropped. For Coq a full header such as
``Theorem add_0 (n : nat) : n + 0 = n.`` (or ``Lemma``/``Fact``/.../``Goal``) is also accepted
and normalised to ``forall (n : nat), n + 0 = n``; the name is discarded. The checker writes the
theorem itself, always named ``goal`` (``Theorem goal : <statement>.`` /
``theorem goal : <statement> := by``), so a prover can never change what is proved.

**proof** is the tactic script only, the text that goes between the ``Proof.`` and ``Qed.``
the checker writes (Coq) or after ``:= by`` (Lean). For Coq, a script wrapped in
``Proof. ... Qed.`` (or ``Defined.``) is unwrapped first; ``Proof.`` without a closing
``Qed.``/``Defined.`` is a format error.

**preamble** is trusted text the *caller* controls (``Require Import Lia.``,
``import Mathlib``, helper definitions the statement uses); it is not scanned.

A proof is accepted (status ``ok``, score 1.0) only when all of these hold:

1. the escape scanner finds nothing: comments are removed (nested ``(* *)`` / ``/- -/`` and
   ``--``, exactly as the prover's lexer would) and the *stripped* text is what the prover
   sees, so a comment can hide nothing; string literals are refused; every sentence of a Coq
   script must be a tactic (a sentence that starts with a capitalised word such as ``Qed``,
   ``Axiom``, ``Require``, ``Set``, ``Ltac``, ``Notation`` or an attribute ``#[...]`` is a
   vernacular command and is refused), and ``admit``/``give_up``/``Admitted``/... are refused
   anywhere; for Lean, ``sorry``, ``admit``, command keywords (``axiom``, ``theorem``,
   ``macro``, ``syntax``, ``notation``, ``set_option``, ``open``, ``#eval``, ``@[...]``,
   ``unsafe``, ``implemented_by``, ...) and metaprogramming quotations are refused;
2. the prover checks the whole file (``coqc`` / ``lean``), within ``timeout`` seconds and
   ``memory_mb`` of address space (the whole process group is killed on timeout);
3. the axioms the proof depends on are only those allowed: ``Print Assumptions goal.`` must
   say ``Closed under the global context`` (or list only ``allowed_axioms``), and Lean's
   ``#print axioms goal`` may list only ``propext``, ``Classical.choice`` and ``Quot.sound``
   (``sorryAx``, ``Lean.ofReduceBool`` and anything else are refused).

Statuses: ``ok``; ``wrong`` for a scanned escape, a failing tactic, an unfinished proof, a
forbidden axiom or an out-of-memory run (``detail`` names the reason); ``format_error`` when
the text cannot be read as a tactic script at all (empty, unterminated comment or string, a
syntax error the prover reports inside the proof) and, with ``data["part"] == "statement"``,
when the *statement* is malformed (it does not parse, is not a ``Prop``, or tries to end the
theorem early); ``timeout``; ``error`` when the checker itself could not run (prover missing,
broken preamble, unreadable output). ``data["part"]`` says which text was at fault
(``statement``, ``proof``, ``preamble``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spenv.verifiers.verdict import Verdict

__all__ = [
    "LEAN_STANDARD_AXIOMS",
    "CoqChecker",
    "LeanChecker",
    "ScanError",
    "scan_coq_proof",
    "scan_coq_statement",
    "scan_lean_proof",
    "scan_lean_statement",
]

# ----------------------------------------------------------------------------- running


@dataclass
class _RunResult:
    returncode: int | None
    output: str
    timed_out: bool
    elapsed: float
    truncated: bool = False


class _BoundedSink:
    """Keeps the first ``head`` and the last ``tail`` bytes of a stream (a proof can print)."""

    def __init__(self, head: int = 32_768, tail: int = 262_144) -> None:
        self.head_limit, self.tail_limit = head, tail
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0

    def write(self, chunk: bytes) -> None:
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            excess = len(self.tail) - self.tail_limit
            if excess > 0:
                del self.tail[:excess]
                self.dropped += excess

    def text(self) -> str:
        sep = (
            f"\n[... {self.dropped} bytes of output dropped ...]\n".encode()
            if self.dropped
            else b""
        )
        return (bytes(self.head) + sep + bytes(self.tail)).decode("utf-8", errors="replace")


#: The shell line that caps the address space and then becomes the checker (``exec``).
_LIMIT_SCRIPT = 'ulimit -v "$1" && shift && exec "$@"'


def _with_memory_limit(cmd: Sequence[str], memory_mb: int | None) -> list[str]:
    """``cmd`` started under an address-space cap (``RLIMIT_AS``) of ``memory_mb`` MiB.

    ``/bin/sh`` sets the limit and then ``exec``s the checker in the same process, so the
    limit is in place before the checker's first instruction (a limit applied from the parent
    after the start would race with the checker's own allocations), and no Python code runs
    between ``fork`` and ``exec`` (the checks run from threads). ``None`` or 0: no cap.
    """
    if not memory_mb:
        return list(cmd)
    exe = shutil.which(cmd[0])
    if exe is None:  # as Popen would: the checker is not there
        raise FileNotFoundError(f"no such executable: {cmd[0]!r}")
    kib = str(int(memory_mb) * 1024)
    return ["/bin/sh", "-c", _LIMIT_SCRIPT, "spenv-limit", kib, exe, *cmd[1:]]


def _run_bounded(
    cmd: Sequence[str],
    *,
    cwd: str | os.PathLike[str],
    timeout: float,
    memory_mb: int | None,
    env: dict[str, str] | None = None,
) -> _RunResult:
    """Run ``cmd`` in its own process group; kill the whole group on timeout; bound output.

    ``memory_mb`` caps the address space (``RLIMIT_AS``) of the checker from its first
    instruction (see :func:`_with_memory_limit`).
    """
    start = time.perf_counter()
    proc = subprocess.Popen(
        _with_memory_limit(cmd, memory_mb),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=env,
    )
    sink = _BoundedSink()
    assert proc.stdout is not None
    stdout = proc.stdout

    def pump() -> None:
        for chunk in iter(lambda: stdout.read1(65536), b""):
            sink.write(chunk)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    timed_out = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        # The group may outlive its leader (a child the prover spawned): always sweep it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        reader.join(timeout=5)
        stdout.close()
    return _RunResult(
        returncode=None if timed_out else proc.returncode,
        output=sink.text(),
        timed_out=timed_out,
        elapsed=time.perf_counter() - start,
        truncated=sink.dropped > 0,
    )


# ----------------------------------------------------------------------------- scanning


class ScanError(ValueError):
    """The text was refused by an escape scanner.

    ``status`` is the verdict status it maps to: ``format_error`` when the text cannot be read
    (unterminated comment, empty script), ``wrong`` when it was read and contains an escape.
    """

    def __init__(self, message: str, status: str = "wrong") -> None:
        super().__init__(message)
        self.status = status


def _blank(text: str) -> str:
    """Spaces for every character except newlines: keeps line and column numbers."""
    return re.sub(r"[^\n]", " ", text)


def _require_utf8(text: str) -> None:
    """Refuse text that cannot be written as UTF-8 (a lone surrogate) with a format error."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ScanError(
            f"the text is not valid Unicode ({exc.reason} at character {exc.start})",
            "format_error",
        ) from None


def _coq_string_end(text: str, i: int) -> int:
    """Index just past the Coq string literal that opens at ``text[i] == '"'`` ("" escapes)."""
    j = i + 1
    n = len(text)
    while j < n:
        if text[j] == '"':
            if j + 1 < n and text[j + 1] == '"':
                j += 2
                continue
            return j + 1
        j += 1
    raise ScanError("unterminated string literal", "format_error")


def _coq_strip(text: str) -> tuple[str, list[str]]:
    """Blank out Coq comments (nested; strings inside comments honoured, as coqc does).

    Returns the stripped text (same length, same line breaks) and the string literals found
    outside comments. Raises :class:`ScanError` (format_error) on an unterminated comment or
    string, or on a ``*)`` that closes nothing.
    """
    out: list[str] = []
    strings: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text.startswith("(*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("(*", j):
                    depth += 1
                    j += 2
                elif text.startswith("*)", j):
                    depth -= 1
                    j += 2
                elif text[j] == '"':
                    j = _coq_string_end(text, j)
                else:
                    j += 1
            if depth:
                raise ScanError("unterminated comment '(*'", "format_error")
            out.append(_blank(text[i:j]))
            i = j
        elif text.startswith("*)", i):
            raise ScanError("'*)' closes a comment that was never opened", "format_error")
        elif text[i] == '"':
            j = _coq_string_end(text, i)
            strings.append(text[i:j])
            out.append(text[i:j])
            i = j
        else:
            out.append(text[i])
            i += 1
    return "".join(out), strings


# A Coq sentence ends at a '.' followed by white space or the end of the text.
_COQ_TERMINATOR = re.compile(r"\.(?=\s|$)")
_COQ_IDENT = re.compile(r"[^\W\d][\w']*(?:\.[^\W\d][\w']*)*")
_COQ_SELECTOR = re.compile(
    r"(?:all|par|!|\d+(?:\s*-\s*\d+)?(?:\s*,\s*\d+(?:\s*-\s*\d+)?)*|\[\s*[^\W\d][\w']*\s*\])"
    r"\s*:(?![=>:])"
)
_COQ_BULLET_OR_BRACE = re.compile(r"(?:-+|\++|\*+|\{|\})")
#: Words refused anywhere in a Coq proof (tactics that give up, or vernacular that can only
#: be an escape inside a tactic script).
COQ_FORBIDDEN_WORDS = frozenset(
    {
        "admit",
        "give_up",
        "Admitted",
        "Abort",
        "Axiom",
        "Axioms",
        "Parameter",
        "Parameters",
        "Hypothesis",
        "Hypotheses",
        "Variable",
        "Variables",
        "Conjecture",
        "Qed",
        "Defined",
        "Save",
        "Extraction",
        "Extract",
        "Declare",
        "Load",
        "Redirect",
        "Drop",
        # vernacular that changes the checker or wraps commands: refused anywhere, not only
        # at the head of a sentence
        "Unset",
        "Fail",
        "Succeed",
        "Time",
        "Timeout",
        "Instructions",
        "Require",
        "Import",
        "Export",
        "Ltac",
        "Ltac2",
        "Notation",
        "Infix",
        "Tactic",
        "Print",
        "Show",
        "Check",
        "Eval",
        "Compute",
        "Guard",
        "Universe",
        "Universes",
        "Polymorphic",
        "Monomorphic",
        "Local",
        "Global",
        "Hint",
        "Opaque",
        "Transparent",
        "Strategy",
        "Arguments",
        "Canonical",
        "Coercion",
        "Typeclasses",
        "Instance",
        "Existing",
        "Program",
        "Obligation",
        "Module",
        "Section",
        "Inductive",
        "CoInductive",
        "Fixpoint",
        "CoFixpoint",
        "Definition",
        "Theorem",
        "Lemma",
        "Goal",
        "Proof",
    }
)
#: Vernacular commands a tactic script may use (harmless inside a proof).
COQ_ALLOWED_COMMANDS = frozenset({"Unshelve"})
_COQ_THEOREM_KEYWORDS = (
    "Theorem",
    "Lemma",
    "Fact",
    "Remark",
    "Corollary",
    "Proposition",
    "Property",
    "Example",
)


@dataclass
class _Sentence:
    text: str  # stripped, as written to the file
    start: int  # offset in the stripped text
    end: int  # offset just past the terminating '.' (or the end of the text)


def _coq_sentences(stripped: str) -> list[_Sentence]:
    sentences: list[_Sentence] = []
    pos = 0
    for m in _COQ_TERMINATOR.finditer(stripped):
        sentences.append(_Sentence(stripped[pos : m.start()], pos, m.end()))
        pos = m.end()
    if stripped[pos:].strip():
        sentences.append(_Sentence(stripped[pos:], pos, len(stripped)))
    return [s for s in sentences if s.text.strip()]


def _coq_sentence_head(sentence: str) -> str:
    """The sentence without its leading bullets, braces and goal selectors."""
    s = sentence.strip()
    while True:
        m = _COQ_BULLET_OR_BRACE.match(s) or _COQ_SELECTOR.match(s)
        if not m:
            return s
        s = s[m.end() :].lstrip()


def _coq_word_problems(text: str) -> str | None:
    for m in _COQ_IDENT.finditer(text):
        for part in m.group(0).split("."):
            if part in COQ_FORBIDDEN_WORDS:
                return f"forbidden word {part!r}"
    return None


def scan_coq_proof(proof: str) -> str:
    """Check a Coq tactic script and return it with comments blanked and wrappers removed.

    Raises :class:`ScanError` naming the first problem. The returned text is exactly what the
    checker writes between its own ``Proof.`` and ``Qed.``.
    """
    if not isinstance(proof, str):
        raise ScanError(f"proof must be a string, got {type(proof).__name__}", "format_error")
    _require_utf8(proof)
    stripped, strings = _coq_strip(proof)
    if "\x00" in stripped:
        raise ScanError("NUL byte in proof", "format_error")
    sentences = _coq_sentences(stripped)
    if not sentences:
        raise ScanError("empty proof", "format_error")
    tail = sentences[-1]
    if tail.end == len(stripped) and not stripped.endswith(".") and _coq_sentence_head(tail.text):
        raise ScanError(
            f"the tactic script does not end with '.' (last sentence {tail.text.strip()[:40]!r})",
            "format_error",
        )
    begin, end = 0, len(stripped)
    first = sentences[0].text.strip()
    opened = False
    if re.fullmatch(r"Proof\b.*", first, flags=re.S):
        if first != "Proof":
            raise ScanError(f"only a bare 'Proof.' may open the script, not {first[:40]!r}")
        opened = True
        begin = sentences[0].end
        sentences = sentences[1:]
    last = sentences[-1].text.strip() if sentences else ""
    if last in ("Qed", "Defined"):
        end = sentences[-1].start
        sentences = sentences[:-1]
    unclosed = opened and last not in ("Qed", "Defined")
    if not sentences:
        raise ScanError("empty proof", "format_error")
    if "#[" in stripped or re.search(r"#\s*\[", stripped):
        raise ScanError("attributes '#[...]' are not allowed in a tactic script")
    for s in sentences:
        head = _coq_sentence_head(s.text)
        if head.startswith("#"):
            raise ScanError("attributes '#[...]' are not allowed in a tactic script")
        m = _COQ_IDENT.match(head)
        word = m.group(0) if m else ""
        if word and "." not in word and word[0].isupper() and word not in COQ_ALLOWED_COMMANDS:
            raise ScanError(f"vernacular command {m.group(0)!r} is not allowed in a tactic script")
        problem = _coq_word_problems(s.text)
        if problem:
            raise ScanError(problem)
    if strings:
        raise ScanError(f"string literals are not allowed in a proof (found {strings[0][:40]})")
    if unclosed:
        raise ScanError("'Proof.' is not closed by 'Qed.' or 'Defined.'", "format_error")
    return stripped[begin:end]


def _balanced(text: str) -> str | None:
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    for ch in text:
        if ch in "([{":
            stack.append(ch)
        elif ch in pairs:
            if not stack or stack[-1] != pairs[ch]:
                return f"unbalanced {ch!r}"
            stack.pop()
    return f"unclosed {stack[-1]!r}" if stack else None


def _split_top_colon(text: str) -> tuple[str, str] | None:
    """Split at the first ``:`` at bracket depth 0 that is not part of ``:=``/``::``/``:>``."""
    depth = 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == ":" and depth == 0:
            nxt = text[i + 1 : i + 2]
            prev = text[i - 1 : i] if i else ""
            if nxt in ("=", ":", ">") or prev == ":":
                continue
            return text[:i], text[i + 1 :]
    return None


def scan_coq_statement(statement: str) -> str:
    """Check a Coq statement and return the proposition (comments blanked, header removed).

    Accepts the proposition alone (an optional trailing period is dropped), or a header
    ``Theorem name binders : prop.`` / ``Lemma ...`` / ``Goal prop.``, which becomes
    ``forall binders, prop``. Raises :class:`ScanError` (format_error) when malformed.
    """
    if not isinstance(statement, str):
        raise ScanError(
            f"statement must be a string, got {type(statement).__name__}", "format_error"
        )
    _require_utf8(statement)
    try:
        stripped, strings = _coq_strip(statement)
    except ScanError as exc:
        raise ScanError(str(exc), "format_error") from None
    if strings:
        raise ScanError("string literals are not allowed in a statement", "format_error")
    text = stripped.strip()
    if text.endswith(".") and not text.endswith(".."):
        text = text[:-1].rstrip()
    head = re.match(rf"(?:{'|'.join(_COQ_THEOREM_KEYWORDS)})\s+([^\W\d][\w']*)(?![\w'])", text)
    if text.startswith("Goal") and re.match(r"Goal\b", text):
        text = text[4:].strip()
    elif head:
        rest = text[head.end() :]
        split = _split_top_colon(rest)
        if split is None:
            raise ScanError("theorem header without ':'", "format_error")
        binders, prop = split[0].strip(), split[1].strip()
        text = f"forall {binders}, {prop}" if binders else prop
    if not text:
        raise ScanError("empty statement", "format_error")
    if _COQ_TERMINATOR.search(text):
        raise ScanError(
            "the statement contains a sentence end ('.' before a space): one proposition only",
            "format_error",
        )
    problem = _balanced(text)
    if problem:
        raise ScanError(f"statement has {problem} bracket", "format_error")
    problem = _coq_word_problems(text)
    if problem:
        raise ScanError(f"statement: {problem}", "format_error")
    # A tactic inside a statement could elaborate differently in different contexts (a
    # checker's probe versus the theorem itself): a statement is a plain term.
    m = re.search(r"(?<![\w'])(ltac2?|constr|uconstr|open_constr)\s*:", text)
    if m:
        raise ScanError(
            f"statement: tactic quotation {m.group(1)!r}: is not allowed", "format_error"
        )
    return text


# ----------------------------------------------------------------------------- Coq


@dataclass
class _Layout:
    """Which lines of the generated file hold which part (1-based, inclusive)."""

    parts: list[tuple[str, int, int]] = field(default_factory=list)

    def add(self, name: str, first: int, text: str) -> int:
        last = first + text.count("\n")
        self.parts.append((name, first, last))
        return last + 1

    def part_of(self, line: int) -> str:
        for name, first, last in self.parts:
            if first <= line <= last:
                return name
        return "checker"


_COQ_LOCATED = re.compile(
    r'^File "[^"]*", line (?P<line>\d+), characters (?P<a>-?\d+)--?(?P<b>\d+):\n', re.M
)


def _coq_first_error(output: str) -> tuple[int | None, str] | None:
    """(line, message) of the first error in coqc's output, line None when unlocated."""
    matches = list(_COQ_LOCATED.finditer(output))
    head_end = matches[0].start() if matches else len(output)
    blocks: list[tuple[int | None, str]] = [(None, output[:head_end])]
    for k, m in enumerate(matches):
        end = matches[k + 1].start() if k + 1 < len(matches) else len(output)
        blocks.append((int(m.group("line")), output[m.end() : end]))
    for line, body in blocks:
        m = re.search(r"(?m)^(Fatal error|Error)\s*:?\s*", body)
        if m:
            prefix = "Fatal error: " if m.group(1) == "Fatal error" else ""
            return line, prefix + " ".join(body[m.end() :].split())
    return None


def _parse_print_assumptions(text: str) -> tuple[list[str], list[str]] | None:
    """(axiom names, other findings) from ``Print Assumptions`` output; None if absent.

    Strict: ``Closed under the global context`` is the only closed answer. Under ``Axioms:``,
    a line ``name : type`` (continued by indented lines) names an axiom; any other line there
    (``f is assumed to be guarded.``, ``... is assumed to be positive.``, a collapsed type
    hierarchy) and every other section header (``Section Variables:``, ...) is an "other
    finding", so an unsafe global setting can never read as closed.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if lines and lines[0].strip() == "Closed under the global context":
        return ([], []) if len(lines) == 1 else ([], [f"unexpected output {lines[1][:80]!r}"])
    axioms: list[str] = []
    others: list[str] = []
    section = None
    for line in lines:
        if line.startswith((" ", "\t")):
            if section is None:
                return None
            continue  # the continuation of a type
        header = re.fullmatch(r"([A-Z][\w ]*?):\s*", line)
        if header:
            section = header.group(1)
            if section != "Axioms":
                others.append(section)
            continue
        if section is None:
            return None
        m = re.match(r"([^\W\d][\w'.]*) : ", line)
        if section == "Axioms" and m:
            axioms.append(m.group(1))
        elif section == "Axioms":
            others.append(line.strip()[:120])
    return (axioms, others) if section is not None else None


class CoqChecker:
    """Check Coq tactic proofs with ``coqc`` (see the module docstring for the contract).

    ``allowed_axioms`` names axioms the preamble may bring in that proofs may use (for example
    ``classic`` after ``Require Import Classical.``); by default none. ``memory_mb`` caps the
    address space of ``coqc``; ``extra_args`` go to ``coqc`` (e.g. ``["-R", "lib", "Lib"]``).
    """

    name = "coq"

    def __init__(
        self,
        coqc: str = "coqc",
        timeout: float = 20.0,
        *,
        memory_mb: int | None = 4096,
        allowed_axioms: Iterable[str] = (),
        extra_args: Sequence[str] = (),
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self.coqc = coqc
        self.timeout = float(timeout)
        self.memory_mb = memory_mb
        self.allowed_axioms = frozenset(allowed_axioms)
        self.extra_args = tuple(extra_args)

    # -- availability
    def executable(self) -> str | None:
        """The resolved path of ``coqc``, or None when it is not installed."""
        return shutil.which(self.coqc)

    def available(self) -> bool:
        return self.executable() is not None

    # -- building
    def build_source(
        self, statement: str, proof: str, *, preamble: str = ""
    ) -> tuple[str, _Layout, str]:
        """The ``.v`` file for a check, its line layout and the nonce that marks the audit.

        Raises :class:`ScanError` when the statement or the proof is refused.
        """
        try:
            prop = scan_coq_statement(statement)
        except ScanError as exc:
            exc.part = "statement"  # type: ignore[attr-defined]
            raise
        try:
            script = scan_coq_proof(proof)
        except ScanError as exc:
            exc.part = "proof"  # type: ignore[attr-defined]
            raise
        nonce = "spenv_audit_" + secrets.token_hex(8)
        layout = _Layout()
        chunks: list[str] = []
        line = 1
        if preamble.strip():
            pre = preamble.rstrip("\n")
            line = layout.add("preamble", line, pre)
            chunks.append(pre)
        stmt = f"Check (({prop}) : Prop).\nTheorem goal : {prop}."
        line = layout.add("statement", line, stmt)
        chunks.append(stmt)
        body = "Proof.\n" + script.strip("\n")
        line = layout.add("proof", line, body)
        chunks.append(body)
        line = layout.add("qed", line, "Qed.")
        chunks.append("Qed.")
        audit = f"Definition {nonce} := tt.\nPrint {nonce}.\nPrint Assumptions goal."
        layout.add("audit", line, audit)
        chunks.append(audit)
        return "\n".join(chunks) + "\n", layout, nonce

    def command(self, path: str | os.PathLike[str]) -> list[str]:
        exe = self.executable() or self.coqc
        return [exe, "-q", *self.extra_args, str(path)]

    # -- checking
    def check(self, statement: str, proof: str, *, preamble: str = "") -> Verdict:
        """Is ``proof`` a Coq tactic proof of ``statement``? See the module docstring."""
        start = time.perf_counter()
        try:
            source, layout, nonce = self.build_source(statement, proof, preamble=preamble)
        except ScanError as exc:
            part = getattr(exc, "part", "proof")
            status = "format_error" if part == "statement" else exc.status
            prefix = "statement rejected" if part == "statement" else "proof rejected"
            return Verdict(
                status, 0.0, f"{prefix}: {exc}", time.perf_counter() - start, {"part": part}
            )
        return self._run_source(source, layout, nonce, start)

    def _statement_file(
        self, statement: str, preamble: str, start: float
    ) -> Verdict | tuple[str, _Layout, list[str], int]:
        """The preamble and ``Check ((prop) : Prop).``: (prop, layout, chunks, next line), or a
        ``format_error`` verdict when the scanner refuses the statement."""
        try:
            prop = scan_coq_statement(statement)
        except ScanError as exc:
            return Verdict(
                "format_error",
                0.0,
                f"statement rejected: {exc}",
                time.perf_counter() - start,
                {"part": "statement"},
            )
        layout = _Layout()
        line = 1
        chunks = []
        if preamble.strip():
            line = layout.add("preamble", line, preamble.rstrip("\n"))
            chunks.append(preamble.rstrip("\n"))
        stmt = f"Check (({prop}) : Prop)."
        line = layout.add("statement", line, stmt)
        chunks.append(stmt)
        return prop, layout, chunks, line

    def check_statement(self, statement: str, *, preamble: str = "") -> Verdict:
        """Is ``statement`` a well-formed proposition (a ``Prop``) under ``preamble``?

        ``ok`` when it is; ``format_error`` with the reason when it is not. Useful for a
        conjecturer's output before any proof is attempted.
        """
        start = time.perf_counter()
        built = self._statement_file(statement, preamble, start)
        if isinstance(built, Verdict):
            return built
        prop, layout, chunks, _ = built
        verdict = self._run_source("\n".join(chunks) + "\n", layout, None, start)
        if verdict.status == "ok":
            return Verdict("ok", 1.0, "well-formed proposition", verdict.elapsed, {"prop": prop})
        return verdict

    def first_closing(
        self, statement: str, tactics: Sequence[str], *, preamble: str = ""
    ) -> Verdict:
        """Which of the trusted ``tactics`` (if any) proves ``statement``: one ``coqc`` run.

        The tactics are the caller's (single Ltac expressions, not scanned; a novelty test's
        "does a known lemma or a fixed automation close it?"). The statement is scanned and
        checked to be a ``Prop`` first. ``ok`` with ``data["closed_by"]`` the index of the first
        tactic that proves it, or None when none does; ``format_error`` for a malformed
        statement; ``timeout``/``error`` as for :meth:`check`. The answer is read after a fresh
        random marker, so nothing the statement makes ``coqc`` print can forge it.
        """
        start = time.perf_counter()
        built = self._statement_file(statement, preamble, start)
        if isinstance(built, Verdict):
            return built
        prop, layout, chunks, line = built
        nonce = "spenv_probe_" + secrets.token_hex(8)
        branches = [
            f'(assert ({prop}) by ({tac}); idtac "{nonce}:{i}")' for i, tac in enumerate(tactics)
        ]
        branches.append(f'idtac "{nonce}:none"')
        probe = (
            f"Definition {nonce} := tt.\nPrint {nonce}.\nGoal True.\n"
            f"first [{' | '.join(branches)}].\nexact I.\nQed."
        )
        layout.add("audit", line, probe)
        chunks.append(probe)
        verdict = self._run_source("\n".join(chunks) + "\n", layout, None, start)
        if verdict.status != "ok":
            return verdict
        out = str(verdict.data.get("output", ""))
        marker = out.find(f"{nonce} = tt")
        found = re.findall(rf"(?m)^{nonce}:(\d+|none)$", out[marker:]) if marker >= 0 else []
        if len(found) != 1:
            return Verdict(
                "error", 0.0, "probe answer missing from coqc output", verdict.elapsed, {}
            )
        closed_by = None if found[0] == "none" else int(found[0])
        detail = "no tactic proves it" if closed_by is None else f"tactic {closed_by} proves it"
        return Verdict("ok", 1.0, detail, verdict.elapsed, {"closed_by": closed_by, "prop": prop})

    def _run_source(self, source: str, layout: _Layout, nonce: str | None, start: float) -> Verdict:
        def elapsed() -> float:
            return time.perf_counter() - start

        if self.executable() is None:
            return Verdict(
                "error",
                0.0,
                f"coqc not found ({self.coqc!r}); install Coq, e.g. apt-get install coq",
                elapsed(),
            )
        try:
            with tempfile.TemporaryDirectory(prefix="spenv-coq-") as tmp:
                path = Path(tmp) / "Goal.v"
                path.write_text(source, encoding="utf-8")
                result = _run_bounded(
                    self.command(path.name),
                    cwd=tmp,
                    timeout=self.timeout,
                    memory_mb=self.memory_mb,
                )
        except OSError as exc:
            return Verdict("error", 0.0, f"could not run coqc: {exc}", elapsed())
        data: dict[str, Any] = {"returncode": result.returncode}
        if result.truncated:
            data["output_truncated"] = True
        if result.timed_out:
            return Verdict(
                "timeout",
                0.0,
                f"coqc did not finish within {self.timeout:g} s (process group killed)",
                elapsed(),
                data,
            )
        out = result.output
        if result.returncode != 0 or re.search(r"(?m)^(?:Error|Fatal error)\b", out):
            return self._failure(out, layout, elapsed(), data)
        if nonce is None:
            return Verdict("ok", 1.0, "coqc accepted the file", elapsed(), {**data, "output": out})
        marker = out.find(f"{nonce} = tt")
        if marker < 0:
            return Verdict("error", 0.0, "audit marker missing from coqc output", elapsed(), data)
        audit = out[marker:].split("\n", 2)[-1]
        parsed = _parse_print_assumptions(audit)
        if parsed is None:
            return Verdict(
                "error", 0.0, f"could not read Print Assumptions: {audit[:200]!r}", elapsed(), data
            )
        axioms, others = parsed
        data["axioms"] = axioms
        bad = [a for a in axioms if a not in self.allowed_axioms]
        if bad or others:
            reasons = []
            if bad:
                reasons.append("axioms " + ", ".join(bad))
            if others:
                reasons.append("; ".join(others))
            return Verdict(
                "wrong",
                0.0,
                "proof is not closed under the global context: depends on " + "; ".join(reasons),
                elapsed(),
                {**data, "part": "proof"},
            )
        return Verdict("ok", 1.0, "proof checked by coqc; no forbidden axioms", elapsed(), data)

    def _failure(self, out: str, layout: _Layout, elapsed: float, data: dict[str, Any]) -> Verdict:
        first = _coq_first_error(out)
        if first is None:
            msg, part = " ".join(out.split())[-300:] or "coqc failed without a message", "proof"
        else:
            line, msg = first
            part = layout.part_of(line) if line is not None else "proof"
        if re.search(r"out of memory|not enough memory", msg, flags=re.I):
            detail = f"coqc ran out of memory (limit {self.memory_mb} MB): {msg}"
            return Verdict("wrong", 0.0, detail, elapsed, {**data, "part": "proof"})
        data = {**data, "part": part, "message": msg}
        if part == "preamble":
            return Verdict("error", 0.0, f"the preamble does not compile: {msg}", elapsed, data)
        if part == "statement":
            return Verdict("format_error", 0.0, f"statement rejected by coqc: {msg}", elapsed, data)
        if part == "qed":
            data["part"] = "proof"
            return Verdict("wrong", 0.0, f"proof does not close the goal: {msg}", elapsed, data)
        if part in ("audit", "checker"):
            return Verdict("error", 0.0, f"the checker's own commands failed: {msg}", elapsed, data)
        if re.search(r"Syntax [Ee]rror|Lexer", msg):
            return Verdict("format_error", 0.0, f"proof does not parse: {msg}", elapsed, data)
        return Verdict("wrong", 0.0, f"coqc rejected the proof: {msg}", elapsed, data)


# ----------------------------------------------------------------------------- Lean

#: Axioms a Lean proof may depend on (Lean's standard ones).
LEAN_STANDARD_AXIOMS = frozenset({"propext", "Classical.choice", "Quot.sound"})

#: Words refused anywhere in a Lean statement or proof.
LEAN_FORBIDDEN_WORDS = frozenset(
    {
        "sorry",
        "admit",
        "sorryAx",
        "axiom",
        "axioms",
        "unsafe",
        "implemented_by",
        "extern",
        "partial",
        "opaque",
        "noncomputable",
        "macro",
        "macro_rules",
        "syntax",
        "notation",
        "infix",
        "infixl",
        "infixr",
        "prefix",
        "postfix",
        "elab",
        "elab_rules",
        "set_option",
        "open",
        "theorem",
        "lemma",
        "def",
        "example",
        "abbrev",
        "instance",
        "structure",
        "class",
        "inductive",
        "namespace",
        "section",
        "end",
        "import",
        "universe",
        "variable",
        "attribute",
        "mutual",
        "deriving",
        "private",
        "protected",
        "local",
        "scoped",
        "initialize",
        "builtin_initialize",
        "run_cmd",
        "run_tac",
        "run_elab",
        "native_decide",
        "ofReduceBool",
        "trustCompiler",
        "where",
        "export",
        "declare_syntax_cat",
    }
)
_LEAN_IDENT = re.compile(r"[^\W\d][\w'!?]*(?:\.[^\W\d][\w'!?]*)*")


def _lean_strip(text: str) -> tuple[str, list[str]]:
    """Blank Lean comments (``--`` to end of line, nested ``/- -/``); return string literals.

    Raises :class:`ScanError` (format_error) on an unterminated comment or string.
    """
    out: list[str] = []
    strings: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text.startswith("/-", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/-", j):
                    depth += 1
                    j += 2
                elif text.startswith("-/", j):
                    depth -= 1
                    j += 2
                else:
                    j += 1
            if depth:
                raise ScanError("unterminated comment '/-'", "format_error")
            out.append(_blank(text[i:j]))
            i = j
        elif text.startswith("--", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(_blank(text[i:j]))
            i = j
        elif text[i] == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                raise ScanError("unterminated string literal", "format_error")
            strings.append(text[i : j + 1])
            out.append(text[i : j + 1])
            i = j + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out), strings


def _lean_problems(stripped: str, strings: list[str], what: str) -> str | None:
    if re.search(r"@\[", stripped):
        return "attributes '@[...]' are not allowed"
    m = re.search(r"#(?:[^\W\d]|!)", stripped)
    if m:
        cmd = re.match(r"#[\w!]*", stripped[m.start() :])
        return f"command {cmd.group(0) if cmd else '#'!r} is not allowed"
    for tok in _LEAN_IDENT.finditer(stripped):
        parts = tok.group(0).split(".")
        if parts[0] == "Lean":
            return f"the Lean metaprogramming namespace ({tok.group(0)!r}) is not allowed"
        for part in parts:
            if part in LEAN_FORBIDDEN_WORDS:
                return f"forbidden word {part!r}"
    if strings:
        return f"string literals are not allowed in a {what} (found {strings[0][:40]})"
    if "`" in stripped:
        return "metaprogramming quotations and name literals ('`') are not allowed"
    if "«" in stripped or "»" in stripped:
        return "escaped identifiers ('«...»') are not allowed"
    return None


def scan_lean_proof(proof: str) -> str:
    """Check a Lean 4 tactic block; return it with comments blanked (what the checker writes).

    A leading ``by`` is dropped (the checker writes ``:= by`` itself). Raises
    :class:`ScanError` naming the first problem.
    """
    if not isinstance(proof, str):
        raise ScanError(f"proof must be a string, got {type(proof).__name__}", "format_error")
    _require_utf8(proof)
    stripped, strings = _lean_strip(proof)
    problem = _lean_problems(stripped, strings, "proof")
    if problem:
        raise ScanError(problem)
    body = stripped.strip("\n")
    m = re.match(r"\s*(?::=\s*)?by\b", body)
    if m:
        body = body[: m.start()] + " " * (m.end() - m.start()) + body[m.end() :]
    if not body.strip():
        raise ScanError("empty proof", "format_error")
    if "\x00" in body:
        raise ScanError("NUL byte in proof", "format_error")
    return body


def _indent_block(body: str) -> str:
    """Re-indent a tactic block to column 2, keeping the relative indentation of its lines.

    A first line that shared its line with a dropped ``by`` is aligned with the rest.
    """
    lines = body.split("\n")
    first, rest = lines[0].strip(), lines[1:]
    indent = min((len(x) - len(x.lstrip()) for x in rest if x.strip()), default=0)
    out = ["  " + first] if first else []
    out += ["  " + x[indent:] if x.strip() else "" for x in rest]
    while out and not out[-1].strip():
        out.pop()
    return "\n".join(out)


def scan_lean_statement(statement: str) -> str:
    """Check a Lean 4 proposition; return it with comments blanked. Raises :class:`ScanError`."""
    if not isinstance(statement, str):
        raise ScanError(
            f"statement must be a string, got {type(statement).__name__}", "format_error"
        )
    _require_utf8(statement)
    try:
        stripped, strings = _lean_strip(statement)
    except ScanError as exc:
        raise ScanError(str(exc), "format_error") from None
    problem = _lean_problems(stripped, strings, "statement")
    if problem:
        raise ScanError(f"statement: {problem}", "format_error")
    text = stripped.strip()
    if not text:
        raise ScanError("empty statement", "format_error")
    problem = _balanced(text)
    if problem:
        raise ScanError(f"statement has {problem} bracket", "format_error")
    if re.search(r":=\s*by\b", text):
        raise ScanError("statement continues past the proposition (':= by')", "format_error")
    return text


@dataclass
class LeanMessage:
    """One message from ``lean`` (``severity``: information, warning or error)."""

    severity: str
    line: int | None
    column: int | None
    text: str


_LEAN_TEXT_MSG = re.compile(
    r"^(?P<file>[^\n:]*\.lean):(?P<line>\d+):(?P<col>\d+):\s*"
    r"(?:(?P<sev>error|warning|info|information)\s*:\s*)?(?P<msg>.*)$"
)


def parse_lean_messages(output: str) -> list[LeanMessage]:
    """Messages from ``lean --json`` output (one JSON object a line) or plain text output."""
    messages: list[LeanMessage] = []
    current: LeanMessage | None = None
    for raw in output.splitlines():
        line = raw.strip()
        if line.startswith("{") and line.endswith("}"):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                obj = None
            if isinstance(obj, dict) and "severity" in obj:
                pos = obj.get("pos") or {}
                current = None
                messages.append(
                    LeanMessage(
                        str(obj.get("severity")),
                        pos.get("line"),
                        pos.get("column"),
                        str(obj.get("data", "")),
                    )
                )
                continue
        m = _LEAN_TEXT_MSG.match(raw)
        if m:
            sev = m.group("sev") or "information"
            sev = "information" if sev == "info" else sev
            current = LeanMessage(sev, int(m.group("line")), int(m.group("col")), m.group("msg"))
            messages.append(current)
        elif current is not None:
            current.text += "\n" + raw
        elif raw.strip():
            current = LeanMessage("information", None, None, raw)
            messages.append(current)
    return messages


_LEAN_AXIOMS = re.compile(
    r"'(?P<name>[^']+(?:'[^']*)*)' (?:depends on axioms: \[(?P<axioms>[^\]]*)\]"
    r"|(?P<none>does not depend on any axioms))"
)


def parse_lean_axioms(text: str) -> list[str] | None:
    """Axiom names from a ``#print axioms`` message; [] for none; None when not such a message."""
    m = _LEAN_AXIOMS.search(text)
    if not m:
        return None
    if m.group("none"):
        return []
    return [a.strip() for a in m.group("axioms").split(",") if a.strip()]


class LeanChecker:
    """Check Lean 4 tactic proofs by running ``lean`` on a generated file.

    Toolchain discovery: a Lake project (``project`` or the ``SPENV_LEAN_PROJECT`` environment
    variable, e.g. a project that depends on Mathlib) runs ``lake env lean --json FILE`` in that
    folder, so its imports resolve; otherwise ``lean --json FILE`` runs with the caller's
    ``LEAN_PATH``. The generated file is::

        <preamble>
        theorem goal : <statement> := by
          <proof, indented>
        #print axioms goal

    and the verdict reads the messages by line: errors in the proof lines are ``wrong`` (parse
    errors ``format_error``), errors in the statement lines ``format_error``; ``#print axioms``
    may list only ``allowed_axioms`` (default :data:`LEAN_STANDARD_AXIOMS`).
    """

    name = "lean"

    def __init__(
        self,
        lean: str = "lean",
        timeout: float = 120.0,
        *,
        project: str | os.PathLike[str] | None = None,
        lake: str = "lake",
        memory_mb: int | None = None,
        allowed_axioms: Iterable[str] = LEAN_STANDARD_AXIOMS,
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self.lean = lean
        self.lake = lake
        self.timeout = float(timeout)
        self.memory_mb = memory_mb
        self.allowed_axioms = frozenset(allowed_axioms)
        if project is None:
            project = os.environ.get("SPENV_LEAN_PROJECT") or None
        self.project = Path(project) if project is not None else None

    def unavailable_reason(self) -> str | None:
        """Why no check can run here (None when the toolchain is found)."""
        if self.project is not None:
            if not self.project.is_dir():
                return f"Lean project folder {str(self.project)!r} does not exist"
            if shutil.which(self.lake) is None:
                return f"lake not found ({self.lake!r}) for the Lean project {str(self.project)!r}"
            return None
        if shutil.which(self.lean) is None:
            return (
                f"lean not found ({self.lean!r}); install a Lean 4 toolchain (elan) or set "
                "SPENV_LEAN_PROJECT to a Lake project"
            )
        return None

    def available(self) -> bool:
        return self.unavailable_reason() is None

    def build_source(
        self, statement: str, proof: str, *, preamble: str = ""
    ) -> tuple[str, _Layout]:
        """The ``.lean`` file for a check and its line layout; raises :class:`ScanError`."""
        try:
            prop = scan_lean_statement(statement)
        except ScanError as exc:
            exc.part = "statement"  # type: ignore[attr-defined]
            raise
        try:
            body = scan_lean_proof(proof)
        except ScanError as exc:
            exc.part = "proof"  # type: ignore[attr-defined]
            raise
        body = _indent_block(body)
        layout = _Layout()
        chunks: list[str] = []
        line = 1
        if preamble.strip():
            pre = preamble.rstrip("\n")
            line = layout.add("preamble", line, pre)
            chunks.append(pre)
        stmt = f"theorem goal : {prop} := by"
        line = layout.add("statement", line, stmt)
        chunks.append(stmt)
        line = layout.add("proof", line, body)
        chunks.append(body)
        layout.add("audit", line, "#print axioms goal")
        chunks.append("#print axioms goal")
        return "\n".join(chunks) + "\n", layout

    def command(self, path: str | os.PathLike[str]) -> tuple[list[str], str | None]:
        """The argv and working directory that check ``path``."""
        if self.project is not None:
            lake = shutil.which(self.lake) or self.lake
            return [lake, "env", self.lean, "--json", str(path)], str(self.project)
        return [shutil.which(self.lean) or self.lean, "--json", str(path)], None

    def check(self, statement: str, proof: str, *, preamble: str = "") -> Verdict:
        """Is ``proof`` a Lean 4 tactic proof of ``statement``? See the module docstring."""
        start = time.perf_counter()
        try:
            source, layout = self.build_source(statement, proof, preamble=preamble)
        except ScanError as exc:
            part = getattr(exc, "part", "proof")
            status = "format_error" if part == "statement" else exc.status
            prefix = "statement rejected" if part == "statement" else "proof rejected"
            return Verdict(
                status, 0.0, f"{prefix}: {exc}", time.perf_counter() - start, {"part": part}
            )
        reason = self.unavailable_reason()
        if reason is not None:
            return Verdict("error", 0.0, reason, time.perf_counter() - start)
        try:
            with tempfile.TemporaryDirectory(prefix="spenv-lean-") as tmp:
                path = Path(tmp) / "Goal.lean"
                path.write_text(source, encoding="utf-8")
                cmd, cwd = self.command(path)
                result = _run_bounded(
                    cmd, cwd=cwd or tmp, timeout=self.timeout, memory_mb=self.memory_mb
                )
        except OSError as exc:
            return Verdict("error", 0.0, f"could not run lean: {exc}", time.perf_counter() - start)
        return self.verdict_from_output(
            result.output,
            layout,
            returncode=result.returncode,
            timed_out=result.timed_out,
            elapsed=time.perf_counter() - start,
        )

    def verdict_from_output(
        self,
        output: str,
        layout: _Layout,
        *,
        returncode: int | None = 0,
        timed_out: bool = False,
        elapsed: float = 0.0,
    ) -> Verdict:
        """Turn ``lean``'s output for a file built by :meth:`build_source` into a verdict."""
        data: dict[str, Any] = {"returncode": returncode}
        if timed_out:
            return Verdict(
                "timeout",
                0.0,
                f"lean did not finish within {self.timeout:g} s (process group killed)",
                elapsed,
                data,
            )
        messages = parse_lean_messages(output)
        for msg in messages:
            if msg.severity != "error":
                continue
            part = layout.part_of(msg.line) if msg.line is not None else "proof"
            text = " ".join(msg.text.split())
            d = {**data, "part": part, "message": text}
            if part == "preamble":
                return Verdict("error", 0.0, f"the preamble does not compile: {text}", elapsed, d)
            if re.search(r"deterministic\) timeout|maxHeartbeats|maximum recursion depth", text):
                return Verdict("timeout", 0.0, f"lean gave up: {text}", elapsed, d)
            # Errors about the whole proof (unsolved goals, kernel checks) sit at ``by`` or at
            # the declaration, i.e. on the statement's line.
            proof_wide = re.search(r"unsolved goals|\(kernel\)|sorry|metavariable", text)
            if part == "statement" and not proof_wide:
                return Verdict(
                    "format_error", 0.0, f"statement rejected by lean: {text}", elapsed, d
                )
            if part == "audit":
                return Verdict("wrong", 0.0, f"the theorem was not accepted: {text}", elapsed, d)
            if "out of memory" in text.lower():
                return Verdict("wrong", 0.0, "lean ran out of memory", elapsed, d)
            d["part"] = "proof"
            if re.match(r"(unexpected |expected )", text):
                return Verdict("format_error", 0.0, f"proof does not parse: {text}", elapsed, d)
            return Verdict("wrong", 0.0, f"lean rejected the proof: {text}", elapsed, d)
        for msg in messages:
            if msg.severity == "warning" and "sorry" in msg.text:
                return Verdict(
                    "wrong", 0.0, "declaration uses 'sorry'", elapsed, {**data, "part": "proof"}
                )
        audit_lines = [(first, last) for name, first, last in layout.parts if name == "audit"]
        axioms: list[str] | None = None
        for msg in messages:
            in_audit = msg.line is None or any(a <= msg.line <= b for a, b in audit_lines)
            if in_audit:
                axioms = parse_lean_axioms(msg.text)
                if axioms is not None:
                    break
        if axioms is None:
            if returncode not in (0, None):
                tail = " ".join(output.split())[-300:]
                return Verdict(
                    "error", 0.0, f"lean failed (exit {returncode}): {tail}", elapsed, data
                )
            return Verdict("error", 0.0, "no '#print axioms' output from lean", elapsed, data)
        data["axioms"] = axioms
        bad = [a for a in axioms if a not in self.allowed_axioms]
        if bad:
            return Verdict(
                "wrong",
                0.0,
                "proof depends on forbidden axioms: " + ", ".join(bad),
                elapsed,
                {**data, "part": "proof"},
            )
        return Verdict("ok", 1.0, "proof checked by lean; standard axioms only", elapsed, data)
