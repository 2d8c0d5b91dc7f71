"""``spenv train CONFIG``: run a GRPO training config (see :mod:`spenv.agents.train`).

Options: ``--max-steps N`` (stop after N more steps; the config's ``steps`` stays the schedule),
``--resume`` (continue from the latest checkpoint in the run folder, or ``--resume PATH``),
``--out DIR`` (the run folder, overriding the config's ``out``). A shipped recipe can be named
without its path: ``spenv train kuhn_cpu``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _recipe(name: str) -> Path:
    p = Path(name)
    if p.exists():
        return p
    from spenv.agents.train import RECIPES

    for cand in (RECIPES / name, RECIPES / f"{name}.yaml"):
        if cand.exists():
            return cand
    return p


def cmd_train(args: argparse.Namespace) -> int:
    from spenv.agents.train.config import ConfigError, load_config

    path = _recipe(args.config)
    try:
        cfg = load_config(path, out=args.out)
    except ConfigError as exc:
        print(f"spenv train: {exc}", file=sys.stderr)
        return 2
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as exc:
        print(
            f"spenv train needs the train extra (pip install 'spenv[train]'): {exc}",
            file=sys.stderr,
        )
        return 2
    from spenv.agents.train.trainer import Trainer

    resume: bool | str = False
    if args.resume is not None:
        resume = True if args.resume == "latest" else args.resume
    try:
        trainer = Trainer(cfg, resume=resume)
    except FileNotFoundError as exc:
        print(f"spenv train: {exc}", file=sys.stderr)
        return 2
    trainer.train(max_steps=args.max_steps)
    print(f"run folder: {trainer.out} (step {trainer.step} of {cfg.steps})")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``spenv train`` (called by :func:`spenv.cli.build_parser`)."""
    p = sub.add_parser(
        "train",
        help="GRPO self-play training from a YAML config",
        description="Run a GRPO training config (a file, or a shipped recipe name: kuhn_cpu).",
    )
    p.add_argument("config", help="YAML config file or shipped recipe name")
    p.add_argument("--max-steps", type=int, default=None, help="stop after this many more steps")
    p.add_argument(
        "--resume",
        nargs="?",
        const="latest",
        default=None,
        metavar="CHECKPOINT",
        help="continue from the latest checkpoint of the run folder (or the one given)",
    )
    p.add_argument("--out", default=None, help="run folder (overrides the config's out)")
    p.set_defaults(func=cmd_train)
