"""spenv self-play through TRL's ``GRPOTrainer`` (TRL 1.16's ``rollout_func``).

TRL's trainer asks its ``rollout_func(prompts, trainer)`` for completions of the prompts of one
generation batch on this process and trains on what comes back. :class:`SelfPlayRollout` fills
that batch with **decisions from spenv games** instead:

- The dataset is a list of env ids (:func:`env_dataset`): each ``prompt`` names the game whose
  decisions fill that row. TRL's sampler repeats each row ``num_generations`` times in a row, so a
  block of ``num_generations`` rows asks for one group of decisions of one game.
- The rollout plays games of that env (every seat the learner's, or a share of the games against
  a fixed opponent) with the spenv rollout engine, which hands every pending decision of a tick
  to **one batched generation call** of the trainer's own model: an
  :class:`~spenv.agents.hf.HFAgent` on the unwrapped model (DDP, DeepSpeed ZeRO-3 and FSDP are
  unwrapped by TRL's ``unwrap_model_for_generation``), or TRL's vLLM engine (colocate or server
  mode) when the trainer runs with ``use_vllm``.
- Every learner decision becomes a sample: its prompt ids, completion ids, the sampling
  log-probs, and its **return**: the decision's own reward when the game scores decisions one by
  one (``Turn.reward``), else the seat's episode reward. Games are played until the batch can be
  filled; exactly one sample per row comes back (surplus decisions are dropped at random, never
  reused off-policy); error episodes and turns without token ids are never trained on.

Advantages (``estimator``):

- ``"group"`` (per-prompt groups): each block of ``num_generations`` rows is filled with
  decisions that saw the **same prompt** (Kuhn poker has 12 such information sets), so TRL's
  own group normalisation compares answers to one prompt: GRPO's baseline. Decisions whose
  prompt is too rare to fill a group are grouped by (env, role) instead. The reward function is
  :func:`decision_return`.
- ``"rae"`` (role-conditioned advantage estimation, SPIRAL): one EMA baseline per (env, role),
  kept identical on every process (the returns of all processes are gathered), advantage =
  return - baseline. :class:`SpenvGRPOTrainer` trains on these advantages as they are (TRL's
  group statistics would otherwise re-centre them); :func:`spenv_advantage` exposes them as a
  reward function too.

Every sample also carries the fields ``spenv_return``, ``spenv_advantage``, ``spenv_env``,
``spenv_role`` and ``spenv_valid``, which TRL forwards to every reward function.

:func:`spenv.integrations.trl_train.train` runs a whole config (``spenv train-trl CONFIG``,
also under ``accelerate launch``): the format warm-up of :mod:`spenv.agents.train` (a
random-init model never writes a legal move), then ``GRPOTrainer.train()``, then Kuhn poker's
exploitability before and after.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from spenv.agents.base import Reply
from spenv.agents.prompting import ChatPrompting
from spenv.agents.train.advantages import RoleBaselines, group_advantages
from spenv.agents.train.config import (
    EnvConfig,
    from_dict,
)

#: The learner's player label in the episodes this module plays.
LEARNER = "policy"
#: Rounds of games one rollout call may play before it gives up on filling its batch.
MAX_ROUNDS = 64
ESTIMATORS = ("group", "rae")
BACKENDS = ("auto", "hf", "vllm")


# ---------------------------------------------------------------------------- samples
@dataclass
class Decision:
    """One learner decision, ready to be a TRL sample."""

    prompt_ids: list[int]
    completion_ids: list[int]
    logprobs: list[float]
    ret: float
    """The decision's return (``Turn.reward``, else the seat's episode reward)."""
    env_id: str
    role: str
    valid: bool
    unit: tuple[Any, ...]
    """What moves the RAE baseline once: the decision itself when the game scored it, else the
    (game, role) whose episode reward it shares."""
    advantage: float = 0.0


def decisions_from_episodes(episodes: Sequence[Any], learner: str = LEARNER) -> list[Decision]:
    """The learner's decisions in ``episodes`` (in game, then turn order).

    Error episodes and turns without token ids (a scripted opponent's) are left out.
    """
    out: list[Decision] = []
    for ep in episodes:
        if ep.status == "error":
            continue
        seats = {
            s for s, lab in ep.players.items() if lab == learner or lab.startswith(learner + "#")
        }
        game = (ep.seed, int(ep.metadata.get("game", 0)), ep.metadata.get("round", 0))
        for t in ep.turns:
            extra = t.extra or {}
            if t.agent not in seats or "prompt_ids" not in extra or "completion_ids" not in extra:
                continue
            own = t.reward is not None
            lps = extra.get("sampling_logprobs") or extra.get("logprobs") or []
            out.append(
                Decision(
                    prompt_ids=list(extra["prompt_ids"]),
                    completion_ids=list(extra["completion_ids"]),
                    logprobs=[float(x) for x in lps],
                    ret=float(t.reward if own else ep.rewards.get(t.agent, 0.0)),
                    env_id=ep.env_id,
                    role=t.agent,
                    valid=bool(t.valid),
                    unit=(*game, t.agent, t.index if own else -1),
                )
            )
    return out


def prompt_groups(decisions: Sequence[Decision], size: int) -> list[list[Decision]]:
    """Full groups of ``size`` decisions: first of identical prompts, then the rest by
    (env, role); what cannot fill a group is left out."""
    by_prompt: dict[tuple[int, ...], list[Decision]] = {}
    for d in decisions:
        by_prompt.setdefault(tuple(d.prompt_ids), []).append(d)
    groups: list[list[Decision]] = []
    rest: dict[tuple[str, str], list[Decision]] = {}
    for items in by_prompt.values():
        full = len(items) - len(items) % size
        groups.extend(items[i : i + size] for i in range(0, full, size))
        for d in items[full:]:
            rest.setdefault((d.env_id, d.role), []).append(d)
    for items in rest.values():
        full = len(items) - len(items) % size
        groups.extend(items[i : i + size] for i in range(0, full, size))
    return groups


# ---------------------------------------------------------------------------- generation
class TRLVLLMAgent(ChatPrompting):
    """Plays with the vLLM engine of a ``GRPOTrainer`` run with ``use_vllm`` (colocate or
    server mode), so the rollouts sample the weights TRL has just synced.

    In server mode (and colocate mode with tensor parallelism) TRL's ``generate`` is a
    collective that expects the same number of prompts from every process; each process plays
    its own games, for its own number of ticks. So every call first gathers the processes'
    batch sizes, pads its batch to the largest with copies of a prompt (their answers are
    dropped), and a process whose games are over keeps answering the others' calls
    (:meth:`drain`) until every process is done.
    """

    def __init__(self, trainer: Any, *, name: str = LEARNER, prompt_style: str = "plain") -> None:
        self.tokenizer = trainer.processing_class
        self.name = name
        self.generation = trainer.vllm_generation
        self.accelerator = trainer.accelerator
        collective = self.generation.mode == "server" or (
            int(getattr(self.generation, "tensor_parallel_size", 1) or 1) > 1
        )
        self.lockstep = collective and trainer.accelerator.num_processes > 1
        pad = self.tokenizer.pad_token_id
        self._filler = [int(pad if pad is not None else self.tokenizer.eos_token_id or 0)]
        args = trainer.args
        self._init_prompting(
            prompt_style=prompt_style,
            history="transcript",
            max_context=max(16, int(getattr(args, "vllm_max_model_length", None) or 1 << 30)),
            extract=None,
            stop=[],
        )

    def _generate(self, prompts: list[list[int]]) -> tuple | None:
        """TRL's generate for this process's prompts (``None``: every process is done)."""
        if not self.lockstep:
            return self.generation.generate(prompts, None, 1)
        from accelerate.utils import gather_object

        top = max(gather_object([len(prompts)]))
        if top == 0:
            return None
        padded = list(prompts) + [prompts[0] if prompts else self._filler] * (top - len(prompts))
        out = self.generation.generate(padded, None, 1)
        return tuple(None if x is None else list(x)[: len(prompts)] for x in out)

    def act_batch(self, observations: Sequence[Any], keys: Sequence[Any] | None = None) -> list:
        observations = list(observations)
        keys = self.resolve_keys(observations, keys)
        prompts = [p for p, _ in self.prompt_ids_batch(observations, keys)]
        p_ids, c_ids, lps, _ = self._generate(prompts)
        replies = []
        for obs, p, c, lp in zip(observations, p_ids, c_ids, lps, strict=True):
            text = self.tokenizer.decode(c, skip_special_tokens=True)
            logprobs = [float(row[0]) if isinstance(row, list) else float(row) for row in lp]
            replies.append(
                Reply(
                    self.finish_text(text, obs),
                    prompt_ids=list(p),
                    completion_ids=list(c),
                    logprobs=logprobs,
                    sampling_logprobs=logprobs,
                )
            )
        self.remember(observations, keys, replies)
        return replies

    def act(self, obs: Any) -> Any:
        return self.act_batch([obs])[0]

    def drain(self) -> None:
        """Take part in the other processes' generate calls until every process is done."""
        if self.lockstep:
            while self._generate([]) is not None:
                pass


@contextlib.contextmanager
def learner_agent(
    trainer: Any, *, prompt_style: str, backend: str = "auto", seed: int | None = None
) -> Iterator[Any]:
    """The agent that plays the learner's seats with the trainer's own generation."""
    args = trainer.args
    use_vllm = bool(getattr(trainer, "use_vllm", False))
    if backend == "vllm" and not use_vllm:
        raise ValueError("rollout backend 'vllm' needs a GRPOTrainer run with use_vllm=True")
    if use_vllm and backend != "hf":
        agent = TRLVLLMAgent(trainer, prompt_style=prompt_style)
        try:
            yield agent
        finally:
            agent.drain()
        return
    from trl.models.utils import unwrap_model_for_generation

    from spenv.agents.hf import HFAgent

    with unwrap_model_for_generation(
        trainer.model_wrapped,
        trainer.accelerator,
        gather_deepspeed3_params=getattr(args, "ds3_gather_for_generation", True),
    ) as model:
        yield HFAgent(
            model=model,
            tokenizer=trainer.processing_class,
            name=LEARNER,
            max_new_tokens=int(args.max_completion_length),
            temperature=float(args.temperature),
            top_p=float(args.top_p),
            top_k=int(args.top_k or 0),
            prompt_style=prompt_style,
            sampling_logprobs=True,
            seed=seed,
        )


# ---------------------------------------------------------------------------- the rollout
def _seed(*parts: int) -> int:
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0] & 0x7FFFFFFF)


