"""Training configuration: dataclasses with documented fields, loaded from YAML.

A config file mirrors :class:`TrainConfig`: top-level scalars plus the sections ``model``,
``generation``, ``loss``, ``advantage``, ``opponents``, ``eval`` and a list ``envs``. Unknown
keys are errors (a typo never silently falls back to a default); every value is checked when the
config is built, so a bad config fails before any model is loaded.

```yaml
seed: 0
steps: 100
games_per_step: 256
envs:
  - id: KuhnPoker-v1
model:
  tiny: {layers: 2, hidden_size: 64}
generation: {max_new_tokens: 3, temperature: 1.0, stop: ["]"]}
loss: {loss_type: grpo, epsilon: 0.2, beta: 0.0}
advantage: {estimator: rae, decay: 0.95}
```
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A training config is malformed; the message names the field."""


@dataclass
class LoraConfig:
    """LoRA adapters through PEFT (only the adapters are trained and checkpointed)."""

    r: int = 16
    """Rank of the adapters."""
    alpha: int = 32
    """Scaling numerator (``lora_alpha``)."""
    dropout: float = 0.0
    """Dropout on the adapter input."""
    target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"]
    )
    """Names of the modules that get adapters."""


@dataclass
class ModelConfig:
    """Which model is trained. Exactly one of ``path`` and ``tiny`` is set."""

    path: str | None = None
    """A Hugging Face model id or local folder (``save_pretrained`` layout)."""
    tiny: dict[str, Any] | None = None
    """Options of :func:`spenv.agents.testing.tiny_model`: build a tiny random-init model in
    the run folder (``layers``, ``hidden_size``, ``vocab_size``, ``seed``, ...)."""
    dtype: str = "float32"
    """Parameter dtype: ``float32``, ``bfloat16`` or ``float16``. These are the weights the
    optimizer updates: in ``bfloat16`` an update smaller than half a unit in the last place of a
    weight rounds away (at learning rate 1e-6 most do), so full fine-tuning keeps ``float32``
    weights and computes in ``compute_dtype``."""
    compute_dtype: str | None = None
    """Mixed precision: run the forward and backward passes in ``bfloat16`` or ``float16``
    (autocast) while the weights and the optimizer state stay in ``dtype`` (``float32``, the
    master copy). None: compute in ``dtype``."""
    lora: LoraConfig | None = None
    """Train LoRA adapters instead of all weights (needs ``peft``)."""
    gradient_checkpointing: bool = False
    """Recompute activations in the backward pass (saves memory on large models)."""


@dataclass
class GenerationConfig:
    """How the policy samples its moves during rollouts."""

    backend: str = "hf"
    """``hf`` (the trained model itself, :class:`spenv.agents.hf.HFAgent`) or ``vllm``
    (:class:`spenv.agents.vllm.VLLMAgent`, weights synced from the trainer each step)."""
    max_new_tokens: int = 64
    """Most tokens one answer may have."""
    temperature: float = 1.0
    """Sampling temperature (log-probabilities in the loss use the same temperature)."""
    top_p: float = 1.0
    """Nucleus sampling mass (1 = off)."""
    stop: list[str] = field(default_factory=list)
    """Strings that end an answer (cut from the move handed to the game)."""
    prompt_style: str = "system"
    """How observations become prompts (:mod:`spenv.agents.prompting`): ``plain`` (the game's
    own text), ``system`` (a short instruction first) or ``reasoning`` (think, then answer)."""
    batch_size: int = 256
    """Games played at once by the rollout engine (one forward pass serves them all)."""
    options: dict[str, Any] = field(default_factory=dict)
    """Extra keyword arguments for the generation agent (e.g. vLLM's
    ``gpu_memory_utilization``)."""


