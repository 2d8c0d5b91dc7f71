"""Small statistics for game results: Wilson intervals, mean intervals, per-agent tables."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from spenv.episode import Episode

Z95 = 1.959963984540054


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float, float]:
    """The rate ``k/n`` with its Wilson score interval (``(nan, 0, 1)`` when ``n == 0``)."""
    if n <= 0:
        return math.nan, 0.0, 1.0
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return p, max(0.0, centre - half), min(1.0, centre + half)


def mean_ci(values: Sequence[float], z: float = Z95) -> tuple[float, float, float]:
    """The mean with a normal-approximation interval (``z`` standard errors either side)."""
    n = len(values)
    if n == 0:
        return math.nan, math.nan, math.nan
    m = sum(values) / n
    if n == 1:
        return m, math.nan, math.nan
    var = sum((v - m) ** 2 for v in values) / (n - 1)
    half = z * math.sqrt(var / n)
    return m, m - half, m + half


@dataclass
class Record:
    """Results of one agent (optionally in one seat)."""

    agent: str
    seat: str = "all"
    outcomes: dict[str, int] = field(default_factory=dict)
    rewards: list[float] = field(default_factory=list)

    @property
    def games(self) -> int:
        return len(self.rewards)

    def rate(self, outcome: str) -> tuple[float, float, float]:
        return wilson(self.outcomes.get(outcome, 0), self.games)

    def mean_reward(self) -> tuple[float, float, float]:
        return mean_ci(self.rewards)

    def add(self, outcome: str, reward: float) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        self.rewards.append(reward)


class ResultTable:
    """Win/draw/loss/invalid counts and rewards per agent, overall and per seat.

    Every episode counts, whatever its outcome: invalid moves, truncations and errors are
    tallied as what they are, never dropped.
    """

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], Record] = {}
        self.episodes = 0

    def add(self, episode: Episode) -> None:
        self.episodes += 1
        for seat in episode.agents:
            label = episode.players.get(seat, seat)
            outcome = episode.outcomes.get(seat) or (
                "error" if episode.status == "error" else "truncated"
            )
            reward = float(episode.rewards.get(seat, 0.0))
            for key in ((label, "all"), (label, seat)):
                rec = self.records.get(key)
                if rec is None:
                    rec = self.records[key] = Record(agent=key[0], seat=key[1])
                rec.add(outcome, reward)

    def extend(self, episodes: Iterable[Episode]) -> ResultTable:
        for ep in episodes:
            self.add(ep)
        return self

    def agents(self) -> list[str]:
        return sorted({a for a, _ in self.records})

    def rows(self) -> list[Record]:
        """Overall rows first for each agent, then its per-seat rows."""
        out = []
        for agent in self.agents():
            out.append(self.records[(agent, "all")])
            out.extend(
                rec for (a, s), rec in sorted(self.records.items()) if a == agent and s != "all"
            )
        return out

    def to_dict(self) -> list[dict]:
        rows = []
        for rec in self.rows():
            mean, lo, hi = rec.mean_reward()
            row = {
                "agent": rec.agent,
                "seat": rec.seat,
                "games": rec.games,
                "mean_reward": mean,
                "mean_reward_ci": [lo, hi],
            }
            for outcome in ("win", "draw", "loss", "invalid", "truncated", "error"):
                p, lo, hi = rec.rate(outcome)
                row[outcome] = rec.outcomes.get(outcome, 0)
                row[f"{outcome}_rate"] = p
                row[f"{outcome}_rate_ci"] = [lo, hi]
            rows.append(row)
        return rows