class SelfPlayRollout:
    """A ``rollout_func`` for TRL's ``GRPOTrainer`` that plays spenv games (module docstring).

    Parameters:
        envs: env ids or :class:`~spenv.agents.train.config.EnvConfig` (options, reset
            options, trained roles).
        estimator: ``"group"`` (per-prompt groups, TRL normalises) or ``"rae"`` (per env and
            role EMA baselines; train with :class:`SpenvGRPOTrainer`).
        decay: the RAE baselines' EMA coefficient.
        opponent: an agent spec (``"random"``, ``"nash"``...) playing the other seat in a
            ``opponent_fraction`` share of the games of two-seat envs; its turns are not trained.
        prompt_style: how observations become prompts (:mod:`spenv.agents.prompting`).
        batch_size: most games live at once (the most decisions in one generation call).
        backend: ``"auto"`` (vLLM when the trainer uses it), ``"hf"`` or ``"vllm"``.
        seed: seeds the games; every process and call plays different ones.
    """

    def __init__(
        self,
        envs: Sequence[str | EnvConfig | Mapping[str, Any]],
        *,
        estimator: str = "group",
        decay: float = 0.95,
        opponent: str | None = None,
        opponent_fraction: float = 0.0,
        prompt_style: str = "plain",
        batch_size: int = 256,
        backend: str = "auto",
        seed: int = 0,
    ) -> None:
        from spenv.registry import make

        if estimator not in ESTIMATORS:
            raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        if not 0.0 <= opponent_fraction <= 1.0:
            raise ValueError(f"opponent_fraction must be in [0, 1], got {opponent_fraction}")
        if opponent_fraction > 0 and not opponent:
            raise ValueError("opponent_fraction > 0 needs an opponent agent spec")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.envs: dict[str, EnvConfig] = {}
        self.seats: dict[str, int] = {}
        for e in envs:
            cfg = (
                e
                if isinstance(e, EnvConfig)
                else EnvConfig(id=e)
                if isinstance(e, str)
                else from_dict(EnvConfig, e, "env")
            )
            env = make(cfg.id, **cfg.options)  # unknown ids and bad options fail here
            self.envs[env.env_id] = cfg
            self.seats[env.env_id] = len(env.possible_agents)
        if not self.envs:
            raise ValueError("SelfPlayRollout needs at least one env")
        self.estimator = estimator
        self.baselines = RoleBaselines(decay)
        self.opponent = opponent
        self.opponent_fraction = float(opponent_fraction)
        self.prompt_style = prompt_style
        self.batch_size = int(batch_size)
        self.backend = backend
        self.seed = int(seed)
        self.calls = 0
        self.stats: dict[str, float] = {}
        """Facts about the last call (games, decisions, dropped, rounds)."""
        self.__name__ = "spenv_self_play"

    def env_of(self, prompt: Any) -> str:
        """The env id a dataset prompt names."""
        text = prompt if isinstance(prompt, str) else None
        if isinstance(prompt, list) and prompt and isinstance(prompt[-1], Mapping):
            text = prompt[-1].get("content")  # a conversational row: the last message names it
        if not isinstance(text, str):
            raise ValueError(f"a prompt must name an env id, got {prompt!r}")
        key = text.strip()
        for env_id, cfg in self.envs.items():
            if key in (env_id, cfg.id):
                return env_id
        raise ValueError(f"prompt {key!r} names no env of this rollout ({', '.join(self.envs)})")

    # .................................................................. the call
    def __call__(self, prompts: Sequence[Any], trainer: Any) -> dict[str, list[Any]]:
        acc = trainer.accelerator
        training = bool(trainer.model.training)
        size = int(trainer.num_generations if training else trainer.num_generations_eval)
        size = size if self.estimator == "group" else 1
        envs = [self.env_of(p) for p in prompts]
        if len(envs) % size:
            raise ValueError(
                f"{len(envs)} prompts on this process is not a multiple of num_generations "
                f"({size}); make per_device_train_batch_size * steps_per_generation a multiple of "
                "num_generations so no group spans two processes"
            )
        blocks = [envs[i : i + size] for i in range(0, len(envs), size)]
        if any(len(set(b)) != 1 for b in blocks):
            raise ValueError("each block of num_generations prompts must name one env")
        need: dict[str, int] = {}
        for b in blocks:
            need[b[0]] = need.get(b[0], 0) + 1
        call = self.calls
        self.calls += 1
        rng = np.random.default_rng(_seed(self.seed, acc.process_index, call, 7))
        chosen: dict[str, list[list[Decision]]] = {}
        stats = {"games": 0.0, "decisions": 0.0, "rounds": 0.0}
        units: list[tuple[str, str, float]] = []
        local: list[list[Decision]] = []
        with learner_agent(
            trainer,
            prompt_style=self.prompt_style,
            backend=self.backend,
            seed=_seed(self.seed, acc.process_index, call, 3),
        ) as agent:
            for k, env_id in enumerate(sorted(need)):
                got, facts = self._collect(agent, env_id, need[env_id], size, call, k, acc)
                for key, v in facts.items():
                    stats[key] += v
                groups = got if size > 1 else [[d] for d in got]
                pick = sorted(rng.choice(len(groups), size=need[env_id], replace=False))
                chosen[env_id] = [groups[i] for i in pick]
                if self.estimator == "rae":
                    seen: dict[tuple, list[Decision]] = {}
                    for d in got:
                        seen.setdefault(d.unit, []).append(d)
                    for ds in seen.values():
                        units.append((env_id, ds[0].role, ds[0].ret))
                        local.append(ds)
        if self.estimator == "rae":
            self._rae(units, local, acc)
        else:
            for groups in chosen.values():
                for g in groups:
                    adv = group_advantages([d.ret for d in g], [0] * len(g))
                    for d, a in zip(g, adv, strict=True):
                        d.advantage = a
        order = {env_id: iter(groups) for env_id, groups in chosen.items()}
        rows = [d for b in blocks for d in next(order[b[0]])]
        stats["dropped"] = stats["decisions"] - len(rows)
        self.stats = stats
        return {
            "prompt_ids": [d.prompt_ids for d in rows],
            "completion_ids": [d.completion_ids for d in rows],
            "logprobs": [d.logprobs for d in rows],
            "spenv_return": [d.ret for d in rows],
            "spenv_advantage": [d.advantage for d in rows],
            "spenv_env": [d.env_id for d in rows],
            "spenv_role": [d.role for d in rows],
            "spenv_valid": [d.valid for d in rows],
        }

    def _collect(
        self, agent: Any, env_id: str, groups: int, size: int, call: int, k: int, acc: Any
    ) -> tuple[list[Any], dict[str, float]]:
        """Play rounds of games until ``groups`` groups (of ``size``) can be formed; returns the
        groups (``size`` > 1) or all decisions, and how many games and decisions it took."""
        import torch

        from spenv.rollout import Runner

        cfg = self.envs[env_id]
        decisions: list[Decision] = []
        games = 0
        per_game = float(self.seats[env_id])  # a first guess: one decision per seat and game
        for rnd in range(MAX_ROUNDS):
            have = len(prompt_groups(decisions, size)) if size > 1 else len(decisions)
            if have >= groups:
                break
            missing = (groups - have) * size
            # Groups need spare decisions (prompts are not equally common); a short round is
            # followed by another, so the guess only has to be close.
            n = max(2, math.ceil(missing / per_game * (1.25 if size > 1 else 1.05)))
            n += n % 2  # both seatings of each deal
            seed = _seed(self.seed, acc.process_index, call, k, rnd)
            vs_opp = 0
            if self.opponent and self.seats[env_id] == 2:
                vs_opp = 2 * round(n * self.opponent_fraction / 2)
            plans = [([agent] * self.seats[env_id], n - vs_opp, seed)]
            if vs_opp:
                plans.append(([agent, self.opponent], vs_opp, seed + 1))
            for agents, count, s in plans:
                if count <= 0:
                    continue
                runner = Runner(
                    cfg.id,
                    agents,
                    games=count,
                    seed=s,
                    batch_size=self.batch_size,
                    env_options=cfg.options,
                    reset_options=cfg.reset_options,
                )
                with torch.no_grad():
                    eps = list(runner)
                eps.sort(key=lambda e: e.metadata["game"])
                for e in eps:
                    e.metadata["round"] = (rnd, s)
                got = decisions_from_episodes(eps)
                if cfg.roles is not None:
                    got = [d for d in got if d.role in cfg.roles]
                decisions.extend(got)
                games += count
            per_game = max(len(decisions) / max(games, 1), 0.05)
        else:
            raise RuntimeError(
                f"{env_id}: {MAX_ROUNDS} rounds of games ({games} games, {len(decisions)} learner "
                f"decisions) could not fill {groups} group(s) of {size}"
            )
        out = prompt_groups(decisions, size) if size > 1 else decisions
        return out, {"games": float(games), "decisions": float(len(decisions)), "rounds": rnd}

    def _rae(self, units: list[tuple[str, str, float]], local: list[list[Decision]], acc: Any):
        """Move the per (env, role) baselines with every process's returns, in process order,
        and set the local decisions' advantages (return - moved baseline)."""
        if acc.num_processes > 1:
            from accelerate.utils import gather_object

            sizes = gather_object([len(units)])
            every = gather_object(units)
            start = sum(sizes[: acc.process_index])
        else:
            every, start = units, 0
        for i, (env_id, role, ret) in enumerate(every):
            adv = self.baselines.update(env_id, role, ret)
            j = i - start
            if 0 <= j < len(local):
                for d in local[j]:
                    d.advantage = d.ret - (ret - adv)


