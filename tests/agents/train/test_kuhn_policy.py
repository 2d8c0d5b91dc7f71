"""``policy_of`` scores an invalid answer as the game does: a forfeit of the hand (one chip),
not a check; the trainer's exploitability uses that score."""

from __future__ import annotations

import numpy as np
import pytest

from spenv.agents.base import BaseAgent
from spenv.games.kuhn_poker import exploitability, policy_of
from spenv.games.kuhn_poker.agents import (
    NashAgent,
    _forfeit_value,
    forfeit_exploitability,
)
from spenv.games.kuhn_poker.theory import DEALS, INFOSETS, equilibrium_policy
from spenv.rollout import run_games


class ForfeitsKingOpenings(BaseAgent):
    """The equilibrium player, except that it writes nonsense when it opens with the king."""

    name = "forfeiter"

    def __init__(self, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.nash = NashAgent(seed=seed)

    def act(self, obs):
        if obs.state["infoset"] == "K":
            return "I fold my cards into a paper plane"
        return self.nash.act(obs)


def test_an_invalid_opening_costs_what_the_game_charges():
    table = policy_of(ForfeitsKingOpenings(), samples=200)
    assert table.invalid["K"] == 200 and table.forfeit["K"] == 1.0
    assert sum(table.invalid.values()) == 200
    # The old reading (an invalid opening = a check) hides most of the cost.
    as_check = exploitability(dict(table))
    as_game = table.exploitability()
    assert as_game > as_check + 0.05
    # The exact value with forfeits matches the real game's chips against the equilibrium
    # player (player_0 = the forfeiter).
    bet, forfeit = {**equilibrium_policy(), "K": 0.0}, {"K": 1.0}
    exact = sum(_forfeit_value(c0, c1, "", bet, forfeit) for c0, c1 in DEALS) / len(DEALS)
    eps = run_games(
        "KuhnPoker-v1",
        [ForfeitsKingOpenings(seed=1), NashAgent(seed=2)],
        games=6000,
        seed=3,
        swap_seats=False,
    )
    chips = np.array([e.rewards["player_0"] for e in eps])
    half = 3 * chips.std() / np.sqrt(len(chips))
    assert abs(chips.mean() - exact) < half
    # Reading the forfeit as a check predicts a different value, outside the interval.
    as_check_value = sum(_forfeit_value(c0, c1, "", bet, {}) for c0, c1 in DEALS) / len(DEALS)
    assert abs(chips.mean() - as_check_value) > half


def test_without_forfeits_the_two_exploitabilities_agree():
    rng = np.random.default_rng(0)
    for _ in range(5):
        pol = {k: float(rng.random()) for k in INFOSETS}
        assert forfeit_exploitability(pol, {}) == pytest.approx(exploitability(pol), abs=1e-12)
    with pytest.raises(ValueError, match="forfeit"):
        forfeit_exploitability(equilibrium_policy(), {"Kb": 1.0})  # Kb always calls
