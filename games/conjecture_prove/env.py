"""Conjecture-prove self-play as a text environment (``ConjectureProve-v1``), as STP plays it.

Seats: ``conjecturer`` and ``prover``. Both see a library of known lemmas (about natural
numbers, lists and booleans; :mod:`.library`) that a proof may cite.

A game has ``rounds`` rounds (default 1). In each round:

1. The env draws a **seed lemma** from the library (and a second lemma, a small number and a
   float, the ``picks`` the scripted conjecturer uses); the conjecturer sees the seed lemma
   with its proof and states a new conjecture:
   ``<statement>forall n : nat, n + 0 = n</statement>`` (Coq syntax by default;
   ``Theorem name binders : prop.`` is accepted too). An answer without a ``<statement>`` tag
   (or with one longer than ``MAX_STATEMENT_CHARS``) is an invalid move (the core's policy:
   ``retries``, then a forfeit).
2. The env judges the statement's novelty, recording each checker verdict:

   - **ill_formed**: the scanner refuses it (a second sentence, ``Axiom``, ``Admitted``, an
     unbalanced bracket, a tactic quotation such as ``ltac:(...)``, ...) or the checker
     rejects it (syntax or type error, not a ``Prop``);
   - **duplicate**: after whitespace normalisation and alpha-renaming of bound variables
     (:func:`~spenv.games.conjecture_prove.library.canonical`) it equals a library lemma, an
     extra lemma or a statement proven earlier in this game;
   - **restatement**: the known lemmas close it directly (``exact L``; after ``intros``,
     ``apply L`` or ``symmetry; apply L`` with hypotheses from the context), conjunct by
     conjunct: an instance, a renaming, reordered hypotheses, a conjunction of known lemmas;
   - **trivial**: the same with the fixed automation of
     :data:`~spenv.games.conjecture_prove.checking.COQ_AUTOMATION` allowed (``lia``, ``nia``,
     ``auto``, ``intuition``, ``tauto``, ``congruence``, ``reflexivity``, ``easy``,
     ``simpl; auto``): ``True``, ``0 = 0``, arithmetic facts, a known lemma padded with
     ``/\\ True``;
   - **new** otherwise. The three checks and the well-formedness check are one ``coqc`` run.
   - **undecided**: that run timed out; **checker_error**: the checker failed (its message is
     recorded).

   Only a **new** conjecture goes to the prover; every other status ends the round with no
   reward for either seat (a conjecturer cannot feed the prover easy points).
3. The prover makes ``prover_attempts`` (k, default 4) **independent** attempts: the prover
   seat is asked k times with the identical prompt (``Observation.repeat`` = k, k-1, ..., 1),
   which shows the conjecture and nothing of the other attempts; each answer is
   ``<proof>intros; lia.</proof>`` (a tactic script; ``Proof. ... Qed.`` is unwrapped). An
   answer without a ``<proof>`` tag is an invalid move. After the k-th answer the env checks
   the k proofs (distinct ones side by side, one checker process each; identical ones once).

Rewards (given at the end of the round):

- prover: each attempt is rewarded by its own verdict, 1 if the checker accepts it, else 0
  (:meth:`decision_rewards`, the attempt's ``Turn.reward``); the seat's reward for the round
  is the pass rate p = successes / k;
- conjecturer: 1 for a round whose conjecture is **new** and **barely provable** in STP's
  sense, 0 < p <= ``tau`` (default 0.25, so with k = 4 exactly one success of four); 0
  otherwise (ill-formed, duplicate, restatement, trivial, undecided, never proved: false or too
  hard, or proved too often: too easy). The conjecturer's turn carries the same reward.
- a forfeit (invalid moves beyond ``retries``) ends the game: the offender gets
  ``invalid_reward`` (default -1), the other seat keeps what it has.

A proof counts only if :class:`spenv.verifiers.proof.CoqChecker` accepts it: a tactic script
with no vernacular (axioms, ``Admitted``/``admit``, settings, ``Require``/``Load``, ``Fail``/
``Time``/``Redirect`` wrappers, ``Print``/``Show``/``Check``, attributes, strings), closing the
theorem the checker writes itself, and ``Print Assumptions`` (read after a fresh random marker)
closed under the global context.

Outcomes: ``invalid`` for a seat that forfeited; otherwise ``win`` when the seat's total reward
is positive and ``loss`` when it is not.

A statement proven in a round (by at least one attempt) joins the known lemmas of the later
rounds of the same game as ``proven_<round>`` (with its first accepted proof): later proofs may
cite it and later conjectures that restate it are duplicates. Nothing carries over between
games: every game starts from the same library, so a seed reproduces it. To grow the library
across games, pass what was proven as ``extra_lemmas`` (explicitly, so it is recorded in the
episode's env options).

Constructor options: ``checker`` (``"coq"``, the default; ``"lean"``: Lean 4, which needs a
``lean`` executable or ``SPENV_LEAN_PROJECT``; ``"none"``: explicitly unchecked play, see
below), ``prover_attempts`` (k, default 4), ``tau`` (default 0.25; needs 1/k <= tau),
``rounds`` (default 1), ``timeout`` (seconds per checker run; default 10 for Coq, 60 for Lean),
``extra_lemmas`` (a JSONL path, or a list of ``{"name", "statement", "proof"}`` mappings, in the
checker's language: lemmas added to the library; each is scanned like a move and must
compile), plus ``retries`` and ``invalid_reward``. Reset options: none (others are ignored).

Without the checker's binary (``coqc``; ``lean``) making the env raises ``ValueError`` naming
what to install. ``checker="none"`` plays without any checker: statements are scanned and
compared for duplicates only, every round's status is ``unchecked`` and nothing is rewarded;
the option is recorded in the episode's ``env_options``.

Seeded choices: at the start of each round the env draws ``picks`` from its generator (the
seed lemma and a second lemma, indices into the library's templates; a small number; a float in
[0, 1)) and shows them in the conjecturer's ``state``; the scripted conjecturer builds its
conjecture from them, so a seed and the agents' seeds fix a whole game of scripted agents.

The record: ``Episode.verdicts`` holds every checker verdict (``status``, ``score``,
``detail``, ``elapsed``, ``data``) with its ``round``, ``turn``, ``agent`` and ``kind``
(``novelty``: the one-run novelty probe on the conjecture; ``statement``: a scanner verdict;
``proof``: a prover attempt). ``episode_info()`` has one entry per round: the seed lemma, the
raw and normalised statement, its status, what it duplicates, the attempts with their turns and
statuses, the successes, the pass rate and both rewards.

Verdicts are cached per process (:mod:`.checking`); a replay re-checks nothing it has seen.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

from spenv.env import TextEnv
from spenv.games.conjecture_prove.checking import (
    Backend,
    CoqBackend,
    make_backend,
    scan_extra_lemma,
)
from spenv.games.conjecture_prove.library import canonical, lemmas
from spenv.games.toolcalls import parse_calls
from spenv.observation import Observation
from spenv.options import Custom, Int, Maybe, Number, OneOf, Option
from spenv.verifiers.proof import ScanError
from spenv.verifiers.verdict import Verdict

SEATS = ("conjecturer", "prover")
#: The longest statement accepted (characters inside the tag).
MAX_STATEMENT_CHARS = 4000
#: The longest proof accepted (characters inside the tag).
MAX_PROOF_CHARS = 20000
#: How much of a checker message a prompt shows.
DETAIL_CHARS = 600
#: The checkers: ``none`` is explicitly unchecked play (no rewards).
CHECKERS = ("coq", "lean", "none")


def _extra_option(value: Any) -> Any:
    """The ``extra_lemmas`` option as kept and recorded: a path, or a list of plain dicts (the
    lemmas themselves are checked when they are read)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Sequence) and all(isinstance(x, Mapping) for x in value):
        return [dict(x) for x in value]
    raise ValueError


