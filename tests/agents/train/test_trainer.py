"""The trainer with a real tiny model: masking, samples, resume, proposer–solver games, CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from spenv.agents.hf import HFAgent  # noqa: E402
from spenv.agents.train import RECIPES, load_config  # noqa: E402
from spenv.agents.train.config import ConfigError  # noqa: E402
from spenv.agents.train.loss import policy_loss  # noqa: E402
from spenv.agents.train.policy import completion_logprobs, pack  # noqa: E402
from spenv.agents.train.rollouts import (  # noqa: E402
    GroupedRunner,
    Sample,
    merge_samples,
    samples_from_episodes,
)
from spenv.agents.train.trainer import LEARNER, Trainer, _NoMeta  # noqa: E402
from spenv.rollout import run_games  # noqa: E402


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> str:
    from spenv.agents.testing import tiny_model

    return tiny_model(
        tmp_path_factory.mktemp("tiny") / "m", layers=1, hidden_size=32, heads=2, kv_heads=1
    )


def _cfg(tiny: str, out: Path, **over):
    data = {
        "seed": 3,
        "steps": 2,
        "games_per_step": 8,
        "micro_batch_size": 4,
        "learning_rate": 0.01,
        "envs": [{"id": "KuhnPoker-v1"}],
        "model": {"path": tiny},
        "generation": {"max_new_tokens": 3, "batch_size": 8, "prompt_style": "plain"},
        "tensorboard": False,
        "threads": 1,
        "out": str(out),
    }
    data.update(over)
    return load_config(data)


# ---------------------------------------------------------------- config
def test_every_shipped_recipe_loads_and_validates():
    names = sorted(p.name for p in RECIPES.glob("*.yaml"))
    assert "kuhn_cpu.yaml" in names and any("qwen3_4b" in n for n in names)
    for p in RECIPES.glob("*.yaml"):
        cfg = load_config(p)
        assert cfg.envs and cfg.steps > 0
    gpu = load_config(RECIPES / "spiral_qwen3_4b.yaml")
    assert gpu.generation.backend == "vllm"
    assert {e.id for e in gpu.envs} == {"KuhnPoker-v1", "TicTacToe-v1", "SimpleNegotiation-v1"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"loss": {"loss_type": "ppo"}}, "loss.loss_type"),
        ({"loss": {"epsilon": "0.2"}}, "loss.epsilon: expected a number"),
        ({"advantage": {"estimator": "gae"}}, "advantage.estimator"),
        ({"bogus": 1}, "unknown field"),
        ({"envs": []}, "envs"),
        ({"model": {}}, "exactly one of path and tiny"),
        ({"generation": {"backend": "vllm"}, "model": {"tiny": {}, "lora": {}}}, "lora"),
    ],
)
def test_bad_configs_name_the_field(change, message):
    data = {"envs": [{"id": "KuhnPoker-v1"}], "model": {"tiny": {}}, **change}
    with pytest.raises(ConfigError, match=message):
        load_config(data)


# ---------------------------------------------------------------- masking and gradients
def test_only_completion_tokens_carry_loss_and_gradient(tiny):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny)
    prompts = [[5, 6, 7, 8, 9], [10, 11]]
    comps = [[20, 21], [22, 23, 24]]
    batch = pack(prompts, comps, pad_id=0)
    # Left-padded prompts, right-padded completions; the mask covers completions only.
    assert batch["input_ids"].tolist() == [
        [5, 6, 7, 8, 9, 20, 21, 0],
        [0, 0, 0, 10, 11, 22, 23, 24],
    ]
    assert batch["completion_mask"].tolist() == [[1, 1, 0], [1, 1, 1]]
    captured = {}

    def hook(_module, _inputs, output):
        output.retain_grad()
        captured["logits"] = output

    handle = model.get_output_embeddings().register_forward_hook(hook)
    try:
        logp = completion_logprobs(model, batch)
    finally:
        handle.remove()
    loss, _ = policy_loss(logp, logp.detach(), torch.tensor([1.0, -1.0]), batch["completion_mask"])
    loss.backward()
    grad = captured["logits"].grad  # [B, C + 1, V]: only the positions that predict completions
    per_pos = grad.abs().sum(-1)
    assert per_pos.shape == (2, 4)
    assert torch.all(per_pos[:, -1] == 0)  # the position after the completion
    assert per_pos[0, 2] == 0  # predicts the padding of the first completion
    assert torch.all(per_pos[0, :2] > 0) and torch.all(per_pos[1, :3] > 0)
    # Padding tokens (id 0, seen only as padding) get no gradient in the embedding... of the
    # output: a zero-advantage batch gives no gradient anywhere.
    model.zero_grad()
    logp = completion_logprobs(model, batch)
    loss, _ = policy_loss(logp, logp.detach(), torch.zeros(2), batch["completion_mask"])
    loss.backward()
    assert all(p.grad is None or torch.all(p.grad == 0) for p in model.parameters())


def test_merged_rows_give_the_same_loss_and_gradient(tiny):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny)
    samples = [
        Sample([5, 6], [20, 21], 1.0, "E", "r", 0, 0, advantage=0.5),
        Sample([5, 6], [20, 21], 1.0, "E", "r", 0, 1, advantage=1.5),
        Sample([5, 6], [20, 21], -1.0, "E", "r", 0, 2, advantage=-2.0),
        Sample([7], [22], 0.0, "E", "r", 0, 3, advantage=0.25),
    ]
    rows = merge_samples(samples)
    assert [(r.weight, r.advantage) for r in rows] == [(2, 1.0), (1, -2.0), (1, 0.25)]
    grads = []
    for items, weights in ((samples, None), (rows, [r.weight for r in rows])):
        model.zero_grad()
        batch = pack([s.prompt_ids for s in items], [s.completion_ids for s in items], 0)
        logp = completion_logprobs(model, batch)
        old = logp.detach() + 0.3  # ratio below 1: clipping acts on the negative advantage
        adv = torch.tensor([s.advantage for s in items])
        w = None if weights is None else torch.tensor(weights, dtype=torch.float32)
        from spenv.agents.train.loss import Normalizer

        loss, _ = policy_loss(
            logp, old, adv, batch["completion_mask"], normalizer=Normalizer(4, 7), weights=w
        )
        loss.backward()
        grads.append((float(loss), [p.grad.clone() for p in model.parameters()]))
    assert grads[0][0] == pytest.approx(grads[1][0], abs=1e-6)
    for a, b in zip(grads[0][1], grads[1][1], strict=True):
        assert torch.allclose(a, b, atol=1e-6)


# ---------------------------------------------------------------- samples from games
def test_samples_come_only_from_the_learners_turns(tiny):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny)
    tok = AutoTokenizer.from_pretrained(tiny)
    learner = HFAgent(model=model, tokenizer=tok, name=LEARNER, max_new_tokens=3, seed=0)
    snapshot = _NoMeta(HFAgent(model=model, tokenizer=tok, max_new_tokens=3, seed=1), "snapshot")
    for opponent in (snapshot, "random"):
        eps = run_games("KuhnPoker-v1", [learner, opponent], games=6, seed=0)
        samples, skipped = samples_from_episodes(eps, learner=LEARNER)
        mine = [
            (e.metadata["game"], t) for e in eps for t in e.turns if e.players[t.agent] == LEARNER
        ]
        assert len(samples) == len(mine) > 0
        for s, (game, turn) in zip(samples, mine, strict=True):
            assert s.game == game and s.role == turn.agent
            assert s.completion_ids == turn.extra["completion_ids"]
            ep = next(e for e in eps if e.metadata["game"] == game)
            assert s.ret == ep.rewards[turn.agent]
        assert skipped["turns_without_ids"] == 0
    # Self-play: the same agent in both seats, every decision is a sample.
    eps = run_games("KuhnPoker-v1", [learner, learner], games=4, seed=0)
    samples, _ = samples_from_episodes(eps, learner=LEARNER)
    assert len(samples) == sum(len(e.turns) for e in eps)


def test_grouped_runner_repeats_each_seed():
    runner = GroupedRunner("KuhnPoker-v1", ["random", "random"], games=12, seed=10, group_size=3)
    assert [runner.seating(i) for i in range(8)] == [
        (0, 10),
        (1, 10),
        (0, 10),
        (1, 10),
        (0, 10),
        (1, 10),
        (0, 11),
        (1, 11),
    ]


# ---------------------------------------------------------------- resume
def _params(trainer):
    return {n: p.detach().clone() for n, p in trainer.model.named_parameters()}


def test_resume_reproduces_the_next_step_exactly(tiny, tmp_path):
    over = {
        "opponents": {"pool_size": 2, "snapshot_every": 1, "pool_fraction": 0.5},
        "advantage": {"estimator": "rae", "decay": 0.5},
    }
    a = Trainer(_cfg(tiny, tmp_path / "a", **over), quiet=True)
    a.train()
    b = Trainer(_cfg(tiny, tmp_path / "b", **over), quiet=True)
    b.train(max_steps=1)
    assert (tmp_path / "b" / "checkpoints" / "step-00000001" / "state.json").exists()
    before = _params(b)
    c = Trainer(_cfg(tiny, tmp_path / "b", **over), resume=True, quiet=True)
    assert c.step == 1 and len(c.pool) == 1
    assert all(torch.equal(before[n], p) for n, p in _params(c).items())
    c.train()
    pa, pc = _params(a), _params(c)
    assert pa.keys() == pc.keys()
    assert all(torch.equal(pa[n], pc[n]) for n in pa)
    assert a.baselines.values == c.baselines.values
    assert any(not torch.equal(before[n], pc[n]) for n in pc)  # the step did change weights
    rows = [json.loads(x) for x in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2] and rows[1]["snapshot_step"] == 1


# ---------------------------------------------------------------- proposer–solver games
def test_proposer_solver_games_train_both_roles_from_per_role_rewards(tiny, tmp_path):
    cfg = _cfg(
        tiny,
        tmp_path / "ps",
        steps=1,
        games_per_step=4,
        envs=[{"id": "SearchSelfPlay-v1"}, {"id": "CodeAndTest-v1"}],
        generation={"max_new_tokens": 6, "batch_size": 8, "prompt_style": "plain"},
    )
    trainer = Trainer(cfg, quiet=True)
    episodes, _ = trainer.rollout(0)
    assert {e.env_id for e in episodes} == {"SearchSelfPlay-v1", "CodeAndTest-v1"}
    samples, _ = trainer.build_samples(episodes)
    by_role = {(s.env_id, s.role) for s in samples}
    # Every decision is a sample carrying its role's reward from the env.
    assert len(samples) == sum(len(e.turns) for e in episodes)
    for s in samples:
        ep = next(e for e in episodes if e.env_id == s.env_id and e.metadata["game"] == s.game)
        assert s.ret == ep.rewards[s.role]
    assert ("SearchSelfPlay-v1", "proposer") in by_role and ("CodeAndTest-v1", "coder") in by_role
    assert set(trainer.baselines.values) == by_role
    stats = trainer.update(samples, 0)
    assert stats["rows"] >= 1 and "loss" in stats


# ---------------------------------------------------------------- the command line
def test_spenv_train_smoke_and_resume(tiny, tmp_path):
    from spenv.apps.cli import main

    cfg = tmp_path / "run.yaml"
    cfg.write_text(
        f"""
