"""What per-game random streams cost the rollout engine.

Scripted agents named by spec (``"nash"``, ``"random"``) draw, in each game, from a stream of
that game (so batching and sharding never change an episode; see ``spenv.rollout``). The peer is
the same run with the same agents passed as objects, which keep one stream each. Each round plays
``GAMES`` Kuhn poker games both ways (the order alternating), so machine noise hits both alike;
the summary prints the ratio paired per round (median and min-max).
"""

from __future__ import annotations

from typing import Any

from perfkit import ROUNDS, paired_rounds, record_ratio

from spenv.agents import make_agent
from spenv.rollout import Runner

ENV = "KuhnPoker-v1"
GAMES = 2000


def _play(agents: list[Any], seed: int) -> int:
    n = sum(1 for _ in Runner(ENV, agents, games=GAMES, seed=seed))
    assert n == GAMES
    return n


def test_per_game_streams_against_one_stream(benchmark: Any) -> None:
    def streams(r: int) -> int:
        return _play(["nash", "random"], seed=1_000_000 + r * GAMES)

    def one(r: int) -> int:
        objects = [make_agent("nash", ENV, seed=0), make_agent("random", ENV, seed=1)]
        return _play(objects, seed=2_000_000 + r * GAMES)

    rates: dict[str, list[float]] = {}

    def run() -> None:
        rates.update(paired_rounds({"per-game streams": streams, "one stream": one}, ROUNDS))

    benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info.update({f"{k} games/s": v for k, v in rates.items()})
    record_ratio(
        benchmark,
        f"Runner {ENV} nash vs random, per-game streams / one stream (games/s)",
        rates["per-game streams"],
        rates["one stream"],
    )
