"""The Gymnasium view of one seat (``spenv.wrappers.SingleAgentEnv``)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import spenv
from spenv.agents import FixedAgent
from spenv.wrappers import SingleAgentEnv


@pytest.mark.parametrize(
    "env_id, seat, opponents",
    [
        ("KuhnPoker-v1", "player_0", {"player_1": "nash"}),
        ("KuhnPoker-v1", "player_1", ["random"]),
        ("TicTacToe-v1", "player_1", "minimax"),
        ("Taboo-v1", "defender", "hinter"),
    ],
)
def test_passes_gymnasium_env_checker(env_id: str, seat: str, opponents: object) -> None:
    env = SingleAgentEnv(env_id, seat, opponents)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # text spaces draw "not a Box" style advice
        check_env(env, skip_render_check=True)


def test_kuhn_against_nash_matches_the_game_value() -> None:
    """Always betting/calling against the equilibrium loses what theory says it loses."""
    from spenv.games.kuhn_poker import equilibrium_policy, game_value
    from spenv.games.kuhn_poker.agents import AGGRESSIVE

    env = SingleAgentEnv("KuhnPoker-v1", "player_0", {"player_1": "nash"})
    total, n = [], 4000
    for i in range(n):
        obs, info = env.reset(seed=i)
        assert isinstance(obs, str) and info["legal_actions"]
        ret, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, info = env.step(info["legal_actions"][-1])
            ret += reward
            done = terminated or truncated
        assert env.episode().rewards["player_0"] == ret
        total.append(ret)
    exact = game_value(AGGRESSIVE, equilibrium_policy(0.0))
    sem = np.std(total) / np.sqrt(n)
    assert abs(np.mean(total) - exact) < 5 * sem


def test_same_seed_same_episode_and_bad_input() -> None:
    env = SingleAgentEnv("TicTacToe-v1", "player_0", {"player_1": "minimax"})

    def play(seed: int) -> list[str]:
        obs, info = env.reset(seed=seed)
        seen, done = [obs], False
        while not done:
            obs, _, terminated, truncated, info = env.step(info["legal_actions"][0])
            seen.append(obs)
            done = terminated or truncated
        return seen

    assert play(3) == play(3)
    _, info = env.reset(seed=0)
    _obs, reward, terminated, _, info = env.step("no move here")
    assert terminated and reward == -1.0 and info["outcome"] == "invalid"
    with pytest.raises(RuntimeError, match="reset"):
        env.step("[1]")
    with pytest.raises(ValueError, match="seats"):
        SingleAgentEnv("KuhnPoker-v1", "nobody", "nash")
    with pytest.raises(ValueError, match="other seats"):
        SingleAgentEnv("KuhnPoker-v1", "player_0", ["nash", "random"])


def test_a_failing_opponent_is_recorded_not_raised() -> None:
    class Broken(FixedAgent):
        def act(self, obs: spenv.Observation) -> str:
            raise RuntimeError("boom")

    env = SingleAgentEnv("KuhnPoker-v1", "player_0", {"player_1": Broken("")})
    _, info = env.reset(seed=1)
    _obs, reward, terminated, _, info = env.step("[bet]")
    assert terminated and info["outcome"] == "win" and reward > 0
    bad = [t for t in env.episode().turns if not t.valid]
    assert bad and bad[0].agent == "player_1" and "boom" in bad[0].error
