"""The proof backends of ConjectureProve: Coq (``coqc``) and Lean 4, with a verdict cache.

A backend wraps :class:`spenv.verifiers.proof.CoqChecker` or
:class:`~spenv.verifiers.proof.LeanChecker` with what the game needs around them: the preamble
that makes the library available, the tactic that asks "does a known lemma prove this
directly?", declarations for statements proven earlier in the episode, and a cache.

The cache is shared by every backend of the process and keyed by the backend's configuration,
the preamble, the statement and the proof, so a statement or proof checked once is never checked
again (a replay, a prover resubmitting a proof that worked, the same library restatement in many
games). Verdicts of a proof checker depend only on those texts; only timeouts could depend on the
machine's load, and the cache makes even those stable within a process. A cached verdict keeps
the ``elapsed`` of the run that produced it.
"""

from __future__ import annotations

import re
import shutil
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from spenv.games.conjecture_prove.library import (
    COQ_PREAMBLE,
    LIBRARY_MODULE,
    Lemma,
    LibraryBuildError,
    compiled_library,
    render_coq,
)
from spenv.verifiers.proof import (
    CoqChecker,
    LeanChecker,
    ScanError,
    scan_coq_proof,
    scan_coq_statement,
    scan_lean_proof,
    scan_lean_statement,
)
from spenv.verifiers.verdict import Verdict

__all__ = [
    "CACHE_SIZE",
    "COQ_AUTOMATION",
    "LEAN_AUTOMATION",
    "Backend",
    "CoqBackend",
    "LeanBackend",
    "clear_cache",
    "make_backend",
]

#: The fixed automation a new conjecture must resist (Coq): a conjecture that these close,
#: conjunct by conjunct after ``intros`` (with the known lemmas' direct uses), is *trivial*.
COQ_AUTOMATION = (
    "lia",
    "nia",
    "auto",
    "intuition",
    "tauto",
    "congruence",
    "reflexivity",
    "easy",
    "simpl; auto",
)
#: The same for Lean 4.
LEAN_AUTOMATION = ("omega", "simp", "decide", "rfl", "simp_all", "trivial")