@dataclass
class LossConfig:
    """The clipped policy-gradient loss (see :mod:`spenv.agents.train.loss`)."""

    loss_type: str = "grpo"
    """Aggregation: ``grpo``, ``dr_grpo`` or ``bnpo`` (named as in TRL)."""
    epsilon: float = 0.2
    """Lower clipping range: ratios below ``1 - epsilon`` are clipped."""
    epsilon_high: float | None = None
    """Upper clipping range (DAPO's clip-higher); defaults to ``epsilon``."""
    beta: float = 0.0
    """Weight of the k3 KL penalty to the reference (initial) policy. At 0 no reference model
    is loaded."""
    max_completion_length: int | None = None
    """The constant of ``dr_grpo``; defaults to ``generation.max_new_tokens``."""
    magnet_coef: float = 0.0
    """Weight of the k3 KL penalty to a *magnet* policy (magnetic mirror descent, Sokota et al.
    2023): a frozen copy of the policy, refreshed every ``magnet_every`` steps. It damps the
    cycling of self-play around a mixed equilibrium. At 0 no magnet model is loaded."""
    magnet_every: int = 10
    """Steps between magnet refreshes (the magnet becomes the current policy)."""
    kl_estimator: str = "k3"
    """How both KL penalties are computed: ``k3`` (the sampled token's estimate, as TRL) or
    ``exact`` (the exact KL of the whole next-token distributions at each completion position,
    from the logits: it also pulls on moves that were not sampled)."""


@dataclass
class AdvantageConfig:
    """How returns become advantages (see :mod:`spenv.agents.train.advantages`)."""

    estimator: str = "rae"
    """``rae`` (per (env, role) EMA baseline, SPIRAL) or ``grpo`` (group normalisation)."""
    decay: float = 0.95
    """EMA coefficient of the RAE baselines, in (0, 1)."""
    group_size: int = 8
    """``grpo`` with ``group_by: seed``: games played from each seed."""
    group_by: str = "seed"
    """``grpo`` groups: ``seed`` (the k attempts of one prompt in a game form a group; other
    decisions are grouped with the same role's in games of the same seed) or ``prompt`` (every
    decision is compared with the step's decisions on the identical prompt: a Monte-Carlo
    state-value baseline, for games with few information states)."""
    scale: bool = True
    """``grpo``: divide by the group's standard deviation."""
    invalid_penalty: float = 0.0
    """Subtracted from the advantage of a decision the game rejected as invalid (a format
    penalty of the trainer; the game's rewards are unchanged). With 0 an invalid move costs
    only what the game makes it cost (in Kuhn poker, facing a bet, as much as a fold)."""


ALGORITHMS = ("grpo", "expert_iteration", "filtered_bc", "spag")


@dataclass
class JudgeConfig:
    """An optional third role that scores proposals (SGS's guide, MAE's judge): the policy is
    asked to rate each decision of ``roles`` from 0 to 10; the rating (divided by 10) is mixed
    into that decision's return with ``weight``. The judge's own answers are trained to predict
    the proposal's verified return (reward ``1 - |rating/10 - clip(return, 0, 1)|``)."""

    roles: list[str] = field(default_factory=list)
    """Seats whose decisions are rated (e.g. ``[proposer]``); empty: no judge."""
    weight: float = 0.5
    """Share of the rating in the rated decision's return, in [0, 1]."""
    train: bool = True
    """Train the judge's answers (as samples of the role ``judge``)."""


@dataclass
class AlgorithmConfig:
    """Which learning rule turns the step's decisions into an update."""

    name: str = "grpo"
    """``grpo`` (clipped policy gradient with the advantages above; RAE or GRPO groups),
    ``expert_iteration`` (supervised steps on the distinct decisions whose return is at least
    ``threshold``: STP's prover), ``filtered_bc`` (supervised steps on every decision whose
    return is at least ``threshold``: filtered behaviour cloning), ``spag`` (SPAG's offline
    self-play objective: only the winning seat's decisions, each weighted by its return
    discounted by ``gamma`` per later turn of that seat, in the clipped loss)."""
    threshold: float = 0.0
    """``expert_iteration`` / ``filtered_bc``: the least return a kept decision has."""
    gamma: float = 1.0
    """``spag``: discount per later turn of the winning seat, in (0, 1]."""
    pseudo_label_roles: list[str] = field(default_factory=list)
    """Solver seats without a verifier (R-Zero, TTRL): the return of each of the k attempts of
    one prompt is 1 when its move equals the majority move of the k, else 0 (no majority: 0)."""
    judge: JudgeConfig = field(default_factory=JudgeConfig)