# ---------------------------------------------------------------------------- rewards
def _log(kwargs: Mapping[str, Any]) -> None:
    log = kwargs.get("log_metric")
    if not callable(log) or "spenv_valid" not in kwargs:
        return
    valid = kwargs["spenv_valid"]
    log("spenv/invalid_rate", float(np.mean([not v for v in valid])))
    by: dict[str, list[float]] = {}
    for env, role, r in zip(
        kwargs["spenv_env"], kwargs["spenv_role"], kwargs["spenv_return"], strict=True
    ):
        by.setdefault(f"spenv/{env}/{role}/return", []).append(float(r))
    for name, vals in sorted(by.items()):
        log(name, float(np.mean(vals)))


def decision_return(prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any) -> list:
    """TRL reward function: each decision's return (the ``spenv_return`` field)."""
    if "spenv_return" not in kwargs:
        raise ValueError("decision_return needs the spenv_return field of SelfPlayRollout")
    _log(kwargs)
    return [float(r) for r in kwargs["spenv_return"]]


def spenv_advantage(prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any) -> list:
    """TRL reward function: spenv's advantage of each decision (the ``spenv_advantage`` field:
    RAE, or the per-prompt group's normalised return)."""
    if "spenv_advantage" not in kwargs:
        raise ValueError("spenv_advantage needs the spenv_advantage field of SelfPlayRollout")
    _log(kwargs)
    return [float(a) for a in kwargs["spenv_advantage"]]


