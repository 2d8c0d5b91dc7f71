"""Debate (``Debate-v1``): two debaters argue assigned answers to a question; a judge decides.

- :class:`DebateEnv`: rules, options and the episode record in :mod:`.env`'s docstring.
- Judges (:mod:`.judges`): ``make_judge(spec, seed=None)`` for the scripted judges ``oracle``,
  ``random``, ``length`` and ``keyword``; ``parse_verdict``; the arithmetic-claim checker.
- Questions (:mod:`.questions`, :mod:`.passages`): the embedded reading-comprehension set over
  generated passages (the default), QuALITY-format files, the generated arithmetic set, JSONL
  files, and the benchmark suites (``mmlu_stem``, ``gsm8k``, ``amc23``, ``aime24``, ``aime25``);
  ``verify_quote`` checks a quote against a passage.
- Debaters (:mod:`.agents`): ``reference_agent(name, seed=None)`` for ``advocate`` and ``random``.
"""

from spenv.games.debate.agents import (
    REFERENCE_AGENTS,
    AdvocateAgent,
    RandomDebater,
    reference_agent,
)
from spenv.games.debate.env import SEATS, DebateEnv
from spenv.games.debate.judges import (
    JUDGES,
    Claim,
    DebateJudge,
    KeywordJudge,
    LengthJudge,
    OracleJudge,
    RandomJudge,
    find_claims,
    judge_probability,
    make_judge,
    parse_verdict,
)
from spenv.games.debate.passages import generate_passage, load_quality, verify_quote
from spenv.games.debate.questions import SUITES, Question, generate, solve

__all__ = [
    "JUDGES",
    "REFERENCE_AGENTS",
    "SEATS",
    "SUITES",
    "AdvocateAgent",
    "Claim",
    "DebateEnv",
    "DebateJudge",
    "KeywordJudge",
    "LengthJudge",
    "OracleJudge",
    "Question",
    "RandomDebater",
    "RandomJudge",
    "find_claims",
    "generate",
    "generate_passage",
    "judge_probability",
    "load_quality",
    "make_judge",
    "parse_verdict",
    "reference_agent",
    "solve",
    "verify_quote",
]