seed: 1
steps: 3
games_per_step: 8
micro_batch_size: 8
envs: [{{id: KuhnPoker-v1}}]
model: {{path: {tiny}}}
generation: {{max_new_tokens: 3, batch_size: 8, prompt_style: plain}}
loss: {{loss_type: bnpo, beta: 0.05, epsilon_high: 0.28}}
warmup: {{steps: 1, games_per_step: 4}}
eval: {{every: 2, games: 8, policy_samples: 2}}
threads: 1
"""
    )
    out = tmp_path / "run"
    assert main(["train", str(cfg), "--max-steps", "2", "--out", str(out)]) == 0
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in rows if "loss" in r]
    assert steps == [1, 2]
    assert any("warmup_nll" in r for r in rows)
    assert any("eval/KuhnPoker-v1/exploitability" in r for r in rows)
    assert rows[-1]["kl"] >= 0
    assert list((out / "tb").glob("events.*"))
    assert (out / "checkpoints" / "step-00000002").is_dir()
    assert main(["train", str(cfg), "--resume", "--out", str(out)]) == 0
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "loss" in r] == [1, 2, 3]
    assert main(["train", str(tmp_path / "missing.yaml")]) == 2


def test_lora_trains_only_adapters_with_the_base_model_as_reference(tiny, tmp_path):
    pytest.importorskip("peft")
    cfg = _cfg(
        tiny,
        tmp_path / "lora",
        steps=1,
        model={"path": tiny, "lora": {"r": 4, "alpha": 8, "target_modules": ["q_proj", "v_proj"]}},
        loss={"beta": 0.1},
    )
    trainer = Trainer(cfg, quiet=True)
    assert trainer.ref_model is None  # the reference is the base model, adapters off
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    trainable = {n for n, p in trainer.model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)
    row = trainer.train()[-1]
    assert row["kl"] >= 0.0
    after = dict(trainer.model.named_parameters())
    changed = {n for n in before if not torch.equal(before[n], after[n].detach())}
    assert changed and changed <= trainable
    saved = torch.load(tmp_path / "lora" / "checkpoints" / "step-00000001" / "weights.pt")
    assert set(saved) == trainable


class _TokenizedAgent:
    """A game's own random agent whose answers carry real token ids (prompt and answer
    tokenized by the model's tokenizer), so its games train the model like sampled ones."""

    def __init__(self, env_id: str, tokenizer, name: str = LEARNER) -> None:
        from spenv.agents import make_agent

        self.inner = make_agent("random", env_id, seed=0)
        self.tok = tokenizer
        self.name = name

    def act(self, obs):
        from spenv.agents import Reply

        text = str(self.inner.act(obs))
        ids = self.tok(obs.text)["input_ids"]
        return Reply(text, prompt_ids=ids, completion_ids=self.tok(text)["input_ids"][:64])


