"""Trainer checkpoints as models: load one (full weights or LoRA adapters) and export it as a
plain Hugging Face folder.

A checkpoint folder (``RUN/checkpoints/step-NNNNNNNN/``) holds the trained weights
(``weights.pt``: every weight, or only the LoRA adapters), the run's ``config.yaml`` and
``state.json`` (the step and the model the run started from). :func:`load_checkpoint` rebuilds
the model from those (LoRA adapters merged into the base weights), so ``hf:CHECKPOINT`` plays as
an agent; :func:`export_checkpoint` writes it with ``save_pretrained`` (``spenv train export
CKPT OUT``) for any tool that reads Hugging Face folders.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def is_checkpoint(path: str | Path) -> bool:
    """Whether ``path`` is a trainer checkpoint folder."""
    p = Path(path)
    return (p / "state.json").is_file() and (p / "weights.pt").is_file()


def _checkpoint_config(path: Path) -> Any:
    from spenv.agents.train.config import load_config

    for cand in (path / "config.yaml", path.parent.parent / "config.yaml"):
        if cand.is_file():
            return load_config(cand)
    raise FileNotFoundError(f"{path}: no config.yaml in the checkpoint or its run folder")


def _source(path: Path, state: dict[str, Any]) -> str:
    """The folder (or hub id) the run's model was loaded from; a tiny model's ``init_model``
    is looked for in the run folder when the recorded path has moved."""
    source = str(state.get("source", ""))
    if source and Path(source).exists():
        return source
    local = path.parent.parent / "init_model"
    if (local / "config.json").is_file():
        return str(local)
    if source:
        return source
    raise FileNotFoundError(f"{path}: state.json names no source model")


def load_checkpoint(
    path: str | Path, device: str = "cpu", dtype: str | None = None
) -> tuple[Any, Any]:
    """``(model, tokenizer)`` of a trainer checkpoint, ready for inference (LoRA merged)."""
    import dataclasses

    import torch

    from spenv.agents.train.policy import load_model, load_trainable_state

    p = Path(path)
    if not is_checkpoint(p):
        raise FileNotFoundError(f"{p} is not a trainer checkpoint (state.json and weights.pt)")
    state = json.loads((p / "state.json").read_text(encoding="utf-8"))
    cfg = _checkpoint_config(p)
    model_cfg = cfg.model if dtype is None else dataclasses.replace(cfg.model, dtype=dtype)
    model_cfg = dataclasses.replace(model_cfg, gradient_checkpointing=False)
    model, tokenizer = load_model(model_cfg, _source(p, state), device)
    load_trainable_state(model, torch.load(p / "weights.pt", weights_only=True))
    if model_cfg.lora is not None:
        model = model.merge_and_unload()
    model.eval()
    return model, tokenizer


def export_checkpoint(path: str | Path, out: str | Path, dtype: str | None = None) -> Path:
    """Write the checkpoint as a Hugging Face folder (``config.json``, safetensors weights,
    tokenizer) at ``out``; returns ``out``."""
    model, tokenizer = load_checkpoint(path, "cpu", dtype)
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(target)
    tokenizer.padding_side = "left"
    tokenizer.save_pretrained(target)
    state = json.loads((Path(path) / "state.json").read_text(encoding="utf-8"))
    note = {"checkpoint": str(Path(path).resolve()), "step": state.get("step")}
    (target / "spenv_checkpoint.json").write_text(json.dumps(note, indent=1), encoding="utf-8")
    return target
