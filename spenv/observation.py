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

    ``repeat`` (default 1) says that this same prompt will be asked ``repeat`` times in a row,
    this decision included, each answer independent of the others (k independent attempts of
    one seat). The following asks have the identical ``text`` with ``repeat`` counting down. A
    runner may draw all of them in one batched call and answer the following asks from those
    draws; a plain loop that asks each time gets the same independence.
    """

    system: str
    user: str
    role: str
    env_id: str
    turn: int
    legal_actions: tuple[str, ...] | None = None
    state: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    repeat: int = 1
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
            **({"repeat": self.repeat} if self.repeat != 1 else {}),
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
            repeat=int(data.get("repeat", 1)),
        )

    def __str__(self) -> str:
        return str(self.text)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
