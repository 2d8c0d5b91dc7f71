"""A TRL self-play run from a YAML config: ``spenv train-trl CONFIG`` (also under
``accelerate launch``).

The run: the supervised format warm-up of :mod:`spenv.agents.train` (its ``Trainer.warmup``, on
the moves of a uniformly random legal player: format only, no strategy), the warmed model saved
as the starting point (TRL builds its KL reference from the same folder), then TRL's
``GRPOTrainer`` with :class:`~spenv.integrations.trl.SelfPlayRollout` as its ``rollout_func``,
and for Kuhn poker the learned policy's exploitability after the warm-up and at the end. The
main process writes ``result.json`` (and TRL its ``trl/`` folder) in the run folder.

Config sections (see ``spenv/integrations/recipes/``): ``envs``, ``model`` and ``warmup`` as in
:mod:`spenv.agents.train.config`; ``rollout`` (:class:`RolloutSettings`), ``advantage``
(:class:`AdvantageSettings`), ``opponent`` (:class:`OpponentSettings`), ``eval``
(:class:`EvalSettings`), and ``grpo``: keyword arguments of TRL's ``GRPOConfig`` as they are
(``max_steps``, ``num_generations``, ``per_device_train_batch_size``, ``learning_rate``,
``beta``, ``temperature``, ``max_completion_length``, ``use_vllm``, ``vllm_mode``...).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spenv.agents.train.config import (
    ConfigError,
    EnvConfig,
    ModelConfig,
    WarmupConfig,
    from_dict,
)
from spenv.integrations import RECIPES


@dataclass
class RolloutSettings:
    """How the learner plays."""

    prompt_style: str = "plain"
    """``plain``, ``system``, ``reasoning`` or ``bare`` (:mod:`spenv.agents.prompting`)."""
    batch_size: int = 256
    """Most games live at once (the most decisions in one generation call)."""
    backend: str = "auto"
    """``auto`` (TRL's vLLM engine when ``grpo.use_vllm``), ``hf`` or ``vllm``."""


@dataclass
class AdvantageSettings:
    estimator: str = "group"
    """``group``: per-prompt groups normalised by TRL; ``rae``: spenv's per (env, role) EMA
    baselines, trained on as they are (:class:`~spenv.integrations.trl.SpenvGRPOTrainer`)."""
    decay: float = 0.95
    """The RAE baselines' EMA coefficient."""


@dataclass
class OpponentSettings:
    agent: str | None = None
    """A fixed opponent (agent spec: ``random``, ``nash``...); none: pure self-play."""
    fraction: float = 0.0
    """Share of the games of two-seat envs played against it."""


@dataclass
class EvalSettings:
    agent_metrics: bool = True
    """Take the games' declared measurements of the policy (their registry entries'
    ``agent_metrics``; Kuhn poker: exploitability) after the warm-up and at the end, for the
    envs trained with default options."""
    policy_samples: int = 200
    """Answers sampled per question for those measurements (Kuhn: per information set)."""


@dataclass
class TRLRunConfig:
    """A self-play run through TRL's GRPOTrainer."""

    envs: list[EnvConfig] = field(default_factory=list)
    model: ModelConfig = field(default_factory=ModelConfig)
    warmup: WarmupConfig = field(default_factory=WarmupConfig)
    rollout: RolloutSettings = field(default_factory=RolloutSettings)
    advantage: AdvantageSettings = field(default_factory=AdvantageSettings)
    opponent: OpponentSettings = field(default_factory=OpponentSettings)
    eval: EvalSettings = field(default_factory=EvalSettings)
    grpo: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of ``trl.GRPOConfig``."""
    seed: int = 0
    out: str = "runs/trl"
    threads: int | None = None
    """``torch.set_num_threads`` in each process (None: torch's default)."""

    def validate(self) -> TRLRunConfig:
        def check(ok: bool, msg: str) -> None:
            if not ok:
                raise ConfigError(msg)

        check(bool(self.envs), "envs: at least one env is needed")
        m = self.model
        check((m.path is None) != (m.tiny is None), "model: set exactly one of path and tiny")
        check(self.advantage.estimator in ("group", "rae"), "advantage.estimator: group or rae")
        check(0 <= self.advantage.decay < 1, "advantage.decay must be in [0, 1)")
        check(self.rollout.backend in ("auto", "hf", "vllm"), "rollout.backend: auto, hf or vllm")
        check(self.rollout.batch_size >= 1, "rollout.batch_size must be at least 1")
        check(0 <= self.opponent.fraction <= 1, "opponent.fraction must be in [0, 1]")
        check(
            self.opponent.fraction == 0 or bool(self.opponent.agent),
            "opponent.fraction > 0 needs opponent.agent",
        )
        check(self.eval.policy_samples >= 1, "eval.policy_samples must be at least 1")
        reserved = {"output_dir", "seed"} & set(self.grpo)
        check(not reserved, f"grpo: {', '.join(sorted(reserved))} come from out and seed")
        return self


def load_trl_config(source: str | Path | Mapping[str, Any], **overrides: Any) -> TRLRunConfig:
    """A validated :class:`TRLRunConfig` from a YAML file, a shipped recipe name
    (``kuhn_trl_cpu``) or a mapping; ``overrides`` replace top-level fields."""
    import yaml

    if isinstance(source, Mapping):
        data = dict(source)
    else:
        p = Path(source)
        if not p.exists() and (RECIPES / f"{source}.yaml").exists():
            p = RECIPES / f"{source}.yaml"
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read config {p}: {exc}") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"config is not valid YAML: {exc}") from exc
        if not isinstance(data, Mapping):
            raise ConfigError("config must be a YAML mapping")
        data = dict(data)
    data.update({k: v for k, v in overrides.items() if v is not None})
    return from_dict(TRLRunConfig, data).validate()


def agent_metrics(
    model: Any, tokenizer: Any, cfg: TRLRunConfig, env_ids: list[str], seed: int
) -> dict[str, dict[str, float]]:
    """The model's policy measured by each game's declared ``agent_metrics``, sampled as the
    rollouts sample: ``{env id: {metric: value}}``."""
    import torch

    from spenv import registry
    from spenv.agents.hf import HFAgent

    g = cfg.grpo
    agent = HFAgent(
        model=model,
        tokenizer=tokenizer,
        max_new_tokens=int(g.get("max_completion_length", 3)),
        temperature=float(g.get("temperature", 1.0)),
        prompt_style=cfg.rollout.prompt_style,
        seed=seed,
    )
    out: dict[str, dict[str, float]] = {}
    with torch.no_grad():
        for env_id in env_ids:
            spec = registry.spec(env_id)
            reports = spec.measure_agent(agent, seed=seed, samples=cfg.eval.policy_samples)
            out[spec.id] = {key: float(rep["value"]) for key, rep in reports.items()}
    return out


def _warm_up(cfg: TRLRunConfig, folder: Path, quiet: bool) -> tuple[Any, Any, list[dict]]:
    """Build the model and run spenv's format warm-up; returns (model, tokenizer, log)."""
    from spenv.agents.train import Trainer, load_config

    g = cfg.grpo
    wcfg = load_config(
        {
            "seed": cfg.seed,
            "steps": 0,
            "envs": [dataclasses.asdict(e) for e in cfg.envs],
            # The warm-up trains all weights; LoRA adapters (if any) come with GRPO.
            "model": {**dataclasses.asdict(cfg.model), "lora": None},
            "warmup": dataclasses.asdict(cfg.warmup),
            "generation": {
                "prompt_style": cfg.rollout.prompt_style,
                "max_new_tokens": int(g.get("max_completion_length", 256)),
                "batch_size": cfg.rollout.batch_size,
            },
            "loss": {"beta": 0.0},
            "eval": {"every": 0},
            "micro_batch_size": int(g.get("per_device_train_batch_size", 64)),
            "learning_rate": float(g.get("learning_rate", 1e-6)),
            "tensorboard": False,
            "threads": cfg.threads,
            "out": str(folder),
        }
    )
    warm = Trainer(wcfg, quiet=quiet)
    rows = warm.warmup()
    return warm.model, warm.tokenizer, rows


def train(cfg: TRLRunConfig, *, quiet: bool = False) -> dict[str, Any]:
    """Run ``cfg`` (warm-up, GRPOTrainer, evaluation); returns the main process's result."""
    import torch
    from accelerate import PartialState
    from trl import GRPOConfig, GRPOTrainer

    from spenv.integrations.trl import (
        SelfPlayRollout,
        decision_return,
        env_dataset,
        spenv_advantage,
        spenv_trainer_class,
    )

    state = PartialState(cpu=bool(cfg.grpo.get("use_cpu", False)))
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    # The main process warms up and saves the starting model (transformers writes weights from
    # the main process only); the others wait for it and load it, like TRL's reference model.
    start = out / "warmup" / "model"
    from spenv import registry

    measured = (
        [e.id for e in cfg.envs if not e.options and registry.spec(e.id).agent_metrics]
        if cfg.eval.agent_metrics
        else []
    )
    result: dict[str, Any] = {}
    if state.is_main_process:
        model, tokenizer, warm_log = _warm_up(cfg, out / "warmup", quiet)
        model.save_pretrained(start)
        tokenizer.save_pretrained(start)
        result["warmup"] = warm_log[-1] if warm_log else None
        del model
    state.wait_for_everyone()
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(start))
    t1 = time.perf_counter()

    g = dict(cfg.grpo)
    g.setdefault("report_to", [])
    g.setdefault("save_strategy", "no")
    g.setdefault("logging_steps", 1)
    g.setdefault("disable_tqdm", True)
    if cfg.model.dtype != "float32":
        g.setdefault("model_init_kwargs", {"dtype": cfg.model.dtype})
    args = GRPOConfig(output_dir=str(out / "trl"), seed=cfg.seed, **g)
    rollout = SelfPlayRollout(
        cfg.envs,
        estimator=cfg.advantage.estimator,
        decay=cfg.advantage.decay,
        opponent=cfg.opponent.agent,
        opponent_fraction=cfg.opponent.fraction,
        prompt_style=cfg.rollout.prompt_style,
        batch_size=cfg.rollout.batch_size,
        backend=cfg.rollout.backend,
        seed=cfg.seed,
    )
    rows = max(64, args.generation_batch_size * state.num_processes)
    dataset = env_dataset(cfg.envs, rows, [e.weight for e in cfg.envs])
    rae = cfg.advantage.estimator == "rae"
    cls = spenv_trainer_class() if rae else GRPOTrainer
    peft_config = None
    if cfg.model.lora is not None:
        from peft import LoraConfig

        lo = cfg.model.lora
        peft_config = LoraConfig(
            r=lo.r,
            lora_alpha=lo.alpha,
            lora_dropout=lo.dropout,
            target_modules=lo.target_modules,
            task_type="CAUSAL_LM",
        )
    trainer = cls(
        model=str(start),
        reward_funcs=[spenv_advantage if rae else decision_return],
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        rollout_func=rollout,
        peft_config=peft_config,
    )
    policy = trainer.accelerator.unwrap_model(trainer.model)
    if measured and state.is_main_process:
        # Measured on the trainer's own model before and after, the same way both times.
        result["metrics_after_warmup"] = agent_metrics(
            policy, tokenizer, cfg, measured, cfg.seed + 11
        )
    trainer.train()
    t2 = time.perf_counter()
    if state.is_main_process:
        if measured:
            result["metrics_final"] = agent_metrics(policy, tokenizer, cfg, measured, cfg.seed + 13)
        result.update(
            {
                "steps": int(trainer.state.global_step),
                "processes": int(state.num_processes),
                "warmup_seconds": t1 - t0,
                "train_seconds": t2 - t1,
                "log": trainer.state.log_history,
                "config": dataclasses.asdict(cfg),
            }
        )
        (out / "result.json").write_text(json.dumps(result, indent=1, default=str), "utf-8")
        if not quiet:
            keys = ("exploitability_after_warmup", "exploitability_final", "steps")
            print(json.dumps({k: result[k] for k in keys if k in result}), flush=True)
    state.wait_for_everyone()
    return result


# ---------------------------------------------------------------------------- CLI
def cmd_train_trl(args: argparse.Namespace) -> int:
    try:
        cfg = load_trl_config(args.config, out=args.out)
        if args.max_steps is not None:
            cfg.grpo["max_steps"] = args.max_steps
    except ConfigError as exc:
        print(f"spenv train-trl: {exc}", flush=True)
        return 2
    train(cfg, quiet=args.quiet)
    return end_distributed_process(0)


def end_distributed_process(rc: int) -> int:
    """End a process that joined a ``torch.distributed`` group, once its results are written.

    Left to the interpreter's exit, such a process sometimes dies of SIGABRT after its work is
    done: a gloo worker thread frees the last collective's tensors, which takes the GIL, while
    the interpreter is finalizing, and the thread's forced exit unwinds through C++ code that
    must not throw ("terminate called without an active exception"; about 1 run in 10 of two
    CPU processes under load). ``destroy_process_group`` narrows the window but does not close
    it. So, with every process past one last barrier, this flushes the standard streams and
    leaves with ``os._exit``, skipping finalization. Outside a process group it only returns
    ``rc``.
    """
    import logging
    import os
    import sys

    try:
        import torch.distributed as dist
    except ImportError:
        return rc
    if not (dist.is_available() and dist.is_initialized()):
        return rc
    dist.barrier()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(rc)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``spenv train-trl`` (called by :func:`spenv.apps.cli.build_parser`)."""
    p = sub.add_parser(
        "train-trl",
        help="self-play training through TRL's GRPOTrainer (works under accelerate launch)",
        description=(
            "Run a TRL self-play config (a file, or a shipped recipe name: kuhn_trl_cpu, "
            "search_trl_cpu). Under several processes: accelerate launch --multi_gpu "
            "--num_processes 2 -m spenv train-trl CONFIG (grpo.use_cpu: true makes them gloo "
            "processes on the CPU)"
        ),
    )
    p.add_argument("config", help="YAML config file or shipped recipe name")
    p.add_argument("--max-steps", type=int, default=None, help="override grpo.max_steps")
    p.add_argument("--out", default=None, help="run folder (overrides the config's out)")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=cmd_train_trl)
