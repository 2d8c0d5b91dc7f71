"""The kernel's side of agents: the ``Agent`` protocol, ``Reply``, ``BaseAgent`` and resolvers.

An agent sees only :class:`~spenv.observation.Observation` objects and answers with text:
``act(obs) -> str``. Agents that can answer many decisions at once (a language model in one
forward pass) also define ``act_batch(list[obs]) -> list[str]``; the rollout engine hands every
pending decision of an agent to one ``act_batch`` call each tick and falls back to ``act``.

The kernel builds no agents itself. Where a caller names agents by spec string (``"random"``,
``"nash"``, ``"hf:PATH"``), the runner turns each into an agent with a *resolver*:
``resolve(spec, env_id, seed=...) -> Agent``. A caller passes its own (``Runner(...,
resolve=...)``); without one the runner loads the named plugin :data:`DEFAULT_RESOLVER` (the agent
specs of :mod:`spenv.agents`) by its ``"module:function"`` name, as the registry loads a game
by its entry point. Nothing here imports the layers above the kernel.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from spenv.observation import Observation

#: ``resolve(spec, env_id, seed=...)``: build the agent a spec string names for a game.
AgentResolver = Callable[..., Any]

#: The resolver used when agents are given as spec strings and the caller passes none.
DEFAULT_RESOLVER = "spenv.agents.specs:make_agent"


@runtime_checkable
class Agent(Protocol):
    """Anything with a ``name`` and ``act(obs) -> str`` plays spenv games."""

    name: str

    def act(self, obs: Observation) -> str: ...


class Reply(str):
    """An agent's answer (a ``str``) that carries agent-side facts about how it was produced.

    Language-model agents return ``Reply(text, prompt_ids=..., completion_ids=...,
    logprobs=...)``; the rollout engine stores ``meta`` in the turn's ``extra`` field of the
    episode, which is where trainers read token ids and log-probabilities. Everything else treats
    it as the plain string it is.
    """

    __slots__ = ("meta",)

    meta: dict

    def __new__(cls, text: str, **meta: object) -> Reply:
        obj = super().__new__(cls, text)
        obj.meta = meta
        return obj

    def __reduce__(self) -> tuple:
        return (_make_reply, (str(self), self.meta))


def _make_reply(text: str, meta: dict) -> Reply:
    return Reply(text, **meta)


class BaseAgent:
    """Convenience base: a name, an own random generator, and ``act_batch`` over ``act``."""

    name = "agent"

    def __init__(self, *, name: str | None = None, seed: int | None = None) -> None:
        if name is not None:
            self.name = name
        self.rng = np.random.default_rng(seed)

    def seed(self, seed: int | None) -> None:
        """Re-seed the agent's own generator (the rollout engine does this per run)."""
        self.rng = np.random.default_rng(seed)

    def act(self, obs: Observation) -> str:
        raise NotImplementedError

    def act_batch(self, observations: Sequence[Observation]) -> list[str]:
        return [self.act(o) for o in observations]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def check_agent(agent: Any) -> Any:
    """Return ``agent`` if it can play (it has a callable ``act``); raise ``ValueError`` if not."""
    if not callable(getattr(agent, "act", None)):
        raise ValueError(f"{agent!r} is neither an agent spec nor an agent")
    return agent


_default: AgentResolver | None = None


def default_resolver() -> AgentResolver:
    """The resolver named by :data:`DEFAULT_RESOLVER`, loaded on first use."""
    global _default
    if _default is None:
        module, _, attr = DEFAULT_RESOLVER.partition(":")
        _default = getattr(importlib.import_module(module), attr)
    return _default


def is_recorded_answer(a: Any) -> bool:
    """Whether ``a`` is an answer as episodes record an env-called agent's answers: its text,
    or ``{"error": message}`` for a call that failed."""
    return isinstance(a, str) or (
        isinstance(a, Mapping) and set(a) == {"error"} and isinstance(a["error"], str)
    )


class RecordedOnlyAgent:
    """Stands for an agent object an env was given (a judge, a checker), in an episode that
    records it only as ``"agent:NAME"``: the object cannot be rebuilt, so the env can only
    replay its recorded answers (reset option ``option``); asking it anything raises."""

    def __init__(self, name: str, role: str, option: str) -> None:
        self.name, self.role, self.option = name, role, option

    def act(self, obs: Observation) -> str:
        raise RuntimeError(
            f"{self.role} {self.name!r} was an agent that cannot be rebuilt; this env can only "
            f"replay its recorded answers (reset option {self.option})"
        )