#: How many verdicts the process-wide cache keeps (least recently used go first).
CACHE_SIZE = 8192
_CACHE: OrderedDict[tuple, Verdict] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def clear_cache() -> None:
    """Forget every cached verdict (tests that time the checker use it)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def _cached(key: tuple) -> Verdict | None:
    with _CACHE_LOCK:
        v = _CACHE.get(key)
        if v is not None:
            _CACHE.move_to_end(key)
        return v


def _store(key: tuple, verdict: Verdict) -> None:
    with _CACHE_LOCK:
        _CACHE[key] = verdict
        _CACHE.move_to_end(key)
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)


def _indent(text: str, by: str = "  ") -> str:
    return "\n".join(by + line if line.strip() else "" for line in text.strip("\n").split("\n"))


class Backend:
    """What the game asks of a proof language (see :class:`CoqBackend`, :class:`LeanBackend`)."""

    lang = ""
    #: The word for a conjunction in statements (``/\\`` or ``∧``).
    conj = ""

    def __init__(self, lemmas: Sequence[Lemma], extra: Sequence[tuple[str, str, str]]) -> None:
        self.lemmas = tuple(lemmas)
        self.extra = tuple(extra)

    def config(self) -> tuple:
        """What, beside the texts, decides a verdict (part of the cache key)."""
        raise NotImplementedError

    def scan_statement(self, statement: str) -> str:
        """The proposition as the checker will read it; raises :class:`ScanError`."""
        raise NotImplementedError

    def sanitize_proof(self, proof: str) -> str:
        """A proof that passed the checker, as it may be replayed in a preamble."""
        raise NotImplementedError

    def declaration(self, name: str, prop: str, proof: str) -> str:
        """A lemma declaration (for a statement proven earlier in the episode)."""
        raise NotImplementedError

    def lemma_names(self) -> list[str]:
        """The names a proof may cite, library first, then extra lemmas."""
        raise NotImplementedError

    def _run(self, statement: str, proof: str, preamble: str) -> Verdict:
        raise NotImplementedError

    def novelty(
        self, statement: str, names: Sequence[str], declarations: Sequence[str] = ()
    ) -> tuple[str, Verdict]:
        """Whether ``statement`` is new: ``(status, verdict)``, status one of

        - ``restatement``: the known lemmas ``names`` close it directly (``exact L``, ``apply L``
          after ``intros``, either side of an equation), conjunct by conjunct;
        - ``trivial``: the same with the fixed automation (:data:`COQ_AUTOMATION`) allowed;
        - ``new``: neither; ``ill_formed``: the checker rejects the statement; ``undecided``:
          the run timed out; ``checker_error``: the checker could not run.
        """
        raise NotImplementedError

    @staticmethod
    def _novelty_status(verdict: Verdict, closed_by: int | None) -> str:
        if verdict.status == "ok":
            return ("restatement", "trivial")[closed_by] if closed_by is not None else "new"
        if verdict.status == "format_error" and verdict.data.get("part") == "statement":
            return "ill_formed"
        if verdict.status == "timeout":
            return "undecided"
        return "checker_error"

    def _run_statement(self, statement: str, preamble: str) -> Verdict | None:
        return None

    def check(self, statement: str, proof: str, declarations: Sequence[str] = ()) -> Verdict:
        """The checker's verdict on ``proof`` of ``statement`` (cached)."""
        extra = "\n".join(declarations)
        key = (self.lang, self.config(), extra, "proof", statement, proof)
        hit = _cached(key)
        if hit is not None:
            return hit
        verdict = self._run(statement, proof, extra)
        _store(key, verdict)
        return verdict

    def check_statement(self, statement: str, declarations: Sequence[str] = ()) -> Verdict | None:
        """Whether ``statement`` is well-formed (None where the backend cannot tell alone)."""
        extra = "\n".join(declarations)
        key = (self.lang, self.config(), extra, "statement", statement, "")
        hit = _cached(key)
        if hit is not None:
            return hit
        verdict = self._run_statement(statement, extra)
        if verdict is not None:
            _store(key, verdict)
        return verdict