@dataclass
class OpponentConfig:
    """An optional pool of frozen snapshots of the policy to play against."""

    pool_size: int = 0
    """Most snapshots kept (0: pure self-play, no pool)."""
    snapshot_every: int = 10
    """Take a snapshot every this many steps."""
    pool_fraction: float = 0.5
    """Fraction of each step's games played against a snapshot (the rest is self-play). In a
    game against a snapshot only the learner's decisions are trained on."""


@dataclass
class EvalConfig:
    """Periodic evaluation (logged like training metrics)."""

    every: int = 0
    """Evaluate every this many steps (0: never; the last step is always evaluated when
    ``every > 0``)."""
    games: int = 2000
    """Games against each opponent (half in each seat)."""
    opponents: list[str] = field(default_factory=lambda: ["random"])
    """Agent specs to play against (greedy decoding is not used: the policy samples)."""
    agent_metrics: bool = True
    """Take each game's declared measurements of the policy (its registry entry's
    ``agent_metrics``; Kuhn poker: exact exploitability of the estimated strategy table) on
    games played with default options."""
    policy_samples: int = 200
    """Samples per question for those measurements (Kuhn: per information set)."""


@dataclass
class WarmupConfig:
    """An optional supervised warm-up before the first step, teaching only the answer format.

    A random-init model almost never writes a well-formed move, so self-play would see nothing
    but forfeits. The warm-up trains cross-entropy on the moves of a reference agent (by default
    ``random``: a uniformly random legal move, which teaches the format and no strategy) in
    games of the configured envs. Off by default; a run that uses it says so in its config.
    """

    steps: int = 0
    """Supervised steps (0: no warm-up)."""
    games_per_step: int = 64
    """Games played by the reference agents per warm-up step (every decision is a target)."""
    agent: str = "random"
    """Agent spec whose moves are the targets."""
    learning_rate: float | None = None
    """Learning rate of the warm-up (default: the run's)."""


@dataclass
class EnvConfig:
    """One env the policy is trained on."""

    id: str = ""
    """A registered env id."""
    options: dict[str, Any] = field(default_factory=dict)
    """Constructor options. ``checker: reference`` (games with a ``checker`` option:
    SearchSelfPlay-v1, SPICE-v1) has the frozen reference policy (the KL reference: the model
    as it was after the warm-up) answer the game's validity checks, so the seat being trained
    cannot pass its own questions (see docs/exploits.md); it needs ``loss.beta > 0`` and full
    weights (no LoRA), which keep that copy."""
    reset_options: dict[str, Any] = field(default_factory=dict)
    """Reset options of every game."""
    weight: float = 1.0
    """Share of each step's games played on this env (normalised over envs)."""
    roles: list[str] | None = None
    """Seats whose decisions are trained (default: all). The policy plays every seat."""


