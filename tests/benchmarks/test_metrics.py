"""Metrics: pass@k against hand computation, maj@k, bootstrap coverage on simulated data."""

from __future__ import annotations

import math
from fractions import Fraction
from itertools import combinations

import numpy as np
import pytest

from spenv.benchmarks.metrics import (
    bootstrap_ci,
    default_ks,
    majority_vote,
    paired_bootstrap_diff,
    pass_at_k,
)


def _exact_pass_at_k(n: int, c: int, k: int) -> Fraction:
    """By enumeration: the fraction of k-subsets of the n samples holding a correct one."""
    samples = [True] * c + [False] * (n - c)
    subsets = list(combinations(range(n), k))
    hits = sum(any(samples[i] for i in s) for s in subsets)
    return Fraction(hits, len(subsets))


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (1, 1, 1, 1.0),
        (1, 0, 1, 0.0),
        (10, 3, 1, 0.3),  # pass@1 is c / n
        (4, 1, 2, 0.5),  # 1 - C(3,2)/C(4,2) = 1 - 3/6
        (5, 2, 2, 0.7),  # 1 - C(3,2)/C(5,2) = 1 - 3/10
        (5, 2, 3, 0.9),  # 1 - C(3,3)/C(5,3) = 1 - 1/10
        (5, 3, 3, 1.0),  # only two wrong samples: every 3-subset holds a right one
        (10, 0, 5, 0.0),
    ],
)
def test_pass_at_k_hand_computed(n: int, c: int, k: int, expected: float) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_pass_at_k_matches_enumeration() -> None:
    for n in range(1, 9):
        for c in range(n + 1):
            for k in range(1, n + 1):
                assert pass_at_k(n, c, k) == pytest.approx(float(_exact_pass_at_k(n, c, k)))


def test_pass_at_k_is_stable_for_large_n() -> None:
    # C(1000, 500) overflows a float; the product form does not.
    got = pass_at_k(1000, 3, 500)
    assert got == pytest.approx(1 - (500 * 499 * 498) / (1000 * 999 * 998), rel=1e-12)
    assert 0.0 <= pass_at_k(2000, 1, 1000) <= 1.0
    assert pass_at_k(2000, 1, 1000) == pytest.approx(0.5)


def test_pass_at_k_rejects_bad_arguments() -> None:
    for args in [(0, 0, 1), (5, 6, 1), (5, 2, 6), (5, -1, 1), (5, 2, 0)]:
        with pytest.raises(ValueError):
            pass_at_k(*args)
    with pytest.raises(TypeError):
        pass_at_k(5.0, 2, 1)  # type: ignore[arg-type]


def test_default_ks() -> None:
    assert default_ks(1) == [1]
    assert default_ks(4) == [1, 2, 4]
    assert default_ks(10) == [1, 2, 4, 8, 10]


def test_majority_vote() -> None:
    assert majority_vote(["3", "4", "3"], [True, False, True])
    assert not majority_vote(["4", "3", "4"], [False, True, False])
    # a tie goes to the answer seen first
    assert majority_vote(["3", "4"], [True, False])
    assert not majority_vote(["4", "3"], [False, True])
    # unreadable answers do not vote; none at all is wrong
    assert majority_vote([None, None, "7"], [False, False, True])
    assert not majority_vote([None, None], [False, False])
    with pytest.raises(ValueError):
        majority_vote(["1"], [True, False])


def test_bootstrap_edge_cases() -> None:
    m, lo, hi = bootstrap_ci([])
    assert math.isnan(m) and math.isnan(lo) and math.isnan(hi)
    assert bootstrap_ci([1.0]) == (1.0, 1.0, 1.0)
    assert bootstrap_ci([1.0] * 50) == (1.0, 1.0, 1.0)
    # the same seed gives the same interval
    vals = [0.0, 1.0, 1.0, 0.5, 0.0, 1.0]
    assert bootstrap_ci(vals, seed=3) == bootstrap_ci(vals, seed=3)


def test_bootstrap_interval_covers_the_truth_at_its_nominal_rate() -> None:
    """200 simulated benchmarks of 150 items with per-item success probabilities drawn from a
    Beta(2, 3) (true mean 0.4) and 4 samples each: the 95% interval must hold the true mean in
    about 95% of them (binomial sd over 200 runs is 1.5 points; the band is generous)."""
    rng = np.random.default_rng(12345)
    truth = 0.4
    covered = 0
    widths = []
    sims = 200
    for i in range(sims):
        p = rng.beta(2, 3, size=150)
        per_item = rng.binomial(4, p) / 4
        _, lo, hi = bootstrap_ci(per_item, resamples=1000, seed=i)
        covered += lo <= truth <= hi
        widths.append(hi - lo)
    rate = covered / sims
    assert 0.90 <= rate <= 0.99, rate
    # and the interval is not trivially wide: about 2 * 1.96 * sd / sqrt(n)
    assert 0.08 < float(np.mean(widths)) < 0.14


def test_paired_difference_interval() -> None:
    rng = np.random.default_rng(7)
    difficulty = rng.uniform(size=400)
    a = (rng.uniform(size=400) < np.clip(difficulty + 0.10, 0, 1)).astype(float)
    b = (rng.uniform(size=400) < difficulty).astype(float)
    d = paired_bootstrap_diff(a, b, seed=1)
    assert d["items"] == 400
    assert d["low"] <= d["diff"] <= d["high"]
    assert d["diff"] == pytest.approx(float(np.mean(a - b)))
    # identical runs: no difference, a zero-width interval
    same = paired_bootstrap_diff(b, b)
    assert same["diff"] == same["low"] == same["high"] == 0.0
    with pytest.raises(ValueError):
        paired_bootstrap_diff([1.0], [1.0, 0.0])


def test_paired_bootstrap_covers_true_difference() -> None:
    """The paired interval holds a known difference of 0.1 at about its nominal rate."""
    rng = np.random.default_rng(99)
    covered = 0
    sims = 200
    for i in range(sims):
        p = rng.uniform(0.1, 0.8, size=200)
        a = rng.binomial(1, p + 0.1).astype(float)
        b = rng.binomial(1, p).astype(float)
        d = paired_bootstrap_diff(a, b, resamples=1000, seed=i)
        covered += d["low"] <= 0.1 <= d["high"]
    assert 0.90 <= covered / sims <= 0.99