_STATUS_TEXT = {
    "ill_formed": "ill-formed",
    "duplicate": "a duplicate of a known lemma",
    "restatement": "proved directly by known lemmas",
    "trivial": "closed by fixed automation",
    "undecided": "novelty check timed out",
    "checker_error": "the checker failed",
    "new": "new",
    "unchecked": "not checked (unchecked play)",
}
_LANG_NAME = {"coq": "Coq", "lean": "Lean 4", "none": "Coq, unchecked"}

_CONJECTURER_RULES = """You are the conjecturer in a conjecture-prove game ({lang}).
Rules:
- Each round you are shown a seed lemma from the library with its proof, and you state one new \
conjecture inspired by it; then the prover makes {k} independent attempt{ks} to prove it, and a \
proof checker ({lang}) decides each attempt.
- You score 1 for a round whose conjecture is well-formed, new (not a known lemma, not a \
renaming or reordering of one, not closed directly by known lemmas, not closed by fixed \
automation such as lia, auto or intuition) and barely provable: the pass rate p of the \
prover's attempts satisfies 0 < p <= {tau:g} (at least one and at most {most} of the {k} \
attempts succeed). Otherwise you score 0.
- The game has {rounds} round{rs}. A statement proven in a round becomes a known lemma for the \
later rounds.
How to answer: write the proposition in {lang} syntax inside tags, e.g.
<statement>{example}</statement>
An answer without a <statement> tag is invalid and {penalty}.

{toolbox}
Known lemmas (the prover may use them):
{library}"""

