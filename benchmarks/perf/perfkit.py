"""Throughput bookkeeping for the perf suite (``conftest.py`` prints the summary).

Each throughput benchmark times a fixed number of games per round with pytest-benchmark, stores
the decisions it made per round in ``benchmark.extra_info`` and records decisions/second in
:data:`RESULTS`; at the end of the session the table and the spenv/peer ratios are printed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

#: Timed rounds per benchmark (each round plays ``kuhn_loops.GAMES`` games).
ROUNDS = int(os.environ.get("SPENV_PERF_ROUNDS", "15"))

#: name -> {"best": decisions/s of the fastest round, "mean": ... of the mean round, ...}
RESULTS: dict[str, dict[str, float]] = {}
#: Lines other benchmarks (memory) want printed in the summary.
NOTES: list[str] = []

#: (numerator, denominator) pairs printed as ratios when both were measured.
RATIOS = [
    ("spenv", "TextArena (default wrappers)"),
    ("spenv", "TextArena (raw)"),
    ("spenv", "OpenSpiel"),
    ("spenv", "bare PettingZoo AEC"),
    ("spenv (reseeded)", "TextArena (default wrappers)"),
    ("spenv (reseeded)", "OpenSpiel"),
    ("spenv (3-hand match)", "TextArena (default wrappers)"),
]


def run_throughput(
    benchmark: Any, name: str, play: Callable[[], int], *, games: int, rounds: int = ROUNDS
) -> None:
    """Time ``play`` (one round: ``games`` games, returning its decisions) and record the rate."""
    counts: list[int] = []

    def one_round() -> None:
        counts.append(play())

    benchmark.pedantic(one_round, rounds=rounds, warmup_rounds=1, iterations=1)
    timed = counts[-rounds:]
    per_round = sum(timed) / len(timed)
    benchmark.extra_info["games_per_round"] = games
    benchmark.extra_info["decisions_per_round"] = per_round
    stats = getattr(benchmark, "stats", None)
    if not stats:  # --benchmark-disable: the round ran once, untimed
        return
    best, mean = stats.stats.min, stats.stats.mean
    benchmark.extra_info["decisions_per_s_best"] = per_round / best
    benchmark.extra_info["decisions_per_s_mean"] = per_round / mean
    RESULTS[name] = {
        "best": per_round / best,
        "mean": per_round / mean,
        "decisions": per_round,
        "games": games,
    }
