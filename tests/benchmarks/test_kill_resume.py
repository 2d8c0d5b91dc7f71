"""A transfer run killed with SIGKILL at a random moment, then rerun, gives the results of an
uninterrupted run: nothing written is lost, nothing is corrupted, nothing is counted twice."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

from evalkit import kill_at_random_moments

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

    def some_written() -> None:
        written = sum(len(read_records(out / f"{s}.jsonl")[0]) for s in SUITES)
        assert 0 < written < 90, (written, delays)

    # Kill once the run has written something, a random moment later, while it is still going
    # (the agent's work left is several seconds).
    first = out / f"{SUITES[0]}.jsonl"
    kill_at_random_moments([sys.executable, str(slow), str(out)], first, delays, env, some_written)
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
        # The file itself: the same lines in the same order (a torn tail was cut off).
        lines = (out / f"{s}.jsonl").read_bytes().split(b"\n")
        assert lines[-1] == b"" and len(lines) == 31, (s, delays)
        assert [_strip(r) for r in ra] == [_strip(r) for r in rb], (s, delays)