def test_the_solver_role_is_trained_from_its_own_reward(tiny, tmp_path):
    cfg = _cfg(tiny, tmp_path / "solver", envs=[{"id": "SearchSelfPlay-v1"}])
    trainer = Trainer(cfg, quiet=True)
    agent = _TokenizedAgent("SearchSelfPlay-v1", trainer.tokenizer)
    episodes = run_games("SearchSelfPlay-v1", [agent, agent], games=8, seed=0)
    samples, _ = trainer.build_samples(episodes)
    roles = {s.role for s in samples}
    assert roles == {"proposer", "solver"}
    for s in samples:
        ep = next(e for e in episodes if e.metadata["game"] == s.game)
        assert s.ret == ep.rewards[s.role]
    assert set(trainer.baselines.values) == {
        ("SearchSelfPlay-v1", "proposer"),
        ("SearchSelfPlay-v1", "solver"),
    }
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    stats = trainer.update(samples, 0)
    assert stats["grad_norm"] > 0
    assert any(not torch.equal(before[n], p) for n, p in trainer.model.named_parameters())


def test_exact_kl_matches_a_brute_force_computation_on_a_tiny_model(tiny, tmp_path):
    """The full next-token distributions of packed, padded completions (two models) give the
    exact KL that a token-by-token forward pass of each prefix alone gives."""
    from transformers import AutoModelForCausalLM

    from spenv.agents.testing import tiny_model
    from spenv.agents.train.loss import kl_exact

    model = AutoModelForCausalLM.from_pretrained(tiny).double()
    other_path = tiny_model(
        tmp_path / "other", layers=1, hidden_size=32, heads=2, kv_heads=1, seed=7
    )
    other = AutoModelForCausalLM.from_pretrained(other_path).double()
    prompts, comps = [[5, 6, 7, 8, 9], [10, 11]], [[20, 21], [22, 23, 24]]
    batch = pack(prompts, comps, pad_id=0)
    with torch.no_grad():
        _, dist = completion_logprobs(model, batch, full=True)
        _, ref = completion_logprobs(other, batch, full=True)
        kl = kl_exact(dist, ref)
        for b, (p, c) in enumerate(zip(prompts, comps, strict=True)):
            for t in range(len(c)):
                ids = torch.tensor([p + c[:t]])
                lp = torch.log_softmax(model(input_ids=ids).logits[0, -1], -1)
                lq = torch.log_softmax(other(input_ids=ids).logits[0, -1], -1)
                brute = sum(
                    math.exp(a) * (a - q) for a, q in zip(lp.tolist(), lq.tolist(), strict=True)
                )
                assert brute > 0
                assert float(kl[b, t]) == pytest.approx(brute, rel=1e-5)  # float32 logits


