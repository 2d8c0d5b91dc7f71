"""What per-game random streams cost the rollout engine.

Scripted agents named by spec (``"nash"``, ``"random"``) draw, in each game, from a stream of
that game (so batching and sharding never change an episode; see ``spenv.rollout``). The peer is
the same run with the same agents passed as objects, which keep one stream each. Each round plays
``GAMES`` Kuhn poker games both ways, one after the other, so machine noise hits both alike; the
summary prints games/second and the ratio of the best rounds.
"""

from __future__ import annotations

import time
from typing import Any

from perfkit import NOTES, ROUNDS

from spenv.agents import make_agent
from spenv.rollout import Runner

ENV = "KuhnPoker-v1"
GAMES = 2000


def _play(agents: list[Any]) -> float:
    t0 = time.perf_counter()
    n = sum(1 for _ in Runner(ENV, agents, games=GAMES, seed=0))
    assert n == GAMES
    return time.perf_counter() - t0


def test_per_game_streams_against_one_stream(benchmark: Any) -> None:
    times: dict[str, list[float]] = {"per-game streams": [], "one stream": []}

    def one_round() -> None:
        times["per-game streams"].append(_play(["nash", "random"]))
        objects = [make_agent("nash", ENV, seed=0), make_agent("random", ENV, seed=1)]
        times["one stream"].append(_play(objects))

    benchmark.pedantic(one_round, rounds=ROUNDS, warmup_rounds=1, iterations=1)
    best = {k: GAMES / min(v[-ROUNDS:]) for k, v in times.items()}
    ratio = best["per-game streams"] / best["one stream"]
    benchmark.extra_info.update({f"{k} games/s (best round)": v for k, v in best.items()})
    benchmark.extra_info["ratio"] = ratio
    NOTES.append(
        f"Runner, {ENV} nash vs random: per-game streams {best['per-game streams']:,.0f} games/s,"
        f" one stream {best['one stream']:,.0f} games/s (best rounds): {ratio:.2f}x"
    )
