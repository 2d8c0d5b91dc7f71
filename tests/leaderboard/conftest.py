"""Shared fixtures for the leaderboard tests: real games in a real match store."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

import spenv
from spenv.episode import Episode, write_episodes

#: Agent names that would run script if the page ever wrote them as markup.
HOSTILE_NAMES = (
    "<script>window.__pwned = 1</script>",
    '"><img src=x onerror="window.__pwned = 2">',
    "</script><script>window.__pwned = 3</script>",
    "<svg onload=window.__pwned=4>&amp;{{DATA}}\u2028",
)


def round_robin(env_id: str, agents: list[str], games: int, seed: int = 0) -> list[Episode]:
    """Every pair of ``agents`` plays ``games`` games of ``env_id`` (both seatings)."""
    eps: list[Episode] = []
    for i, (a, b) in enumerate(itertools.combinations(agents, 2)):
        eps += spenv.run_games(env_id, [a, b], games=games, seed=seed + 1000 * i)
    return eps


@pytest.fixture(scope="session")
def games_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A JSONL file of real Kuhn poker and TicTacToe round robins (1,440 games)."""
    path = tmp_path_factory.mktemp("games") / "episodes.jsonl"
    eps = round_robin("KuhnPoker-v1", ["nash", "random", "aggressive", "passive"], 200)
    eps += round_robin("TicTacToe-v1", ["minimax", "random"], 240)
    write_episodes(path, eps)
    return path


@pytest.fixture(scope="session")
def hostile_names() -> tuple[str, ...]:
    return HOSTILE_NAMES


@pytest.fixture(scope="session")
def hostile_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """TicTacToe games between agents with hostile names (real games, relabelled seats)."""
    path = tmp_path_factory.mktemp("hostile") / "episodes.jsonl"
    write_episodes(path, _hostile_episodes())
    return path


def _hostile_episodes(n: int = 20) -> list[Episode]:
    eps = []
    for i, (a, b) in enumerate(itertools.combinations(HOSTILE_NAMES, 2)):
        for ep in spenv.run_games("TicTacToe-v1", ["minimax", "random"], games=n, seed=i):
            ep.players = {
                seat: a if label == "minimax" else b for seat, label in ep.players.items()
            }
            eps.append(ep)
    return eps
