"""Interval statistics used by ``spenv play`` and the demo."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spenv.stats import mean_ci, wilson


def test_wilson_known_values() -> None:
    # 0 of 10: the upper bound is z^2 / (n + z^2)
    p, lo, hi = wilson(0, 10)
    z2 = 1.959963984540054**2
    assert p == 0 and lo == 0 and hi == pytest.approx(z2 / (10 + z2))
    p, lo, hi = wilson(50, 100)
    assert p == 0.5 and lo == pytest.approx(1 - hi) and hi == pytest.approx(0.5962, abs=1e-4)
    assert math.isnan(wilson(0, 0)[0])


def test_wilson_covers_at_nominal_rate() -> None:
    rng = np.random.default_rng(0)
    p, n, trials = 0.3, 50, 4000
    ks = rng.binomial(n, p, size=trials)
    covered = sum(lo <= p <= hi for _, lo, hi in (wilson(int(k), n) for k in ks))
    assert 0.93 <= covered / trials <= 0.97


def test_mean_ci() -> None:
    m, lo, hi = mean_ci([1.0, 2.0, 3.0, 4.0])
    assert m == 2.5
    assert hi - m == pytest.approx(1.959963984540054 * math.sqrt(5 / 3 / 4))
    assert m - lo == pytest.approx(hi - m)
    assert math.isnan(mean_ci([1.0])[1]) and math.isnan(mean_ci([])[0])
