"""Agent specs: strings that name agents (``random``, ``nash:alpha=0.2``)."""

from __future__ import annotations

import json
from typing import Any

from spenv.agents.base import Agent, RandomAgent


class AgentSpecError(ValueError):
    """An agent spec names no known agent, or has malformed parameters."""


def parse_agent_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """Split ``name[:key=value,key=value]`` into the name and its parameters.

    Values are read as JSON where they parse (numbers, booleans), else kept as strings.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise AgentSpecError(f"an agent spec is a non-empty string, got {spec!r}")
    name, _, rest = spec.strip().partition(":")
    params: dict[str, Any] = {}
    if rest:
        for part in rest.split(","):
            key, eq, value = part.partition("=")
            if not eq or not key.strip():
                raise AgentSpecError(f"agent spec {spec!r}: parameters look like key=value")
            try:
                params[key.strip()] = json.loads(value)
            except json.JSONDecodeError:
                params[key.strip()] = value.strip()
    return name.strip().lower(), params


def make_agent(spec: str | Agent, env_id: str | None = None, *, seed: int | None = None) -> Agent:
    """Build the agent a spec names; ``env_id`` resolves a game's scripted agents.

    An :class:`Agent` instance is returned as it is.
    """
    if not isinstance(spec, str):
        if not callable(getattr(spec, "act", None)):
            raise AgentSpecError(f"{spec!r} is neither an agent spec nor an agent")
        return spec
    name, params = parse_agent_spec(spec)
    known = ["random"]
    if env_id is not None:
        from spenv.registry import spec as env_spec

        es = env_spec(env_id)
        known += list(es.reference_agents)
        factory = es.load_agent_factory()
        if factory is not None and name == "random":
            # A game whose moves are free text has its own random agent; games with finite
            # moves may fall back to the generic one.
            try:
                return factory("random", seed=seed, **params)
            except (ValueError, KeyError):
                pass
            except TypeError as exc:
                raise AgentSpecError(f"agent spec {spec!r}: {exc}") from exc
        elif name in es.reference_agents and factory is not None:
            try:
                return factory(name, seed=seed, **params)
            except TypeError as exc:
                raise AgentSpecError(f"agent spec {spec!r}: {exc}") from exc
    if name == "random":
        if params:
            raise AgentSpecError(f"the random agent takes no parameters, got {params}")
        return RandomAgent(seed=seed)
    where = f" for {env_id}" if env_id else ""
    raise AgentSpecError(f"unknown agent spec {spec!r}{where}; known: {', '.join(known)}")
