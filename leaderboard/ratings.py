"""Ratings from two-player matches: Elo, TrueSkill, and Bradley–Terry with bootstrap intervals.

A match is ``(agent_a, agent_b, score_a)`` with ``score_a`` in ``[0, 1]``: 1 a win for ``a``,
0.5 a draw, 0 a loss (fractional scores, such as a chip margin mapped to ``[0, 1]``, are read as
fractional wins). :func:`matches_from_store` builds them from a :class:`MatchStore`.

Bradley–Terry strengths are natural-log strengths ``theta``: ``P(a beats b) =
1 / (1 + exp(theta_b - theta_a))``, anchored so their mean is 0. Multiply by ``400 / ln 10``
(:func:`to_elo_scale`) to read them as Elo points.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from statistics import NormalDist
from typing import TYPE_CHECKING, Literal, NamedTuple

import numpy as np

from spenv.leaderboard.store import pair_score

if TYPE_CHECKING:
    from spenv.leaderboard.store import MatchStore

ELO_PER_NAT = 400.0 / math.log(10.0)


class Match(NamedTuple):
    a: str
    b: str
    score: float


class Interval(NamedTuple):
    """A point estimate and its confidence interval."""

    estimate: float
    lower: float
    upper: float


def _check(matches: Iterable[tuple[Hashable, Hashable, float]]) -> list[Match]:
    out = []
    for a, b, s in matches:
        s = float(s)
        if not 0.0 <= s <= 1.0:
            raise ValueError(f"a match score must lie in [0, 1], got {s!r} for {a!r} vs {b!r}")
        if a == b:
            raise ValueError(f"an agent cannot play itself in a rated match: {a!r}")
        out.append(Match(a, b, s))  # type: ignore[arg-type]
    return out


# -- Elo -------------------------------------------------------------------------------------


def elo(
    matches: Iterable[tuple[str, str, float]],
    k: float = 16.0,
    initial: float = 1000.0,
    order: Literal["given", "shuffled"] = "given",
    *,
    n_shuffles: int = 100,
    seed: int = 0,
) -> dict[str, float]:
    """Sequential Elo ratings.

    ``order="given"`` updates in the order of ``matches`` (game order), as a live ladder would.
    ``order="shuffled"`` averages the final ratings over ``n_shuffles`` random orders, which
    removes the dependence on when games happened to be played.
    """
    ms = _check(matches)
    if order == "given":
        return _elo_pass(ms, k, initial)
    if order != "shuffled":
        raise ValueError(f"order must be 'given' or 'shuffled', got {order!r}")
    rng = np.random.default_rng(seed)
    total: dict[str, float] = {}
    for _ in range(n_shuffles):
        perm = rng.permutation(len(ms))
        for agent, r in _elo_pass([ms[i] for i in perm], k, initial).items():
            total[agent] = total.get(agent, 0.0) + r
    return {a: r / n_shuffles for a, r in sorted(total.items())}


def _elo_pass(ms: Sequence[Match], k: float, initial: float) -> dict[str, float]:
    r: dict[str, float] = {}
    for a, b, s in ms:
        ra, rb = r.setdefault(a, initial), r.setdefault(b, initial)
        expected = 1.0 / (1.0 + 10.0 ** ((rb - ra) / 400.0))
        r[a] = ra + k * (s - expected)
        r[b] = rb - k * (s - expected)
    return dict(sorted(r.items()))


# -- TrueSkill (two players) -----------------------------------------------------------------

_N = NormalDist()


class Skill(NamedTuple):
    """A TrueSkill belief: mean ``mu``, standard deviation ``sigma``."""

    mu: float
    sigma: float

    @property
    def conservative(self) -> float:
        """``mu - 3 sigma``: the rating to sort a leaderboard by."""
        return self.mu - 3.0 * self.sigma


def _v_win(t: float, eps: float) -> tuple[float, float]:
    x = t - eps
    denom = _N.cdf(x)
    v = -x if denom < 1e-300 else _N.pdf(x) / denom
    return v, v * (v + x)


def _v_draw(t: float, eps: float) -> tuple[float, float]:
    a, b = -eps - t, eps - t
    denom = _N.cdf(b) - _N.cdf(a)
    if denom < 1e-300:  # far outside the draw band: the limits of v and w
        return (-t - eps if t < 0 else -t + eps), 1.0
    v = (_N.pdf(a) - _N.pdf(b)) / denom
    w = v * v + (b * _N.pdf(b) - a * _N.pdf(a)) / denom
    return v, w


def trueskill(
    matches: Iterable[tuple[str, str, float]],
    *,
    mu: float = 25.0,
    sigma: float = 25.0 / 3.0,
    beta: float = 25.0 / 6.0,
    tau: float = 25.0 / 300.0,
    draw_probability: float = 0.1,
) -> dict[str, Skill]:
    """Two-player TrueSkill (Herbrich et al. 2006), updated in game order.

    A score above 0.5 counts as a win for ``a``, 0.5 a draw, below 0.5 a loss. Sort by
    :attr:`Skill.conservative` to rank agents with few games below proven ones.
    """
    eps = _N.inv_cdf((draw_probability + 1.0) / 2.0) * math.sqrt(2.0) * beta
    r: dict[str, Skill] = {}
    for a, b, s in _check(matches):
        if s < 0.5:
            a, b, s = b, a, 1.0 - s
        ra, rb = r.setdefault(a, Skill(mu, sigma)), r.setdefault(b, Skill(mu, sigma))
        va, vb = ra.sigma**2 + tau**2, rb.sigma**2 + tau**2
        c = math.sqrt(2.0 * beta**2 + va + vb)
        v, w = (_v_draw if s == 0.5 else _v_win)((ra.mu - rb.mu) / c, eps / c)
        r[a] = Skill(ra.mu + va / c * v, math.sqrt(va * max(1.0 - va / c**2 * w, 1e-12)))
        r[b] = Skill(rb.mu - vb / c * v, math.sqrt(vb * max(1.0 - vb / c**2 * w, 1e-12)))
    return dict(sorted(r.items()))


# -- Bradley–Terry ---------------------------------------------------------------------------


def _index(ms: Sequence[Match]) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    agents = sorted({m.a for m in ms} | {m.b for m in ms}, key=str)
    idx = {a: i for i, a in enumerate(agents)}
    ia = np.fromiter((idx[m.a] for m in ms), dtype=np.intp, count=len(ms))
    ib = np.fromiter((idx[m.b] for m in ms), dtype=np.intp, count=len(ms))
    s = np.fromiter((m.score for m in ms), dtype=float, count=len(ms))
    return agents, ia, ib, s


def _tables(
    n: int, ia: np.ndarray, ib: np.ndarray, s: np.ndarray, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(wins, games): ``wins[i, j]`` the score of i against j, ``games`` symmetric."""
    w = np.ones_like(s) if weights is None else weights
    wins = np.zeros((n, n))
    np.add.at(wins, (ia, ib), w * s)
    np.add.at(wins, (ib, ia), w * (1.0 - s))
    games = np.zeros((n, n))
    np.add.at(games, (ia, ib), w)
    games = games + games.T
    return wins, games


