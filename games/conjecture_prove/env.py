"""Conjecture-prove self-play as a text environment (``ConjectureProve-v1``), after STP.

Seats: ``conjecturer`` and ``prover``. Both see a library of known lemmas (about natural
numbers, lists and booleans; :mod:`.library`) that a proof may cite.

A game has ``rounds`` rounds (default 1). In each round:

1. The conjecturer states a conjecture: ``<statement>forall n : nat, n + 0 = n</statement>``
   (Coq syntax by default; ``Theorem name binders : prop.`` is accepted too). An answer without
   a ``<statement>`` tag (or with one longer than ``MAX_STATEMENT_CHARS``) is an invalid move
   (the core's policy: ``retries``, then a forfeit).
2. The env judges the statement, recording each checker verdict:

   - **ill-formed**: the scanner refuses it (a second sentence, ``Axiom``, ``Admitted``, an
     unbalanced bracket, ...) or the checker rejects it (syntax error, type error, not a
     ``Prop``). The round ends here: no proof is asked for.
   - **duplicate**: after whitespace normalisation and alpha-renaming of bound variables
     (:func:`~spenv.games.conjecture_prove.library.canonical`) it equals a library lemma, an
     extra lemma or a statement proven earlier in this game.
   - **restatement**: one checker run tries, on the statement, ``exact L`` for every known lemma
     ``L`` and, after ``intros``, ``apply L`` (closing the goal): it succeeds, so a known lemma
     proves it directly (an instance, a renaming, a definitional variant). The same run
     establishes that the statement is well-formed (its ``Check`` comes first).
   - **new** otherwise. (If that run times out, a plain ``Check`` decides well-formedness.)
   - **unchecked**: the checker could not run at all (coqc missing): the round ends.

3. Unless the round ended, the prover makes ``prover_attempts`` attempts (default 3), one a
   turn: ``<proof>intros; lia.</proof>`` (a tactic script; ``Proof. ... Qed.`` is unwrapped).
   Every attempt is checked and recorded; each later attempt sees the earlier attempts, their
   statuses and the checker's messages. All attempts are made, even after a success. An answer
   without a ``<proof>`` tag is an invalid move. With ``proofs_per_turn=P`` (default 1) a turn
   may hold up to ``P`` ``<proof>`` tags, each one attempt: they are checked side by side
   (one checker process each) and see nothing of each other, as independent samples; the move
   is then recorded as the JSON list of the proofs.

Rewards (given as they are earned):

- prover: ``1 / prover_attempts`` for every attempt the checker accepts (so 1 for a round in
  which every attempt succeeds), whatever the statement's novelty;
- conjecturer: 1 at the end of a round whose conjecture is **new** and **barely provable**:
  proved by some but not all of the attempts (``0 < successes < prover_attempts``); 0 for an
  ill-formed, duplicate or restated conjecture, one no attempt proves (false, or too hard) and
  one every attempt proves (too easy).
- a forfeit (invalid moves beyond ``retries``) ends the game: the offender gets
  ``invalid_reward`` (default -1), the other seat keeps what it has.

Outcomes: ``invalid`` for a seat that forfeited; otherwise ``win`` when the seat's total reward
is positive and ``loss`` when it is not (both seats can win: a barely provable conjecture pays
both).

A statement proven in a round (by at least one attempt) joins the known lemmas of the later
rounds of the same game as ``proven_<round>`` (with its first accepted proof): later proofs may
cite it and later conjectures that restate it are duplicates. Nothing carries over between
games: every game starts from the same library, so a seed reproduces it. To grow the library
across games, pass what was proven as ``extra_lemmas`` (explicitly, so it is recorded in the
episode's env options).

Constructor options: ``checker`` (``"coq"``, the default, or ``"lean"``: Lean 4, which needs a
``lean`` executable or ``SPENV_LEAN_PROJECT``; without one the env refuses to build, naming
what to install), ``prover_attempts`` (default 3), ``proofs_per_turn`` (default 1), ``rounds``
(default 1), ``timeout`` (seconds
per checker run; default 10 for Coq, 60 for Lean), ``extra_lemmas`` (a JSONL path, or a list
of ``{"name", "statement", "proof"}`` mappings, in the checker's language: lemmas added to the
library; each is scanned like a move and must compile), plus ``retries`` and
``invalid_reward``. Reset options: none (others are ignored).

Seeded choices: at the start of each round the env draws ``picks`` from its generator (two
distinct indices into the library's templates, a small number and a float in [0, 1)) and shows
them in the conjecturer's ``state``; the scripted conjecturer builds its conjecture from them,
so a seed fixes the whole game of scripted agents.

The record: ``Episode.verdicts`` holds every checker verdict (``status``, ``score``,
``detail``, ``elapsed``, ``data``) with its ``round``, ``turn``, ``agent`` and ``kind``
(``statement``: a scanner or ``Check`` verdict on the conjecture; ``novelty``: the
known-lemma run; ``proof``: a prover attempt). ``episode_info()`` has one entry per round:
the raw and normalised statement, its status, what it duplicates, the attempts with their
statuses, the successes and both rewards.

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

from spenv.env import TextEnv, int_option
from spenv.games.conjecture_prove.checking import (
    Backend,
    CoqBackend,
    make_backend,
    scan_extra_lemma,
)
from spenv.games.conjecture_prove.library import canonical, lemmas
from spenv.games.toolcalls import parse_calls
from spenv.observation import Observation
from spenv.verifiers.proof import ScanError
from spenv.verifiers.verdict import Verdict

SEATS = ("conjecturer", "prover")
#: The longest statement accepted (characters inside the tag).
MAX_STATEMENT_CHARS = 4000
#: The longest proof accepted (characters inside the tag).
MAX_PROOF_CHARS = 20000
#: How much of a checker message a prompt shows.
DETAIL_CHARS = 600
_DEFAULTS: dict[str, Any] = {
    "checker": "coq",
    "prover_attempts": 3,
    "rounds": 1,
    "proofs_per_turn": 1,
    "timeout": None,
    "extra_lemmas": None,
}
_STATUS_TEXT = {
    "ill_formed": "ill-formed",
    "duplicate": "a duplicate of a known lemma",
    "restatement": "proved directly by a known lemma",
    "new": "new",
    "unchecked": "not checked (the checker could not run)",
}
_LANG_NAME = {"coq": "Coq", "lean": "Lean 4"}

_CONJECTURER_RULES = """You are the conjecturer in a conjecture-prove game ({lang}).
Rules:
- Each round you state one conjecture; then the prover gets {k} attempt{ks} to prove it, and a \
proof checker ({lang}) decides each attempt.
- You score 1 for a round whose conjecture is well-formed, new (not a known lemma, not a \
renaming of one, not something a known lemma proves directly) and barely provable: proved by \
some but not all of the prover's attempts. Otherwise you score 0.
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
- The conjecturer states a conjecture; you get {k} attempt{ks} to prove it, {per_turn}, and a \
proof checker ({lang}) decides each attempt. You see your earlier attempts and the checker's \
messages.
- Each accepted attempt scores 1/{k}. All {k} attempts are made, even after a success.
- A proof is a tactic script only: no commands (Axiom, Admitted, Require, ...), no admit/sorry.
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
_EXAMPLES = {
    "coq": ("forall n : nat, n * 2 = n + n", "intros n. lia."),
    "lean": ("∀ n : Nat, n * 2 = n + n", "intro n\n  omega"),
}


