"""``spenv train CONFIG``: run a GRPO training config (see :mod:`spenv.agents.train`).

Options: ``--max-steps N`` (stop after N more steps; the config's ``steps`` stays the schedule),
``--resume`` (continue from the latest checkpoint in the run folder, or ``--resume PATH``),
``--out DIR`` (the run folder, overriding the config's ``out``). A shipped recipe can be named
without its path: ``spenv train kuhn_cpu``.

``spenv train export CHECKPOINT OUT`` writes a checkpoint (full weights or LoRA, merged) as a
Hugging Face folder; a checkpoint folder also plays as is: ``hf:RUN/checkpoints/step-N``.
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


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def cmd_export(args: argparse.Namespace) -> int:
    if len(args.rest) != 2:
        print("spenv train export: usage: spenv train export CHECKPOINT OUT", file=sys.stderr)
        return 2
    from spenv.agents.train.config import ConfigError
    from spenv.agents.train.export import export_checkpoint

    ckpt, out = args.rest
    try:
        target = export_checkpoint(ckpt, out)
    except (FileNotFoundError, ConfigError, KeyError) as exc:
        print(f"spenv train export: {exc}", file=sys.stderr)
        return 2
    print(f"exported {ckpt} to {target} (load it as hf:{target})")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from spenv.agents.train.config import ConfigError, load_config

    if args.config == "export":
        return cmd_export(args)
    if args.rest:
        print(f"spenv train: unexpected arguments {args.rest}", file=sys.stderr)
        return 2
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
    except (FileNotFoundError, FileExistsError, ConfigError) as exc:
        print(f"spenv train: {exc}", file=sys.stderr)
        return 2
    trainer.train(max_steps=args.max_steps)
    print(f"run folder: {trainer.out} (step {trainer.step} of {cfg.steps})")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``spenv train`` (called by :func:`spenv.apps.cli.build_parser`)."""
    p = sub.add_parser(
        "train",
        help="GRPO self-play training from a YAML config",
        description="Run a training config (a file, or a shipped recipe name: kuhn_cpu); "
        "'spenv train export CHECKPOINT OUT' writes a checkpoint as a Hugging Face folder.",
    )
    p.add_argument("config", help="YAML config file or shipped recipe name (or: export)")
    p.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    p.add_argument(
        "--max-steps", type=_positive, default=None, help="stop after this many more steps (>= 1)"
    )
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
