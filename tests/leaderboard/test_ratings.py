"""Ratings: Elo, Bradley–Terry and its bootstrap intervals, on simulated and real games."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import spenv
from spenv.leaderboard.ratings import (
    ELO_PER_NAT,
    Match,
    bradley_terry,
    bradley_terry_ci,
    elo,
    matches_from_store,
    to_elo_scale,
    trueskill,
)
from spenv.leaderboard.store import MatchStore


def simulate(
    theta: np.ndarray, games_per_pair: int, rng: np.random.Generator, draws: float = 0.0
) -> list[Match]:
    """A round robin under the Bradley–Terry model (optionally with some games drawn)."""
    out = []
    n = len(theta)
    for i in range(n):
        for j in range(i + 1, n):
            p = 1.0 / (1.0 + math.exp(theta[j] - theta[i]))
            for g in range(games_per_pair):
                s = 0.5 if rng.random() < draws else float(rng.random() < p)
                a, b = (f"a{i}", f"a{j}") if g % 2 == 0 else (f"a{j}", f"a{i}")
                out.append(Match(a, b, s if a == f"a{i}" else 1.0 - s))
    rng.shuffle(out)  # type: ignore[arg-type]
    return out


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    rx, ry = np.argsort(np.argsort(x)), np.argsort(np.argsort(y))
    return float(np.corrcoef(rx, ry)[0, 1])


def test_bradley_terry_recovers_known_strengths() -> None:
    rng = np.random.default_rng(0)
    theta = np.linspace(-1.75, 1.75, 8)
    rng.shuffle(theta)
    ms = simulate(theta, 40, rng)
    bt = bradley_terry(ms)
    est = np.array([bt[f"a{i}"] for i in range(8)])
    assert spearman(est, theta) >= 0.95
    assert abs(est.mean()) < 1e-9
    assert np.max(np.abs(est - theta)) < 0.5


def test_bradley_terry_draws_and_undefeated() -> None:
    # Draws are half wins: all-draw games give equal strengths.
    bt = bradley_terry([("x", "y", 0.5)] * 10 + [("y", "z", 0.5)] * 10)
    assert all(abs(v) < 1e-9 for v in bt.values())
    # An agent that never lost stays finite, and the plain MLE for a balanced record is known.
    bt = bradley_terry([("x", "y", 1.0)] * 20 + [("y", "z", 1.0)] * 20)
    assert all(math.isfinite(v) for v in bt.values())
    assert bt["x"] > bt["y"] > bt["z"]
    bt = bradley_terry([("x", "y", 1.0)] * 3 + [("y", "x", 0.0)] * 3 + [("y", "x", 1.0)], prior=0)
    assert bt["x"] - bt["y"] == pytest.approx(math.log(6.0), rel=1e-6)
    assert to_elo_scale({"x": 1.0})["x"] == pytest.approx(1000 + ELO_PER_NAT)
    assert bradley_terry([]) == {}
    with pytest.raises(ValueError):
        bradley_terry([("x", "y", 2.0)])


def test_bootstrap_intervals_cover_at_about_the_nominal_rate() -> None:
    rng = np.random.default_rng(1)
    covered = total = 0
    for t in range(20):
        theta = rng.normal(0.0, 1.0, 8)
        theta -= theta.mean()
        ms = simulate(theta, 8, rng, draws=0.1)
        ci = bradley_terry_ci(ms, n_boot=200, seed=t)
        for i in range(8):
            est, lo, hi = ci[f"a{i}"]
            assert lo <= est <= hi
            covered += lo <= theta[i] <= hi
            total += 1
    coverage = covered / total
    assert 0.8 <= coverage <= 1.0, coverage


def test_bootstrap_coverage_is_near_95_percent_when_the_model_holds() -> None:
    # Games drawn from the Bradley-Terry model itself (no draws, which the model does not
    # describe and which pull estimates toward 0): 240 intervals at a nominal 95%.
    rng = np.random.default_rng(5)
    covered = total = 0
    for t in range(30):
        theta = rng.normal(0.0, 0.7, 8)
        theta -= theta.mean()
        ci = bradley_terry_ci(simulate(theta, 6, rng), n_boot=200, seed=t)
        for i in range(8):
            covered += ci[f"a{i}"].lower <= theta[i] <= ci[f"a{i}"].upper
            total += 1
    assert 0.88 <= covered / total <= 0.99, covered / total


def test_bootstrap_is_reproducible() -> None:
    ms = simulate(np.array([0.0, 1.0, -1.0]), 10, np.random.default_rng(2))
    assert bradley_terry_ci(ms, n_boot=50, seed=3) == bradley_terry_ci(ms, n_boot=50, seed=3)
    assert bradley_terry_ci(ms, n_boot=50, seed=3) != bradley_terry_ci(ms, n_boot=50, seed=4)


def test_elo_basics() -> None:
    r = elo([("x", "y", 1.0)], k=16, initial=1000)
    assert r == {"x": 1008.0, "y": 992.0}
    r = elo([("x", "y", 1.0), ("y", "x", 1.0)])
    assert r["x"] + r["y"] == pytest.approx(2000.0)  # zero-sum
    with pytest.raises(ValueError):
        elo([("x", "y", 1.0)], order="backwards")  # type: ignore[arg-type]


def test_elo_and_bradley_terry_agree_on_clearly_separated_agents() -> None:
    rng = np.random.default_rng(3)
    theta = np.array([-3.0, -1.5, 0.0, 1.5, 3.0])
    ms = simulate(theta, 30, rng)
    truth = [f"a{i}" for i in np.argsort(theta)]
    bt = bradley_terry(ms)
    assert sorted(bt, key=bt.__getitem__) == truth
    for order in ("given", "shuffled"):
        e = elo(ms, order=order, n_shuffles=20)
        assert sorted(e, key=e.__getitem__) == truth


def test_trueskill_matches_reference_values_and_ranks() -> None:
    # The reference TrueSkill values for one game between two new players (mu 25, sigma 25/3).
    r = trueskill([("x", "y", 1.0)])
    assert r["x"].mu == pytest.approx(29.396, abs=1e-3)
    assert r["y"].mu == pytest.approx(20.604, abs=1e-3)
    assert r["x"].sigma == pytest.approx(7.171, abs=1e-3)
    d = trueskill([("x", "y", 0.5)])
    assert d["x"].mu == pytest.approx(25.0) and d["x"].sigma == pytest.approx(6.458, abs=1e-3)
    ms = simulate(np.array([-3.0, -1.5, 0.0, 1.5, 3.0]), 30, np.random.default_rng(4))
    ts = trueskill(ms)
    assert sorted(ts, key=lambda a: ts[a].conservative) == ["a0", "a1", "a2", "a3", "a4"]
    assert all(math.isfinite(v.mu) and v.sigma > 0 for v in ts.values())


def test_real_kuhn_poker_games(tmp_path: Path) -> None:
    agents = ["nash", "random", "aggressive"]
    jsonl = tmp_path / "kuhn.jsonl"
    eps = []
    for i, a in enumerate(agents):
        for b in agents[i + 1 :]:
            eps += spenv.run_games("KuhnPoker-v1", [a, b], games=600, seed=0)
    spenv.write_episodes(jsonl, eps)
    with MatchStore(tmp_path / "m.db") as store:
        report = store.import_jsonl(jsonl)
        assert report.added == len(eps) == 1800
        assert store.import_jsonl(jsonl).added == 0
        assert store.agents("KuhnPoker-v1") == sorted(agents)
        h2h = store.head_to_head("KuhnPoker-v1")
        assert h2h[("nash", "random")].games == 600
        assert h2h[("nash", "random")].mean_reward > 0  # nash wins chips from random
        # In poker, hands won mislead (nash folds often); chips decide, so rate by reward.
        ms = matches_from_store(store, "KuhnPoker-v1", score="reward")
        assert len(ms) == 1800 and all(0.0 <= m.score <= 1.0 for m in ms)
        bt = bradley_terry(ms)
        assert bt["nash"] > bt["random"]
        ci = bradley_terry_ci(ms, n_boot=100)
        assert ci["nash"].estimate > ci["random"].estimate
        assert ci["nash"].lower > ci["random"].upper  # 600 games separate them
        e = elo(ms, order="shuffled", n_shuffles=20)
        assert e["nash"] > e["random"]
        by_outcome = matches_from_store(store, "KuhnPoker-v1")
        assert {m.score for m in by_outcome} <= {0.0, 0.5, 1.0}


def test_matches_from_store_scores_invalid_as_a_loss(tmp_path: Path) -> None:
    def ep(i: int, outcomes: dict[str, str], rewards: dict[str, float]) -> spenv.Episode:
        return spenv.Episode(
            env_id="Toy-v1",
            seed=i,
            agents=["p0", "p1"],
            turns=[],
            rewards=rewards,
            outcomes=outcomes,
            players={"p0": "a", "p1": "b"},
            id=f"e{i}",
        )

    with MatchStore(tmp_path / "m.db") as store:
        store.import_episodes(
            [
                ep(0, {"p0": "win", "p1": "loss"}, {"p0": 4.0, "p1": -4.0}),
                ep(1, {"p0": "win", "p1": "loss"}, {"p0": 1.0, "p1": -1.0}),
                ep(2, {"p0": "invalid", "p1": "win"}, {"p0": 0.0, "p1": 0.0}),
                ep(3, {"p0": "invalid", "p1": "invalid"}, {"p0": 0.0, "p1": 0.0}),
                ep(4, {"p0": "draw", "p1": "draw"}, {"p0": 0.0, "p1": 0.0}),
            ]
        )
        by_outcome = matches_from_store(store)
        assert [m.score for m in by_outcome] == [1.0, 1.0, 0.0, 0.5]
        by_reward = matches_from_store(store, score="reward")
        assert [m.score for m in by_reward] == [1.0, 0.625, 0.0, 0.5]
        assert all((m.a, m.b) == ("a", "b") for m in by_reward)