_PROVER_RULES = """You are the prover in a conjecture-prove game ({lang}).
Rules:
- The conjecturer states a conjecture; you are asked {k} time{ks} with the same prompt, each \
answer an independent attempt (no attempt sees another or its verdict), and a proof checker \
({lang}) decides each attempt.
- Each accepted attempt scores 1; a rejected one 0.
- A proof is a tactic script only: no commands (Axiom, Admitted, Require, Set, Print, ...), no \
admit/sorry, no strings.
How to answer: write the tactic script inside tags, e.g.
<proof>{example}</proof>
An answer without a <proof> tag is invalid and {penalty}.

{toolbox}
Known lemmas (you may cite them by name):
{library}"""

_TOOLBOX = {
    "coq": "In scope: Coq's Arith, Bool and List (with list notations such as [1; 2]) and Lia \
(the lia tactic); the helper functions double (n : nat) and sum (l : list nat); every known \
lemma is also in the hint database library (auto with library).",
    "lean": "In scope: Lean 4's core library only (omega, simp, decide, ...); the known lemmas \
are core theorems, cited by their full names.",
}
_TOOLBOX["none"] = _TOOLBOX["coq"] + " No checker runs in this game (unchecked play)."
_EXAMPLES = {
    "coq": ("forall n : nat, n * 2 = n + n", "intros n. lia."),
    "lean": ("∀ n : Nat, n * 2 = n + n", "intro n\n  omega"),
}
_EXAMPLES["none"] = _EXAMPLES["coq"]


