"""The self-play trainer.

One policy plays every seat of every configured env (optionally some games against frozen
snapshots of itself). Each step:

1. **Rollouts.** The rollout engine plays ``games_per_step`` games; every pending decision of the
   policy goes to one batched generation call. Seeds, seatings and the sampler's generator are
   derived from ``(seed, step)`` alone, so a resumed run plays exactly the games the
   uninterrupted run would have played.
2. **Samples.** Each decision of the learner becomes a sample: prompt tokens, completion tokens
   (the only ones with gradient) and the decision's return: its own reward when the game scored
   it (``Turn.reward``: an attempt's verdict, a proposal's score), else the game's return for
   the learner's role. Invalid moves stay in: the game scores them (a forfeit), which is how the
   format is learned.
3. **Advantages.** Role-conditioned EMA baselines (SPIRAL's RAE) or GRPO groups (the k attempts
   of one prompt, games of one seed, or every decision on one prompt); see
   :mod:`spenv.agents.train.advantages`. Other learning rules (expert iteration, filtered
   behaviour cloning, SPAG, majority-vote pseudo-labels, a judge role) are in
   :mod:`spenv.agents.train.algorithms`.
4. **Update.** ``iterations`` optimizer steps over the batch in micro-batches with the clipped
   loss of :mod:`spenv.agents.train.loss` (``grpo``/``dr_grpo``/``bnpo``, clip-higher, k3 KL to
   the reference and to the magnet policy).

The same machinery trains proposer–solver games (ConjectureProve, CodeAndTest, SearchSelfPlay):
their envs give each role its reward (and each decision its own, when they score decisions one
by one), and the trainer needs nothing game-specific.

Every step appends a line to ``metrics.jsonl`` (and TensorBoard scalars); checkpoints hold the
weights (or LoRA adapters), optimizer, scheduler, random-generator states, baselines, the
opponent pool and the step, and resume exactly.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from spenv.agents.train import algorithms
from spenv.agents.train.advantages import RoleBaselines, group_advantages
from spenv.agents.train.config import REFERENCE_CHECKER, TrainConfig, dump_config
from spenv.agents.train.loss import Normalizer, policy_loss
from spenv.agents.train.rollouts import GroupedRunner, Sample, merge_samples, samples_from_episodes

LEARNER = "policy"
_SEED_STRIDE = 1_000_003


def step_seed(seed: int, step: int, salt: int = 0) -> int:
    """A deterministic 31-bit seed for ``(seed, step, salt)``."""
    return int(np.random.SeedSequence([seed, step, salt]).generate_state(1)[0] & 0x7FFFFFFF)


class _NoMeta:
    """Wraps an agent and drops the token metadata of its answers (a frozen snapshot's moves
    must not become training samples)."""

    def __init__(self, inner: Any, name: str) -> None:
        self.inner = inner
        self.name = name

    def act(self, obs: Any) -> str:
        return str(self.inner.act(obs))

    def act_batch(self, observations: Sequence[Any]) -> list[str]:
        return [str(a) for a in self.inner.act_batch(observations)]


def make_rollout_agent(model: Any, tokenizer: Any, cfg: TrainConfig, name: str = LEARNER) -> Any:
    """The agent that samples the policy's moves (shares the live model)."""
    g = cfg.generation
    if g.backend == "vllm":
        import os

        from spenv.agents.vllm import VLLMAgent

        # The engine runs in this process, so the trainer can hand it new weights each step.
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        return VLLMAgent(
            cfg.model.path,
            name=name,
            max_new_tokens=g.max_new_tokens,
            temperature=g.temperature,
            top_p=g.top_p,
            stop=list(g.stop),
            prompt_style=g.prompt_style,
            **g.options,
        )
    return hf_agent(model, tokenizer, cfg, name)


def hf_agent(model: Any, tokenizer: Any, cfg: TrainConfig, name: str) -> Any:
    """An :class:`~spenv.agents.hf.HFAgent` on a loaded model with the run's generation
    settings (the rollout agent's, and the frozen reference checker's)."""
    from spenv.agents.hf import HFAgent

    g = cfg.generation
    return HFAgent(
        model=model,
        tokenizer=tokenizer,
        name=name,
        max_new_tokens=g.max_new_tokens,
        temperature=g.temperature,
        top_p=g.top_p,
        stop=list(g.stop),
        prompt_style=g.prompt_style,
        **g.options,
    )


def sync_vllm_weights(agent: Any, model: Any) -> None:
    """Copy the trained weights into a :class:`~spenv.agents.vllm.VLLMAgent`'s engine (running
    in this process) and drop its prefix cache, so the next rollouts sample the new policy."""
    llm = agent.llm
    state = model.state_dict()
    executor = llm.llm_engine.model_executor
    worker = executor.driver_worker
    worker = getattr(worker, "worker", worker)
    worker.model_runner.model.load_weights(state.items())
    reset = getattr(llm, "reset_prefix_cache", None)
    if callable(reset):
        reset()


