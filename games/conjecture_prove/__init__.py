"""ConjectureProve (``ConjectureProve-v1``): conjecture-prove self-play decided by a proof checker.

- :class:`ConjectureProveEnv`: rules, rewards and options in :mod:`.env`'s docstring.
- :mod:`.library`: the seed library (``data/library.jsonl`` and ``data/Library.v``), statement
  building, the alpha-renaming duplicate test :func:`canonical`, compiling the library.
- :mod:`.checking`: the Coq and Lean backends around :mod:`spenv.verifiers.proof`, and the
  process-wide verdict cache.
- Agents (:mod:`.agents`): ``conjecturer``, ``prover`` (scripted, role-aware: seed-lemma
  conjectures, independently sampled tactics) and ``random``.
"""

from spenv.games.conjecture_prove.agents import (
    COQ_TACTICS,
    LEAN_TACTICS,
    REFERENCE_AGENTS,
    ConjectureProveAgent,
    RandomConjectureProveAgent,
    compose,
    lift,
    reference_agent,
    specialise,
    wrong,
)
from spenv.games.conjecture_prove.checking import (
    COQ_AUTOMATION,
    LEAN_AUTOMATION,
    CoqBackend,
    LeanBackend,
    clear_cache,
    make_backend,
)
from spenv.games.conjecture_prove.env import (
    CHECKERS,
    MAX_PROOF_CHARS,
    MAX_STATEMENT_CHARS,
    SEATS,
    ConjectureProveEnv,
)
from spenv.games.conjecture_prove.library import Form, Lemma, canonical, lemmas, render_coq

__all__ = [
    "CHECKERS",
    "COQ_AUTOMATION",
    "COQ_TACTICS",
    "LEAN_AUTOMATION",
    "LEAN_TACTICS",
    "MAX_PROOF_CHARS",
    "MAX_STATEMENT_CHARS",
    "REFERENCE_AGENTS",
    "SEATS",
    "ConjectureProveAgent",
    "ConjectureProveEnv",
    "CoqBackend",
    "Form",
    "LeanBackend",
    "Lemma",
    "RandomConjectureProveAgent",
    "canonical",
    "clear_cache",
    "compose",
    "lemmas",
    "lift",
    "make_backend",
    "reference_agent",
    "render_coq",
    "specialise",
    "wrong",
]
