"""Helpers the game tests share, as fixtures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


def finish_game(env: Any) -> dict[str, float]:
    """Run the AEC dead steps of a finished game; each agent's cumulative reward as ``last()``
    reports it. Every agent must be terminated or truncated, and none may be left after."""
    rewards = {}
    for agent in env.agent_iter():
        _, reward, termination, truncation, _ = env.last()
        assert termination or truncation, f"{agent} is still playing"
        rewards[agent] = reward
        env.step(None)
    assert env.agents == []
    return rewards


@pytest.fixture
def finish() -> Callable[[Any], dict[str, float]]:
    """:func:`finish_game`: the rewards ``last()`` reports once a game is over."""
    return finish_game