@dataclass
class TrainConfig:
    """A GRPO self-play run."""

    envs: list[EnvConfig] = field(default_factory=list)
    """The envs played (at least one)."""
    model: ModelConfig = field(default_factory=ModelConfig)
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    advantage: AdvantageConfig = field(default_factory=AdvantageConfig)
    algorithm: AlgorithmConfig = field(default_factory=AlgorithmConfig)
    opponents: OpponentConfig = field(default_factory=OpponentConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    warmup: WarmupConfig = field(default_factory=WarmupConfig)
    seed: int = 0
    """Seeds everything: model init (tiny), games, sampling, shuffling."""
    steps: int = 100
    """Optimizer steps (each on a fresh batch of games)."""
    games_per_step: int = 256
    """Games played per step."""
    iterations: int = 1
    """Optimizer updates per batch of games (TRL's ``num_iterations``; above 1 the ratio
    departs from 1 and clipping acts)."""
    micro_batch_size: int = 64
    """Samples per forward/backward pass (gradients accumulate over the batch)."""
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    adam_betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    max_grad_norm: float | None = 1.0
    """Clip the gradient norm (None: no clipping)."""
    lr_warmup_steps: int = 0
    """Linear learning-rate warm-up steps."""
    lr_decay: str = "none"
    """After the warm-up: ``none`` (constant), ``linear`` or ``cosine`` decay to
    ``lr_final_ratio`` times the learning rate at the last step (a decaying step size lets the
    last iterate of self-play settle instead of wandering with the sampling noise)."""
    lr_final_ratio: float = 0.0
    """The learning rate at the last step, as a fraction of ``learning_rate``."""
    checkpoint_every: int = 0
    """Save a checkpoint every this many steps (0: only at the end)."""
    keep_checkpoints: int = 2
    """Most checkpoints kept on disk (older ones are deleted)."""
    log_every: int = 1
    tensorboard: bool = True
    """Write TensorBoard event files beside the JSONL log."""
    out: str = "runs/train"
    """The run folder: ``metrics.jsonl``, ``tb/``, ``checkpoints/``, ``config.yaml``."""
    threads: int | None = None
    """``torch.set_num_threads`` (None: torch's default)."""
    device: str = "cpu"
    """Torch device of the trained model (``cpu``, ``cuda``)."""

    def validate(self) -> TrainConfig:
        """Check every field; raise :class:`ConfigError` naming the first bad one."""
        _check(bool(self.envs), "envs: at least one env is needed")
        for i, e in enumerate(self.envs):
            _check(isinstance(e.id, str) and e.id != "", f"envs[{i}].id: an env id is needed")
            _check(e.weight > 0, f"envs[{i}].weight must be positive")
        m = self.model
        _check((m.path is None) != (m.tiny is None), "model: set exactly one of path and tiny")
        _check(m.dtype in ("float32", "bfloat16", "float16"), f"model.dtype: unknown {m.dtype!r}")
        _check(
            m.compute_dtype in (None, "bfloat16", "float16"),
            f"model.compute_dtype: bfloat16 or float16, got {m.compute_dtype!r}",
        )
        _check(
            m.compute_dtype is None or m.dtype == "float32",
            "model.compute_dtype needs model.dtype float32 (the master weights)",
        )
        if m.lora is not None:
            _check(m.lora.r > 0, "model.lora.r must be positive")
        g = self.generation
        _check(g.backend in ("hf", "vllm"), f"generation.backend: hf or vllm, got {g.backend!r}")
        _check(
            not (g.backend == "vllm" and m.lora is not None),
            "generation.backend vllm with model.lora is not supported (the engine gets full "
            "weights each step); use backend hf for LoRA runs",
        )
        _check(
            g.backend != "vllm" or m.path is not None, "generation.backend vllm needs model.path"
        )
        _check(g.max_new_tokens > 0, "generation.max_new_tokens must be positive")
        _check(g.temperature > 0, "generation.temperature must be positive")
        _check(0 < g.top_p <= 1, "generation.top_p must be in (0, 1]")
        from spenv.agents.prompting import PROMPT_STYLES

        _check(
            g.prompt_style in PROMPT_STYLES,
            f"generation.prompt_style: one of {', '.join(PROMPT_STYLES)}, got {g.prompt_style!r}",
        )
        _check(g.batch_size > 0, "generation.batch_size must be positive")
        lo = self.loss
        _check(lo.loss_type in ("grpo", "dr_grpo", "bnpo"), f"loss.loss_type: {lo.loss_type!r}")
        _check(lo.epsilon >= 0, "loss.epsilon must be non-negative")
        _check(lo.epsilon_high is None or lo.epsilon_high >= 0, "loss.epsilon_high must be >= 0")
        _check(lo.beta >= 0, "loss.beta must be non-negative")
        a = self.advantage
        _check(
            a.estimator in ("rae", "grpo"), f"advantage.estimator: rae or grpo, got {a.estimator!r}"
        )
        _check(0 < a.decay < 1, f"advantage.decay must be in (0, 1), got {a.decay}")
        _check(a.group_size >= 1, "advantage.group_size must be at least 1")
        _check(
            a.group_by in ("seed", "prompt"),
            f"advantage.group_by: seed or prompt, got {a.group_by!r}",
        )
        _check(a.invalid_penalty >= 0, "advantage.invalid_penalty must be >= 0")
        _check(lo.magnet_coef >= 0, "loss.magnet_coef must be >= 0")
        _check(lo.magnet_every >= 1, "loss.magnet_every must be >= 1")
        _check(lo.kl_estimator in ("k3", "exact"), "loss.kl_estimator must be k3 or exact")
        al = self.algorithm
        _check(al.name in ALGORITHMS, f"algorithm.name: one of {ALGORITHMS}, got {al.name!r}")
        _check(0 < al.gamma <= 1, f"algorithm.gamma must be in (0, 1], got {al.gamma}")
        _check(
            0 <= al.judge.weight <= 1,
            f"algorithm.judge.weight must be in [0, 1], got {al.judge.weight}",
        )
        o = self.opponents
        _check(o.pool_size >= 0, "opponents.pool_size must be >= 0")
        _check(o.snapshot_every >= 1, "opponents.snapshot_every must be >= 1")
        _check(0 <= o.pool_fraction <= 1, "opponents.pool_fraction must be in [0, 1]")
        _check(self.warmup.steps >= 0, "warmup.steps must be >= 0")
        _check(self.warmup.games_per_step >= 1, "warmup.games_per_step must be >= 1")
        _check(self.eval.every >= 0 and self.eval.games >= 0, "eval: every and games >= 0")
        _check(self.steps >= 0, "steps must be >= 0")
        _check(self.games_per_step >= 1, "games_per_step must be >= 1")
        _check(self.iterations >= 1, "iterations must be >= 1")
        _check(self.micro_batch_size >= 1, "micro_batch_size must be >= 1")
        _check(self.learning_rate > 0, "learning_rate must be positive")
        _check(
            self.lr_decay in ("none", "linear", "cosine"),
            f"lr_decay: none, linear or cosine, got {self.lr_decay!r}",
        )
        _check(0 <= self.lr_final_ratio <= 1, "lr_final_ratio must be in [0, 1]")
        _check(len(self.adam_betas) == 2, "adam_betas: two numbers")
        _check(self.keep_checkpoints >= 1, "keep_checkpoints must be >= 1")
        _check(self.checkpoint_every >= 0, "checkpoint_every must be >= 0")
        _check_model(self.model)
        seats = _check_envs(self.envs)
        if any(e.options.get("checker") == REFERENCE_CHECKER for e in self.envs):
            _check(
                self.loss.beta > 0 and self.model.lora is None,
                "envs[].options.checker: reference answers with the frozen reference model, "
                "which a run keeps with loss.beta > 0 and full weights (no model.lora)",
            )
        for where, roles in (
            ("algorithm.pseudo_label_roles", al.pseudo_label_roles),
            ("algorithm.judge.roles", al.judge.roles),
        ):
            unknown = sorted(set(roles) - seats)
            _check(
                not unknown, f"{where}: no env has the seat(s) {unknown}; seats: {sorted(seats)}"
            )
        _check_agent_specs(self)
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _check_model(m: ModelConfig) -> None:
    """The model's nested keys: ``tiny`` options are :func:`~spenv.agents.testing.tiny_model`'s,
    a local ``path`` is a model folder (a hub id is checked when it loads)."""
    import inspect

    if m.tiny is not None:
        from spenv.agents.testing import tiny_model

        known = [p for p in inspect.signature(tiny_model).parameters if p != "path"]
        unknown = sorted(set(m.tiny) - set(known))
        _check(not unknown, f"model.tiny: unknown option(s) {unknown}; known: {known}")
        for k, v in m.tiny.items():
            _check(
                (isinstance(v, int) and not isinstance(v, bool))
                or (k == "intermediate_size" and v is None),
                f"model.tiny.{k}: expected an integer, got {v!r}",
            )
    if m.path is not None:
        p = Path(m.path)
        if p.exists():
            _check(
                any(
                    (p / f).is_file() for f in ("config.json", "adapter_config.json", "state.json")
                ),
                f"model.path: {m.path} is not a model folder (no config.json)",
            )
        else:
            _check(
                not m.path.startswith(("/", "./", "../", "~")) and m.path.count("/") <= 1,
                f"model.path: {m.path} does not exist (and is not a hub id like org/name)",
            )
    if m.lora is not None:
        _check(bool(m.lora.target_modules), "model.lora.target_modules: at least one module")
        _check(m.lora.alpha > 0, "model.lora.alpha must be positive")
        _check(0 <= m.lora.dropout < 1, "model.lora.dropout must be in [0, 1)")


#: The ``checker`` env option that the trainer fills with its frozen reference policy.
REFERENCE_CHECKER = "reference"


def _check_envs(envs: list[EnvConfig]) -> set[str]:
    """Every env id is registered, its options and reset options are accepted and its
    ``roles`` are seats of it; returns every env's seats."""
    from spenv.registry import make

    seats: set[str] = set()
    for i, e in enumerate(envs):
        options = dict(e.options)
        if options.get("checker") == REFERENCE_CHECKER:
            options["checker"] = None  # filled in by the trainer; the game must take a checker
        try:
            env = make(e.id, **options)
        except Exception as exc:  # the env's own message names the problem
            raise ConfigError(f"envs[{i}] ({e.id}): {exc}") from None
        check = getattr(env, "_check_options", None)
        if e.reset_options and callable(check):
            try:
                check(dict(e.reset_options))
            except Exception as exc:
                raise ConfigError(f"envs[{i}].reset_options ({e.id}): {exc}") from None
        own = set(env.possible_agents)
        unknown = sorted(set(e.roles or ()) - own)
        _check(
            not unknown, f"envs[{i}].roles: {e.id} has no seat(s) {unknown}; seats: {sorted(own)}"
        )
        seats |= own
    return seats


def _check_agent_specs(cfg: TrainConfig) -> None:
    from spenv.agents.specs import parse_agent_spec

    for where, spec in [("warmup.agent", cfg.warmup.agent)] + [
        (f"eval.opponents[{i}]", o) for i, o in enumerate(cfg.eval.opponents)
    ]:
        try:
            parse_agent_spec(spec)
        except Exception as exc:
            raise ConfigError(f"{where}: {exc}") from None


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def _convert(tp: Any, value: Any, where: str) -> Any:
    """Build a value of annotated type ``tp`` from plain YAML data, checking it."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None:
            if type(None) in args:
                return None
            raise ConfigError(f"{where}: a value is needed")
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(arg, value, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{where}: bad value {value!r}")
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, where)
    if origin is list:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        (item,) = typing.get_args(tp) or (Any,)
        return [_convert(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if tp is Any:
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected text, got {value!r}")
        return value
    raise ConfigError(f"{where}: unsupported type {tp!r}")


def from_dict(cls: type, data: Any, where: str = "config") -> Any:
    """Build dataclass ``cls`` from a mapping, refusing unknown keys."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(map(str, unknown))}")
    kwargs = {
        k: _convert(hints[k], v, f"{where}.{k}" if where != "config" else k)
        for k, v in data.items()
    }
    return cls(**kwargs)


def load_config(source: str | Path | Mapping[str, Any], **overrides: Any) -> TrainConfig:
    """A validated :class:`TrainConfig` from a YAML file, YAML text or a mapping.

    ``overrides`` replace top-level fields (``steps=2``, ``out="runs/x"``).
    """
    import yaml

    if isinstance(source, Mapping):
        data = dict(source)
    else:
        text = source
        if isinstance(source, Path) or "\n" not in str(source):
            p = Path(source)
            try:
                text = p.read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(f"cannot read config {p}: {exc}") from exc
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"config is not valid YAML: {exc}") from exc
        if not isinstance(data, Mapping):
            raise ConfigError("config must be a YAML mapping")
        data = dict(data)
    data.update({k: v for k, v in overrides.items() if v is not None})
    return from_dict(TrainConfig, data).validate()


def dump_config(cfg: TrainConfig) -> str:
    """The config as YAML (what the run folder stores)."""
    import yaml

    return yaml.safe_dump(cfg.to_dict(), sort_keys=False)
