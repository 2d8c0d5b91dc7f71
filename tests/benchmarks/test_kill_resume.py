"""A transfer run killed with SIGKILL at a random moment, then rerun, gives the results of an
uninterrupted run: nothing written is lost, nothing is corrupted, nothing is counted twice."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from spenv.benchmarks.store import read_records

HERE = Path(__file__).resolve().parent
SUITES = ["gsm8k", "aime24", "mmlu_stem"]

SCRIPT = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {here!r})
    from evalkit import LookupAgent, in_subset, items_of
    from spenv.benchmarks.transfer import run_transfer

    class SlowAgent(LookupAgent):
        def act_batch(self, observations):
            time.sleep({delay} * len(observations))
            return super().act_batch(observations)

    suites = {suites!r}
    items = items_of(suites, 30, {data!r})
    agent = SlowAgent(items, lambda it: in_subset(it.id))
    run_transfer(agent, suites, out=sys.argv[1], data_dir={data!r}, limit=30, n=2, batch_size=3)
    print("done")
    """
)


def _script(tmp_path: Path, data: Path, delay: float) -> Path:
    p = tmp_path / f"run_{delay}.py"
    p.write_text(SCRIPT.format(here=str(HERE), suites=SUITES, data=str(data), delay=delay))
    return p


def _strip(rec: dict) -> dict:
    return {k: v for k, v in rec.items() if k != "gen_elapsed"}


def test_sigkill_at_random_moments_then_resume(benchmarks_dir: Path, tmp_path: Path) -> None:
    fast = _script(tmp_path, benchmarks_dir, 0.0)
    slow = _script(tmp_path, benchmarks_dir, 0.02)
    ref, out = tmp_path / "ref", tmp_path / "out"
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    subprocess.run([sys.executable, str(fast), str(ref)], check=True, env=env, timeout=300)

    rng = random.Random(int.from_bytes(os.urandom(4), "little"))
    delays = [rng.uniform(0.0, 1.0) for _ in range(2)]
    for delay in delays:
        proc = subprocess.Popen(
            [sys.executable, str(slow), str(out)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        # Wait until the run has written something, then kill it a random moment later,
        # while it is still going (the agent's work left is several seconds).
        first = out / f"{SUITES[0]}.jsonl"
        deadline = time.monotonic() + 60
        while not (first.exists() and first.stat().st_size) and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(delay)
        assert proc.poll() is None, f"the run ended before the kill (delay {delay:.2f}s)"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        written = sum(len(read_records(out / f"{s}.jsonl")[0]) for s in SUITES)
        assert 0 < written < 90, (written, delays)
    done = subprocess.run(
        [sys.executable, str(fast), str(out)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, (delays, done.stderr[-2000:])

    a = json.loads((ref / "results.json").read_text())
    b = json.loads((out / "results.json").read_text())
    assert a["suites"] == b["suites"], delays
    for s in SUITES:
        ra, _ = read_records(ref / f"{s}.jsonl")
        rb, _ = read_records(out / f"{s}.jsonl")
        assert len(rb) == 30, (s, delays)  # every item exactly once
        key = lambda r: r["index"]  # noqa: E731
        assert [_strip(r) for r in sorted(ra, key=key)] == [
            _strip(r) for r in sorted(rb, key=key)
        ], (s, delays)