def _fit(
    wins: np.ndarray,
    games: np.ndarray,
    prior: float,
    max_iter: int,
    tol: float,
    theta0: np.ndarray | None = None,
) -> np.ndarray:
    """Maximise the penalised log-likelihood by damped Newton steps on log-strengths."""
    n = wins.shape[0]
    theta = np.zeros(n) if theta0 is None else theta0.copy()
    score = wins.sum(axis=1)

    def objective(t: np.ndarray) -> float:
        d = t[:, None] - t[None, :]
        # sum_ij wins_ij * log sigmoid(t_i - t_j), with log sigmoid(x) = -log1p(exp(-x))
        return float(-(wins * np.logaddexp(0.0, -d)).sum() - 0.5 * prior * (t @ t))

    f = objective(theta)
    for _ in range(max_iter):
        p = 1.0 / (1.0 + np.exp(theta[None, :] - theta[:, None]))  # p[i, j] = P(i beats j)
        grad = score - (games * p).sum(axis=1) - prior * theta
        v = games * p * (1.0 - p)
        hess = v - np.diag(v.sum(axis=1) + prior)  # negative definite when prior > 0
        if prior == 0:  # the likelihood ignores a common shift: pin the mean direction
            hess -= 1.0 / n
        step = np.linalg.solve(hess, -grad)
        t = 1.0
        while True:
            cand = theta + t * step
            fc = objective(cand)
            if fc >= f - 1e-12 or t < 1e-8:
                break
            t *= 0.5
        theta, f_old, f = cand, f, fc
        if np.max(np.abs(t * step)) < tol or abs(f - f_old) < tol * 1e-3:
            break
    return theta - theta.mean()


