"""The ``Agent`` protocol and the agents every game can use.

An agent sees only :class:`~spenv.observation.Observation` objects and answers with text:
``act(obs) -> str``. Agents that can answer many decisions at once (a language model in one
forward pass) also define ``act_batch(list[obs]) -> list[str]``; the rollout engine hands every
pending decision of an agent to one ``act_batch`` call each tick and falls back to ``act``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from spenv.observation import Observation


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


class RandomAgent(BaseAgent):
    """Plays a uniformly random legal move (for games whose moves are finite)."""

    name = "random"

    def act(self, obs: Observation) -> str:
        legal = obs.legal_actions
        if not legal:
            raise ValueError(
                f"the random agent needs a finite list of legal moves; {obs.env_id} gives none"
            )
        return legal[int(self.rng.random() * len(legal))]


class FixedAgent(BaseAgent):
    """Always answers the same text (handy for tests and for probing parsers)."""

    name = "fixed"

    def __init__(self, text: str, *, name: str | None = None, seed: int | None = None) -> None:
        super().__init__(name=name or "fixed", seed=seed)
        self.text = text

    def act(self, obs: Observation) -> str:
        return self.text
