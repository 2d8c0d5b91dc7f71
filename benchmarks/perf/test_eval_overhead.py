"""The evaluation harness's own cost: its overhead around a model's generation, and grading speed.

``test_generation_peer`` / ``test_transfer_harness``: the tiny Hugging Face model
(:func:`spenv.agents.testing.tiny_model`, greedy, 48 new tokens) answers the first 32 problems
of GSM8K and of MMLU-STEM with the ``boxed`` template, 16 prompts per batch. The peer is the
bare generation: the same 64 observations handed to ``HFAgent.act_batch`` in the same batches,
nothing else. The harness round is a full ``run_transfer`` into a fresh folder: loading the
suites, rendering prompts, generating, grading every answer, appending and fsyncing each item
record, computing metrics with bootstrap intervals, writing results and metadata. The agent
measures its own generation time inside ``generate_ids``; the harness's overhead is its total
wall time minus that, as a fraction of it (target: at most 10%). Both are timed warm (one
untimed round first: model weights, the math grader's worker processes).

``test_grading_5000_answers``: 5,000 model-like answers graded by the harness's grading step
(:func:`spenv.benchmarks.transfer.grade_samples`): 2,000 GSM8K, 1,000 MATH-500 and 2,000
MMLU-STEM responses, half right, half wrong, each a sentence ending in ``\\boxed{...}``.

    .venv/bin/python -m pytest benchmarks/perf/test_eval_overhead.py --benchmark-only -s
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest
from perfkit import NOTES

from spenv.datafiles import benchmark_root

ROUNDS = int(os.environ.get("SPENV_PERF_EVAL_ROUNDS", "3"))
SUITES = ["gsm8k", "mmlu_stem"]
LIMIT = 32
BATCH = 16
MAX_TOKENS = 48
TIMES: dict[str, float] = {}


def _data() -> Path:
    base = benchmark_root()
    assert (base / "gsm8k" / "test.jsonl").is_file(), f"benchmark data missing at {base}"
    return base


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Any:
    pytest.importorskip("torch", reason="the tiny model needs torch (the train extra)")
    from spenv.agents.hf import HFAgent
    from spenv.agents.testing import tiny_model

    class TimedHFAgent(HFAgent):
        """HFAgent that adds up the wall time of its generation calls."""

        generation_time = 0.0

        def generate_ids(self, prompts: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return super().generate_ids(prompts)
            finally:
                self.generation_time += time.perf_counter() - t0

    path = tiny_model(tmp_path_factory.mktemp("tiny") / "model")
    return TimedHFAgent(path, greedy=True, max_new_tokens=MAX_TOKENS, seed=0, name="tiny")


@pytest.fixture(scope="module")
def observations() -> list[Any]:
    from spenv.benchmarks.suites import TEMPLATES, load_items
    from spenv.observation import Observation

    obs = []
    for s in SUITES:
        for it in load_items(s, data_dir=_data(), limit=LIMIT):
            system, user = TEMPLATES["boxed"].render(it)
            obs.append(Observation(system, user, "solver", f"eval:{s}", 0))
    return obs


def test_generation_peer(benchmark: Any, agent: Any, observations: list[Any]) -> None:
    def bare() -> None:
        for start in range(0, len(observations), BATCH):
            agent.act_batch(observations[start : start + BATCH])

    benchmark.pedantic(bare, rounds=ROUNDS, warmup_rounds=1, iterations=1)
    stats = getattr(benchmark, "stats", None)
    if stats:
        TIMES["bare"] = stats.stats.min
        NOTES.append(f"eval overhead: bare generation of {len(observations)} prompts "
                     f"{stats.stats.min:.2f} s (best round)")  # fmt: skip


def test_transfer_harness(benchmark: Any, agent: Any, tmp_path: Path) -> None:
    from spenv.benchmarks.transfer import run_transfer

    rounds: list[dict[str, float]] = []

    def harness() -> None:
        out = tmp_path / f"round{len(rounds)}"
        run_transfer(
            agent, SUITES, out=out, data_dir=_data(), limit=LIMIT, batch_size=BATCH, seed=0
        )
        meta = json.loads((out / "metadata.json").read_text())
        rounds.append(meta["timings"])

    benchmark.pedantic(harness, rounds=ROUNDS, warmup_rounds=1, iterations=1)
    timed = rounds[1:]  # the first was the warm-up
    overheads = [(t["total"] - t["agent"]) / t["agent"] for t in timed]
    best = min(overheads)
    benchmark.extra_info["overhead_fraction"] = overheads
    benchmark.extra_info["timings"] = timed
    parts = {k: min(t[k] for t in timed) for k in ("load", "generate", "agent", "grade", "write")}
    NOTES.append(
        f"eval overhead: harness total {min(t['total'] for t in timed):.2f} s, agent generation "
        f"{parts['agent']:.2f} s, overhead {best:.1%} best / {max(overheads):.1%} worst round "
        f"(load {parts['load']:.3f} s, grade {parts['grade']:.3f} s, write {parts['write']:.3f} s)"
    )
    if "bare" in TIMES:
        NOTES.append(
            f"eval overhead: harness / bare generation peer: "
            f"{min(t['total'] for t in timed) / TIMES['bare']:.2f}x"
        )
    assert best <= 0.10, f"harness overhead {best:.1%} of generation time (target 10%)"


_NUM = re.compile(r"(?<![\d.a-zA-Z\\])\d+")


def _perturb(gold: str) -> str:
    m = _NUM.search(gold)
    return gold[: m.start()] + str(int(m.group(0)) + 1) + gold[m.end() :] if m else "-1"


def test_grading_5000_answers(benchmark: Any) -> None:
    from spenv.benchmarks.suites import load_items
    from spenv.benchmarks.transfer import grade_samples

    data = _data()
    items, answers = [], []
    plan = (("gsm8k", 2000), ("math500", 1000), ("mmlu_stem", 2000))
    for suite, count in plan:
        pool = load_items(suite, data_dir=data)
        for k in range(count):
            it = pool[k % len(pool)]
            right = k % 2 == 0
            if it.kind == "choice":
                letter = "ABCD"[(int(it.gold) + (0 if right else 1)) % 4]
                ans = letter
            else:
                ans = it.gold if right else _perturb(str(it.gold))
            items.append(it)
            answers.append([f"Working it through step by step, we get \\boxed{{{ans}}}."])
    assert len(items) == 5000
    grade_samples(items[:50], answers[:50])  # start the grader's workers: not timed
    got: list[Any] = []

    def grade() -> None:
        got.append(grade_samples(items, answers))

    benchmark.pedantic(grade, rounds=2, warmup_rounds=0, iterations=1)
    ok = sum(s[0]["status"] == "ok" for s in got[-1])
    assert 2400 <= ok <= 2600, ok  # half right, up to perturbations that stay equivalent
    stats = getattr(benchmark, "stats", None)
    if stats:
        NOTES.append(
            f"eval grading: 5,000 answers in {stats.stats.min:.2f} s best round "
            f"({5000 / stats.stats.min:,.0f} answers/s)"
        )