def test_a_step_with_the_exact_kl_runs_and_logs_both_penalties(tiny, tmp_path):
    cfg = _cfg(
        tiny,
        tmp_path / "run",
        steps=2,
        loss={"beta": 0.1, "magnet_coef": 0.5, "magnet_every": 1, "kl_estimator": "exact"},
    )
    log = Trainer(cfg, quiet=True).train()
    rows = [r for r in log if "kl" in r]
    assert len(rows) == 2
    # the first step starts at the reference and the magnet (both the initial model): 0;
    # after one update the policy has moved away from the reference
    assert rows[0]["kl"] == pytest.approx(0.0, abs=1e-7)
    assert rows[1]["kl"] > 0 and rows[1]["kl_magnet"] >= 0
    with pytest.raises(ConfigError, match="kl_estimator"):
        _cfg(tiny, tmp_path / "bad", loss={"kl_estimator": "k2"})


def test_rows_merged_across_signs_give_the_same_loss_and_gradient_at_ratio_one(tiny):
    """With one optimizer step per batch (old log-probs = current) the loss is linear in the
    advantage, so opposite-sign decisions merge into one row; the trainer does so then."""
    from transformers import AutoModelForCausalLM

    from spenv.agents.train.loss import Normalizer

    model = AutoModelForCausalLM.from_pretrained(tiny)
    samples = [
        Sample([5, 6], [20, 21], 1.0, "E", "r", 0, 0, advantage=0.5),
        Sample([5, 6], [20, 21], -1.0, "E", "r", 0, 2, advantage=-2.0),
        Sample([7], [22], 0.0, "E", "r", 0, 3, advantage=0.25),
    ]
    rows = merge_samples(samples, by_sign=False)
    assert [(r.weight, r.advantage) for r in rows] == [(2, -0.75), (1, 0.25)]
    grads = []
    for items, weights in ((samples, None), (rows, [r.weight for r in rows])):
        model.zero_grad()
        batch = pack([s.prompt_ids for s in items], [s.completion_ids for s in items], 0)
        logp = completion_logprobs(model, batch)
        adv = torch.tensor([s.advantage for s in items])
        w = None if weights is None else torch.tensor(weights, dtype=torch.float32)
        loss, _ = policy_loss(
            logp,
            logp.detach(),
            adv,
            batch["completion_mask"],
            normalizer=Normalizer(3, 5),
            weights=w,
        )
        loss.backward()
        grads.append((float(loss), [p.grad.clone() for p in model.parameters()]))
    assert grads[0][0] == pytest.approx(grads[1][0], abs=1e-6)
    for a, b in zip(grads[0][1], grads[1][1], strict=True):
        assert torch.allclose(a, b, atol=1e-6)


