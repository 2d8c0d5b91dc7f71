"""The game loops the Kuhn poker throughput benchmarks time (shared by the tests and by hand).

Each ``play_*`` function plays ``games`` complete games with uniformly random legal moves and
returns the number of *decisions* made: moves chosen by a player. Chance events, dead-agent
steps and resets are not decisions, but their cost is inside the timed loop. Every loop draws its
moves (and OpenSpiel's chance outcomes) from the same kind of source, a ``random.Random`` passed
in, and at each decision does what a loop driving agents must do: read the acting player's view
(prompt text or information-state string) and its legal moves, then apply one of them.

Run this file for a quick comparison without pytest (best of 7 runs each, run one after the
other, so less fair than the interleaved rounds of the benchmark suite)::

    .venv/bin/python benchmarks/perf/kuhn_loops.py
"""

from __future__ import annotations

import random
import time
from typing import Any

from pettingzoo import AECEnv

#: Games per timed round.
GAMES = 2000


# ----------------------------------------------------------------------------- spenv
def make_spenv(**options: Any) -> Any:
    import spenv

    return spenv.make("KuhnPoker-v1", **options)


def play_spenv(
    env: Any, rng: random.Random, games: int = GAMES, reseed_from: int | None = None
) -> int:
    """The standard PettingZoo AEC loop. ``reset()`` continues the env's generator stream;
    with ``reseed_from``, game ``i`` is reset with ``seed=reseed_from + i`` instead."""
    choice = rng.choice
    decisions = 0
    for i in range(games):
        if reseed_from is None:
            env.reset()
        else:
            env.reset(seed=reseed_from + i)
        for _agent in env.agent_iter():
            _obs, _reward, term, trunc, info = env.last()
            if term or trunc:
                env.step(None)
            else:
                env.step(choice(info["legal_actions"]))
                decisions += 1
    return decisions


# ----------------------------------------------------------------------------- OpenSpiel
def make_openspiel() -> Any:
    import pyspiel

    return pyspiel.load_game("kuhn_poker")


def play_openspiel(game: Any, rng: random.Random, games: int = GAMES) -> int:
    """OpenSpiel's ``kuhn_poker``: chance outcomes sampled from ``chance_outcomes()`` (uniform
    in Kuhn poker); at each decision the acting player, its ``information_state_string()`` and
    ``legal_actions()`` are read; the returns are read at the end of each game."""
    choice = rng.choice
    decisions = 0
    for _ in range(games):
        state = game.new_initial_state()
        while not state.is_terminal():
            if state.is_chance_node():
                state.apply_action(choice(state.chance_outcomes())[0])
            else:
                _player = state.current_player()
                _infostate = state.information_state_string()
                state.apply_action(choice(state.legal_actions()))
                decisions += 1
        _returns = state.returns()
    return decisions


# ----------------------------------------------------------------------------- TextArena
def make_textarena(raw: bool) -> Any:
    """TextArena's ``KuhnPoker-v0``, registered with ``max_rounds=3``: a game is three hands.

    ``raw=False`` is ``textarena.make("KuhnPoker-v0")``: the env inside TextArena's default
    wrappers, ``LLMObservationWrapper`` (turns the messages into the prompt an LLM reads) and
    ``ActionFormattingWrapper``. ``raw=True`` is ``KuhnPoker-v0-raw``, the same env unwrapped:
    ``get_observation()`` then returns the new message tuples, not a prompt.
    """
    import textarena

    return textarena.make("KuhnPoker-v0-raw" if raw else "KuhnPoker-v0")


def _innermost(env: Any) -> Any:
    import textarena

    while isinstance(env, textarena.Wrapper):
        env = env.env
    return env