class CoqBackend(Backend):
    """Coq through ``coqc``: the library is compiled once and loaded as ``SpenvConj.Library``."""

    lang = "coq"
    conj = "/\\"

    def __init__(
        self,
        lemmas: Sequence[Lemma],
        extra: Sequence[tuple[str, str, str]] = (),
        *,
        timeout: float = 10.0,
        coqc: str = "coqc",
    ) -> None:
        super().__init__(lemmas, extra)
        self.timeout = float(timeout)
        self.coqc = coqc
        self.source = render_coq(self.lemmas, self.extra)
        self._checker: CoqChecker | None = None
        self._build_error: str | None = None

    def config(self) -> tuple:
        return (self.coqc, self.timeout, self.source)

    def checker(self) -> CoqChecker | None:
        """The checker with the compiled library on its load path (None if that failed)."""
        if self._checker is None and self._build_error is None:
            try:
                folder = compiled_library(self.source, self.coqc)
            except LibraryBuildError as exc:
                self._build_error = str(exc)
                return None
            self._checker = CoqChecker(
                self.coqc, self.timeout, extra_args=["-Q", str(folder), LIBRARY_MODULE]
            )
        return self._checker

    @property
    def build_error(self) -> str | None:
        """Why the library could not be compiled (None: it was, or has not been tried)."""
        return self._build_error

    def closer(self, names: Sequence[str], automation: bool) -> str:
        """One Ltac expression that closes a goal made of known lemmas (and, with
        ``automation``, of what :data:`COQ_AUTOMATION` proves), conjunct by conjunct."""
        alts = [f"exact {n}" for n in names]
        alts += [f"solve [apply {n}; assumption]" for n in names]
        alts += [f"solve [symmetry; apply {n}; assumption]" for n in names]
        if automation:
            alts += [f"solve [{t}]" for t in COQ_AUTOMATION]
        one = "first [" + " | ".join(alts) + "]"
        return (
            f"first [solve [{one}] | solve [intros; {one}] "
            f"| solve [intros; repeat split; intros; {one}]]"
        )

    def novelty(
        self, statement: str, names: Sequence[str], declarations: Sequence[str] = ()
    ) -> tuple[str, Verdict]:
        extra = "\n".join(declarations)
        tactics = (self.closer(names, False), self.closer(names, True))
        key = (self.lang, self.config(), extra, "novelty", statement, tactics)
        verdict = _cached(key)
        if verdict is None:
            checker = self.checker()
            if checker is None:
                verdict = self._unavailable()
            else:
                pre = COQ_PREAMBLE + ("\n" + extra if extra else "")
                verdict = checker.first_closing(statement, tactics, preamble=pre)
            _store(key, verdict)
        return self._novelty_status(verdict, verdict.data.get("closed_by")), verdict

    def _unavailable(self) -> Verdict:
        return Verdict("error", 0.0, self._build_error or "coqc is not available", 0.0)

    def _run(self, statement: str, proof: str, preamble: str) -> Verdict:
        checker = self.checker()
        if checker is None:
            return self._unavailable()
        pre = COQ_PREAMBLE + ("\n" + preamble if preamble else "")
        return checker.check(statement, proof, preamble=pre)

    def _run_statement(self, statement: str, preamble: str) -> Verdict | None:
        checker = self.checker()
        if checker is None:
            return self._unavailable()
        pre = COQ_PREAMBLE + ("\n" + preamble if preamble else "")
        return checker.check_statement(statement, preamble=pre)

    def scan_statement(self, statement: str) -> str:
        return scan_coq_statement(statement)

    def sanitize_proof(self, proof: str) -> str:
        return scan_coq_proof(proof).strip()

    def declaration(self, name: str, prop: str, proof: str) -> str:
        return f"Lemma {name} : {prop}.\nProof.\n{self.sanitize_proof(proof)}\nQed."

    def lemma_names(self) -> list[str]:
        return [lem.name for lem in self.lemmas] + [name for name, _, _ in self.extra]


