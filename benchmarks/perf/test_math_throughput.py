"""Math grading throughput on the MATH-500 gold answers: spenv's ``MathGrader`` beside a plain
sequential math-verify loop, both doing the same work, in interleaved rounds.

The workload: for each of the 500 MATH-500 golds, one response that states an equivalent answer
written differently (an integer as a fraction, ``\\dfrac`` for ``\\frac``, spacing,
``\\left(``/``\\right)``) and one that states a wrong answer (its first number plus one), each in
a model-like sentence ending in ``\\boxed{...}``; of those, only the items spenv itself hands to
math-verify are kept (its in-process shortcuts, the same answer or two plain numbers, would
settle the others without math-verify, which would be a different job from the peer's). So on
both sides every item is one math-verify parse of the response and one ``verify`` against the
parsed gold, and both sides keep parsed golds (spenv's workers in their cache, the peer in a
dict), as a grader does over an RL run that grades each gold many times.

The peer is what a script would write: ``verify(gold, parse(response))`` for each item in one
process, with math-verify's own (signal) timeouts. spenv's grader extracts the boxed answer and
sends each item to a worker process with a wall-clock limit (1 worker: the same single core of
work plus the IPC; 2 workers: in parallel). One untimed round warms every side (math-verify's
ANTLR parser speeds up as its prediction cache fills, and the gold caches fill); then each
round times the three contenders one after the other, in an order that rotates every round, and
the ratio peer time / spenv time is taken per round. The summary prints the median ratio and its
min-max over the rounds, and items/second. The two sides agree on which items are correct
(checked before timing).

    .venv/bin/python -m pytest benchmarks/perf/test_math_throughput.py --benchmark-only
"""

from __future__ import annotations

import json
import os
import re
import statistics
import time
from typing import Any

import pytest
from perfkit import NOTES

from spenv.datafiles import benchmark_root
from spenv.verifiers import math as vm
from spenv.verifiers.math import MathGrader

ROUNDS = int(os.environ.get("SPENV_PERF_MATH_ROUNDS", "5"))
_NUM = re.compile(r"(?<![\d.a-zA-Z\\])\d+")


def _math500_golds() -> list[str]:
    root = benchmark_root()
    path = None if root is None else root / "math500" / "test.jsonl"
    if path is None or not path.is_file():
        pytest.skip("the MATH-500 data is not installed with spenv")
    with open(path, encoding="utf-8") as f:
        return [json.loads(line)["answer"] for line in f if line.strip()]


def _rewrite(gold: str) -> str:
    g = gold.strip()
    if re.fullmatch(r"-?\d+", g):
        return f"\\frac{{{2 * int(g)}}}{{2}}"
    g = g.replace("\\frac", "\\dfrac")
    if g[:1] == "(" and g[-1:] == ")" and "\\cup" not in g:
        g = f"\\left( {g[1:-1]} \\right)"
    return g.replace(",", ", ")


def _perturb(gold: str) -> str:
    m = _NUM.search(gold)
    return gold[: m.start()] + str(int(m.group(0)) + 1) + gold[m.end() :] if m else "-1"


def _respond(answer: str, k: int) -> str:
    intro = ("Working through the algebra", "Combining both cases", "After simplifying")[k % 3]
    return f"{intro}, we obtain the result.\nTherefore the answer is $\\boxed{{{answer}}}$."


@pytest.fixture(scope="module")
def workload() -> list[tuple[str, str]]:
    """The items spenv grades with math-verify (see the module docstring)."""
    items = []
    for k, gold in enumerate(_math500_golds()):
        for resp in (_respond(_rewrite(gold), k), _respond(_perturb(gold), k)):
            if isinstance(vm._prepare(len(items), resp, gold, "auto", None), vm._Job):
                items.append((resp, gold))
    return items


class _Peer:
    """A sequential math-verify loop that keeps parsed golds."""

    def __init__(self) -> None:
        from math_verify import parse, verify

        self.parse, self.verify = parse, verify
        self.golds: dict[str, Any] = {}

    def __call__(self, items: list[tuple[str, str]]) -> list[bool]:
        out = []
        for resp, gold in items:
            g = self.golds.get(gold)
            if g is None:
                g = self.golds[gold] = self.parse("\\boxed{" + gold + "}")
            out.append(self.verify(g, self.parse(resp)))
        return out


def test_math_grading_paired_rounds(benchmark: Any, workload: list[tuple[str, str]]) -> None:
    peer = _Peer()
    n = len(workload)
    with MathGrader(1, timeout=10) as one, MathGrader(2, timeout=10) as two:
        contenders = {
            "peer": peer,
            "spenv, 1 worker": one.grade_batch,
            "spenv, 2 workers": two.grade_batch,
        }
        # The untimed warm-up round, and the same verdicts on both sides (a fair comparison).
        got_peer = peer(workload)
        got_one = [v.ok for v in one.grade_batch(workload)]
        two.grade_batch(workload)
        agree = sum(a == b for a, b in zip(got_one, got_peer, strict=True)) / n
        assert agree >= 0.98, f"spenv and math_verify agree on only {agree:.1%} of the items"
        times: dict[str, list[float]] = {name: [] for name in contenders}
        names = list(contenders)

        def one_round() -> None:
            r = len(times["peer"])
            for name in names[r % 3 :] + names[: r % 3]:  # the order rotates every round
                t0 = time.perf_counter()
                contenders[name](workload)
                times[name].append(time.perf_counter() - t0)

        benchmark.pedantic(one_round, rounds=ROUNDS, warmup_rounds=0, iterations=1)
    benchmark.extra_info.update(items=n, agreement_with_peer=agree, seconds=times)
    load = os.getloadavg()[0]
    NOTES.append(
        f"math grading: {n} items that reach math-verify on both sides, {len(times['peer'])} "
        f"interleaved rounds, load average {load:.1f}; agreement {agree:.1%}"
    )
    for name in names:
        rates = [n / t for t in times[name]]
        NOTES.append(f"math grading, {name}: {statistics.median(rates):,.0f} items/s (median)")
    for name in names[1:]:
        ratios = [p / s for p, s in zip(times["peer"], times[name], strict=True)]
        benchmark.extra_info[f"{name} / peer"] = ratios
        NOTES.append(
            f"math grading, {name} / peer: {statistics.median(ratios):.2f}x "
            f"(min {min(ratios):.2f}x, max {max(ratios):.2f}x, paired per round)"
        )
