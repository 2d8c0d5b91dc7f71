"""The TicTacToe loops the engine benchmarks time (random legal moves, counting decisions).

Like ``kuhn_loops.py``: every loop draws its moves from a ``random.Random`` passed in, and at
each decision reads the acting player's view (prompt text or observation string) and its legal
moves, then applies one of them.
"""

from __future__ import annotations

import random
from typing import Any

from kuhn_loops import _innermost


def make_spenv() -> Any:
    import spenv

    return spenv.make("TicTacToe-v1")


def play_spenv(env: Any, rng: random.Random, games: int) -> int:
    """The standard PettingZoo AEC loop on ``TicTacToe-v1`` (``reset()`` per game)."""
    choice = rng.choice
    decisions = 0
    for _ in range(games):
        env.reset()
        for _agent in env.agent_iter():
            _obs, _reward, term, trunc, info = env.last()
            if term or trunc:
                env.step(None)
            else:
                env.step(choice(info["legal_actions"]))
                decisions += 1
    return decisions


def make_openspiel() -> Any:
    import pyspiel

    return pyspiel.load_game("tic_tac_toe")


def play_openspiel(game: Any, rng: random.Random, games: int) -> int:
    """OpenSpiel's ``tic_tac_toe``: at each decision the acting player, its
    ``observation_string`` (the board) and ``legal_actions()``; ``returns()`` at the end."""
    choice = rng.choice
    decisions = 0
    for _ in range(games):
        state = game.new_initial_state()
        while not state.is_terminal():
            player = state.current_player()
            _view = state.observation_string(player)
            state.apply_action(choice(state.legal_actions()))
            decisions += 1
        _returns = state.returns()
    return decisions


def play_textarena(rng: random.Random, games: int) -> int:
    """TextArena's ``TicTacToe-v0`` as its README runs it: ``textarena.make`` per game (default
    wrappers: the LLM prompt is rendered), ``get_observation()`` / ``step()`` until done,
    ``close()``. Legal moves are the empty cells of ``game_state["board"]``."""
    import textarena

    choice = rng.choice
    decisions = 0
    for _ in range(games):
        env = textarena.make("TicTacToe-v0")
        env.reset(num_players=2)
        board = _innermost(env).state.game_state["board"]
        done = False
        while not done:
            _player, _obs = env.get_observation()
            free = [3 * r + c for r in range(3) for c in range(3) if board[r][c] == ""]
            done, _info = env.step(f"[{choice(free)}]")
            decisions += 1
        _rewards = env.close()
    return decisions
