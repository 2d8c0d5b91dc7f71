"""Bridges from spenv games to existing training engines.

- :mod:`spenv.integrations.trl`: self-play games as the ``rollout_func`` of TRL's
  ``GRPOTrainer`` (accelerate, DeepSpeed ZeRO, FSDP, vLLM colocate or server mode), spenv's
  advantages as reward fields, and :func:`spenv.integrations.trl_train.train` behind
  ``spenv train-trl CONFIG``.

Importing this package is light; TRL, torch and transformers load when a run starts.
"""

from __future__ import annotations

from pathlib import Path

#: The folder of the shipped TRL recipes (``kuhn_trl_cpu.yaml``, ``search_trl_cpu.yaml``).
RECIPES = Path(__file__).resolve().parent / "recipes"

__all__ = ["RECIPES"]
