"""What ``run_games``' freeze of the records it keeps saves, counting the work it may defer.

``run_games`` of scripted agents hands the records kept so far to ``gc.freeze()`` every 256
games and unfreezes them at the end (:func:`spenv.rollout.run_games`). Measured in one process
beside other contenders, a change to the collector's state could look like a saving while it
only moved a full collection into the next contender's round. So each side runs in a fresh
process (``python THIS_FILE freeze|plain``) holding what the perf suite's process holds
(TextArena, OpenSpiel, pytest) and plays ``CALLS`` back-to-back runs of 2000 Kuhn poker games
with scripted ``random`` agents, keeping each run's records until the next run ends; its CPU
time covers the collections the earlier runs left behind. ``plain`` is the same run without the
freeze (the records collected by ``list(Runner(...))``, as ``run_games`` did before). The two
processes alternate (the order rotating), and the ratio is taken per round.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

GAMES = 2000
CALLS = 8


def _child(mode: str) -> None:
    import contextlib
    import time

    with contextlib.suppress(ImportError):  # the suite's process holds these
        import pyspiel  # noqa: F401
        import pytest  # noqa: F401
        import textarena  # noqa: F401

    from spenv.rollout import Runner, run_games

    def play(seed: int) -> list[Any]:
        if mode == "freeze":
            return run_games("KuhnPoker-v1", ["random", "random"], games=GAMES, seed=seed)
        episodes = list(Runner("KuhnPoker-v1", ["random", "random"], games=GAMES, seed=seed))
        episodes.sort(key=lambda e: e.metadata["game"])
        return episodes

    play(0)  # warm-up: first-use costs (imports, tables) are not the runner's
    held: list[Any] = []
    decisions = 0
    c0 = time.process_time()
    for k in range(CALLS):
        eps = play(1_000_000 * (k + 1))
        decisions += sum(len(e.turns) for e in eps)
        held = eps  # the previous run's records are released here
    cpu = time.process_time() - c0
    del held
    print(json.dumps({"decisions": decisions, "cpu": cpu}))


def _run(mode: str) -> float:
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), mode],
        capture_output=True, text=True, check=True, timeout=600,
    )  # fmt: skip
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return data["decisions"] / data["cpu"]


def test_run_games_freeze_against_plain_collection(benchmark: Any) -> None:
    from perfkit import NOTES, ROUNDS, record_ratio

    rounds = max(3, ROUNDS // 3)  # each round is two fresh processes of 8 runs
    rates: dict[str, list[float]] = {"freeze": [], "plain": []}

    def run() -> None:
        for r in range(rounds):
            order = ["freeze", "plain"] if r % 2 == 0 else ["plain", "freeze"]
            for mode in order:
                rates[mode].append(_run(mode))

    benchmark.pedantic(run, rounds=1, iterations=1)
    record_ratio(
        benchmark,
        "Kuhn run_games (freeze) / records kept without it, fresh processes (CPU time)",
        rates["freeze"],
        rates["plain"],
    )
    import statistics

    NOTES.append(
        "Kuhn run_games in fresh processes, decisions per CPU second (median round): "
        f"with the freeze {statistics.median(rates['freeze']):,.0f}, "
        f"without {statistics.median(rates['plain']):,.0f}"
    )


if __name__ == "__main__":
    _child(sys.argv[1])
