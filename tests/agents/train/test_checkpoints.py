"""Run folders: a killed run resumes to exactly the uninterrupted run's files and weights,
checkpoints play as agents (``hf:CHECKPOINT``, LoRA included) and export as Hugging Face
folders, episodes export as a dataset, and bad commands fail before any model loads."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from spenv.apps.cli import main  # noqa: E402

TIMING = ("rollout_s", "update_s")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> str:
    from spenv.agents.testing import tiny_model

    return tiny_model(
        tmp_path_factory.mktemp("tiny") / "m", layers=1, hidden_size=32, heads=2, kv_heads=1
    )


def _config(tmp_path: Path, tiny: str, extra: str = "") -> Path:
    cfg = tmp_path / "run.yaml"
    cfg.write_text(
        f"""
seed: 2
steps: 6
games_per_step: 8
micro_batch_size: 8
checkpoint_every: 2
envs: [{{id: KuhnPoker-v1}}]
model: {{path: {tiny}}}
generation: {{max_new_tokens: 3, batch_size: 8, prompt_style: plain}}
loss: {{beta: 0.05, magnet_coef: 0.1, magnet_every: 2}}
advantage: {{estimator: grpo, group_by: prompt, scale: false, invalid_penalty: 0.5}}
eval: {{every: 3, games: 8, policy_samples: 2}}
tensorboard: false
threads: 1
{extra}
"""
    )
    return cfg


def _rows(out: Path) -> list[dict]:
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in TIMING} for r in rows]


def _weights(out: Path) -> dict:
    last = sorted((out / "checkpoints").glob("step-*"))[-1]
    return torch.load(last / "weights.pt", weights_only=True)


def test_a_killed_run_resumes_to_the_uninterrupted_runs_rows_and_weights(tiny, tmp_path):
    cfg = _config(tmp_path, tiny)
    assert main(["train", str(cfg), "--out", str(tmp_path / "a")]) == 0
    out = tmp_path / "b"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "spenv.apps.cli", "train", str(cfg), "--out", str(out)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 300
    while not (out / "checkpoints" / "step-00000002" / "state.json").exists():
        assert proc.poll() is None and time.time() < deadline, "the run ended before step 2"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = len(_rows(out))
    with open(out / "metrics.jsonl", "a", encoding="utf-8") as f:
        f.write('{"step": 3, "loss": 0.')  # a torn last line, as a kill mid-write leaves
    assert main(["train", str(cfg), "--resume", "--out", str(out)]) == 0
    a, b = _rows(tmp_path / "a"), _rows(out)
    assert len(b) == len(a) and b == a, f"killed after {killed_at} rows"
    assert [r["step"] for r in a if "loss" in r] == [1, 2, 3, 4, 5, 6]
    wa, wb = _weights(tmp_path / "a"), _weights(out)
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def test_resuming_an_older_checkpoint_never_duplicates_rows(tiny, tmp_path):
    cfg = _config(tmp_path, tiny, "keep_checkpoints: 3")
    out = tmp_path / "r"
    assert main(["train", str(cfg), "--out", str(out)]) == 0
    full = _rows(out)
    older = out / "checkpoints" / "step-00000002"
    assert main(["train", str(cfg), "--resume", str(older), "--out", str(out)]) == 0
    again = _rows(out)
    assert [r["step"] for r in again] == [r["step"] for r in full]
    assert again == full


def test_a_fresh_run_refuses_a_folder_that_holds_a_run(tiny, tmp_path, capsys):
    cfg = _config(tmp_path, tiny)
    out = tmp_path / "f"
    assert main(["train", str(cfg), "--max-steps", "1", "--out", str(out)]) == 0
    assert main(["train", str(cfg), "--out", str(out)]) == 2
    assert "already holds a run" in capsys.readouterr().err


def test_bad_commands_and_configs_fail_before_any_model_loads(tiny, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["train", str(_config(tmp_path, tiny)), "--max-steps", "-1"])
    assert "at least 1" in capsys.readouterr().err
    for extra, message in [
        ("envs: [{id: KuhnPokr-v1}]", "KuhnPokr-v1"),
        ("envs: [{id: KuhnPoker-v1, options: {hands: 0}}]", "hands"),
        ("envs: [{id: KuhnPoker-v1, roles: [dealer]}]", "dealer"),
    ]:
        cfg = _config(tmp_path, tiny, extra)
        out = tmp_path / "never"
        assert main(["train", str(cfg), "--out", str(out)]) == 2
        assert message in capsys.readouterr().err
        assert not out.exists()  # nothing was built, no model loaded
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text("envs: [{id: KuhnPoker-v1}]\nmodel: {tiny: {layer: 2}}\n")
    assert main(["train", str(cfg), "--out", str(tmp_path / "never")]) == 2
    err = capsys.readouterr().err
    assert "model.tiny: unknown option(s) ['layer']" in err and "Traceback" not in err


def _logits(model, tok, text: str):
    ids = tok(text, return_tensors="pt")
    with torch.no_grad():
        return model(**ids).logits


@pytest.mark.parametrize("lora", [False, True])
def test_checkpoints_play_as_agents_and_export(tiny, tmp_path, lora):
    from spenv.agents import make_agent
    from spenv.agents.train.export import load_checkpoint
    from spenv.rollout import run_games

    lora_cfg = "lora: {r: 4, alpha: 8, target_modules: [q_proj, v_proj]}"
    extra = f"model: {{path: {tiny}, {lora_cfg}}}"
    cfg = _config(tmp_path, tiny, extra if lora else "")
    out = tmp_path / "run"
    assert main(["train", str(cfg), "--max-steps", "2", "--out", str(out)]) == 0
    ckpt = out / "checkpoints" / "step-00000002"
    assert (ckpt / "config.yaml").is_file()
    model, tok = load_checkpoint(ckpt)
    # the checkpoint's weights, not the initial model's
    base = make_agent(f"hf:{tiny}")
    text = "You hold the king. [check] or [bet]?"
    assert not torch.allclose(_logits(model, tok, text), _logits(base.model, base.tokenizer, text))
    agent = make_agent(f"hf:{ckpt},max_new_tokens=3,prompt_style=plain")
    assert torch.allclose(_logits(agent.model, agent.tokenizer, text), _logits(model, tok, text))
    eps = run_games("KuhnPoker-v1", [agent, "random"], games=4, seed=0)
    assert len(eps) == 4 and all(e.status != "error" for e in eps)
    # export: a plain Hugging Face folder with the same model
    exported = tmp_path / "exported"
    assert main(["train", "export", str(ckpt), str(exported)]) == 0
    assert (exported / "config.json").is_file() and not (exported / "adapter_config.json").exists()
    again = make_agent(f"hf:{exported}")
    assert torch.allclose(_logits(again.model, again.tokenizer, text), _logits(model, tok, text))
    # and the evaluation command takes the checkpoint as its agent
    res = tmp_path / "eval"
    code = main(
        [
            "eval",
            "games",
            "--agent",
            f"hf:{ckpt},max_new_tokens=3,prompt_style=plain",
            "--env",
            "KuhnPoker-v1",
            "--opponents",
            "random",
            "--games",
            "2",
            "--metric-samples",
            "2",
            "--out",
            str(res),
            "-q",
        ]
    )
    assert code == 0 and any(res.iterdir())


def test_episodes_export_as_jsonl_and_parquet(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    eps = tmp_path / "eps.jsonl"
    assert (
        main(
            [
                "play",
                "KuhnPoker-v1",
                "--agents",
                "random,random",
                "--games",
                "5",
                "--seed",
                "1",
                "--out",
                str(eps),
                "-q",
            ]
        )
        == 0
    )
    from spenv.episode import read_episodes

    episodes = list(read_episodes(eps))
    turns = sum(len(e.turns) for e in episodes)
    assert main(["episodes", "export", str(eps), str(tmp_path / "d.jsonl")]) == 0
    rows = [json.loads(x) for x in (tmp_path / "d.jsonl").read_text().splitlines()]
    assert len(rows) == turns
    first = episodes[0].turns[0]
    assert rows[0]["completion"] == first.action and rows[0]["role"] == first.agent
    assert rows[0]["return"] == episodes[0].rewards[first.agent]
    assert "[check]" in rows[0]["prompt"] or "[bet]" in rows[0]["prompt"]
    assert main(["episodes", "export", str(eps), str(tmp_path / "d.parquet")]) == 0
    table = pq.read_table(tmp_path / "d.parquet")
    assert table.num_rows == turns
    assert {"prompt", "completion", "return", "role"} <= set(table.column_names)
    assert table.column("return").to_pylist() == [r["return"] for r in rows]
    # a torn last line (a killed writer) is skipped and reported; --strict refuses the file
    (tmp_path / "torn.jsonl").write_text(eps.read_text()[:-40])
    torn, out = tmp_path / "torn.jsonl", tmp_path / "t.jsonl"
    assert main(["episodes", "export", str(torn), str(out), "--strict"]) == 2
    assert not out.exists()
    assert main(["episodes", "export", str(torn), str(out)]) == 0
    good = sum(len(e.turns) for e in episodes[:-1])
    assert len(out.read_text().splitlines()) == good
