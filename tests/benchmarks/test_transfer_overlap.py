"""``spenv eval transfer`` notes the suites whose problems a training run trained on.

The run folders are laid out as the trainer writes them (``RUN/config.yaml``, and a copy in
``RUN/checkpoints/step-N``), with the config made by the trainer's own ``load_config`` and
``dump_config``; the evaluations are real transfer runs over the real suite data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from evalkit import LookupAgent

from spenv.agents.train.config import dump_config, load_config
from spenv.benchmarks.suites import load_items
from spenv.benchmarks.transfer import run_transfer
from spenv.benchmarks.transfer_overlap import find_run_config, training_problems


def _run_folder(root: Path, envs: list[dict[str, Any]]) -> Path:
    """A run folder as the trainer leaves it: its config, and a checkpoint holding a copy."""
    cfg = load_config({"envs": envs, "model": {"tiny": {}}, "steps": 2, "out": str(root)})
    text = dump_config(cfg)
    ckpt = root / "checkpoints" / "step-2"
    ckpt.mkdir(parents=True)
    (root / "config.yaml").write_text(text, encoding="utf-8")
    (ckpt / "config.yaml").write_text(text, encoding="utf-8")
    return ckpt


def test_training_on_humaneval_is_noted(tmp_path: Path) -> None:
    run = tmp_path / "run-he"
    ckpt = _run_folder(
        run,
        [{"id": "CodeAndTest-v1", "options": {"source": "humaneval", "allow_eval_overlap": True}}],
    )
    items = load_items("humaneval", limit=6)
    agent = LookupAgent(items, lambda it: True)
    res = run_transfer(agent, ["humaneval"], out=tmp_path / "out", limit=6, run=ckpt)
    ov = res["training_overlap"]
    assert ov["run"] == str(run.resolve())
    assert ov["sources"] == [
        {"env": "CodeAndTest-v1", "source": "humaneval (split all)", "problems": 164}
    ]
    assert ov["suites"]["humaneval"]["items"] == 6 and ov["suites"]["humaneval"]["overlap"] == 6
    assert ov["notes"] == [f"humaneval: 6 of 6 problems were training problems of {run.resolve()}"]
    on_disk = json.loads((tmp_path / "out" / "results.json").read_text())
    assert on_disk["training_overlap"] == ov
    meta = json.loads((tmp_path / "out" / "metadata.json").read_text())
    assert meta["training_overlap"]["notes"] == ov["notes"]
    # The run folder itself, its config file and an hf: path to the checkpoint name the same run.
    for where in (run, run / "config.yaml"):
        assert find_run_config(None, where)[0] == run.resolve()
    assert find_run_config(f"hf:{ckpt}")[0] == run.resolve()
    assert find_run_config("hf:gpt2") is None and find_run_config("random") is None


def test_default_mbpp_training_does_not_overlap_but_a_debate_suite_does(tmp_path: Path) -> None:
    run = tmp_path / "run-mix"
    _run_folder(
        run,
        [
            {"id": "CodeAndTest-v1", "options": {}},
            {"id": "Debate-v1", "options": {"suite": "gsm8k"}},
            {"id": "TicTacToe-v1"},
        ],
    )
    sources = training_problems(run / "config.yaml")
    assert [(s["env"], s["source"], s["problems"]) for s in sources] == [
        ("CodeAndTest-v1", "mbpp (split train)", 371),  # 601-974 less 601, 642, 927
        ("Debate-v1", "suite gsm8k", 1319),
    ]
    assert "mbpp/601" not in sources[0]["ids"] and "mbpp/602" in sources[0]["ids"]
    items = load_items("humaneval", limit=3) + load_items("math500", limit=4)
    items += load_items("gsm8k", limit=5)
    agent = LookupAgent(items, lambda it: False)
    res = run_transfer(
        agent, ["humaneval", "math500", "gsm8k"], out=tmp_path / "out", limit=5, run=run
    )
    ov = res["training_overlap"]
    assert {s: m["overlap"] for s, m in ov["suites"].items()} == {
        "humaneval": 0,
        "math500": 0,
        "gsm8k": 5,
    }
    assert ov["notes"] == [f"gsm8k: 5 of 5 problems were training problems of {run.resolve()}"]


def test_cli_run_option(tmp_path: Path) -> None:
    run = tmp_path / "run-he"
    _run_folder(
        run,
        [{"id": "CodeAndTest-v1", "options": {"source": "humaneval", "allow_eval_overlap": True}}],
    )
    base = [sys.executable, "-m", "spenv", "eval", "transfer", "--agent", "random", "-q"]
    base += ["--suites", "humaneval", "--limit", "2", "--out", str(tmp_path / "o")]
    done = subprocess.run(
        [*base, "--run", str(tmp_path / "nowhere")], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 2 and "no config.yaml" in done.stderr, done.stderr[-2000:]
    done = subprocess.run([*base, "--run", str(run)], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        pytest.fail(done.stderr[-3000:])
    assert "training overlap: humaneval: 2 of 2 problems were training problems of" in done.stdout
