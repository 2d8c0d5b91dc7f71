"""What an agent receives for one decision."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from spenv.spaces import TextObs

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True, eq=True)
class Observation:
    """One decision's view for one agent.

    ``text`` is the whole prompt (``system`` and ``user`` joined); ``messages`` gives the same
    content as chat messages. ``legal_actions`` lists the exact strings the game's parser accepts
    when the moves are finite (``None`` when moves are free text, ``()`` when the agent has nothing
    to decide). ``state`` is a read-only structured view holding only what this agent may know, for
    programmatic agents. Observations are immutable, so games may share and cache them.
    """

    system: str
    user: str
    role: str
    env_id: str
    turn: int
    legal_actions: tuple[str, ...] | None = None
    state: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    text: TextObs = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        text = f"{self.system}\n\n{self.user}" if self.system else self.user
        object.__setattr__(self, "text", TextObs(text))
        if not isinstance(self.state, MappingProxyType):
            object.__setattr__(self, "state", MappingProxyType(dict(self.state)))

    @property
    def messages(self) -> list[dict[str, str]]:
        """The prompt as chat messages: a system message (when there is one) and a user one."""
        msgs = [{"role": "system", "content": self.system}] if self.system else []
        msgs.append({"role": "user", "content": self.user})
        return msgs

    @property
    def is_decision(self) -> bool:
        """True when this observation asks the agent for a move."""
        return self.legal_actions is None or len(self.legal_actions) > 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable dict (the ``text`` is derived, so it is not stored twice)."""
        return {
            "system": self.system,
            "user": self.user,
            "role": self.role,
            "env_id": self.env_id,
            "turn": self.turn,
            "legal_actions": None if self.legal_actions is None else list(self.legal_actions),
            "state": _jsonable(self.state),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Observation:
        legal = data.get("legal_actions")
        return cls(
            system=data.get("system", ""),
            user=data["user"],
            role=data["role"],
            env_id=data["env_id"],
            turn=int(data["turn"]),
            legal_actions=None if legal is None else tuple(legal),
            state=data.get("state") or {},
        )

    def __str__(self) -> str:
        return str(self.text)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
