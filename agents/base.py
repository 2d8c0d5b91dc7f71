"""The agents every game can use (``RandomAgent``, ``FixedAgent``).

The ``Agent`` protocol, ``Reply`` and ``BaseAgent`` live in the kernel (:mod:`spenv.agent`) and
are re-exported here: an agent sees only :class:`~spenv.observation.Observation` objects and
answers with text, ``act(obs) -> str`` (and optionally ``act_batch(list[obs])``).
"""

from __future__ import annotations

from spenv.agent import (
    Agent,
    BaseAgent,
    Reply,
    _make_reply,  # noqa: F401 - replies pickled before the move load from here
)
from spenv.observation import Observation

__all__ = ["Agent", "BaseAgent", "FixedAgent", "RandomAgent", "Reply"]


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
