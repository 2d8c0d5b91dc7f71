"""Kuhn poker: the text environment, its game theory and its reference agents.

- :class:`KuhnPokerEnv` (registered as ``KuhnPoker-v1``): rules in :mod:`.env`'s docstring.
- Game theory (:mod:`.theory`): ``solve`` (CFR+), ``exploitability``, ``game_value``,
  ``best_response``, ``equilibrium_policy``. A policy is a ``dict[str, float]``: the probability
  of the aggressive move at each of the 12 information sets, keyed card + history
  (``"K"``, ``"Qp"``, ``"Jb"``, ``"Kpb"``).
- Agents (:mod:`.agents`): ``nash`` (alpha), ``aggressive``, ``passive``, ``honest``,
  ``uniform``; ``policy_of(agent)`` estimates any agent's table.
"""

from spenv.games.kuhn_poker.agents import (
    REFERENCE_AGENTS,
    EstimatedPolicy,
    NashAgent,
    PolicyAgent,
    infoset_observation,
    policy_of,
    reference_agent,
)
from spenv.games.kuhn_poker.env import KuhnPokerEnv
from spenv.games.kuhn_poker.theory import (
    INFOSETS,
    best_response,
    best_response_value,
    equilibrium_policy,
    exploitability,
    game_value,
    payoff,
    solve,
    uniform_policy,
    validate_policy,
)

__all__ = [
    "INFOSETS",
    "REFERENCE_AGENTS",
    "EstimatedPolicy",
    "KuhnPokerEnv",
    "NashAgent",
    "PolicyAgent",
    "best_response",
    "best_response_value",
    "equilibrium_policy",
    "exploitability",
    "game_value",
    "infoset_observation",
    "payoff",
    "policy_of",
    "reference_agent",
    "solve",
    "uniform_policy",
    "validate_policy",
]