class Trainer:
    """GRPO self-play (and proposer–solver) training from a :class:`TrainConfig`.

    ``Trainer(cfg).train()`` runs ``cfg.steps`` steps; ``resume=True`` continues from the latest
    checkpoint in ``cfg.out``. ``agent_factory(model, tokenizer, cfg, name)`` replaces the
    rollout agent (default :func:`make_rollout_agent`).
    """

    def __init__(
        self,
        cfg: TrainConfig,
        *,
        resume: bool | str | Path = False,
        agent_factory: Callable[..., Any] | None = None,
        quiet: bool = False,
    ) -> None:
        import torch

        from spenv.agents.train.policy import load_model, model_source

        self.cfg = cfg.validate()
        self.out = Path(cfg.out)
        if not resume and (
            (self.out / "metrics.jsonl").exists() or self.latest_checkpoint() is not None
        ):
            raise FileExistsError(
                f"{self.out} already holds a run (metrics.jsonl or checkpoints): continue it "
                "with --resume, or give another --out"
            )
        self.out.mkdir(parents=True, exist_ok=True)
        self.quiet = quiet
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self._seed_all(step_seed(cfg.seed, 0, 99))
        self.source = model_source(cfg.model, self.out)
        self.model, self.tokenizer = load_model(cfg.model, self.source, cfg.device)
        self.pad_id = int(self.tokenizer.pad_token_id)
        self.ref_model = None
        if cfg.loss.beta > 0 and cfg.model.lora is None:
            self.ref_model, _ = load_model(
                type(cfg.model)(**{**cfg.model.__dict__, "lora": None}), self.source, cfg.device
            )
            self.ref_model.eval().requires_grad_(False)
        self.magnet_model = None
        if cfg.loss.magnet_coef > 0:
            self.magnet_model, _ = load_model(cfg.model, self.source, cfg.device)
            self.magnet_model.eval().requires_grad_(False)
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(
            params,
            lr=cfg.learning_rate,
            betas=tuple(cfg.adam_betas),
            weight_decay=cfg.weight_decay,
        )
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, self._lr_factor)
        self.baselines = RoleBaselines(cfg.advantage.decay)
        self.step = 0
        self.pool: list[tuple[int, dict[str, Any]]] = []  # (step, trainable state)
        factory = agent_factory or make_rollout_agent
        self._factory = factory
        self.agent = factory(self.model, self.tokenizer, cfg, LEARNER)
        self._opponent_model = None
        self._opponent_agent = None
        self._checker_agent: Any = None  # the frozen reference policy as a game's checker
        self._tb = None
        self._warmed = False
        log = self.out / "metrics.jsonl"
        if resume:
            path = resume if isinstance(resume, str | Path) else self.latest_checkpoint()
            if path is None and not log.exists():
                raise FileNotFoundError(
                    f"no checkpoint to resume from in {self.out / 'checkpoints'}"
                )
            if path is None:
                # Stopped before its first checkpoint: the run starts over (it replays the same
                # games), so the rows of the stopped attempt go.
                self._drop_log_after(-1)
            else:
                self.load_checkpoint(path)
                self._drop_log_after(self.step)
                if cfg.generation.backend == "vllm":
                    sync_vllm_weights(self.agent, self.model)

        (self.out / "config.yaml").write_text(dump_config(cfg), encoding="utf-8")

    def _lr_factor(self, s: int) -> float:
        """The learning-rate multiplier before optimizer step ``s + 1``: linear warm-up, then
        ``lr_decay`` (none, linear or cosine) down to ``lr_final_ratio`` at the last step."""
        cfg = self.cfg
        warm = cfg.lr_warmup_steps
        if warm > 0 and s < warm:
            return (s + 1) / warm
        if cfg.lr_decay == "none" or cfg.steps <= warm + 1:
            return 1.0
        t = min(1.0, (s - warm) / (cfg.steps - warm - 1))
        shape = 1.0 - t if cfg.lr_decay == "linear" else 0.5 * (1.0 + math.cos(math.pi * t))
        return cfg.lr_final_ratio + (1.0 - cfg.lr_final_ratio) * shape

    # ------------------------------------------------------------------ randomness
    @staticmethod
    def _seed_all(seed: int) -> None:
        import torch

        random.seed(seed)
        np.random.seed(seed % 2**32)
        torch.manual_seed(seed)

    def _env_options(self, env_cfg: Any) -> dict[str, Any]:
        """``env_cfg.options``, with ``checker: reference`` made the agent of the frozen
        reference policy (the KL reference model: the policy as it was after the warm-up)."""
        options = env_cfg.options
        if options.get("checker") != REFERENCE_CHECKER:
            return options
        if self._checker_agent is None:
            assert self.ref_model is not None  # TrainConfig.validate requires it
            self._checker_agent = hf_agent(self.ref_model, self.tokenizer, self.cfg, "reference")
        return {**options, "checker": self._checker_agent}

    def _seed_agent(self, agent: Any, seed: int) -> None:
        fn = getattr(agent, "seed", None)
        if callable(fn):
            fn(seed)

    # ------------------------------------------------------------------ rollouts
    def _env_games(self) -> list[tuple[Any, int]]:
        """Each env's share of the step's games (largest remainders; grouped by GRPO)."""
        cfg = self.cfg
        unit = cfg.advantage.group_size if cfg.advantage.estimator == "grpo" else 1
        total_w = sum(e.weight for e in cfg.envs)
        units = max(1, cfg.games_per_step // unit)
        raw = [units * e.weight / total_w for e in cfg.envs]
        counts = [math.floor(r) for r in raw]
        order = sorted(range(len(raw)), key=lambda i: counts[i] - raw[i])
        for i in order[: units - sum(counts)]:
            counts[i] += 1
        return [(e, c * unit) for e, c in zip(cfg.envs, counts, strict=True)]

    def _opponent(self, rng: np.random.Generator) -> tuple[Any | None, int | None]:
        """The frozen snapshot played this step (or None)."""
        if not self.pool or self.cfg.opponents.pool_fraction <= 0:
            return None, None
        from spenv.agents.train.policy import load_model, load_trainable_state

        snap_step, state = self.pool[int(rng.integers(len(self.pool)))]
        if self._opponent_model is None:
            self._opponent_model, _ = load_model(self.cfg.model, self.source, self.cfg.device)
            self._opponent_model.eval().requires_grad_(False)
            inner = self._factory(self._opponent_model, self.tokenizer, self.cfg, "snapshot")
            self._opponent_agent = _NoMeta(inner, "snapshot")
        load_trainable_state(self._opponent_model, state)
        return self._opponent_agent, snap_step

    def rollout(self, step: int) -> tuple[list[Any], dict[str, Any]]:
        """Play one step's games; return the episodes and facts about them."""
        import torch

        cfg = self.cfg
        rng = np.random.default_rng(step_seed(cfg.seed, step, 1))
        self.model.eval()
        torch.manual_seed(step_seed(cfg.seed, step, 2))
        self._seed_agent(self.agent, step_seed(cfg.seed, step, 3))
        if self._checker_agent is not None:
            self._seed_agent(self._checker_agent, step_seed(cfg.seed, step, 9))
        opponent, snap_step = self._opponent(rng)
        if opponent is not None:
            self._seed_agent(opponent.inner, step_seed(cfg.seed, step, 4))
        episodes: list[Any] = []
        group = cfg.advantage.group_size if cfg.advantage.estimator == "grpo" else 1
        for k, (env_cfg, games) in enumerate(self._env_games()):
            if games == 0:
                continue
            from spenv.registry import make

            options = self._env_options(env_cfg)
            n_seats = len(make(env_cfg.id, **options).possible_agents)
            base = step_seed(cfg.seed, step, 10 + k)
            vs_pool = 0
            if opponent is not None and n_seats == 2:
                vs_pool = round(games * cfg.opponents.pool_fraction / (2 * group)) * 2 * group
            plans = [([self.agent] * n_seats, games - vs_pool, base)]
            if vs_pool:
                plans.append(([self.agent, opponent], vs_pool, base + _SEED_STRIDE))
            for agents, n, seed in plans:
                if n <= 0:
                    continue
                runner = GroupedRunner(
                    env_cfg.id,
                    agents,
                    games=n,
                    seed=seed,
                    group_size=group,
                    batch_size=cfg.generation.batch_size,
                    env_options=options,
                    reset_options=env_cfg.reset_options,
                )
                with torch.no_grad(), self._autocast():
                    eps = list(runner)
                eps.sort(key=lambda e: e.metadata["game"])
                for ep in eps:
                    ep.metadata["plan_seed"] = seed
                episodes.extend(eps)
        return episodes, {"snapshot_step": snap_step}

    # ------------------------------------------------------------------ samples
    def build_samples(self, episodes: Sequence[Any]) -> tuple[list[Sample], dict[str, Any]]:
        """Samples with advantages from one step's episodes."""
        cfg = self.cfg
        samples: list[Sample] = []
        skipped: dict[str, int] = {}
        for env_cfg in cfg.envs:
            eps = [e for e in episodes if e.env_id == make_env_id(env_cfg.id)]
            s, sk = samples_from_episodes(eps, learner=LEARNER, roles=env_cfg.roles)
            samples.extend(s)
            for k, v in sk.items():
                skipped[k] = skipped.get(k, 0) + v
        algorithms.pseudo_label(samples, cfg.algorithm.pseudo_label_roles)
        if cfg.algorithm.judge.roles:
            samples.extend(self._judge(samples, episodes))
        name = cfg.algorithm.name
        if name in ("expert_iteration", "filtered_bc"):
            samples = algorithms.filtered(
                samples, cfg.algorithm.threshold, name == "expert_iteration"
            )
        elif name == "spag":
            samples = algorithms.spag_weighted(samples, cfg.algorithm.gamma)
        else:
            self._advantages(samples)
        return samples, skipped

    def _judge(self, samples: Sequence[Sample], episodes: Sequence[Any]) -> list[Sample]:
        """The judge role: the policy rates every valid decision of ``algorithm.judge.roles``
        (one batched call); the ratings are mixed into those decisions' returns; the judge's
        answers become samples of the role ``judge`` (when ``judge.train``)."""
        import torch

        j = self.cfg.algorithm.judge
        rated = [s for s in samples if s.role in j.roles and s.valid]
        if not rated:
            return []
        turns = {(e.env_id, int(e.metadata.get("game", 0)), e.seed): e for e in episodes}
        prompts = []
        for s in rated:
            ep = turns[(s.env_id, s.game, s.seed)]
            turn = ep.turns[s.turn]
            context = str(turn.observation.get("user", ""))
            prompts.append(algorithms.judge_prompt(s.env_id, s.role, context, turn.action or ""))
        with torch.no_grad(), self._autocast():
            answers = self.agent.act_batch(prompts)
        ratings = [algorithms.parse_rating(a) for a in answers]
        rewards = algorithms.apply_ratings(rated, ratings, j.weight)
        if not j.train:
            return []
        out = []
        for s, a, r, rating in zip(rated, answers, rewards, ratings, strict=True):
            meta = getattr(a, "meta", {}) or {}
            if meta.get("prompt_ids") is None or meta.get("completion_ids") is None:
                continue
            out.append(
                Sample(
                    prompt_ids=list(meta["prompt_ids"]),
                    completion_ids=list(meta["completion_ids"]),
                    ret=r,
                    env_id=s.env_id,
                    role="judge",
                    seed=s.seed,
                    game=s.game,
                    opponent=s.opponent,
                    valid=rating is not None,
                    turn=s.turn,
                    own_reward=True,
                )
            )
        return out

    def _advantages(self, samples: Sequence[Sample]) -> None:
        """Set each sample's advantage from the returns (RAE or GRPO groups).

        A *credit unit* is one return: a decision with its own reward (``Turn.reward``) is its own
        unit; the other decisions of a game share their seat's episode return as one unit (one
        baseline update under RAE, one member of its GRPO group), except with ``group_by:
        prompt``, where every decision is compared with the others on the identical prompt."""
        a = self.cfg.advantage
        by_prompt = a.estimator == "grpo" and a.group_by == "prompt"
        units: dict[tuple, list[Sample]] = {}
        for s in samples:
            own = s.own_reward or by_prompt
            key = (s.env_id, s.opponent, s.game, s.seed, s.role, s.turn if own else -1)
            units.setdefault(key, []).append(s)
        members = list(units.values())
        rets = [m[0].ret for m in members]
        if a.estimator == "grpo":
            keys: list[tuple] = []
            for m in members:
                s = m[0]
                if by_prompt:
                    keys.append(("prompt", s.env_id, s.opponent, s.role, tuple(s.prompt_ids)))
                elif s.attempt_group is not None:
                    keys.append(
                        ("attempts", s.env_id, s.opponent, s.game, s.seed, s.role, s.attempt_group)
                    )
                else:
                    keys.append(("seed", s.env_id, s.opponent, s.seed, s.role, s.own_reward))
            adv = group_advantages(rets, keys, scale=a.scale)
        else:
            adv = [
                self.baselines.update(m[0].env_id, m[0].role, r)
                for m, r in zip(members, rets, strict=True)
            ]
        for m, v in zip(members, adv, strict=True):
            for s in m:
                s.advantage = v
        if a.invalid_penalty:
            for s in samples:
                if not s.valid:
                    s.advantage -= a.invalid_penalty

    # ------------------------------------------------------------------ update
    def _logps(self, model: Any, chunk: Sequence[Any], full: bool = False) -> tuple[Any, ...]:
        """``(logp, mask)`` of the chunk's completion tokens under ``model``; with ``full`` also
        the whole next-token log-distributions ``[B, T, V]`` (exact KL)."""
        from spenv.agents.train.policy import completion_logprobs, pack

        batch = pack(
            [s.prompt_ids for s in chunk],
            [s.completion_ids for s in chunk],
            self.pad_id,
            self.cfg.device,
        )
        with self._autocast():
            out = completion_logprobs(model, batch, self.cfg.generation.temperature, full=full)
        if full:
            return out[0].float(), batch["completion_mask"], out[1].float()
        return out.float(), batch["completion_mask"]

    def _autocast(self) -> Any:
        """Mixed precision when ``model.compute_dtype`` is set: the weights (the optimizer's
        master copy) stay in ``model.dtype`` (float32), the matrix products run in the compute
        dtype."""
        import contextlib

        import torch

        name = self.cfg.model.compute_dtype
        if name is None:
            return contextlib.nullcontext()
        from spenv.agents.train.policy import _dtype

        kind = "cuda" if str(self.cfg.device).startswith("cuda") else "cpu"
        return torch.autocast(device_type=kind, dtype=_dtype(name))

    def update(self, samples: list[Sample], step: int) -> dict[str, float]:
        """``iterations`` optimizer steps on ``samples``; returns averaged statistics.

        Identical decisions are merged into weighted rows first (exactly the same loss)."""
        import torch

        cfg = self.cfg
        if not samples:
            return {"loss": 0.0}
        # One optimizer step per batch: the ratio is 1 and the loss linear in the advantage, so
        # decisions merge across advantage signs too (half the rows, the same loss).
        rows = merge_samples(samples, by_sign=cfg.iterations > 1)
        mb = cfg.micro_batch_size
        chunks = [rows[i : i + mb] for i in range(0, len(rows), mb)]
        norm = Normalizer(len(samples), sum(len(s.completion_ids) for s in samples))
        old: list[Any] = [None] * len(chunks)
        ref: list[Any] = [None] * len(chunks)
        mag: list[Any] = [None] * len(chunks)
        supervised = cfg.algorithm.name in ("expert_iteration", "filtered_bc")
        exact = cfg.loss.kl_estimator == "exact"
        at = -1 if exact else 0  # exact KL: keep the reference's and magnet's distributions
        with torch.no_grad():
            if cfg.iterations > 1 and not supervised:  # supervised steps: the ratio stays 1
                self.model.eval()
                for i, c in enumerate(chunks):
                    old[i] = self._logps(self.model, c)[0]
            if cfg.loss.beta > 0:
                for i, c in enumerate(chunks):
                    if self.ref_model is not None:
                        ref[i] = self._logps(self.ref_model, c, exact)[at]
                    else:  # LoRA: the reference is the base model, adapters off
                        with self.model.disable_adapter():
                            ref[i] = self._logps(self.model, c, exact)[at]
            if self.magnet_model is not None:
                for i, c in enumerate(chunks):
                    mag[i] = self._logps(self.magnet_model, c, exact)[at]
        max_len = cfg.loss.max_completion_length or cfg.generation.max_new_tokens
        totals: dict[str, float] = {"rows": float(len(rows))}
        self.model.train()
        for _ in range(cfg.iterations):
            self.optimizer.zero_grad(set_to_none=True)
            loss_sum = 0.0
            for i, c in enumerate(chunks):
                logp, mask, *dist = self._logps(self.model, c, exact)
                dev = logp.device
                adv = torch.tensor([r.advantage for r in c], dtype=torch.float32, device=dev)
                weights = torch.tensor([r.weight for r in c], dtype=torch.float32, device=dev)
                loss, st = policy_loss(
                    logp,
                    old[i] if old[i] is not None else logp.detach(),
                    adv,
                    mask,
                    loss_type=cfg.loss.loss_type,
                    epsilon=cfg.loss.epsilon,
                    epsilon_high=cfg.loss.epsilon_high,
                    beta=cfg.loss.beta,
                    ref_logp=ref[i],
                    max_completion_length=max_len,
                    normalizer=norm,
                    weights=weights,
                    magnet_coef=cfg.loss.magnet_coef,
                    magnet_logp=mag[i],
                    kl_estimator=cfg.loss.kl_estimator,
                    dist=dist[0] if dist else None,
                )
                loss.backward()
                loss_sum += float(loss.detach())
                share = sum(r.weight for r in c) / len(samples)
                for k, v in st.items():
                    totals[k] = totals.get(k, 0.0) + share * v / cfg.iterations
            params = [p for p in self.model.parameters() if p.requires_grad]
            if cfg.max_grad_norm is not None:
                gn = torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
            else:
                grads = [p.grad.detach().pow(2).sum() for p in params if p.grad is not None]
                gn = torch.sqrt(sum(grads)) if grads else torch.tensor(0.0)
            self.optimizer.step()
            totals["loss"] = totals.get("loss", 0.0) + loss_sum / cfg.iterations
            totals["grad_norm"] = totals.get("grad_norm", 0.0) + float(gn) / cfg.iterations
        self.scheduler.step()
        self.model.eval()
        return totals

    def _refresh_magnet(self) -> None:
        """The magnet becomes the current policy (all weights, adapters included)."""
        from spenv.agents.train.policy import load_trainable_state, trainable_state

        load_trainable_state(self.magnet_model, trainable_state(self.model, all_params=True))

    # ------------------------------------------------------------------ format warm-up
    def prompt_ids(self, obs: Any) -> list[int]:
        """The prompt tokens the rollout agent feeds the model for ``obs``."""
        fn = getattr(self.agent, "prompt_ids", None)
        if not callable(fn):
            raise TypeError(
                f"the format warm-up needs the rollout agent's prompt_ids(obs); "
                f"{type(self.agent).__name__} has none"
            )
        ids = fn(obs)
        return list(ids[0] if isinstance(ids, tuple) else ids)

    def warmup(self) -> list[dict[str, Any]]:
        """The supervised format warm-up (``cfg.warmup``); returns its log rows."""
        import torch

        from spenv.agents.train.policy import completion_logprobs, pack
        from spenv.observation import Observation
        from spenv.rollout import run_games

        w = self.cfg.warmup
        if w.steps == 0:
            return []
        params = [p for p in self.model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=w.learning_rate or self.cfg.learning_rate)
        rows = []
        prompts: dict[str, list[int]] = {}
        for k in range(w.steps):
            pairs: list[tuple[list[int], list[int]]] = []
            for j, env_cfg in enumerate(self.cfg.envs):
                eps = run_games(
                    env_cfg.id,
                    [w.agent] * len(make_env(env_cfg.id).possible_agents),
                    games=w.games_per_step,
                    seed=step_seed(self.cfg.seed, k, 1000 + j),
                    env_options=self._env_options(env_cfg),
                    reset_options=env_cfg.reset_options,
                )
                for ep in eps:
                    for t in ep.turns:
                        if not t.valid or not t.action:
                            continue
                        obs = Observation.from_dict(
                            {
                                "system": ep.system.get(t.agent, ""),
                                "env_id": ep.env_id,
                                **t.observation,
                            }
                        )
                        key = obs.text
                        if key not in prompts:
                            prompts[key] = self.prompt_ids(obs)
                        target = self.tokenizer(t.action, add_special_tokens=False)["input_ids"]
                        pairs.append((prompts[key], list(target)))
            self.model.train()
            opt.zero_grad(set_to_none=True)
            n_tok = sum(len(c) for _, c in pairs)
            counts: dict[tuple, int] = {}
            for p, c in pairs:  # identical targets are one weighted row
                counts[(tuple(p), tuple(c))] = counts.get((tuple(p), tuple(c)), 0) + 1
            uniq = list(counts.items())
            total = 0.0
            mb = self.cfg.micro_batch_size
            for i in range(0, len(uniq), mb):
                chunk = uniq[i : i + mb]
                batch = pack(
                    [list(p) for (p, _), _ in chunk],
                    [list(c) for (_, c), _ in chunk],
                    self.pad_id,
                    self.cfg.device,
                )
                logp = completion_logprobs(self.model, batch)
                wt = torch.tensor([n for _, n in chunk], dtype=logp.dtype, device=logp.device)
                loss = -(logp * batch["completion_mask"] * wt[:, None]).sum() / max(n_tok, 1)
                loss.backward()
                total += float(loss.detach())
            opt.step()
            rows.append(
                {"step": 0, "warmup_step": k + 1, "warmup_nll": total, "warmup_samples": len(pairs)}
            )
        self.model.eval()
        if self.magnet_model is not None:
            self._refresh_magnet()
        if self.ref_model is not None:
            # The reference policy of the KL term is the warmed-up model (the random-init
            # weights are no policy worth staying near).
            from spenv.agents.train.policy import load_trainable_state, trainable_state

            load_trainable_state(self.ref_model, trainable_state(self.model, all_params=True))
        for row in rows:
            self._log(row, echo=row is rows[-1])
        return rows

    # ------------------------------------------------------------------ the loop
    def train_step(self) -> dict[str, Any]:
        """Play, build samples, update; returns the step's metrics (also logged)."""
        cfg = self.cfg
        step = self.step
        t0 = time.perf_counter()
        episodes, facts = self.rollout(step)
        t1 = time.perf_counter()
        samples, skipped = self.build_samples(episodes)
        self._seed_all(step_seed(cfg.seed, step, 5))
        order = np.random.default_rng(step_seed(cfg.seed, step, 6)).permutation(len(samples))
        samples = [samples[i] for i in order]
        stats = self.update(samples, step)
        if cfg.generation.backend == "vllm":
            sync_vllm_weights(self.agent, self.model)
        t2 = time.perf_counter()
        self.step += 1
        if self.magnet_model is not None and self.step % cfg.loss.magnet_every == 0:
            self._refresh_magnet()
        o = cfg.opponents
        if o.pool_size > 0 and self.step % o.snapshot_every == 0:
            from spenv.agents.train.policy import trainable_state

            self.pool.append((self.step, trainable_state(self.model)))
            self.pool = self.pool[-o.pool_size :]
        metrics = self._metrics(episodes, samples, skipped, stats, facts)
        metrics.update({"rollout_s": t1 - t0, "update_s": t2 - t1})
        return metrics

    def _metrics(
        self,
        episodes: Sequence[Any],
        samples: Sequence[Sample],
        skipped: dict[str, int],
        stats: dict[str, float],
        facts: dict[str, Any],
    ) -> dict[str, Any]:
        m: dict[str, Any] = {"step": self.step, "games": len(episodes), "samples": len(samples)}
        m["lr"] = float(self.scheduler.get_last_lr()[0])
        m.update({k: float(v) for k, v in stats.items()})
        if samples:
            m["invalid_rate"] = float(np.mean([not s.valid for s in samples]))
            m["completion_len"] = float(np.mean([len(s.completion_ids) for s in samples]))
            m["advantage_abs"] = float(np.mean([abs(s.advantage) for s in samples]))
        for env_cfg in self.cfg.envs:
            eid = make_env_id(env_cfg.id)
            eps = [e for e in episodes if e.env_id == eid]
            roles = sorted({r for e in eps for r in e.rewards})
            for r in roles:
                vals = [
                    e.rewards[r]
                    for e in eps
                    if e.players.get(r, "").split("#")[0] == LEARNER and r in e.rewards
                ]
                if vals:
                    m[f"{eid}/{r}/return"] = float(np.mean(vals))
                m[f"{eid}/{r}/baseline"] = self.baselines.get(eid, r)
        m.update({f"skipped/{k}": v for k, v in skipped.items() if v})
        if facts.get("snapshot_step") is not None:
            m["snapshot_step"] = facts["snapshot_step"]
        return m

    def train(self, max_steps: int | None = None) -> list[dict[str, Any]]:
        """Run to ``cfg.steps`` (or ``max_steps`` more steps); returns the logged metrics."""
        cfg = self.cfg
        end = cfg.steps if max_steps is None else min(cfg.steps, self.step + max_steps)
        log: list[dict[str, Any]] = []
        if self.step == 0 and not self._warmed:
            log.extend(self.warmup())
            self._warmed = True
        if cfg.eval.every > 0 and self.step == 0:
            row = {"step": 0, **self.evaluate()}
            self._log(row)
            log.append(row)
        while self.step < end:
            row = self.train_step()
            last = self.step == cfg.steps
            if cfg.eval.every > 0 and (self.step % cfg.eval.every == 0 or last):
                row.update(self.evaluate())
            if self.step % max(cfg.log_every, 1) == 0 or last or self.step == end:
                self._log(row)
            log.append(row)
            if (cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0) or self.step == end:
                self.save_checkpoint()
        self.close()
        return log

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, games: int | None = None) -> dict[str, float]:
        """Play the eval opponents (both seats) and take the games' declared measurements of
        the policy (Kuhn poker: exploitability)."""
        import torch

        from spenv.rollout import run_games

        cfg = self.cfg
        games = cfg.eval.games if games is None else games
        self.model.eval()
        out: dict[str, float] = {}
        torch.manual_seed(step_seed(cfg.seed, self.step, 7))
        self._seed_agent(self.agent, step_seed(cfg.seed, self.step, 8))
        with torch.no_grad():
            for env_cfg in cfg.envs:
                eid = make_env_id(env_cfg.id)
                for opp in cfg.eval.opponents:
                    eps = run_games(
                        env_cfg.id,
                        [self.agent, opp],
                        games=games,
                        seed=10**9 + 7,
                        batch_size=cfg.generation.batch_size,
                        env_options=self._env_options(env_cfg),
                        reset_options=env_cfg.reset_options,
                    )
                    mean, half = _learner_mean(eps)
                    out[f"eval/{eid}/vs_{opp}"] = mean
                    out[f"eval/{eid}/vs_{opp}_games"] = len(eps)
                    out[f"eval/{eid}/vs_{opp}_ci95"] = half
                    inv = [t for e in eps for t in e.turns if e.players[t.agent] == LEARNER]
                    if inv:
                        out[f"eval/{eid}/vs_{opp}_invalid"] = float(
                            np.mean([not t.valid for t in inv])
                        )
                if cfg.eval.agent_metrics and not env_cfg.options:
                    out.update(self._agent_metrics(eid, cfg.eval.policy_samples))
        return out

    def _agent_metrics(self, env_id: str, samples: int) -> dict[str, float]:
        """The game's declared measurements of the policy (its registry entry's
        ``agent_metrics``: Kuhn poker's exploitability, ...), each logged as
        ``eval/ENV/NAME`` with the samples it took and the fraction of invalid answers."""
        from spenv import registry

        spec = registry.spec(env_id)
        out: dict[str, float] = {}
        for key, rep in spec.measure_agent(self.agent, seed=self.cfg.seed, samples=samples).items():
            out[f"eval/{env_id}/{key}"] = float(rep["value"])
            invalid = rep.get("invalid_answers")
            if invalid is not None and rep.get("policy"):
                out[f"eval/{env_id}/policy_samples"] = samples
                out[f"eval/{env_id}/policy_invalid"] = float(
                    sum(invalid.values()) / (len(rep["policy"]) * samples)
                )
        return out

    # ------------------------------------------------------------------ logging
    def _drop_log_after(self, step: int) -> None:
        """Keep only the log rows of steps up to ``step`` (a resumed run writes the later ones
        again, exactly): ``metrics.jsonl`` is rewritten atomically; a torn last line (a run
        killed mid-write) is dropped; TensorBoard events after ``step`` are purged."""
        log = self.out / "metrics.jsonl"
        self._purge_step = step + 1
        if not log.exists():
            return
        kept = []
        lines = log.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                if i == len(lines) - 1:
                    continue  # the torn end of a killed write
                raise ValueError(f"{log}:{i + 1} is not a JSON row") from None
            if int(row.get("step", 0)) <= step and step >= 0:
                kept.append(line)
        tmp = log.with_name(log.name + ".tmp")
        tmp.write_text("".join(x + "\n" for x in kept), encoding="utf-8")
        tmp.replace(log)

    def _log(self, row: dict[str, Any], echo: bool = True) -> None:
        with open(self.out / "metrics.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(row, sort_keys=True) + "\n")
        if self.cfg.tensorboard:
            if self._tb is None:
                from torch.utils.tensorboard import SummaryWriter

                purge = getattr(self, "_purge_step", None)
                self._tb = SummaryWriter(str(self.out / "tb"), purge_step=purge)
            for k, v in row.items():
                if k != "step" and isinstance(v, int | float) and math.isfinite(v):
                    self._tb.add_scalar(k, v, row["step"])
            self._tb.flush()
        if not self.quiet and echo:
            keys = [
                k
                for k in row
                if k.endswith("return")
                or k.startswith("eval/")
                or k in ("loss", "invalid_rate", "warmup_nll")
            ]
            print(
                f"step {row['step']}: " + ", ".join(f"{k}={row[k]:.4g}" for k in keys[:8]),
                flush=True,
            )

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
            self._tb = None

    # ------------------------------------------------------------------ checkpoints
    def latest_checkpoint(self) -> Path | None:
        ckpts = sorted((self.out / "checkpoints").glob("step-*"))
        ckpts = [c for c in ckpts if (c / "state.json").exists()]
        return ckpts[-1] if ckpts else None

    def save_checkpoint(self) -> Path:
        """Write ``checkpoints/step-NNNNNNNN/`` (complete or not at all) and prune old ones."""
        import torch

        from spenv.agents.train.policy import trainable_state

        root = self.out / "checkpoints"
        final = root / f"step-{self.step:08d}"
        tmp = root / f".tmp-step-{self.step:08d}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        torch.save(trainable_state(self.model), tmp / "weights.pt")
        torch.save(
            {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict()},
            tmp / "optimizer.pt",
        )
        torch.save(
            {
                "torch": torch.get_rng_state(),
                "numpy": np.random.get_state(),
                "python": random.getstate(),
            },
            tmp / "rng.pt",
        )
        torch.save(self.pool, tmp / "pool.pt")
        if self.ref_model is not None and self.cfg.warmup.steps > 0:
            torch.save(trainable_state(self.ref_model, all_params=True), tmp / "reference.pt")
        if self.magnet_model is not None:
            torch.save(trainable_state(self.magnet_model, all_params=True), tmp / "magnet.pt")
        (tmp / "config.yaml").write_text(dump_config(self.cfg), encoding="utf-8")
        source = Path(self.source)
        state = {
            "step": self.step,
            "baselines": self.baselines.state_dict(),
            "source": str(source.resolve()) if source.exists() else self.source,
        }
        (tmp / "state.json").write_text(json.dumps(state, indent=1), encoding="utf-8")
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
        ckpts = sorted(c for c in root.glob("step-*") if c.is_dir())
        for old in ckpts[: -self.cfg.keep_checkpoints]:
            shutil.rmtree(old)
        return final

    def load_checkpoint(self, path: str | Path) -> None:
        """Restore everything :meth:`save_checkpoint` wrote."""
        import torch

        from spenv.agents.train.policy import load_trainable_state

        path = Path(path)
        state = json.loads((path / "state.json").read_text(encoding="utf-8"))
        load_trainable_state(self.model, torch.load(path / "weights.pt", weights_only=True))
        opt = torch.load(path / "optimizer.pt", weights_only=False)
        self.optimizer.load_state_dict(opt["optimizer"])
        self.scheduler.load_state_dict(opt["scheduler"])
        rng = torch.load(path / "rng.pt", weights_only=False)
        torch.set_rng_state(rng["torch"])
        np.random.set_state(rng["numpy"])
        random.setstate(rng["python"])
        self.pool = torch.load(path / "pool.pt", weights_only=False)
        if self.ref_model is not None and (path / "reference.pt").exists():
            load_trainable_state(
                self.ref_model, torch.load(path / "reference.pt", weights_only=True)
            )
        if self.magnet_model is not None and (path / "magnet.pt").exists():
            load_trainable_state(
                self.magnet_model, torch.load(path / "magnet.pt", weights_only=True)
            )
        self.baselines.load_state_dict(state["baselines"])
        self.step = int(state["step"])


def make_env(env_id: str, **options: Any) -> Any:
    from spenv.registry import make

    return make(env_id, **options)


def make_env_id(env_id: str) -> str:
    """The full id an env reports (``KuhnPoker`` -> ``KuhnPoker-v1``)."""
    from spenv.registry import make

    return make(env_id).env_id


def _learner_mean(episodes: Sequence[Any]) -> tuple[float, float]:
    """Mean return of the learner per game and the half-width of its 95% interval."""
    vals = [
        r
        for e in episodes
        if e.status != "error"
        for seat, r in e.rewards.items()
        if e.players.get(seat) == LEARNER
    ]
    if not vals:
        return float("nan"), float("nan")
    arr = np.asarray(vals, dtype=float)
    half = 1.96 * arr.std(ddof=1) / math.sqrt(len(arr)) if len(arr) > 1 else float("nan")
    return float(arr.mean()), float(half)
