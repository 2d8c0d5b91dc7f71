"""The ``Verdict`` every verifier returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: ``ok``: accepted/correct; ``wrong``: checked and rejected; ``timeout``: the check ran out of
#: time; ``error``: the check itself failed (the reason is in ``detail``); ``format_error``: the
#: input could not be read as an answer/program/proof at all.
STATUSES = ("ok", "wrong", "timeout", "error", "format_error")


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of one check.

    ``score`` is the reward-like number (1.0 for ok, 0.0 for wrong by default; partial credit
    where a verifier defines it, e.g. a test pass rate); ``detail`` says why, for people and
    logs; ``elapsed`` is the wall time in seconds; ``data`` holds verifier-specific results
    (per-test outcomes, extracted answers).
    """

    status: str
    score: float = 0.0
    detail: str = ""
    elapsed: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"verdict status must be one of {STATUSES}, got {self.status!r}")

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Verdict:
        return cls(
            status=d["status"],
            score=float(d.get("score", 0.0)),
            detail=d.get("detail", ""),
            elapsed=float(d.get("elapsed", 0.0)),
            data=dict(d.get("data") or {}),
        )