def test_checker_reference_answers_the_checks_with_the_frozen_reference_model(tiny, tmp_path):
    """``checker: reference`` gives SearchSelfPlay's validity checks to the frozen reference
    policy (the KL reference model), not to the seat being trained; configs that cannot keep
    that model, or games without a checker, are refused before any model loads."""
    cfg = _cfg(
        tiny,
        tmp_path / "chk",
        envs=[{"id": "SearchSelfPlay-v1", "options": {"checker": "reference"}}],
        loss={"beta": 0.1},
    )
    trainer = Trainer(cfg, quiet=True)
    options = trainer._env_options(cfg.envs[0])
    checker = options["checker"]
    assert checker.name == "reference" and checker.model is trainer.ref_model
    assert trainer._env_options(cfg.envs[0])["checker"] is checker  # made once
    assert cfg.envs[0].options == {"checker": "reference"}  # the config is left as written
    # Readers in both seats: their proposals reach the checks, which the reference answers.
    episodes = run_games(
        "SearchSelfPlay-v1", ["reader", "reader"], games=4, seed=0, env_options=options
    )
    checks = [v for e in episodes for v in e.verdicts if v["check"] in ("rag", "closed_book")]
    assert checks and all(v["answered_by"] == "checker" for v in checks)
    assert all(e.env_options["checker"] == "agent:reference" for e in episodes)
    assert any(e.reset_options.get("checker_answers") for e in episodes)
    # One rollout step of the trainer itself plays with the reference checker.
    eps, _ = trainer.rollout(0)
    assert eps and all(e.env_options["checker"] == "agent:reference" for e in eps)

    with pytest.raises(ConfigError, match=r"loss\.beta > 0"):
        _cfg(
            tiny,
            tmp_path / "no_ref",
            envs=[{"id": "SearchSelfPlay-v1", "options": {"checker": "reference"}}],
        )
    with pytest.raises(ConfigError, match="no option 'checker'"):
        _cfg(
            tiny,
            tmp_path / "kuhn",
            envs=[{"id": "KuhnPoker-v1", "options": {"checker": "reference"}}],
            loss={"beta": 0.1},
        )
