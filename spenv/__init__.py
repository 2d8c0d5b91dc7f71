"""spenv: multi-agent text environments for language-model self-play.

The core API::

    import spenv
    env = spenv.make("KuhnPoker-v1")           # a PettingZoo AEC env
    episode = spenv.play("KuhnPoker-v1", ["nash", "random"], seed=0)
    spenv.replay(episode)                      # re-runs it and checks it is reproduced

``import spenv`` is light: games, agents and the rollout engine load on first use.
"""

from __future__ import annotations

from typing import Any

from spenv._version import __version__
from spenv.registry import list_envs, make, register, spec, specs

_LAZY = {
    "TextEnv": "spenv.env",
    "AgentFailure": "spenv.env",
    "Observation": "spenv.observation",
    "Episode": "spenv.episode",
    "Turn": "spenv.episode",
    "read_episodes": "spenv.episode",
    "write_episodes": "spenv.episode",
    "play": "spenv.rollout",
    "run_games": "spenv.rollout",
    "Runner": "spenv.rollout",
    "replay": "spenv.rollout",
    "ReplayMismatch": "spenv.rollout",
    "make_agent": "spenv.agents",
    "RandomAgent": "spenv.agents",
}

__all__ = ["__version__", "list_envs", "make", "register", "spec", "specs", *_LAZY]


#: Submodules reachable as attributes after a bare ``import spenv`` (``spenv.wrappers...``).
_SUBMODULES = ("wrappers", "games", "agents", "verifiers", "benchmarks", "leaderboard")


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"spenv.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'spenv' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
