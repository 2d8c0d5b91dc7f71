"""Math grading throughput on the MATH-500 gold answers: spenv's ``MathGrader`` beside a plain
sequential math-verify loop.

The workload is 1,000 items: for each of the 500 MATH-500 golds, one response that states an
equivalent answer written differently (an integer as a fraction, ``\\dfrac`` for ``\\frac``,
spacing, ``\\left(``/``\\right)``) and one that states a wrong answer (its first number plus
one), each in a model-like sentence ending in ``\\boxed{...}``. The peer is what a script would
write: for each item ``math_verify.verify(parse(gold), parse(response))`` in one process, with
math-verify's own (signal) timeouts. spenv's grader extracts the boxed answer, decides the cheap
cases in the calling process and sends the rest to worker processes with a wall-clock limit
each. Both sides are timed warm, after one untimed round (math-verify's LaTeX parser, ANTLR,
speeds up as its prediction cache fills); spenv's workers also keep parsed golds, as they would
over an RL run that grades each gold many times, so the summary also prints spenv's first round
on fresh workers (cold caches; start-up not timed). The two agree on which items are correct
(checked before timing). The summary prints items/second and the ratios.

    .venv/bin/python -m pytest benchmarks/perf/test_math_throughput.py --benchmark-only
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

from spenv.verifiers.math import MathGrader

ROUNDS = int(os.environ.get("SPENV_PERF_MATH_ROUNDS", "3"))
RATES: dict[str, float] = {}
_NUM = re.compile(r"(?<![\d.a-zA-Z\\])\d+")


def _math500_golds() -> list[str]:
    env = os.environ.get("SPENV_DATA")
    base = (
        Path(env) if env else Path(__file__).resolve().parents[2].parent / "shared" / "benchmarks"
    )
    path = base / "math500" / "test.jsonl"
    if not path.is_file():
        pytest.skip(f"{path} is not here (set SPENV_DATA)")
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
    items = []
    for k, gold in enumerate(_math500_golds()):
        items.append((_respond(_rewrite(gold), k), gold))
        items.append((_respond(_perturb(gold), k), gold))
    return items


def _peer(items: list[tuple[str, str]]) -> list[bool]:
    from math_verify import parse, verify

    return [verify(parse("\\boxed{" + gold + "}"), parse(resp)) for resp, gold in items]


def _note(name: str, benchmark: Any, n: int) -> None:
    stats = getattr(benchmark, "stats", None)
    if not stats:  # --benchmark-disable
        return
    RATES[name] = n / stats.stats.mean
    benchmark.extra_info["items"] = n
    benchmark.extra_info["items_per_s_mean"] = RATES[name]
    NOTES.append(f"math grading, {name}: {RATES[name]:,.0f} items/s (mean of {ROUNDS} rounds)")
    peer = RATES.get("sequential math_verify (peer)")
    if peer and name != "sequential math_verify (peer)":
        NOTES.append(f"math grading, {name} / peer: {RATES[name] / peer:.2f}x")


def test_sequential_math_verify_peer(benchmark: Any, workload: list[tuple[str, str]]) -> None:
    benchmark.pedantic(_peer, args=(workload,), rounds=ROUNDS, warmup_rounds=1, iterations=1)
    _note("sequential math_verify (peer)", benchmark, len(workload))


@pytest.mark.parametrize("workers", [1, 2])
def test_math_grader(benchmark: Any, workload: list[tuple[str, str]], workers: int) -> None:
    name = f"spenv MathGrader, {workers} worker{'s' if workers > 1 else ''}"
    with MathGrader(workers, timeout=10) as g:
        g.grade_batch([("\\boxed{x+1}", "1+x")] * workers)  # start the workers: not timed
        start = time.perf_counter()
        ours = [v.ok for v in g.grade_batch(workload)]
        cold = time.perf_counter() - start
        NOTES.append(
            f"math grading, {name}, first round on fresh workers (cold parser and gold caches): "
            f"{len(workload) / cold:,.0f} items/s"
        )
        # Same answers as the peer (a fair comparison).
        peer = _peer(workload)
        agree = sum(a == b for a, b in zip(ours, peer, strict=True)) / len(workload)
        assert agree >= 0.98, f"spenv and math_verify agree on only {agree:.1%} of the items"
        benchmark.extra_info["agreement_with_peer"] = agree
        benchmark.pedantic(g.grade_batch, args=(workload,), rounds=ROUNDS, iterations=1)
    _note(name, benchmark, len(workload))