class _Round:
    """What happened in one round (mutable while the round is played)."""

    def __init__(self, index: int, picks: Mapping[str, Any], seed: Mapping[str, Any]) -> None:
        self.index = index
        self.picks = dict(picks)
        self.seed = dict(seed)
        self.statement: str | None = None
        self.prop: str | None = None
        self.status: str | None = None
        self.duplicate_of: str | None = None
        self.reason = ""
        self.conjecture_turn: int | None = None
        #: proofs answered so far (turn index, proof), checked together after the k-th
        self.pending: list[tuple[int, str]] = []
        self.attempts: list[dict[str, Any]] = []
        self.conjecturer_reward = 0.0
        self.prover_reward = 0.0
        self.done = False

    @property
    def successes(self) -> int:
        return sum(1 for a in self.attempts if a["status"] == "ok")

    def to_dict(self) -> dict[str, Any]:
        return {
            "round": self.index,
            "picks": dict(self.picks),
            "seed_lemma": self.seed.get("name"),
            "statement": self.statement,
            "prop": self.prop,
            "status": self.status,
            "duplicate_of": self.duplicate_of,
            "reason": self.reason,
            "attempts": [dict(a) for a in self.attempts],
            "successes": self.successes,
            "pass_rate": self.successes / len(self.attempts) if self.attempts else None,
            "conjecturer_reward": self.conjecturer_reward,
            "prover_reward": self.prover_reward,
        }