def env_dataset(envs: Sequence[str | EnvConfig], rows: int, weights: Sequence[float] | None = None):
    """A ``datasets.Dataset`` of ``rows`` prompts naming the envs (largest-remainder shares of
    ``weights``), interleaved; the trainer's sampler shuffles and repeats them."""
    from datasets import Dataset

    ids = [e.id if isinstance(e, EnvConfig) else str(e) for e in envs]
    w = list(weights) if weights is not None else [1.0] * len(ids)
    raw = [rows * x / sum(w) for x in w]
    counts = [math.floor(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: counts[i] - raw[i])[: rows - sum(counts)]:
        counts[i] += 1
    prompts: list[str] = []
    while len(prompts) < rows:
        for i, c in enumerate(counts):
            if sum(p == ids[i] for p in prompts) < c:
                prompts.append(ids[i])
    return Dataset.from_dict({"prompt": prompts})


def __getattr__(name: str) -> Any:
    if name == "SpenvGRPOTrainer":
        return spenv_trainer_class()
    raise AttributeError(name)


_TRAINER_CLASS: type | None = None


def spenv_trainer_class() -> type:
    """``SpenvGRPOTrainer``: a ``GRPOTrainer`` that trains on spenv's advantages (the
    ``spenv_advantage`` field of :class:`SelfPlayRollout`, e.g. RAE) as they are, instead of
    TRL's group-normalised rewards; everything else (loss, clipping, KL, vLLM, distributed) is
    TRL's. Built on first use (``from spenv.integrations.trl import SpenvGRPOTrainer``), so
    importing this module loads no TRL."""
    global _TRAINER_CLASS
    if _TRAINER_CLASS is None:
        import torch
        from trl import GRPOTrainer

        def _generate_and_score_completions(self: Any, inputs: list[dict[str, Any]]) -> Any:
            out = GRPOTrainer._generate_and_score_completions(self, inputs)
            if inputs and "spenv_advantage" in inputs[0]:
                adv = out["advantages"]
                out["advantages"] = torch.tensor(
                    [float(x["spenv_advantage"]) for x in inputs],
                    dtype=adv.dtype,
                    device=adv.device,
                )
            return out

        _TRAINER_CLASS = type(
            "SpenvGRPOTrainer",
            (GRPOTrainer,),
            {
                "_generate_and_score_completions": _generate_and_score_completions,
                "__doc__": spenv_trainer_class.__doc__,
                "__module__": __name__,
            },
        )
    return _TRAINER_CLASS
