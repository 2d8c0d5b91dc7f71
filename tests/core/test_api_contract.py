"""The core contract, checked for every registered env (future games are covered as they
register): PettingZoo's API and seed tests, the decision view in ``last()``/``infos``,
determinism under a seed, and no use of the global random generators."""

from __future__ import annotations

import random
import warnings
from collections.abc import Iterator

import numpy as np
import pytest
from pettingzoo.test import api_test, seed_test

import spenv

ENV_IDS = spenv.list_envs()


@pytest.fixture(autouse=True)
def _quiet_pettingzoo_warnings() -> Iterator[None]:
    # api_test warns that text observations are not numpy arrays / Box spaces: expected here.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*NumPy array.*", category=UserWarning)
        warnings.filterwarnings("ignore", message=".*gymnasium.spaces.*", category=UserWarning)
        yield


def _play(env, rng: np.random.Generator, seed: int | None = None) -> None:
    """Play one game through the plain AEC loop with random legal moves (or free text)."""
    env.reset(seed=seed)
    for agent in env.agent_iter():
        _, _, termination, truncation, info = env.last()
        if termination or truncation:
            env.step(None)
            continue
        legal = info["legal_actions"]
        env.step(legal[int(rng.integers(len(legal)))] if legal else "I am not sure. [pass]")
        assert agent in env.possible_agents


def test_there_are_envs() -> None:
    assert "KuhnPoker-v1" in ENV_IDS


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_pettingzoo_api_test(env_id: str) -> None:
    api_test(spenv.make(env_id), num_cycles=50)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_pettingzoo_seed_test(env_id: str) -> None:
    seed_test(lambda: spenv.make(env_id), num_cycles=50)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_spaces_are_owned_per_env(env_id: str) -> None:
    # seeding one env's space must not reseed another's (seed_test relies on it)
    a, b = spenv.make(env_id), spenv.make(env_id)
    seat = a.possible_agents[0]
    assert a.action_space(seat) == b.action_space(seat)
    assert a.action_space(seat) is not b.action_space(seat)
    assert a.observation_space(seat) is not b.observation_space(seat)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_same_seed_same_start(env_id: str) -> None:
    env = spenv.make(env_id)
    other = spenv.make(env_id)
    for seed in (0, 1, 12345):
        env.reset(seed=seed)
        first = (env.agent_selection, env.observe(env.agent_selection), dict(env.infos))
        env.reset(seed=seed + 1)  # something else in between
        env.reset(seed=seed)
        again = (env.agent_selection, env.observe(env.agent_selection), dict(env.infos))
        other.reset(seed=seed)
        fresh = (other.agent_selection, other.observe(other.agent_selection), dict(other.infos))
        assert first == again == fresh


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_decision_view(env_id: str) -> None:
    env = spenv.make(env_id)
    rng = np.random.default_rng(0)
    for seed in range(20):
        env.reset(seed=seed)
        for agent in env.agent_iter():
            obs, _, termination, truncation, info = env.last()
            view = info["observation"]
            assert isinstance(obs, str)
            assert obs.dtype == env.observation_space(agent).dtype
            assert env.observation_space(agent).contains(obs)
            assert isinstance(view, spenv.Observation)
            assert view.text == obs
            assert view.role == agent
            assert view.env_id == env_id
            assert info["legal_actions"] == view.legal_actions
            if termination or truncation:
                assert view.legal_actions in ((), None)
                env.step(None)
                continue
            assert view.is_decision
            for other in env.agents:
                if other != agent:
                    other_view = env.infos[other]["observation"]
                    assert env.infos[other]["legal_actions"] == ()
                    assert other_view.legal_actions == ()
                    assert not other_view.is_decision
                    assert env.observe(other) == other_view.text
            legal = view.legal_actions
            env.step(legal[int(rng.integers(len(legal)))] if legal else "[pass]")


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_messages_carry_the_prompt(env_id: str) -> None:
    env = spenv.make(env_id)
    env.reset(seed=0)
    view = env.infos[env.agent_selection]["observation"]
    messages = view.messages
    assert messages[-1] == {"role": "user", "content": view.user}
    if view.system:
        assert messages[0] == {"role": "system", "content": view.system}
        assert len(messages) == 2
    assert "\n\n".join(m["content"] for m in messages) == view.text


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_no_global_rng_is_touched(env_id: str) -> None:
    env = spenv.make(env_id)
    n_seats = len(env.possible_agents)
    _play(env, np.random.default_rng(0), seed=0)  # warm up lazy imports first
    spenv.run_games(env_id, ["random"] * n_seats, games=2, seed=0)

    py_state = random.getstate()
    np_state = np.random.get_state()

    rng = np.random.default_rng(1)
    for seed in (None, 3, None, None):  # None: continue the stream / draw from the OS
        _play(env, rng, seed=seed)
    spenv.play(env_id, ["random"] * n_seats, seed=5)
    spenv.run_games(env_id, ["random"] * n_seats, games=20, seed=None, batch_size=4)

    assert random.getstate() == py_state
    after = np.random.get_state()
    assert after[0] == np_state[0]
    assert np.array_equal(after[1], np_state[1])
    assert after[2:] == np_state[2:]