class ConjectureProveEnv(TextEnv):
    """Conjecturer states, prover proves k times independently, a checker decides (module
    docstring)."""

    metadata: ClassVar[dict[str, Any]] = {**TextEnv.metadata, "name": "conjecture_prove_v1"}
    env_id = "ConjectureProve-v1"
    possible_agents: ClassVar[list[str]] = list(SEATS)
    zero_sum = False

    OPTIONS: ClassVar[tuple[Option, ...]] = (
        Option("checker", "coq", OneOf(*CHECKERS), "the proof checker (none: unchecked play)"),
        Option("prover_attempts", 4, Int(1), "independent proofs asked per conjecture (k)"),
        Option(
            "tau",
            0.25,
            Number(gt=0, le=1, allowed="a pass rate in (0, 1]"),
            "the highest pass rate a conjecture may have to pay its conjecturer",
        ),
        Option("rounds", 1, Int(1), "conjectures per game"),
        Option(
            "timeout",
            None,
            Maybe(Number(gt=0, allowed="a positive number of seconds", cast=False)),
            "seconds per checker run (None: the checker's default)",
        ),
        Option(
            "extra_lemmas",
            None,
            Custom(_extra_option, "None, a JSONL path or a list of lemma mappings"),
            "lemmas added to the library",
        ),
    )

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        checker, prover_attempts, rounds = self.checker, self.prover_attempts, self.rounds
        if self.tau * prover_attempts < 1:
            raise ValueError(
                f"tau={self.tau:g} with prover_attempts={prover_attempts}: no pass rate p with "
                f"0 < p <= tau exists; use prover_attempts >= {1 / self.tau:g}"
            )
        lang = "lean" if checker == "lean" else "coq"
        extra = _read_extra(lang, self.extra_lemmas)
        #: True when no checker runs (``checker="none"``): every round is ``unchecked``.
        self.unchecked = checker == "none"
        if self.unchecked:
            self.backend: Backend = CoqBackend(lemmas(), extra)
        else:
            self.backend = make_backend(checker, lemmas(), extra, timeout=self.timeout)
        self._library = self._library_view()
        self._templates = tuple(e for e in self._library if "lhs" in e)
        self._known_canon = {canonical(s): name for name, s in self._library_statements()}
        listing = "\n".join(f"- {e['name']}: {e['statement']}" for e in self._library)
        penalty = (
            "forfeits the game"
            if self.retries == 0
            else f"is asked again, up to {self.retries} time(s) in all; then it forfeits"
        )
        fmt = {
            "lang": _LANG_NAME[checker],
            "k": prover_attempts,
            "ks": "" if prover_attempts == 1 else "s",
            "tau": self.tau,
            "most": int(self.tau * prover_attempts + 1e-9),
            "rounds": rounds,
            "rs": "" if rounds == 1 else "s",
            "library": listing,
            "penalty": penalty,
            "toolbox": _TOOLBOX[checker],
        }
        ex_statement, ex_proof = _EXAMPLES[checker]
        self._system = {
            "conjecturer": _CONJECTURER_RULES.format(example=ex_statement, **fmt),
            "prover": _PROVER_RULES.format(example=ex_proof, **fmt),
        }
        self._rounds: list[_Round] = []
        self._verdicts: list[dict[str, Any]] = []
        self._proven: list[tuple[str, str, str]] = []
        self._ended_by: str | None = None

    # ------------------------------------------------------------------ the library
    def _library_statements(self) -> list[tuple[str, str]]:
        lang = self._lang
        out = [(lem.ref(lang) or lem.name, lem.statement(lang)) for lem in self.backend.lemmas]
        out += [(name, prop) for name, prop, _ in self.backend.extra]
        return out

    @property
    def _lang(self) -> str:
        return "lean" if self.checker == "lean" else "coq"

    def _library_view(self) -> tuple[Mapping[str, Any], ...]:
        """Each known lemma for the prompts and the ``state``: name and statement, plus the
        structured form (``binders``, ``lhs``, ``rel``, ``rhs``, ``sort``) of shipped lemmas."""
        lang = self._lang
        view: list[dict[str, Any]] = []
        for lem in self.backend.lemmas:
            form = lem.form(lang)
            assert form is not None
            view.append(
                {
                    "name": lem.ref(lang) or lem.name,
                    "statement": form.statement(lang),
                    "difficulty": lem.difficulty,
                    "topic": lem.topic,
                    "binders": tuple(tuple(b) for b in form.binders),
                    "lhs": form.lhs,
                    "rel": form.rel,
                    "rhs": form.rhs,
                    "sort": lem.sort,
                    "proof": lem.proof if lang == "coq" else f"(Lean core: {lem.lean_name})",
                }
            )
        for name, prop, _ in self.backend.extra:
            view.append({"name": name, "statement": prop, "difficulty": None, "topic": "extra"})
        # read-only: observations share these entries, and no agent may change the library
        return tuple(MappingProxyType(e) for e in view)

    @property
    def library(self) -> tuple[Mapping[str, Any], ...]:
        """The known lemmas at the start of every game (see :meth:`_library_view`)."""
        return self._library

    def known_names(self) -> list[str]:
        """Names a proof may cite now: the library, extra lemmas, and this game's proven ones."""
        return self.backend.lemma_names() + [name for name, _, _ in self._proven]

    def _declarations(self) -> list[str]:
        return [self.backend.declaration(n, p, pr) for n, p, pr in self._proven]

    # ------------------------------------------------------------------ records
    # ------------------------------------------------------------------ game flow
    def _new_game(self, options: dict[str, Any]) -> str:
        self._rounds = []
        self._verdicts = []
        self._proven = []
        self._ended_by = None
        self._start_round()
        return "conjecturer"

    def _start_round(self) -> None:
        rng = self.np_random
        n = len(self._templates)
        first = int(rng.integers(n))
        second = (first + 1 + int(rng.integers(n - 1))) % n
        picks = {
            "seed": first,
            "other": second,
            "value": int(rng.integers(10)),
            "mode": round(float(rng.random()), 6),
        }
        t = self._templates[first]
        seed = {"name": t["name"], "statement": t["statement"], "proof": t["proof"]}
        self._rounds.append(_Round(len(self._rounds) + 1, picks, seed))

    @property
    def _round(self) -> _Round:
        return self._rounds[-1]

    def _parse(self, agent: str, action: str) -> tuple[str | None, str | None]:
        tag, limit = (
            ("statement", MAX_STATEMENT_CHARS)
            if agent == "conjecturer"
            else ("proof", MAX_PROOF_CHARS)
        )
        parsed = parse_calls(action, {tag}, max_calls=1, max_chars=limit)
        calls = parsed.of(tag)
        if not calls:
            why = "; ".join(parsed.errors)
            return None, f"no <{tag}>...</{tag}> found" + (f" ({why})" if why else "")
        return calls[0].argument, None

    def _record(self, kind: str, agent: str, verdict: Verdict, turn: int | None = None) -> None:
        self._verdicts.append(
            {
                "round": self._round.index,
                "turn": len(self._turns) - 1 if turn is None else turn,
                "agent": agent,
                "kind": kind,
                **verdict.to_dict(),
            }
        )

    def _apply(self, agent: str, move: str) -> None:
        rnd = self._round
        if agent == "conjecturer":
            rnd.conjecture_turn = len(self._turns) - 1
            self._judge_statement(move)
            if rnd.done:
                self._next_round()
            else:
                self._next("prover")
            return
        rnd.pending.append((len(self._turns) - 1, move))
        if len(rnd.pending) < self.prover_attempts:
            self._next("prover")  # the same prompt again: nothing of this attempt is shown
            return
        self._score_attempts()
        rnd.done = True
        self._next_round()

    def _judge_statement(self, statement: str) -> None:
        rnd = self._round
        rnd.statement = statement
        backend = self.backend
        try:
            prop = backend.scan_statement(statement)
        except ScanError as exc:
            verdict = Verdict(
                "format_error", 0.0, f"statement rejected: {exc}", 0.0, {"part": "statement"}
            )
            self._record("statement", "conjecturer", verdict)
            self._end_early("ill_formed", verdict.detail)
            return
        rnd.prop = prop
        known = dict(self._known_canon)
        for name, p, _ in self._proven:
            known.setdefault(canonical(p), name)
        same = known.get(canonical(prop))
        if same is not None:
            rnd.duplicate_of = same
            self._end_early("duplicate", f"the statement is {same} up to renaming and spacing")
            return
        if self.unchecked:
            rnd.status = "unchecked"
            rnd.reason = "unchecked play (checker='none'): no checker runs, nothing is rewarded"
            return
        status, verdict = backend.novelty(prop, self.known_names(), self._declarations())
        self._record("novelty", "conjecturer", verdict)
        if status == "new":
            rnd.status = "new"
            rnd.reason = "well-formed; neither the known lemmas nor fixed automation close it"
            return
        reasons = {
            "restatement": "the known lemmas close it directly (exact/apply, conjunct by conjunct)",
            "trivial": "fixed automation (lia, auto, intuition, ...) closes it",
        }
        self._end_early(status, reasons.get(status, verdict.detail))

    def _end_early(self, status: str, reason: str) -> None:
        rnd = self._round
        rnd.status = status
        rnd.reason = reason
        rnd.done = True
        self._reward_conjecture(0.0)

    def _reward_conjecture(self, reward: float) -> None:
        rnd = self._round
        rnd.conjecturer_reward = reward
        if reward:
            self._give({"conjecturer": reward})

    def _score_attempts(self) -> None:
        """Check the round's k proofs (each distinct one once, side by side) and pay."""
        rnd = self._round
        assert rnd.prop is not None
        k = self.prover_attempts
        if self.unchecked:
            verdicts = {
                p: Verdict("error", 0.0, "not checked (checker='none')", 0.0, {})
                for _, p in rnd.pending
            }
        else:
            decls = self._declarations()
            distinct = list(dict.fromkeys(p for _, p in rnd.pending))
            workers = max(1, min(len(distinct), os.cpu_count() or 1))
            with ThreadPoolExecutor(max_workers=workers) as pool:
                found = pool.map(lambda p: self.backend.check(rnd.prop, p, decls), distinct)
                verdicts = dict(zip(distinct, found, strict=True))
        for turn, proof in rnd.pending:
            verdict = verdicts[proof]
            if not self.unchecked:
                self._record("proof", "prover", verdict, turn)
            rnd.attempts.append(
                {
                    "turn": turn,
                    "proof": proof,
                    "status": "unchecked" if self.unchecked else verdict.status,
                    "detail": verdict.detail[:DETAIL_CHARS],
                }
            )
        rnd.pending = []
        s = rnd.successes
        rnd.prover_reward = s / k
        if s:
            self._give({"prover": s / k})
        p = s / k
        paid = rnd.status == "new" and 0 < p <= self.tau + 1e-12
        self._reward_conjecture(1.0 if paid else 0.0)
        rnd.reason += (
            f"; pass rate {s}/{k}"
            + (" (barely provable)" if paid else "")
            + ("" if rnd.status != "new" or paid else f" (not in (0, {self.tau:g}])")
        )
        if s:
            first_ok = next(a["proof"] for a in rnd.attempts if a["status"] == "ok")
            self._proven.append((f"proven_{rnd.index}", rnd.prop, first_ok))

    def decision_rewards(self) -> dict[int, float]:
        """Each prover attempt's own verdict (1 accepted, 0 not) and each conjecture's reward."""
        out: dict[int, float] = {}
        for rnd in self._rounds:
            if rnd.conjecture_turn is not None and rnd.done:
                out[rnd.conjecture_turn] = rnd.conjecturer_reward
            for a in rnd.attempts:
                out[a["turn"]] = 1.0 if a["status"] == "ok" else 0.0
        return out

    def _next_round(self) -> None:
        if len(self._rounds) < self.rounds:
            self._start_round()
            self._next("conjecturer")
            return
        self._ended_by = "rounds"
        self._finish({a: self._outcome(a) for a in SEATS})

    def _outcome(self, agent: str) -> str:
        return "win" if self._totals[agent] > 0 else "loss"

    def _forfeit(self, agent: str, reason: str) -> None:
        self._ended_by = "forfeit"
        self._round.reason = self._round.reason or f"{agent} forfeited: {reason}"
        self._give({agent: self.invalid_reward})
        other = "prover" if agent == "conjecturer" else "conjecturer"
        self._finish({agent: "invalid", other: self._outcome(other)})

    # ------------------------------------------------------------------ observations
    def _observe(self, agent: str) -> Observation:
        finished = bool(self._outcomes)
        acting = not finished and agent == self.agent_selection
        rnd = self._round
        lines = [f"Round {rnd.index} of {self.rounds}."]
        lines += self._history_lines()
        state: dict[str, Any] = {
            "seat": agent,
            "language": self._lang,
            "checker": self.checker,
            "round": rnd.index,
            "rounds": self.rounds,
            "prover_attempts": self.prover_attempts,
            "tau": self.tau,
            "known": self.known_names(),
            "proven": [{"name": n, "statement": p} for n, p, _ in self._proven],
        }
        if agent == "conjecturer":
            state["library"] = self._library
            state["picks"] = dict(rnd.picks)
            state["seed_lemma"] = dict(rnd.seed)
        if rnd.prop is not None:
            state["statement"] = rnd.prop
            state["statement_status"] = rnd.status
        legal: tuple[str, ...] | None = ()
        repeat = 1
        if finished:
            outcome = self._outcomes.get(agent)
            lines.append(
                f"The game is over ({self._ended_by}): you {outcome}, total reward "
                f"{self._totals[agent]:g}."
            )
            state["outcome"] = outcome
        elif acting:
            legal = None
            if agent == "conjecturer":
                seed = rnd.seed
                lines.append(f"Seed lemma {seed['name']}: {_one_line(seed['statement'])}")
                lines.append(f"Its proof: {_one_line(seed['proof'])}")
                lines.append(
                    "State a new conjecture inspired by it inside <statement>...</statement>."
                )
            else:
                repeat = self.prover_attempts - len(rnd.pending)
                lines.append(f"Conjecture to prove: {_one_line(rnd.prop or '')}")
                lines.append("Write a tactic script inside <proof>...</proof>.")
        else:
            lines.append(f"Waiting for the {self.agent_selection}.")
        return Observation(
            system=self._system[agent],
            user="\n".join(lines),
            role=agent,
            env_id=self.env_id,
            turn=self._turn,
            legal_actions=legal,
            state=state,
            repeat=repeat,
        )

    def _history_lines(self) -> list[str]:
        """Finished rounds only: nothing of the round in play (its attempts are independent)."""
        lines: list[str] = []
        for rnd in self._rounds:
            if rnd.statement is None or not rnd.done:
                continue
            shown = _one_line(rnd.prop if rnd.prop is not None else rnd.statement, 400)
            head = f"Round {rnd.index} conjecture: {shown}"
            status = _STATUS_TEXT.get(rnd.status or "", "")
            if status:
                head += f"  [{status}"
                head += f": {rnd.duplicate_of}]" if rnd.duplicate_of else "]"
            lines.append(head)
            if rnd.status in ("ill_formed", "checker_error", "undecided"):
                lines.append(f"  checker: {_one_line(rnd.reason, DETAIL_CHARS)}")
            for i, a in enumerate(rnd.attempts, 1):
                lines.append(f"  attempt {i}: {_one_line(a['proof'], 300)}")
                lines.append(f"    -> {a['status']}: {_one_line(a['detail'], DETAIL_CHARS)}")
            lines.append(
                f"  result: {rnd.successes} of {len(rnd.attempts)} attempts proved it; "
                f"conjecturer {rnd.conjecturer_reward:g}, prover {rnd.prover_reward:g}"
            )
        return lines

    # ------------------------------------------------------------------ the record
    def episode_info(self) -> dict[str, Any]:
        if not self._rounds:
            return {}
        return {
            "checker": self.checker,
            "prover_attempts": self.prover_attempts,
            "tau": self.tau,
            "rounds": [r.to_dict() for r in self._rounds if r.statement is not None],
            "ended_by": self._ended_by,
            "proven": [{"name": n, "statement": p, "proof": pr} for n, p, pr in self._proven],
        }

    def episode_verdicts(self) -> list[dict[str, Any]]:
        """Every verifier verdict of the game, in the order they were given."""
        return [dict(v) for v in self._verdicts]


