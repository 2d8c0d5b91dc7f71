"""Every registered game through ``run_games`` with its default reference agents: decisions/s.

No peer: this reports what each game costs the engine with its own scripted agents (Kuhn poker
and TicTacToe, which have peers, are in ``test_engine_goals.py`` as well). Each game plays
two batches of 8 games, then enough games to fill about ``SECONDS`` (at most ``MAX_GAMES``),
with fresh per-game seeds; the rate is of that second run. Games whose reference agents call a
verifier (Coq for ConjectureProve, the code sandbox for CodeAndTest) spend most of their time in
it. (A first batch of 8 warms imports and caches; a second one times a game.)
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from perfkit import NOTES

import spenv
from spenv.rollout import run_games

SECONDS = 3.0
MAX_GAMES = 4000


@pytest.mark.parametrize("env_id", spenv.list_envs())
def test_run_games_rate(benchmark: Any, env_id: str) -> None:
    agents = list(spenv.spec(env_id).default_agents)
    first = run_games(env_id, agents, games=8, seed=0)  # imports, lazy tables, verifiers
    t0 = time.perf_counter()
    first += run_games(env_id, agents, games=8, seed=100)
    per_game = (time.perf_counter() - t0) / 8
    games = max(8, min(MAX_GAMES, int(SECONDS / max(per_game, 1e-6))))
    result: dict[str, Any] = {}

    def run() -> None:
        t = time.perf_counter()
        eps = run_games(env_id, agents, games=games, seed=1_000_000)
        result["seconds"] = time.perf_counter() - t
        result["episodes"] = eps

    benchmark.pedantic(run, rounds=1, iterations=1)
    eps = result["episodes"]
    decisions = sum(len(e.turns) for e in eps)
    statuses = sorted({e.status for e in eps + first})
    rate = decisions / result["seconds"]
    benchmark.extra_info.update(
        {"games": games, "decisions": decisions, "decisions_per_s": rate, "statuses": statuses}
    )
    NOTES.append(
        f"run_games {env_id} {' vs '.join(agents)}: {rate:,.0f} decisions/s, "
        f"{games / result['seconds']:,.1f} games/s ({games} games, "
        f"{decisions / games:.1f} decisions a game; statuses {', '.join(statuses)})"
    )