def bradley_terry(
    matches: Iterable[tuple[str, str, float]],
    *,
    prior: float = 0.1,
    max_iter: int = 100,
    tol: float = 1e-9,
) -> dict[str, float]:
    """Bradley–Terry log-strengths by (penalised) maximum likelihood, mean 0.

    Draws count as half a win for each side. ``prior`` is the precision of a Gaussian prior
    ``theta ~ N(0, 1/prior)``: weak enough not to matter with a few games per pair, strong enough
    that an undefeated (or winless) agent gets a finite strength. ``prior=0`` gives the plain MLE,
    which exists only when every agent has both won and lost within a connected schedule.
    """
    ms = _check(matches)
    if not ms:
        return {}
    agents, ia, ib, s = _index(ms)
    wins, games = _tables(len(agents), ia, ib, s)
    theta = _fit(wins, games, prior, max_iter, tol)
    return dict(zip(agents, theta.tolist(), strict=True))


def bradley_terry_ci(
    matches: Iterable[tuple[str, str, float]],
    n_boot: int = 200,
    seed: int = 0,
    alpha: float = 0.05,
    *,
    prior: float = 0.1,
    max_iter: int = 100,
    tol: float = 1e-9,
) -> dict[str, Interval]:
    """Bradley–Terry log-strengths with bootstrap ``1 - alpha`` percentile intervals.

    Each replicate resamples the matches with replacement (a ``numpy`` Generator seeded with
    ``seed``, so results are reproducible) and refits, starting from the full-data fit.
    """
    ms = _check(matches)
    if not ms:
        return {}
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, got {n_boot!r}")
    agents, ia, ib, s = _index(ms)
    n = len(agents)
    wins, games = _tables(n, ia, ib, s)
    theta = _fit(wins, games, prior, max_iter, tol)
    rng = np.random.default_rng(seed)
    boot = np.empty((n_boot, n))
    for r in range(n_boot):
        counts = np.bincount(rng.integers(0, len(ms), len(ms)), minlength=len(ms)).astype(float)
        bw, bg = _tables(n, ia, ib, s, counts)
        boot[r] = _fit(bw, bg, prior, max_iter, tol, theta0=theta)
    lo, hi = np.quantile(boot, [alpha / 2, 1 - alpha / 2], axis=0)
    return {a: Interval(float(theta[i]), float(lo[i]), float(hi[i])) for i, a in enumerate(agents)}


def to_elo_scale(strengths: dict[str, float], offset: float = 1000.0) -> dict[str, float]:
    """Bradley–Terry log-strengths as Elo-like points (400 per factor of ten in odds)."""
    return {a: offset + ELO_PER_NAT * t for a, t in strengths.items()}


# -- from the store --------------------------------------------------------------------------


def matches_from_store(
    store: MatchStore,
    env_id: str | None = None,
    *,
    score: Literal["outcome", "reward"] = "outcome",
) -> list[Match]:
    """Two-seat games between distinct agents as ``(seat-0 agent, seat-1 agent, score)``.

    ``score="outcome"`` scores win/draw/loss as 1/0.5/0. ``score="reward"`` maps the reward
    margin linearly onto ``[0, 1]`` (0.5 an even game, 1 the largest margin seen in that env),
    which suits games where winning many small pots is worth less than winning big ones (poker).
    Either way an invalid move or an error is a loss for the offender, and games that decide
    nothing (both sides invalid, outcomes missing) are left out.
    """
    if score not in ("outcome", "reward"):
        raise ValueError(f"score must be 'outcome' or 'reward', got {score!r}")
    games = []
    for g in store.results(env_id):
        if len(g.seats) != 2 or g.seats[0].agent == g.seats[1].agent:
            continue
        s0, s1 = g.seats
        base = pair_score(s0.outcome, s1.outcome)
        if base is not None:
            games.append((g.env_id, s0, s1, base))
    if score == "outcome":
        return [Match(s0.agent, s1.agent, base) for _, s0, s1, base in games]
    scale: dict[str, float] = {}
    for env, s0, s1, _ in games:
        if s0.reward is not None and s1.reward is not None:
            scale[env] = max(scale.get(env, 0.0), abs(s0.reward - s1.reward))
    out = []
    for env, s0, s1, base in games:
        offended = {s0.outcome, s1.outcome} & {"invalid", "error"}
        if offended or s0.reward is None or s1.reward is None or not scale.get(env):
            out.append(Match(s0.agent, s1.agent, base))
        else:
            margin = (s0.reward - s1.reward) / scale[env]
            out.append(Match(s0.agent, s1.agent, 0.5 + 0.5 * margin))
    return out