def _one_line(text: str, limit: int | None = None) -> str:
    """Text as one line (runs of white space, line breaks included, become one space), so a
    relayed statement cannot forge a line of the prompt; cut at ``limit`` characters."""
    flat = " ".join(text.split())
    if limit is not None and len(flat) > limit:
        flat = flat[:limit] + f" …[cut: {len(flat) - limit} more characters]"
    return flat


def _read_extra(
    lang: str, extra: str | Sequence[Mapping[str, Any]] | None
) -> list[tuple[str, str, str]]:
    """Extra lemmas from a JSONL path or a list of mappings, scanned (``ValueError`` if bad)."""
    if extra is None:
        return []
    if isinstance(extra, str):
        rows: list[Any] = []
        try:
            text = Path(extra).read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"cannot read extra_lemmas file {str(extra)!r}: {exc}") from None
        for lineno, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{extra}:{lineno}: not JSON ({exc})") from None
    elif isinstance(extra, list | tuple):
        rows = list(extra)
    else:
        raise ValueError(f"extra_lemmas must be a path or a list, got {type(extra).__name__}")
    out = []
    seen = {lem.name for lem in lemmas()} | {lem.lean_name for lem in lemmas() if lem.lean_name}
    for row in rows:
        if not isinstance(row, Mapping):
            raise ValueError(f"an extra lemma is a mapping with name, statement, proof: {row!r}")
        item = scan_extra_lemma(lang, row.get("name"), row.get("statement"), row.get("proof"))
        if item[0] in seen or item[0].startswith("proven_"):
            raise ValueError(f"extra lemma name {item[0]!r} is already taken")
        seen.add(item[0])
        out.append(item)
    return out


__all__ = ["CHECKERS", "MAX_PROOF_CHARS", "MAX_STATEMENT_CHARS", "SEATS", "ConjectureProveEnv"]
