"""spenv self-play through TRL's GRPOTrainer: the rollout function with a real trainer and a
real tiny model, the advantages, bad input, training runs (one process and accelerate with two
gloo processes), the CLI, and the GPU check's CPU dry run."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("trl")

from spenv.agents.train.config import ConfigError  # noqa: E402
from spenv.agents.train.policy import completion_logprobs, pack  # noqa: E402
from spenv.integrations import RECIPES  # noqa: E402
from spenv.integrations.trl import (  # noqa: E402
    SelfPlayRollout,
    decision_return,
    decisions_from_episodes,
    env_dataset,
    prompt_groups,
    spenv_advantage,
    spenv_trainer_class,
)
from spenv.integrations.trl_train import load_trl_config, train  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
KUHN_RETURNS = {-2.0, -1.0, 1.0, 2.0}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> str:
    from spenv.agents.testing import tiny_model

    return tiny_model(
        tmp_path_factory.mktemp("tiny") / "m", layers=1, hidden_size=32, heads=2, kv_heads=1
    )


def _trainer(tiny: str, tmp: Path, rollout: SelfPlayRollout, *, rae: bool = False, **grpo):
    from trl import GRPOConfig, GRPOTrainer

    args = GRPOConfig(
        output_dir=str(tmp / "trl"),
        use_cpu=True,
        report_to=[],
        save_strategy="no",
        disable_tqdm=True,
        gradient_checkpointing=False,
        max_completion_length=3,
        **{"num_generations": 4, "per_device_train_batch_size": 16, "max_steps": 1, **grpo},
    )
    cls = spenv_trainer_class() if rae else GRPOTrainer
    return cls(
        model=tiny,
        reward_funcs=[spenv_advantage if rae else decision_return],
        args=args,
        train_dataset=env_dataset(list(rollout.envs), 32),
        rollout_func=rollout,
    )


# ---------------------------------------------------------------- the rollout function
def test_rollout_fills_every_row_with_a_learner_decision_in_same_prompt_groups(tiny, tmp_path):
    rollout = SelfPlayRollout(["KuhnPoker-v1"], seed=1, batch_size=64)
    trainer = _trainer(tiny, tmp_path, rollout)
    out = rollout(["KuhnPoker-v1"] * 16, trainer)
    n = 16
    assert all(len(out[k]) == n for k in out)
    assert rollout.stats["decisions"] >= n and rollout.stats["games"] > 0
    for i in range(0, n, 4):  # each group of num_generations rows: one prompt (or env and role)
        block = out["prompt_ids"][i : i + 4]
        roles = set(out["spenv_role"][i : i + 4])
        assert len({tuple(p) for p in block}) == 1 or len(roles) == 1
    assert set(out["spenv_env"]) == {"KuhnPoker-v1"}
    # Returns are Kuhn poker's chip results (a forfeit included).
    assert set(out["spenv_return"]) <= KUHN_RETURNS
    # The log-probs are those of the policy that sampled (temperature 1: the model's own).
    model = trainer.accelerator.unwrap_model(trainer.model)
    batch = pack(out["prompt_ids"], out["completion_ids"], trainer.processing_class.pad_token_id)
    with torch.no_grad():
        ref = completion_logprobs(model, batch)
    for i, lps in enumerate(out["logprobs"]):
        assert len(lps) == len(out["completion_ids"][i]) > 0
        assert torch.allclose(torch.tensor(lps), ref[i, : len(lps)], atol=1e-4)
    # Group advantages: centred within each group.
    for i in range(0, n, 4):
        assert abs(sum(out["spenv_advantage"][i : i + 4])) < 1e-6


def test_rollout_plays_different_games_on_each_call(tiny, tmp_path):
    rollout = SelfPlayRollout(["KuhnPoker-v1"], seed=1, batch_size=64, estimator="rae")
    trainer = _trainer(tiny, tmp_path, rollout, rae=True)
    a = rollout(["KuhnPoker-v1"] * 16, trainer)
    b = rollout(["KuhnPoker-v1"] * 16, trainer)
    assert rollout.calls == 2
    assert a["completion_ids"] != b["completion_ids"] or a["spenv_return"] != b["spenv_return"]


def test_rae_advantages_are_return_minus_moving_role_baseline(tiny, tmp_path):
    rollout = SelfPlayRollout(["KuhnPoker-v1"], seed=2, estimator="rae", decay=0.5)
    trainer = _trainer(tiny, tmp_path, rollout, rae=True)
    out = rollout(["KuhnPoker-v1"] * 16, trainer)
    vals = rollout.baselines.values
    assert set(vals) <= {("KuhnPoker-v1", "player_0"), ("KuhnPoker-v1", "player_1")}
    assert any(v != 0 for v in vals.values())
    for ret, adv in zip(out["spenv_return"], out["spenv_advantage"], strict=True):
        assert adv != ret  # a baseline was subtracted
        assert abs(adv - ret) <= 2.0 + 1e-9  # baselines stay within the return range
    # SpenvGRPOTrainer trains on these advantages as they are.
    inputs = [{"prompt": "KuhnPoker-v1"} for _ in range(16)]
    trainer.model.train()
    batch = trainer._generate_and_score_completions(inputs)
    fields = torch.tensor([x["spenv_advantage"] for x in inputs])
    assert torch.allclose(batch["advantages"].float(), fields.float())
    assert not torch.allclose(fields, fields - fields.mean())  # RAE is not group-centred


def test_fixed_opponent_seats_are_never_trained(tiny, tmp_path):
    rollout = SelfPlayRollout(
        ["KuhnPoker-v1"], seed=3, opponent="random", opponent_fraction=1.0, estimator="rae"
    )
    trainer = _trainer(tiny, tmp_path, rollout, rae=True)
    out = rollout(["KuhnPoker-v1"] * 16, trainer)
    assert len(out["prompt_ids"]) == 16
    # Against the scripted player only the learner's decisions come back: roughly half of all.
    assert rollout.stats["decisions"] < 2.2 * rollout.stats["games"] / 2 + 4


def test_decision_return_prefers_the_turn_reward(tiny):
    from spenv.agents.hf import HFAgent
    from spenv.rollout import run_games

    agent = HFAgent(path=tiny, name="policy", max_new_tokens=3, prompt_style="plain", seed=0)
    eps = run_games("KuhnPoker-v1", [agent, agent], games=2, seed=0)
    eps[0].turns[0].reward = 0.25
    ds = decisions_from_episodes(eps)
    first = [d for d in ds if d.unit[-1] != -1]
    assert [d.ret for d in first] == [0.25]
    rest = [d for d in ds if d.unit[-1] == -1]
    assert all(d.ret == eps[0].rewards[d.role] or d.ret in KUHN_RETURNS for d in rest)
    # An error episode gives nothing.
    eps[1].status = "error"
    assert all(d.unit[1] == eps[0].metadata["game"] for d in decisions_from_episodes(eps))


def test_prompt_groups_fill_from_same_prompts_then_env_and_role():
    from spenv.integrations.trl import Decision

    def d(p, role):
        return Decision([p], [1], [0.0], 1.0, "E", role, True, (p, role))

    ds = [d(1, "a"), d(1, "a"), d(1, "a"), d(2, "a"), d(3, "b")]
    groups = prompt_groups(ds, 2)
    assert [[x.prompt_ids[0] for x in g] for g in groups] == [[1, 1], [1, 2]]


def test_bad_prompts_and_batch_shapes_are_clear_errors(tiny, tmp_path):
    rollout = SelfPlayRollout(["KuhnPoker-v1"], seed=1)
    trainer = _trainer(tiny, tmp_path, rollout)
    with pytest.raises(ValueError, match="names no env"):
        rollout(["Chess-v9"] * 4, trainer)
    with pytest.raises(ValueError, match="multiple of num_generations"):
        rollout(["KuhnPoker-v1"] * 6, trainer)
    with pytest.raises(ValueError, match="must name an env"):
        rollout([None] * 4, trainer)
    with pytest.raises(Exception, match=r"(?i)unknown|not registered|no env"):
        SelfPlayRollout(["NoSuchGame-v1"])
    with pytest.raises(ValueError, match="estimator"):
        SelfPlayRollout(["KuhnPoker-v1"], estimator="ppo")
    with pytest.raises(ValueError, match="opponent"):
        SelfPlayRollout(["KuhnPoker-v1"], opponent_fraction=0.5)
    with pytest.raises(ValueError, match="spenv_return"):
        decision_return(["x"], ["y"])


def test_config_errors_name_the_field(tmp_path):
    with pytest.raises(ConfigError, match="unknown field"):
        load_trl_config({"envs": [{"id": "KuhnPoker-v1"}], "model": {"tiny": {}}, "bogus": 1})
    with pytest.raises(ConfigError, match=r"advantage\.estimator"):
        load_trl_config(
            {
                "envs": [{"id": "KuhnPoker-v1"}],
                "model": {"tiny": {}},
                "advantage": {"estimator": "x"},
            }
        )
    with pytest.raises(ConfigError, match="output_dir"):
        load_trl_config(
            {"envs": [{"id": "KuhnPoker-v1"}], "model": {"tiny": {}}, "grpo": {"output_dir": "x"}}
        )
    bad = tmp_path / "bad.yaml"
    bad.write_text("envs: [", encoding="utf-8")
    with pytest.raises(ConfigError, match="YAML"):
        load_trl_config(bad)
    for name in ("kuhn_trl_cpu", "search_trl_cpu"):
        assert load_trl_config(name).envs


def test_cli_reports_config_errors(tmp_path):
    from spenv.apps.cli import main

    bad = tmp_path / "c.yaml"
    bad.write_text("envs: []\nmodel: {tiny: {}}\n", encoding="utf-8")
    assert main(["train-trl", str(bad)]) == 2


# ---------------------------------------------------------------- training runs
@pytest.mark.slow
def test_kuhn_recipe_trains_in_one_process(tmp_path):
    cfg = load_trl_config("kuhn_trl_cpu", out=str(tmp_path / "run"))
    cfg.grpo.update(max_steps=2, per_device_train_batch_size=16)
    cfg.warmup.steps = 4
    cfg.eval.policy_samples = 10
    result = train(cfg, quiet=True)
    assert result["processes"] == 1 and result["steps"] == 2
    assert 0 <= result["metrics_final"]["KuhnPoker-v1"]["exploitability"] <= 1.5
    assert 0 <= result["metrics_after_warmup"]["KuhnPoker-v1"]["exploitability"] <= 1.5
    rows = [r for r in result["log"] if "loss" in r]
    assert len(rows) == 2 and all(math.isfinite(r["loss"]) for r in rows)
    assert all("spenv/invalid_rate" in r for r in rows)
    assert (tmp_path / "run" / "result.json").exists()


@pytest.mark.slow
def test_proposer_solver_game_trains_through_grpo_trainer_with_rae(tmp_path):
    cfg = load_trl_config("search_trl_cpu", out=str(tmp_path / "run"))
    cfg.grpo["max_steps"] = 2
    cfg.warmup.steps = 2
    result = train(cfg, quiet=True)
    assert result["steps"] == 2
    rows = [r for r in result["log"] if "loss" in r]
    assert len(rows) == 2 and all(math.isfinite(r["loss"]) for r in rows)
    roles = {k for r in rows for k in r if k.startswith("spenv/SearchSelfPlay-v1/")}
    assert {
        "spenv/SearchSelfPlay-v1/proposer/return",
        "spenv/SearchSelfPlay-v1/solver/return",
    } & roles


def _accelerate(args: list[str], cwd: Path, timeout: int) -> subprocess.CompletedProcess:
    return _accelerate_script(["-m", "spenv", *args], cwd, timeout)


def _accelerate_script(args: list[str], cwd: Path, timeout: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TRL_EXPERIMENTAL_SILENCE": "1"}
    cmd = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "--multi_gpu",  # the torch.distributed launcher; grpo.use_cpu makes it gloo on the CPU
        *args,
    ]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_kuhn_self_play_under_accelerate_two_processes_lowers_exploitability(tmp_path):
    """Two gloo processes on the CPU run the shipped Kuhn recipe, shortened: 12 GRPO steps of
    2 x 32 decisions. Exploitability is measured on the trainer's model before and after, from
    200 samples at each information set; the drop seen here is about 0.1 or more."""
    import yaml

    cfg = yaml.safe_load((RECIPES / "kuhn_trl_cpu.yaml").read_text(encoding="utf-8"))
    cfg["grpo"].update(max_steps=12, per_device_train_batch_size=32)
    path = tmp_path / "kuhn.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    out = tmp_path / "run"
    proc = _accelerate(["train-trl", str(path), "--out", str(out), "-q"], tmp_path, timeout=1700)
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads((out / "result.json").read_text())
    assert result["processes"] == 2 and result["steps"] == 12
    assert (out / "warmup" / "model" / "config.json").exists()
    before = result["metrics_after_warmup"]["KuhnPoker-v1"]["exploitability"]
    after = result["metrics_final"]["KuhnPoker-v1"]["exploitability"]
    assert after < before - 0.05, (before, after)
    rows = [r for r in result["log"] if "loss" in r]
    assert len(rows) == 12 and all("spenv/invalid_rate" in r for r in rows)


@pytest.mark.slow
def test_vllm_server_mode_padding_keeps_unequal_processes_in_step(tiny, tmp_path):
    """vLLM cannot run here: a stand-in engine with TRL's server-mode contract (gather all
    prompts, slice by equal counts) serves two processes that play 3 and 8 games."""
    out = tmp_path / "lockstep"
    proc = _accelerate_script(
        [str(Path(__file__).with_name("lockstep_worker.py")), tiny, str(out)], tmp_path, 600
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    rows = [json.loads(Path(f"{out}.{r}.json").read_text()) for r in (0, 1)]
    assert [r["games"] for r in rows] == [3, 8]
    assert all(r["errors"] == 0 and r["decisions"] > 0 for r in rows)
    assert rows[0]["calls"] == rows[1]["calls"]  # the finished process kept taking part
    assert all(r["mismatches"] == 0 for r in rows)  # every process got its own answers back
    assert all(r["logprobs"] == [-0.5] for r in rows)


# ---------------------------------------------------------------- the GPU check, dry run
@pytest.mark.slow
def test_gpu_check_runs_in_tiny_mode_on_the_cpu(tmp_path):
    out = tmp_path / "tiny.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "gpu" / "run.py"), "--tiny", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "OMP_NUM_THREADS": "1", "TRL_EXPERIMENTAL_SILENCE": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    res = json.loads(out.read_text())
    assert res["mode"] == "tiny"
    r = res["rollout"]
    assert "error" not in r, r.get("trace")
    assert len(r["rounds"]) == 2 and all(x["spenv_tokens"] > 0 for x in r["rounds"])
    assert r["ratio_min"] <= r["ratio_median"] <= r["ratio_max"]
    for name in ("spiral_qwen3_4b", "spiral_qwen3_4b_lora"):
        t = res["train_step"][name]
        assert "error" not in t, t.get("trace")
        assert t["step_seconds"] > 0 and math.isfinite(t["loss"])
    assert (
        res["train_step"]["spiral_qwen3_4b_lora"]["trainable_parameters"]
        < (res["train_step"]["spiral_qwen3_4b"]["trainable_parameters"])
    )
    g = res["grpo_trl"]
    assert "error" not in g, g.get("trace")
    assert g["steps"] == 1 and math.isfinite(g["loss"])
