"""Agents: the ``Agent`` protocol, generic agents and agent specs.

Agent specs name agents on the command line and in configs (see :mod:`spenv.agents.specs`):

- ``random``: a uniformly random legal move (any game with finite moves);
- a game's scripted reference agents by name (``spenv list`` shows them), optionally with
  parameters: ``nash``, ``nash:alpha=0.2`` for Kuhn poker;
- ``hf:PATH,key=value``: a local Hugging Face model (:class:`~spenv.agents.hf.HFAgent`),
  ``vllm:PATH`` the same through vLLM, ``openai:MODEL@URL`` a model behind an OpenAI-compatible
  server, ``human`` a person at the terminal.

The language-model agents load lazily (``spenv.agents.HFAgent`` imports torch on first use).
"""

from __future__ import annotations

from typing import Any

from spenv.agents.base import Agent, BaseAgent, FixedAgent, RandomAgent, Reply
from spenv.agents.specs import AgentSpecError, make_agent, parse_agent_spec, split_agent_specs

_LAZY = {
    "HFAgent": "spenv.agents.hf",
    "VLLMAgent": "spenv.agents.vllm",
    "tiny_model": "spenv.agents.testing",
}

__all__ = [
    "Agent",
    "AgentSpecError",
    "BaseAgent",
    "FixedAgent",
    "HFAgent",
    "RandomAgent",
    "Reply",
    "VLLMAgent",
    "make_agent",
    "parse_agent_spec",
    "split_agent_specs",
    "tiny_model",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'spenv.agents' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