class _Round:
    """What happened in one round (mutable while the round is played)."""

    def __init__(self, index: int, picks: Mapping[str, Any]) -> None:
        self.index = index
        self.picks = dict(picks)
        self.statement: str | None = None
        self.prop: str | None = None
        self.status: str | None = None
        self.duplicate_of: str | None = None
        self.reason = ""
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
            "statement": self.statement,
            "prop": self.prop,
            "status": self.status,
            "duplicate_of": self.duplicate_of,
            "reason": self.reason,
            "attempts": [dict(a) for a in self.attempts],
            "successes": self.successes,
            "conjecturer_reward": self.conjecturer_reward,
            "prover_reward": self.prover_reward,
        }


class ConjectureProveEnv(TextEnv):
    """Conjecturer states, prover proves, a proof checker decides (module docstring)."""

    metadata: ClassVar[dict[str, Any]] = {**TextEnv.metadata, "name": "conjecture_prove_v1"}
    env_id = "ConjectureProve-v1"
    possible_agents: ClassVar[list[str]] = list(SEATS)
    zero_sum = False

    def __init__(
        self,
        *,
        checker: str = "coq",
        prover_attempts: int = 3,
        rounds: int = 1,
        proofs_per_turn: int = 1,
        timeout: float | None = None,
        extra_lemmas: str | Sequence[Mapping[str, Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        for key, value in (
            ("prover_attempts", prover_attempts),
            ("rounds", rounds),
            ("proofs_per_turn", proofs_per_turn),
        ):
            int_option(key, value, 1)
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0
        ):
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if checker not in ("coq", "lean"):
            raise ValueError(f"checker must be 'coq' or 'lean', got {checker!r}")
        super().__init__(**kwargs)
        self.checker = checker
        self.prover_attempts = prover_attempts
        self.rounds = rounds
        self.proofs_per_turn = min(proofs_per_turn, prover_attempts)
        self.timeout = timeout
        extra = _read_extra(checker, extra_lemmas)
        #: As given (a path, or a list of mappings): recorded in ``env_options`` for replay.
        self.extra_lemmas = (
            extra_lemmas
            if extra_lemmas is None or isinstance(extra_lemmas, str)
            else [dict(x) for x in extra_lemmas]
        )
        self.backend: Backend = make_backend(checker, lemmas(), extra, timeout=timeout)
        if extra and isinstance(self.backend, CoqBackend) and self.backend.checker() is None:
            raise ValueError(f"extra_lemmas: {self.backend.build_error}")
        self._library = self._library_view()
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
            "rounds": rounds,
            "rs": "" if rounds == 1 else "s",
            "library": listing,
            "penalty": penalty,
            "toolbox": _TOOLBOX[checker],
            "per_turn": (
                "one per turn"
                if self.proofs_per_turn == 1
                else f"up to {self.proofs_per_turn} per turn (one <proof> tag each)"
            ),
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
        lang = self.checker
        out = [(lem.ref(lang) or lem.name, lem.statement(lang)) for lem in self.backend.lemmas]
        out += [(name, prop) for name, prop, _ in self.backend.extra]
        return out

    def _library_view(self) -> tuple[Mapping[str, Any], ...]:
        """Each known lemma for the prompts and the ``state``: name and statement, plus the
        structured form (``binders``, ``lhs``, ``rel``, ``rhs``, ``sort``) of shipped lemmas."""
        lang = self.checker
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
    def env_options(self) -> dict[str, Any]:
        opts = super().env_options()
        for key, default in _DEFAULTS.items():
            value = getattr(self, key)
            if value != default:
                opts[key] = value
        return opts

    def system_prompts(self) -> dict[str, str]:
        return dict(self._system)

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
        n = sum(1 for e in self._library if "lhs" in e)
        first = int(rng.integers(n))
        second = (first + 1 + int(rng.integers(n - 1))) % n
        picks = {
            "lemmas": (first, second),
            "value": int(rng.integers(10)),
            "mode": round(float(rng.random()), 6),
        }
        self._rounds.append(_Round(len(self._rounds) + 1, picks))

    @property
    def _round(self) -> _Round:
        return self._rounds[-1]

    def _parse(self, agent: str, action: str) -> tuple[str | None, str | None]:
        if agent == "conjecturer":
            tag, limit, most = "statement", MAX_STATEMENT_CHARS, 1
        else:
            tag, limit = "proof", MAX_PROOF_CHARS
            most = min(self.proofs_per_turn, self.prover_attempts - len(self._round.attempts))
        parsed = parse_calls(action, {tag}, max_calls=most, max_chars=limit)
        calls = parsed.of(tag)
        if not calls:
            why = "; ".join(parsed.errors)
            return None, f"no <{tag}>...</{tag}> found" + (f" ({why})" if why else "")
        if agent == "prover" and self.proofs_per_turn > 1:
            # several attempts in one move: the move is their JSON list (recorded as such)
            return json.dumps([c.argument for c in calls]), None
        return calls[0].argument, None

    def _record(self, kind: str, agent: str, verdict: Verdict) -> None:
        self._verdicts.append(
            {
                "round": self._round.index,
                "turn": len(self._turns) - 1,
                "agent": agent,
                "kind": kind,
                **verdict.to_dict(),
            }
        )

    def _apply(self, agent: str, move: str) -> None:
        if agent == "conjecturer":
            self._judge_statement(move)
            if self._round.done:
                self._next_round()
            else:
                self._next("prover")
            return
        self._attempt(move)

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
            rnd.status, rnd.duplicate_of = "duplicate", same
            rnd.reason = f"the statement is {same} up to renaming and spacing"
            return
        decls = self._declarations()
        verdict = backend.check(prop, backend.direct_tactic(self.known_names()), decls)
        self._record("novelty", "conjecturer", verdict)
        part = verdict.data.get("part")
        if verdict.status == "ok":
            rnd.status = "restatement"
            rnd.reason = "a known lemma proves it directly (exact/apply)"
        elif verdict.status == "format_error" and part == "statement":
            self._end_early("ill_formed", verdict.detail)
        elif verdict.status == "error":
            self._end_early("unchecked", verdict.detail)
        elif verdict.status == "timeout":
            plain = backend.check_statement(prop, decls)
            if plain is None:
                self._end_early("unchecked", "the known-lemma check timed out: " + verdict.detail)
                return
            self._record("statement", "conjecturer", plain)
            if plain.status == "ok":
                rnd.status = "new"
                rnd.reason = "well-formed; the known-lemma check timed out"
            elif plain.status == "format_error":
                self._end_early("ill_formed", plain.detail)
            else:
                self._end_early("unchecked", plain.detail)
        else:
            rnd.status = "new"
            rnd.reason = "well-formed, and no known lemma proves it directly"

    def _end_early(self, status: str, reason: str) -> None:
        rnd = self._round
        rnd.status = status
        rnd.reason = reason
        rnd.done = True

    def _attempt(self, move: str) -> None:
        rnd = self._round
        assert rnd.prop is not None
        proofs = json.loads(move) if self.proofs_per_turn > 1 else [move]
        decls = self._declarations()
        if len(proofs) == 1:
            verdicts = [self.backend.check(rnd.prop, proofs[0], decls)]
        else:
            # one turn's proofs are independent: check them side by side (one coqc each)
            workers = min(len(proofs), os.cpu_count() or 1)
            with ThreadPoolExecutor(max_workers=workers) as pool:
                verdicts = list(pool.map(lambda p: self.backend.check(rnd.prop, p, decls), proofs))
        share = 1.0 / self.prover_attempts
        for proof, verdict in zip(proofs, verdicts, strict=True):
            self._record("proof", "prover", verdict)
            rnd.attempts.append(
                {
                    "proof": proof,
                    "status": verdict.status,
                    "detail": verdict.detail[:DETAIL_CHARS],
                }
            )
            if verdict.ok:
                rnd.prover_reward += share
                self._give({"prover": share})
        if len(rnd.attempts) < self.prover_attempts:
            self._next("prover")
            return
        s = rnd.successes
        if rnd.status == "new" and 0 < s < self.prover_attempts:
            rnd.conjecturer_reward = 1.0
            self._give({"conjecturer": 1.0})
        if s:
            first_ok = next(a["proof"] for a in rnd.attempts if a["status"] == "ok")
            self._proven.append((f"proven_{rnd.index}", rnd.prop, first_ok))
        rnd.done = True
        self._next_round()

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
        lines += self._history_lines(agent)
        state: dict[str, Any] = {
            "seat": agent,
            "language": self.checker,
            "round": rnd.index,
            "rounds": self.rounds,
            "prover_attempts": self.prover_attempts,
            "proofs_per_turn": self.proofs_per_turn,
            "known": self.known_names(),
            "proven": [{"name": n, "statement": p} for n, p, _ in self._proven],
        }
        if agent == "conjecturer":
            state["library"] = self._library
            state["picks"] = dict(rnd.picks)
        if rnd.prop is not None:
            state["statement"] = rnd.prop
            state["statement_status"] = rnd.status
            state["attempts"] = [dict(a) for a in rnd.attempts]
        legal: tuple[str, ...] | None = ()
        if finished:
            outcome = self._outcomes.get(agent)
            lines.append(
                f"The game is over ({self._ended_by}): you {outcome}, total reward "
                f"{self._totals[agent]:g}."
            )
            state["outcome"] = outcome
        elif acting:
            legal = None
            if self._feedback:
                lines.append(self._feedback)
            if agent == "conjecturer":
                lines.append("State your conjecture inside <statement>...</statement>.")
            else:
                n = len(rnd.attempts) + 1
                most = min(self.proofs_per_turn, self.prover_attempts - n + 1)
                lines.append(f"Conjecture to prove: {_one_line(rnd.prop or '')}")
                if most > 1:
                    lines.append(
                        f"Attempts {n} to {n + most - 1} of {self.prover_attempts}: write up to "
                        f"{most} tactic scripts, each inside its own <proof>...</proof>."
                    )
                else:
                    lines.append(
                        f"Attempt {n} of {self.prover_attempts}: write a tactic script inside "
                        "<proof>...</proof>."
                    )
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
        )

    def _history_lines(self, agent: str) -> list[str]:
        lines: list[str] = []
        for rnd in self._rounds:
            if rnd.statement is None:
                continue
            shown = _one_line(rnd.prop if rnd.prop is not None else rnd.statement, 400)
            head = f"Round {rnd.index} conjecture: {shown}"
            status = _STATUS_TEXT.get(rnd.status or "", "")
            if status:
                head += f"  [{status}"
                head += f": {rnd.duplicate_of}]" if rnd.duplicate_of else "]"
            lines.append(head)
            if rnd.status in ("ill_formed", "unchecked"):
                lines.append(f"  checker: {rnd.reason[:DETAIL_CHARS]}")
            for i, a in enumerate(rnd.attempts, 1):
                proof = " ".join(a["proof"].split())
                lines.append(f"  attempt {i}: {proof[:300]}")
                lines.append(f"    -> {a['status']}: {a['detail']}")
            if rnd.done:
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


__all__ = ["MAX_PROOF_CHARS", "MAX_STATEMENT_CHARS", "SEATS", "ConjectureProveEnv"]
