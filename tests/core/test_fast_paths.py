"""Opt-in speed paths of games (``_fast_path``) must not change a game in any way.

Each game that inlines its step (or plays legal moves from a shared position table) is played
twice from the same seeds with the same mix of answers (mostly legal moves, some parsed forms,
some invalid, some not text at all), once with its speed path and once through the generic
:class:`~spenv.env.TextEnv` path only; every view the env shows, every reward and every episode
record must agree, and every episode must replay.
"""

from __future__ import annotations

import numpy as np
import pytest

import spenv
from spenv.env import AgentFailure

CASES = [
    ("TicTacToe-v1", {}, ["[5]", " [ 3 ] ", "\\boxed{7}", "[0]", "[10]", "no move", None, 3]),
    ("TicTacToe-v1", {"retries": 2}, ["[5]", "I take [1]", "[0]", "??", 7, "[9] or [2]"]),
    ("TicTacToe-v1", {"retries": 1, "invalid_reward": -3.0}, ["[4]", "[x]", "[1]"]),
    ("KuhnPoker-v1", {}, ["[check]", "[bet]", "I [bet]", "\\boxed{pass}", "??", None]),
    ("KuhnPoker-v1", {"hands": 3}, ["[call]", "[fold]", "[bet]", "??"]),
    ("KuhnPoker-v1", {"retries": 1}, ["[check]", "[bet]", "[call]", "[fold]", "x", 5]),
]


def _play(env_id: str, options: dict, answers: list, fast: bool) -> list:
    env = spenv.make(env_id, **options)
    env._fast_path = fast
    rng = np.random.default_rng(7)
    trace: list = []
    env.reset(seed=1)
    for game in range(400):
        env.reset(seed=game if game % 5 == 0 else None)  # reseeded, or continuing the stream
        for agent in env.agent_iter():
            obs, reward, term, trunc, info = env.last()
            trace.append((agent, obs, reward, term, trunc, dict(info)))
            views = {a: env.infos[a]["observation"] for a in env.agents}
            assert views == {a: env._observe(a) for a in env.agents}
            if term or trunc:
                env.step(None)
                continue
            legal = info["legal_actions"]
            u = rng.random()
            if u < 0.8:
                action = legal[int(rng.random() * len(legal))]
            elif u < 0.85:
                action = AgentFailure("agent failed: test")
            else:
                action = answers[int(rng.random() * len(answers))]
            env.step(action)
            trace.append((dict(env.rewards), dict(env._cumulative_rewards), env.turn))
        ep = env.episode()
        assert spenv.replay(ep).replay_key() == ep.replay_key()
        trace.append(ep.replay_key())
    return trace


@pytest.mark.parametrize(("env_id", "options", "answers"), CASES)
def test_fast_path_matches_the_generic_path(env_id: str, options: dict, answers: list) -> None:
    cls = type(spenv.make(env_id))
    assert cls._fast_path is True  # the speed path is on by default
    fast = _play(env_id, options, answers, True)
    generic = _play(env_id, options, answers, False)
    assert len(fast) == len(generic)
    for i, (a, b) in enumerate(zip(fast, generic, strict=True)):
        assert a == b, f"step {i}: {a!r} != {b!r}"


def test_tictactoe_fast_path_is_used_and_shares_positions() -> None:
    """Legal moves seen once are played from the shared table by every env of that context."""
    first, second = spenv.make("TicTacToe-v1"), spenv.make("TicTacToe-v1")
    for env in (first, second):
        env.reset(seed=0)
        for cell in ("[1]", "[4]", "[2]", "[5]", "[3]"):
            env.step(cell)
        assert env.done and env.outcomes == {"player_0": "win", "player_1": "loss"}
    assert first._positions is second._positions
    root = first._positions[("." * 9, 0)]
    assert "[1]" in root.children
    nxt, move, cell = root.children["[1]"]
    assert (nxt.board, move, cell, nxt.agent) == ("X........", "1", 1, "player_1")
    other = spenv.make("TicTacToe-v1", retries=1)
    other.reset(seed=0)
    assert other._positions is not first._positions  # prompts differ with retries


def test_views_shared_across_games_carry_each_games_own_turn() -> None:
    """Positions and views are shared by every env of a context: after messy games (parsed,
    invalid and failed moves) have filled them, clean games must still record, for each turn,
    the observation of that turn (a table keyed by the board alone once handed a later game a
    view whose turn number came from an earlier one)."""
    for env_id, options, answers in CASES:
        if env_id == "TicTacToe-v1":
            _play(env_id, options, answers, fast=True)
            _play(env_id, options, answers, fast=False)
    kw = dict(games=30, seed=11, batch_size=16)
    for ep in spenv.run_games("TicTacToe-v1", ["minimax", "random"], **kw):
        # no re-asks in these games: turn k is the k-th decision
        assert [t.observation["turn"] for t in ep.turns] == list(range(len(ep.turns)))
        assert spenv.replay(ep).replay_key() == ep.replay_key()
