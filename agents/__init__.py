"""Agents: the ``Agent`` protocol, generic agents and agent specs.

Agent specs name agents on the command line and in configs:

- ``random``: a uniformly random legal move (any game with finite moves);
- a game's scripted reference agents by name (``spenv list`` shows them), optionally with
  parameters: ``nash``, ``nash:alpha=0.2`` for Kuhn poker.
"""

from __future__ import annotations

from spenv.agents.base import Agent, BaseAgent, FixedAgent, RandomAgent, Reply
from spenv.agents.specs import AgentSpecError, make_agent, parse_agent_spec

__all__ = [
    "Agent",
    "AgentSpecError",
    "BaseAgent",
    "FixedAgent",
    "RandomAgent",
    "Reply",
    "make_agent",
    "parse_agent_spec",
]