def play_textarena(env: Any, rng: random.Random, games: int = GAMES, fresh: bool = False) -> int:
    """TextArena's own loop: ``get_observation()`` (the acting player and its view), the legal
    moves, ``step(action)`` until ``done``, then ``close()`` for the rewards. Every ``step`` is a
    decision (random legal moves are never invalid).

    TextArena does not expose legal moves; they are the keys of the game's
    ``game_state["current_legal_action_tree"]``, read from the innermost env. With ``fresh``, a
    new env is made for every game (``make_textarena(raw=False)``): TextArena's
    ``LLMObservationWrapper`` keeps every message it has seen and is not cleared by ``reset``,
    so a reused wrapped env renders an ever longer history at each decision.
    """
    choice = rng.choice
    decisions = 0
    for _ in range(games):
        if fresh:
            env = make_textarena(raw=False)
        env.reset(num_players=2)
        game_state = _innermost(env).state.game_state
        done = False
        while not done:
            _player, _obs = env.get_observation()
            move = choice(list(game_state["current_legal_action_tree"]))
            done, _info = env.step("[" + move + "]")
            decisions += 1
        _rewards = env.close()
    return decisions


# ----------------------------------------------------------------------------- bare PettingZoo
class BareTwoStep(AECEnv):
    """The least an AEC env can do: two agents, one move each, then both are done.

    It keeps the AEC bookkeeping (rewards, cumulative rewards, terminations, truncations,
    infos with ``legal_actions``, dead steps through PettingZoo's ``_was_dead_step``) and
    nothing else: no text, no record, no rules, no randomness.
    """

    metadata = {"name": "bare_two_step_v0", "is_parallelizable": False}  # noqa: RUF012
    possible_agents = ["player_0", "player_1"]  # noqa: RUF012
    _LEGAL = ("[a]", "[b]")

    def reset(self, seed: int | None = None, options: dict | None = None) -> None:
        self.agents = self.possible_agents[:]
        self.rewards = {"player_0": 0.0, "player_1": 0.0}
        self._cumulative_rewards = {"player_0": 0.0, "player_1": 0.0}
        self.terminations = {"player_0": False, "player_1": False}
        self.truncations = {"player_0": False, "player_1": False}
        self.infos = {"player_0": {"legal_actions": self._LEGAL}, "player_1": {"legal_actions": ()}}
        self.agent_selection = "player_0"
        self._moves = 0

    def observe(self, agent: str) -> str:
        return "obs"

    def step(self, action: Any) -> None:
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        self._cumulative_rewards[agent] = 0.0
        self._moves += 1
        if self._moves == 1:
            self.infos["player_0"] = {"legal_actions": ()}
            self.infos["player_1"] = {"legal_actions": self._LEGAL}
            self.agent_selection = "player_1"
        else:
            self.rewards = {"player_0": 1.0, "player_1": -1.0}
            self.terminations = {"player_0": True, "player_1": True}
            self.agent_selection = "player_0"
            self._accumulate_rewards()


def play_bare(env: BareTwoStep, rng: random.Random, games: int = GAMES) -> int:
    """The same AEC loop as :func:`play_spenv`, on :class:`BareTwoStep`."""
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


# ----------------------------------------------------------------------------- by hand
def _best_rate(fn: Any, repeat: int = 7) -> float:
    best = 0.0
    for _ in range(repeat):
        t0 = time.perf_counter()
        n = fn()
        best = max(best, n / (time.perf_counter() - t0))
    return best


def main() -> None:
    spenv_env = make_spenv()
    spenv_env.reset(seed=0)
    game = make_openspiel()
    ta_raw = make_textarena(raw=True)
    bare = BareTwoStep()
    rates = {
        "spenv": _best_rate(lambda: play_spenv(spenv_env, random.Random(0))),
        "spenv (reseeded)": _best_rate(
            lambda: play_spenv(spenv_env, random.Random(0), reseed_from=0)
        ),
        "OpenSpiel": _best_rate(lambda: play_openspiel(game, random.Random(0))),
        "TextArena (default wrappers)": _best_rate(
            lambda: play_textarena(None, random.Random(0), games=500, fresh=True)
        ),
        "TextArena (raw)": _best_rate(lambda: play_textarena(ta_raw, random.Random(0), 500)),
        "bare AEC": _best_rate(lambda: play_bare(bare, random.Random(0))),
    }
    for name, rate in rates.items():
        print(f"{name:30s} {rate:12,.0f} decisions/s")
    for peer in ("OpenSpiel", "TextArena (default wrappers)", "TextArena (raw)", "bare AEC"):
        print(f"spenv / {peer:30s} {rates['spenv'] / rates[peer]:.2f}")


if __name__ == "__main__":
    main()
