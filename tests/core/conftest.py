"""Shared helpers for the core tests: a tiny two-player game written against the ``TextEnv``
hooks (as a third-party plugin would), and registry clean-up."""

from __future__ import annotations

import sys
import textwrap
import types
from collections.abc import Callable, Iterator

import pytest

from spenv import registry

#: Source of a minimal game, used both as an importable plugin module and in-process.
TINY_GAME_SOURCE = textwrap.dedent(
    '''
    """Tiny: each player in turn says [high] or [low]; player_0 wins when both say the same.

    The env's own generator decides who speaks first, so seeds matter.
    """

    from spenv.env import TextEnv
    from spenv.observation import Observation

    SEATS = ("player_0", "player_1")


    class TinyEnv(TextEnv):
        metadata = {**TextEnv.metadata, "name": "tiny_v1"}
        env_id = "Tiny-v1"
        possible_agents = list(SEATS)
        _moves = {"[high]": "high", "[low]": "low"}

        def _new_game(self, options):
            first = int(self.np_random.integers(2))
            self._order = (SEATS[first], SEATS[1 - first])
            self._said = {}
            return self._order[0]

        def _observe(self, agent):
            acting = not self._outcomes and agent == self.agent_selection
            said = "; ".join(f"{a} said {m}" for a, m in self._said.items()) or "no one spoke"
            if self._outcomes:
                said += f". Result: {self._outcomes[agent]}"
            if acting and self.feedback:
                said += ". " + self.feedback
            return Observation(
                system="Tiny game: say [high] or [low]. player_0 wins if both say the same.",
                user=f"You are {agent}. {said}.",
                role=agent,
                env_id=self.env_id,
                turn=self.turn,
                legal_actions=("[high]", "[low]") if acting else (),
                state={"said": dict(self._said), "first": self._order[0]},
            )

        def _parse(self, agent, action):
            word = action.strip().strip("[]").strip().lower()
            if word in ("high", "low"):
                return word, None
            return None, "say [high] or [low]"

        def _apply(self, agent, move):
            self._said[agent] = move
            if len(self._said) < 2:
                self._next(self._order[1])
                return
            same = self._said["player_0"] == self._said["player_1"]
            win, lose = ("player_0", "player_1") if same else ("player_1", "player_0")
            self._give({win: 1.0, lose: -1.0})
            self._finish({win: "win", lose: "loss"})
    '''
)


@pytest.fixture
def tiny_source() -> str:
    """Source of the tiny game module."""
    return TINY_GAME_SOURCE


@pytest.fixture
def tiny_module() -> Iterator[types.ModuleType]:
    """The tiny game, executed as a fresh in-memory module."""
    module = types.ModuleType("spenv_tests_tiny_game")
    exec(compile(TINY_GAME_SOURCE, "<tiny game>", "exec"), module.__dict__)
    sys.modules[module.__name__] = module
    yield module
    sys.modules.pop(module.__name__, None)


@pytest.fixture
def temp_register() -> Iterator[Callable[..., registry.EnvSpec]]:
    """``register`` that removes what it added when the test ends."""
    added: list[str] = []

    def _register(id: str, entry_point, **kwargs) -> registry.EnvSpec:
        spec = registry.register(id, entry_point, **kwargs)
        added.append(id)
        return spec

    yield _register
    for id in added:
        registry._REGISTRY.pop(id, None)
