"""Trainers: self-play on two-player games and proposer–solver games.

- :mod:`~spenv.agents.train.config`: :class:`TrainConfig` and its sections (dataclasses with
  documented fields), :func:`load_config` from YAML.
- :mod:`~spenv.agents.train.loss`: the clipped policy loss (``grpo``, ``dr_grpo``, ``bnpo``,
  clip-higher, k3 KL).
- :mod:`~spenv.agents.train.advantages`: role-conditioned EMA baselines (RAE) and GRPO groups.
- :mod:`~spenv.agents.train.algorithms`: expert iteration, filtered behaviour cloning, SPAG's
  objective, majority-vote pseudo-labels, the judge role.
- :mod:`~spenv.agents.train.export`: checkpoints as models (``hf:CHECKPOINT``, ``spenv train
  export``); :mod:`~spenv.agents.train.dataset`: ``spenv episodes export``.
- :mod:`~spenv.agents.train.trainer`: :class:`Trainer` (rollouts, samples, updates, evaluation,
  checkpoints); ``spenv train CONFIG`` runs it (:mod:`~spenv.agents.train.cli`).
- ``recipes/``: shipped configs (a CPU learning run on Kuhn poker, GPU recipes).

Importing this package is light; torch and transformers load when a trainer is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spenv.agents.train.advantages import RoleBaselines, group_advantages
from spenv.agents.train.config import ConfigError, TrainConfig, load_config

#: The folder of the shipped recipes (``kuhn_cpu.yaml``, the GPU recipes).
RECIPES = Path(__file__).resolve().parent / "recipes"


def __getattr__(name: str) -> Any:
    if name == "Trainer":
        from spenv.agents.train.trainer import Trainer

        return Trainer
    raise AttributeError(name)


__all__ = [
    "RECIPES",
    "ConfigError",
    "RoleBaselines",
    "TrainConfig",
    "Trainer",
    "group_advantages",
    "load_config",
]
