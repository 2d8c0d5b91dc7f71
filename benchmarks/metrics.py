"""Evaluation metrics: pass@k (unbiased), maj@k, bootstrap confidence intervals.

- :func:`pass_at_k` is the unbiased estimator of Chen et al. (2021), "Evaluating Large Language
  Models Trained on Code": with ``n`` samples of which ``c`` are correct,
  ``pass@k = 1 - C(n-c, k) / C(n, k)``, computed as the product
  ``1 - prod_{i=n-c+1}^{n} (1 - k / i)`` so that no binomial coefficient is ever formed (they
  overflow floats for n in the hundreds).
- :func:`majority_vote` / maj@k: the answer most samples give (ties go to the answer seen
  first), scored by that answer's verdict.
- :func:`bootstrap_ci`: the percentile bootstrap over items (resampling items, not samples,
  because items are the unit drawn from the population of problems).
- :func:`paired_bootstrap_diff`: the difference of two runs' means over the same items, with
  the items resampled jointly so the pairing is kept (the usual way to compare two models on
  one benchmark).

All random draws come from ``numpy.random.default_rng(seed)``: the same inputs and seed give the
same interval.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

import numpy as np

__all__ = [
    "bootstrap_ci",
    "default_ks",
    "majority_vote",
    "paired_bootstrap_diff",
    "pass_at_k",
]

#: Bootstrap resamples used when none is given.
DEFAULT_RESAMPLES = 2000


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k estimate from ``n`` samples with ``c`` correct (``k <= n``).

    ``1 - C(n-c, k) / C(n, k)``, in the numerically stable product form; 1.0 when fewer than
    ``k`` samples are wrong (every draw of ``k`` holds a correct one).
    """
    if not (isinstance(n, int) and isinstance(c, int) and isinstance(k, int)):
        raise TypeError(f"n, c and k must be integers, got {n!r}, {c!r}, {k!r}")
    if n < 1 or k < 1 or k > n or c < 0 or c > n:
        raise ValueError(f"need 1 <= k <= n and 0 <= c <= n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    prod = 1.0
    for i in range(n - c + 1, n + 1):
        prod *= 1.0 - k / i
    return 1.0 - prod


def default_ks(n: int) -> list[int]:
    """The k values reported for ``n`` samples: 1, powers of two below ``n``, and ``n``."""
    ks = [1]
    k = 2
    while k < n:
        ks.append(k)
        k *= 2
    if n > 1:
        ks.append(n)
    return ks


def majority_vote(answers: Sequence[Hashable | None], correct: Sequence[bool]) -> bool:
    """maj@k of one item: is the most frequent extracted answer correct?

    ``answers[i]`` is sample i's extracted answer (``None`` when none could be read: such
    samples do not vote); ``correct[i]`` its verdict. The winning answer is scored by the
    verdict of its first sample. No readable answer at all counts as wrong.
    """
    if len(answers) != len(correct):
        raise ValueError("answers and correct must have the same length")
    counts: dict[Hashable, int] = {}
    first: dict[Hashable, int] = {}
    for i, a in enumerate(answers):
        if a is None:
            continue
        counts[a] = counts.get(a, 0) + 1
        first.setdefault(a, i)
    if not counts:
        return False
    best = max(counts, key=lambda a: (counts[a], -first[a]))
    return bool(correct[first[best]])


def bootstrap_ci(
    values: Sequence[float],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    alpha: float = 0.05,
    seed: int = 0,
) -> tuple[float, float, float]:
    """(mean, low, high): the mean of per-item ``values`` with a percentile bootstrap interval.

    ``(nan, nan, nan)`` for no items; a single item gives a zero-width interval.
    """
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    rng = np.random.default_rng(seed)
    means = _resampled_means(x, resamples, rng)
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return mean, float(lo), float(hi)


def paired_bootstrap_diff(
    a: Sequence[float],
    b: Sequence[float],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    alpha: float = 0.05,
    seed: int = 0,
) -> dict[str, float]:
    """The mean of ``a - b`` over paired items with its percentile bootstrap interval.

    Returns ``diff``, ``low``, ``high`` and ``p_le_0`` / ``p_ge_0`` (the fraction of resampled
    differences at or below / above zero; twice the smaller is a two-sided bootstrap p-value).
    """
    xa, xb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if xa.shape != xb.shape:
        raise ValueError(f"paired samples need equal lengths, got {xa.size} and {xb.size}")
    if xa.size == 0:
        nan = math.nan
        return {"diff": nan, "low": nan, "high": nan, "p_le_0": nan, "p_ge_0": nan, "items": 0}
    d = xa - xb
    rng = np.random.default_rng(seed)
    means = _resampled_means(d, resamples, rng)
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return {
        "diff": float(d.mean()),
        "low": float(lo),
        "high": float(hi),
        "p_le_0": float(np.mean(means <= 0)),
        "p_ge_0": float(np.mean(means >= 0)),
        "items": int(d.size),
    }


def _resampled_means(x: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Means of ``resamples`` bootstrap resamples of ``x``, in blocks to bound memory."""
    if resamples < 1:
        raise ValueError(f"resamples must be positive, got {resamples}")
    n = x.size
    out = np.empty(resamples)
    block = max(1, min(resamples, 4_000_000 // max(n, 1)))
    for start in range(0, resamples, block):
        stop = min(resamples, start + block)
        idx = rng.integers(0, n, size=(stop - start, n))
        out[start:stop] = x[idx].mean(axis=1)
    return out
