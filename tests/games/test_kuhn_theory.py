"""Tests for the exact Kuhn-poker game theory, with OpenSpiel as the reference implementation.

OpenSpiel's ``kuhn_poker`` keys information states as the player's card as a digit
(0 = J, 1 = Q, 2 = K) followed by the public history in ``p``/``b`` letters; action 0 is
pass and action 1 is bet.  Those are exactly our keys with the card letter replaced by a digit.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pyspiel
import pytest
from open_spiel.python import policy as osp_policy
from open_spiel.python.algorithms import best_response as osp_br
from open_spiel.python.algorithms import expected_game_score as osp_score
from open_spiel.python.algorithms import exploitability as osp_expl

from spenv.games.kuhn_poker import theory

CARD_TO_ACTION = {"J": 0, "Q": 1, "K": 2}
MOVE_TO_ACTION = {"p": 0, "b": 1}
ALPHAS = (0.0, 0.05, 0.1, 1.0 / 6.0, 0.25, 0.3, 1.0 / 3.0)


@pytest.fixture(scope="module")
def game() -> pyspiel.Game:
    return pyspiel.load_game("kuhn_poker")


def to_openspiel_key(key: str) -> str:
    return str(CARD_TO_ACTION[key[0]]) + key[1:]


def to_openspiel(game: pyspiel.Game, policy: dict[str, float]) -> osp_policy.TabularPolicy:
    tabular = osp_policy.TabularPolicy(game)
    assert len(tabular.state_lookup) == len(theory.INFOSETS)
    for key, bet in policy.items():
        tabular.policy_for_key(to_openspiel_key(key))[:] = [1.0 - bet, bet]
    return tabular


def random_policies(count: int, seed: int) -> list[dict[str, float]]:
    """Random policies; every third one has some entries snapped to exactly 0 or 1, and a few
    are fully pure."""
    rng = np.random.default_rng(seed)
    policies = []
    for index in range(count):
        values = rng.random(len(theory.INFOSETS))
        if index % 3 == 1:
            snap = rng.random(len(values)) < 0.5
            values[snap] = np.round(values[snap])
        elif index % 10 == 2:
            values = np.round(values)
        policies.append({key: float(v) for key, v in zip(theory.INFOSETS, values, strict=True)})
    return policies


RANDOM_POLICIES = random_policies(50, seed=20240611)


def walk(state: pyspiel.State, history: str = "") -> Iterator[tuple[pyspiel.State, str]]:
    """Yield every (post-deal) state of the game together with its p/b history."""
    if state.is_chance_node():
        for action, _ in state.chance_outcomes():
            yield from walk(state.child(action), history)
        return
    yield state, history
    if not state.is_terminal():
        for move, action in MOVE_TO_ACTION.items():
            yield from walk(state.child(action), history + move)


# --------------------------------------------------------------------------------------------
# Conventions
# --------------------------------------------------------------------------------------------


def test_infoset_constants() -> None:
    assert theory.PLAYER0_INFOSETS == ("J", "Q", "K", "Jpb", "Qpb", "Kpb")
    assert theory.PLAYER1_INFOSETS == ("Jp", "Qp", "Kp", "Jb", "Qb", "Kb")
    assert theory.INFOSETS == theory.PLAYER0_INFOSETS + theory.PLAYER1_INFOSETS
    assert theory.TERMINAL_HISTORIES == ("pp", "pbp", "pbb", "bp", "bb")


def test_keys_match_openspiel_information_states(game: pyspiel.Game) -> None:
    seen = set()
    for state, history in walk(game.new_initial_state()):
        if state.is_terminal():
            assert history in theory.TERMINAL_HISTORIES
            continue
        player = state.current_player()
        assert state.legal_actions() == [0, 1]
        card = "JQK"[state.history()[player]]
        key = card + history
        assert key in (theory.PLAYER0_INFOSETS, theory.PLAYER1_INFOSETS)[player]
        assert state.information_state_string() == to_openspiel_key(key)
        seen.add(key)
    assert seen == set(theory.INFOSETS)


# --------------------------------------------------------------------------------------------
# payoff / validate_policy
# --------------------------------------------------------------------------------------------


def test_payoff_matches_openspiel_returns_exhaustively(game: pyspiel.Game) -> None:
    checked = 0
    for c0 in "JQK":
        for c1 in "JQK":
            if c0 == c1:
                continue
            for history in theory.TERMINAL_HISTORIES:
                state = game.new_initial_state()
                state.apply_action(CARD_TO_ACTION[c0])
                state.apply_action(CARD_TO_ACTION[c1])
                for move in history:
                    assert not state.is_terminal()
                    state.apply_action(MOVE_TO_ACTION[move])
                assert state.is_terminal()
                assert theory.payoff((c0, c1), history) == tuple(state.returns())
                checked += 1
    assert checked == 30


def test_payoff_examples() -> None:
    assert theory.payoff(("K", "J"), "pp") == (1.0, -1.0)
    assert theory.payoff(("K", "J"), "pbp") == (-1.0, 1.0)
    assert theory.payoff(("J", "K"), "bb") == (-2.0, 2.0)
    assert theory.payoff(("J", "K"), "bp") == (1.0, -1.0)
    assert theory.payoff(("Q", "J"), "pbb") == (2.0, -2.0)


@pytest.mark.parametrize("history", ["", "p", "b", "pb", "ppb", "bb ", "x", "pbbb"])
def test_payoff_rejects_non_terminal_or_malformed_history(history: str) -> None:
    with pytest.raises(ValueError):
        theory.payoff(("K", "J"), history)


@pytest.mark.parametrize(
    "cards", [("K", "K"), ("A", "J"), ("K",), ("K", "Q", "J"), "KQ", ("k", "j")]
)
def test_payoff_rejects_malformed_cards(cards: object) -> None:
    with pytest.raises(ValueError):
        theory.payoff(cards, "pp")  # type: ignore[arg-type]


def test_validate_policy_accepts_and_cleans() -> None:
    raw = {key: np.float64(0.25) for key in theory.INFOSETS}
    raw["K"] = 1  # ints are fine
    clean = theory.validate_policy(raw)
    assert list(clean) == list(theory.INFOSETS)
    assert all(type(value) is float for value in clean.values())
    assert clean["K"] == 1.0
    assert clean["J"] == 0.25


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("Qb", math.nan),
        ("Qb", math.inf),
        ("Qb", -0.01),
        ("Kpb", 1.0000001),
        ("J", 2.0),
        ("Jp", "0.5"),
        ("Jp", None),
    ],
)
def test_validate_policy_rejects_bad_values(key: str, value: object) -> None:
    policy: dict[str, object] = dict(theory.uniform_policy())
    policy[key] = value
    with pytest.raises(ValueError, match=key):
        theory.validate_policy(policy)  # type: ignore[arg-type]


def test_validate_policy_rejects_missing_and_extra_keys() -> None:
    policy = theory.uniform_policy()
    del policy["Kb"]
    with pytest.raises(ValueError, match="Kb"):
        theory.validate_policy(policy)
    policy = theory.uniform_policy()
    policy["Kbb"] = 0.5
    with pytest.raises(ValueError, match="Kbb"):
        theory.validate_policy(policy)
    with pytest.raises(ValueError):
        theory.validate_policy({})


def test_public_functions_validate_their_policy() -> None:
    bad = theory.uniform_policy()
    bad["Q"] = math.nan
    good = theory.uniform_policy()
    with pytest.raises(ValueError):
        theory.exploitability(bad)
    with pytest.raises(ValueError):
        theory.game_value(good, bad)
    with pytest.raises(ValueError):
        theory.best_response_value(bad, 0)
    with pytest.raises(ValueError):
        theory.best_response_value(good, 2)
    with pytest.raises(ValueError):
        theory.best_response(good, -1)


# --------------------------------------------------------------------------------------------
# Closed-form policies
# --------------------------------------------------------------------------------------------


def test_uniform_policy_exploitability(game: pyspiel.Game) -> None:
    uniform = theory.uniform_policy()
    assert uniform == dict.fromkeys(theory.INFOSETS, 0.5)
    assert theory.exploitability(uniform) == pytest.approx(11.0 / 24.0, abs=1e-12)
    reference = osp_expl.exploitability(game, osp_policy.TabularPolicy(game))
    assert theory.exploitability(uniform) == pytest.approx(reference, abs=1e-12)


@pytest.mark.parametrize("alpha", ALPHAS)
def test_equilibrium_family(game: pyspiel.Game, alpha: float) -> None:
    policy = theory.equilibrium_policy(alpha)
    assert set(policy) == set(theory.INFOSETS)
    assert policy["J"] == pytest.approx(alpha)
    assert policy["K"] == pytest.approx(3 * alpha)
    assert policy["Qpb"] == pytest.approx(alpha + 1 / 3)
    assert theory.exploitability(policy) < 1e-9
    assert theory.game_value(policy, policy) == pytest.approx(-1.0 / 18.0, abs=1e-9)
    assert osp_expl.exploitability(game, to_openspiel(game, policy)) < 1e-9
    # Against an equilibrium no player can gain by deviating.
    assert theory.best_response_value(policy, 0) == pytest.approx(-1.0 / 18.0, abs=1e-9)
    assert theory.best_response_value(policy, 1) == pytest.approx(1.0 / 18.0, abs=1e-9)


def test_equilibrium_default_and_range() -> None:
    assert theory.equilibrium_policy() == theory.equilibrium_policy(0.0)
    for alpha in (-0.01, 0.34, 1.0, math.nan, math.inf):
        with pytest.raises(ValueError):
            theory.equilibrium_policy(alpha)


def test_mixed_equilibria_interchangeable() -> None:
    """Player 0 from one equilibrium against player 1 of another still gets -1/18."""
    for a in ALPHAS:
        for b in ALPHAS:
            value = theory.game_value(theory.equilibrium_policy(a), theory.equilibrium_policy(b))
            assert value == pytest.approx(-1.0 / 18.0, abs=1e-12)


# --------------------------------------------------------------------------------------------
# Agreement with OpenSpiel on random policies
# --------------------------------------------------------------------------------------------


def test_random_policies_exploitability_matches_openspiel(game: pyspiel.Game) -> None:
    assert sum(any(v in (0.0, 1.0) for v in p.values()) for p in RANDOM_POLICIES) >= 10
    for policy in RANDOM_POLICIES:
        ours = theory.exploitability(policy)
        reference = osp_expl.exploitability(game, to_openspiel(game, policy))
        assert ours == pytest.approx(reference, abs=1e-9), policy
        assert ours >= -1e-12


def test_random_policies_game_value_matches_openspiel(game: pyspiel.Game) -> None:
    root = game.new_initial_state()
    for first, second in zip(
        RANDOM_POLICIES, RANDOM_POLICIES[1:] + RANDOM_POLICIES[:1], strict=True
    ):
        # Self-play, and seat 0 / seat 1 taken from different policies.
        for p0, p1 in ((first, first), (first, second)):
            reference = osp_score.policy_value(
                root, [to_openspiel(game, p0), to_openspiel(game, p1)]
            )
            value = theory.game_value(p0, p1)
            assert value == pytest.approx(reference[0], abs=1e-9)
            assert -value == pytest.approx(reference[1], abs=1e-9)


def test_game_value_reads_only_the_right_seat() -> None:
    base = RANDOM_POLICIES[0]
    other = RANDOM_POLICIES[1]
    # Replacing seat-1 entries of policy0 / seat-0 entries of policy1 changes nothing.
    p0 = {**base, **{k: other[k] for k in theory.PLAYER1_INFOSETS}}
    p1 = {**base, **{k: other[k] for k in theory.PLAYER0_INFOSETS}}
    assert theory.game_value(p0, p1) == pytest.approx(theory.game_value(base, base), abs=1e-15)


@pytest.mark.parametrize("player", [0, 1])
def test_best_response_value_uniform_matches_openspiel(game: pyspiel.Game, player: int) -> None:
    tabular = osp_policy.TabularPolicy(game)
    reference = osp_br.BestResponsePolicy(game, player, tabular).value(game.new_initial_state())
    value = theory.best_response_value(theory.uniform_policy(), player)
    assert value == pytest.approx(reference, abs=1e-9)


@pytest.mark.parametrize("player", [0, 1])
def test_best_response_value_random_matches_openspiel(game: pyspiel.Game, player: int) -> None:
    root = game.new_initial_state()
    for policy in RANDOM_POLICIES[:15]:
        tabular = to_openspiel(game, policy)
        reference = osp_br.BestResponsePolicy(game, player, tabular).value(root)
        assert theory.best_response_value(policy, player) == pytest.approx(reference, abs=1e-9)


@pytest.mark.parametrize("player", [0, 1])
def test_best_response_is_pure_and_achieves_the_value(player: int) -> None:
    seat_keys = (theory.PLAYER0_INFOSETS, theory.PLAYER1_INFOSETS)[player]
    for policy in [theory.uniform_policy(), *RANDOM_POLICIES[:10]]:
        br = theory.best_response(policy, player)
        assert tuple(br) == seat_keys
        assert set(br.values()) <= {0.0, 1.0}
        combined = {**policy, **br}
        value = theory.game_value(combined, combined)
        if player == 1:
            value = -value
        assert value == pytest.approx(theory.best_response_value(policy, player), abs=1e-12)
        # No single-infoset deviation from the best response does better.
        for key in seat_keys:
            deviated = {**combined, key: 1.0 - combined[key]}
            dev_value = theory.game_value(deviated, deviated) * (1 if player == 0 else -1)
            assert dev_value <= value + 1e-12


def test_best_response_against_uniform() -> None:
    # Player 1 facing a uniform player 0: bet anything after a check, call with Q and K.
    assert theory.best_response(theory.uniform_policy(), 1) == {
        "Jp": 1.0,
        "Qp": 1.0,
        "Kp": 1.0,
        "Jb": 0.0,
        "Qb": 1.0,
        "Kb": 1.0,
    }


# --------------------------------------------------------------------------------------------
# solve
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def solved() -> dict[str, float]:
    return theory.solve()


def test_solve_cfr_plus_converges(game: pyspiel.Game, solved: dict[str, float]) -> None:
    assert tuple(solved) == theory.INFOSETS
    assert theory.validate_policy(solved) == solved
    assert theory.exploitability(solved) < 1e-3
    assert osp_expl.exploitability(game, to_openspiel(game, solved)) < 1e-3
    assert theory.game_value(solved, solved) == pytest.approx(-1.0 / 18.0, abs=1e-3)
    # Player 1's equilibrium strategy is unique.
    reference = theory.equilibrium_policy()
    for key in theory.PLAYER1_INFOSETS:
        assert solved[key] == pytest.approx(reference[key], abs=1e-2)
    # Player 0 lies on the alpha-family: K bets three times as often as J, Q calls alpha + 1/3.
    alpha = solved["J"]
    assert 0.0 <= alpha <= 1.0 / 3.0 + 1e-3
    assert solved["K"] == pytest.approx(3 * alpha, abs=1e-2)
    assert solved["Qpb"] == pytest.approx(alpha + 1.0 / 3.0, abs=1e-2)


def test_solve_is_deterministic(solved: dict[str, float]) -> None:
    assert theory.solve() == solved
    assert theory.solve(50) == theory.solve(50)
    assert theory.solve(50, method="cfr") == theory.solve(50, method="cfr")


def test_solve_more_iterations_helps() -> None:
    assert theory.exploitability(theory.solve(1000)) < theory.exploitability(theory.solve(10))


def test_solve_vanilla_cfr_converges() -> None:
    policy = theory.solve(2000, method="cfr")
    assert theory.exploitability(policy) < 1e-2
    assert theory.game_value(policy, policy) == pytest.approx(-1.0 / 18.0, abs=1e-2)


def test_solve_single_iteration_is_uniform() -> None:
    for method in ("cfr", "cfr+"):
        assert theory.solve(1, method=method) == theory.uniform_policy()


@pytest.mark.parametrize("iterations", [0, -5, 2.5, True])
def test_solve_rejects_bad_iterations(iterations: object) -> None:
    with pytest.raises(ValueError):
        theory.solve(iterations)  # type: ignore[arg-type]


def test_solve_rejects_unknown_method() -> None:
    with pytest.raises(ValueError, match="method"):
        theory.solve(10, method="mccfr")