class LeanBackend(Backend):
    """Lean 4 through ``lean`` (or ``lake env lean`` in a project): the library is Lean's core
    library, cited by the ``lean_name`` of each lemma that has a Lean form."""

    lang = "lean"
    conj = "∧"

    def __init__(
        self,
        lemmas: Sequence[Lemma],
        extra: Sequence[tuple[str, str, str]] = (),
        *,
        timeout: float = 60.0,
        lean: str = "lean",
        project: str | None = None,
    ) -> None:
        super().__init__([lem for lem in lemmas if lem.lean is not None], extra)
        self.timeout = float(timeout)
        self.lean_checker = LeanChecker(lean, self.timeout, project=project)
        self.preamble = "\n".join(self.declaration(n, s, p) for n, s, p in self.extra)

    def unavailable_reason(self) -> str | None:
        return self.lean_checker.unavailable_reason()

    def config(self) -> tuple:
        return (self.lean_checker.lean, str(self.lean_checker.project), self.timeout, self.preamble)

    def _run(self, statement: str, proof: str, preamble: str) -> Verdict:
        pre = "\n".join(p for p in (self.preamble, preamble) if p)
        return self.lean_checker.check(statement, proof, preamble=pre)

    def scan_statement(self, statement: str) -> str:
        return scan_lean_statement(statement)

    def sanitize_proof(self, proof: str) -> str:
        body = scan_lean_proof(proof)
        lines = [line for line in body.split("\n") if line.strip()]
        indent = min((len(x) - len(x.lstrip()) for x in lines[1:]), default=0)
        return "\n".join([lines[0].strip()] + [x[indent:] for x in lines[1:]])

    def declaration(self, name: str, prop: str, proof: str) -> str:
        return f"theorem {name} : {prop} := by\n{_indent(self.sanitize_proof(proof))}"

    def lemma_names(self) -> list[str]:
        return [str(lem.lean_name) for lem in self.lemmas] + [name for name, _, _ in self.extra]

    def direct_tactic(self, names: Sequence[str], automation: bool = False) -> str:
        """A tactic that closes a goal made of known lemmas ``names`` (and, with
        ``automation``, of what :data:`LEAN_AUTOMATION` proves), conjunct by conjunct."""
        exact = " | ".join(f"exact {n}" for n in names)
        apply = " | ".join(f"(apply {n}; done)" for n in names)
        auto = "".join(f" | ({t}; done)" for t in LEAN_AUTOMATION) if automation else ""
        one = f"first | {exact} | (intros; first | {apply}){auto}"
        return f"first | ({one}) | (intros; repeat constructor <;> intros <;> ({one}))"

    def novelty(
        self, statement: str, names: Sequence[str], declarations: Sequence[str] = ()
    ) -> tuple[str, Verdict]:
        # Lean has no one-run probe here: two checks, the second only when the first fails
        for i, automation in enumerate((False, True)):
            verdict = self.check(statement, self.direct_tactic(names, automation), declarations)
            if verdict.status != "wrong":
                return self._novelty_status(verdict, i), verdict
        return "new", Verdict("ok", 1.0, "no tactic proves it", verdict.elapsed, {})


def make_backend(
    checker: str,
    lemmas: Sequence[Lemma],
    extra: Sequence[tuple[str, str, str]],
    *,
    timeout: float | None,
) -> Backend:
    """The backend for ``checker`` (``"coq"`` or ``"lean"``).

    Raises ``ValueError`` for an unknown checker, when ``coqc`` is missing or the library does
    not compile (``"coq"``: the library is compiled here, once per process), and, for
    ``"lean"``, when no Lean 4 toolchain is found; the message says what to install.
    """
    if checker == "coq":
        backend = CoqBackend(lemmas, extra, timeout=10.0 if timeout is None else timeout)
        if shutil.which(backend.coqc) is None:
            raise ValueError(
                f"coqc not found ({backend.coqc!r}): install Coq, e.g. apt-get install coq "
                "(or pass checker='none' for explicitly unchecked play)"
            )
        if backend.checker() is None:
            raise ValueError(f"the ConjectureProve library does not compile: {backend.build_error}")
        return backend
    if checker == "lean":
        backend = LeanBackend(lemmas, extra, timeout=60.0 if timeout is None else timeout)
        reason = backend.unavailable_reason()
        if reason is not None:
            raise ValueError(f"checker='lean' needs a Lean 4 toolchain: {reason}")
        return backend
    raise ValueError(f"checker must be 'coq' or 'lean', got {checker!r}")


def scan_extra_lemma(lang: str, name: Any, statement: Any, proof: Any) -> tuple[str, str, str]:
    """Validate an extra lemma (name, statement, proof); raises ``ValueError`` naming the fault.

    The texts are untrusted (they may be an earlier episode's conjecture and proof), so they go
    through the same scanners as any move; the returned texts are the scanned ones.
    """
    from spenv.games.conjecture_prove.library import valid_name

    if not isinstance(name, str) or not valid_name(name):
        raise ValueError(f"extra lemma name {name!r} is not a lower-case identifier")
    try:
        if lang == "lean":
            prop = scan_lean_statement(statement)
            scan_lean_proof(proof)
            script = str(proof)
        else:
            prop = scan_coq_statement(statement)
            script = scan_coq_proof(proof)
    except ScanError as exc:
        raise ValueError(f"extra lemma {name}: {exc}") from None
    return name, prop, re.sub(r"[ \t]+\n", "\n", script).strip()
