"""Nim as a spenv game (``Nim-v1``): the worked example of "Adding a game".

Rules: one pile of stones, its size drawn from the env's seeded generator between ``min_pile`` and
``max_pile``. ``player_0`` moves first; the players take turns removing 1, 2 or 3 stones (never
more than are left). Whoever takes the last stone wins (+1; the other gets -1).

Moves are the number of stones in square brackets, ``[2]``; the last bracketed number in an
answer counts. Anything else, or taking more than is left, is an invalid move: after the
player's ``retries`` are used up the player forfeits (``invalid_reward``, the other wins).

The whole game lives in this file: the env and its rules prompt. The registry finds it through
the entry point in ``pyproject.toml``; nothing in spenv names it.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from spenv.env import TextEnv
from spenv.observation import Observation
from spenv.options import Int, Option

SEATS = ("player_0", "player_1")
_MOVE = re.compile(r"\[\s*([0-9]{1,3})\s*\]", re.ASCII)
_RULES = (
    "You are playing Nim as {seat}. There is one pile of stones. Players take turns removing 1, "
    "2 or 3 stones; whoever takes the last stone wins. player_0 moves first.\n"
    "How to answer: think if you like, then write how many stones you take in square brackets, "
    "like [2]. The last bracketed number counts."
)


class NimEnv(TextEnv):
    """One-pile Nim for two players; see the module docstring for the rules and options."""

    metadata: ClassVar[dict[str, Any]] = {**TextEnv.metadata, "name": "nim_v1"}
    env_id = "Nim-v1"
    possible_agents: ClassVar[list[str]] = list(SEATS)
    _moves: ClassVar[dict[str, str]] = {"[1]": "1", "[2]": "2", "[3]": "3"}

    # The constructor options: the base class checks them, sets them as attributes, records
    # them in env_options() (these two always) and lists them on the game's docs page.
    OPTIONS: ClassVar[tuple[Option, ...]] = (
        Option("min_pile", 5, Int(1, 1000), "fewest stones the pile starts with", record="always"),
        Option("max_pile", 21, Int(1, 1000), "most stones the pile starts with", record="always"),
    )

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        if self.max_pile < self.min_pile:
            raise ValueError(
                f"{self.env_id} option max_pile must be >= min_pile ({self.min_pile}), "
                f"got {self.max_pile!r}"
            )
        self._system = {seat: _RULES.format(seat=seat) for seat in SEATS}
        self._pile = 0
        self._taken: list[int] = []

    # The four hooks: a new game, one agent's view, parsing an answer, applying a move.
    def _new_game(self, options: dict[str, Any]) -> str:
        self._pile = int(self.np_random.integers(self.min_pile, self.max_pile + 1))
        self._taken = []
        return SEATS[0]

    def _observe(self, agent: str) -> Observation:
        acting = not self._outcomes and agent == self.agent_selection
        lines = [f"Stones left: {self._pile}. Taken so far: {self._taken or 'none'}."]
        legal: tuple[str, ...] = ()
        if self._outcomes:
            lines.append(f"The game is over: {self._outcomes[agent]}.")
        elif acting:
            legal = tuple(f"[{k}]" for k in range(1, min(3, self._pile) + 1))
            lines.append("Your move: " + ", ".join(legal) + ".")
        else:
            lines.append(f"Waiting for {self.agent_selection}.")
        return Observation(
            system=self._system[agent],
            user="\n".join(lines),
            role=agent,
            env_id=self.env_id,
            turn=self._turn,
            legal_actions=legal,
            state={"pile": self._pile, "taken": tuple(self._taken)},
        )

    def _parse(self, agent: str, action: str) -> tuple[str | None, str | None]:
        found = _MOVE.findall(action)
        if not found:
            return None, "no move found: write how many stones you take in brackets, like [2]"
        k = int(found[-1])
        if not 1 <= k <= min(3, self._pile):
            return None, f"you may take 1 to {min(3, self._pile)} stones, not {k}"
        return str(k), None

    def _apply(self, agent: str, move: str) -> None:
        k = int(move)
        self._pile -= k
        self._taken.append(k)
        other = SEATS[1 - SEATS.index(agent)]
        if self._pile == 0:
            self._give({agent: 1.0, other: -1.0})
            self._finish({agent: "win", other: "loss"})
        else:
            self._next(other)

    def episode_info(self) -> dict[str, Any]:
        return {"taken": list(self._taken), "pile_left": self._pile}
