"""Advantage estimators: role-conditioned EMA baselines (SPIRAL's RAE) and GRPO groups.

Every sample of an episode carries that episode's return for the sample's role (a zero-sum game
gives each seat its own return). The estimators turn returns into advantages:

- :class:`RoleBaselines` (role-conditioned advantage estimation, as in SPIRAL): one baseline
  per ``(env id, role)``, an exponential moving average of that role's returns. Returns are
  taken in order; for each, the advantage is read against the baseline as it stands,
  ``A = R - b``, and only then does the baseline move, ``b <- decay * b + (1 - decay) * R``
  (SPIRAL's ``train_spiral.py`` reads the baseline before updating it). A role that wins more
  often (the first player, the proposer of an easy game) is measured against its own average,
  which removes the variance the role itself causes.
- :func:`group_advantages` (GRPO): returns are compared within groups of samples that share a
  key (the trainer's keys: the k attempts of one prompt in a game, or games of one seed and
  role, or every decision on the same prompt): ``A = (R - mean) / (std + eps)`` with the
  unbiased standard deviation (or ``R - mean`` without scaling). A group of one sample has
  advantage 0.

Both are plain Python (no torch) so they are cheap to test and to checkpoint.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any


class RoleBaselines:
    """Exponential-moving-average return baselines per ``(env id, role)``.

    ``decay`` is the EMA coefficient (SPIRAL's alpha, 0.95 there), in (0, 1): at 0 the baseline
    would be the last return itself; baselines start at ``initial`` (0).
    """

    def __init__(self, decay: float = 0.95, initial: float = 0.0) -> None:
        if isinstance(decay, bool) or not isinstance(decay, int | float) or not 0.0 < decay < 1.0:
            raise ValueError(f"decay must be in (0, 1), got {decay!r}")
        self.decay = float(decay)
        self.initial = float(initial)
        self.values: dict[tuple[str, str], float] = {}
        self.counts: dict[tuple[str, str], int] = {}

    def update(self, env_id: str, role: str, ret: float) -> float:
        """Return the advantage ``ret - baseline`` against the baseline of ``(env_id, role)`` as
        it stands, then move the baseline toward ``ret``."""
        key = (env_id, role)
        r = float(ret)
        b = self.values.get(key, self.initial)
        self.values[key] = self.decay * b + (1.0 - self.decay) * r
        self.counts[key] = self.counts.get(key, 0) + 1
        return r - b

    def advantages(
        self, episodes: Iterable[tuple[str, Mapping[str, float]]]
    ) -> list[dict[str, float]]:
        """For each ``(env_id, {role: return})`` in order, return ``{role: advantage}`` (read
        before each baseline moves) and update the baselines of its roles."""
        return [
            {r: self.update(env_id, r, ret) for r, ret in rets.items()} for env_id, rets in episodes
        ]

    def get(self, env_id: str, role: str) -> float:
        return self.values.get((env_id, role), self.initial)

    def state_dict(self) -> dict[str, Any]:
        """A JSON-serializable state (for checkpoints)."""
        return {
            "decay": self.decay,
            "initial": self.initial,
            "values": [[e, r, v] for (e, r), v in sorted(self.values.items())],
            "counts": [[e, r, c] for (e, r), c in sorted(self.counts.items())],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.decay = float(state["decay"])
        self.initial = float(state["initial"])
        self.values = {(e, r): float(v) for e, r, v in state["values"]}
        self.counts = {(e, r): int(c) for e, r, c in state["counts"]}


def group_advantages(
    returns: Sequence[float],
    keys: Sequence[Hashable],
    *,
    scale: bool = True,
    eps: float = 1e-4,
) -> list[float]:
    """GRPO advantages: each return minus the mean of its group (samples with equal key),
    divided by the group's unbiased standard deviation plus ``eps`` when ``scale``."""
    if len(returns) != len(keys):
        raise ValueError(f"{len(returns)} returns but {len(keys)} keys")
    groups: dict[Hashable, list[int]] = {}
    for i, k in enumerate(keys):
        groups.setdefault(k, []).append(i)
    out = [0.0] * len(returns)
    for idx in groups.values():
        vals = [float(returns[i]) for i in idx]
        n = len(vals)
        if n < 2:
            continue  # nothing to compare with: no signal
        mean = sum(vals) / n
        std = math.sqrt(sum((v - mean) ** 2 for v in vals) / (n - 1))
        for i, v in zip(idx, vals, strict=True):
            out[i] = (v - mean) / (std + eps) if scale else v - mean
    return out
