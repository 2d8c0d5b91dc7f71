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


# ----------------------------------------------------------------------------- paired rounds
#: (label, median ratio, min ratio, max ratio, goal or None, rounds) of every paired comparison.
PAIRED: list[tuple[str, float, float, float, float | None, int]] = []


def paired_rounds(
    contenders: dict[str, Callable[[int], float]],
    rounds: int = ROUNDS,
    warmup: int = 1,
    cpu: dict[str, list[float]] | None = None,
) -> dict[str, list[float]]:
    """Interleaved rounds: each round runs every contender once (the order rotates from round
    to round); ``play(round_index)`` does one round's work and returns its units (decisions,
    queries, ...). Returns each contender's rate (units per wall-clock second) per timed round,
    so ratios can be paired round by round: load that hits one round hits both sides of its
    ratio. With ``cpu``, the rates per second of this process's CPU time are put there too: on
    a machine shared with other work they leave out the time spent waiting for a core (every
    contender here runs in this one thread).

    Before each contender's round (untimed) a full ``gc.collect()`` leaves the collector as
    every other round finds it: no contender pays for the collections the objects of the one
    before it made due (which one did depended on the rotation, and swung a records-keeping
    contender between 0.4x and 2.2x of the same work), and each pays for its own."""
    import gc
    import time

    names = list(contenders)
    rates: dict[str, list[float]] = {n: [] for n in names}
    if cpu is not None:
        cpu.update({n: [] for n in names})
    for r in range(warmup + rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            gc.collect()
            c0 = time.process_time()
            t0 = time.perf_counter()
            units = contenders[name](r)
            dt = time.perf_counter() - t0
            dc = time.process_time() - c0
            if r >= warmup:
                rates[name].append(units / dt)
                if cpu is not None:
                    cpu[name].append(units / max(dc, 1e-9))
    return rates


def ratio_stats(num: list[float], den: list[float]) -> tuple[float, float, float]:
    """Median, min and max of the per-round ratios num[i] / den[i]."""
    import statistics

    ratios = [a / b for a, b in zip(num, den, strict=True)]
    return statistics.median(ratios), min(ratios), max(ratios)


def record_ratio(
    benchmark: Any, label: str, num: list[float], den: list[float], goal: float | None = None
) -> float:
    """Record a paired ratio for the summary (and ``extra_info``); returns the median."""
    med, lo, hi = ratio_stats(num, den)
    PAIRED.append((label, med, lo, hi, goal, len(num)))
    if benchmark is not None:
        benchmark.extra_info[f"ratio[{label}]"] = {"median": med, "min": lo, "max": hi}
    return med
