"""TicTacToe as a text environment (``TicTacToe-v1``), with a perfect (minimax) reference agent.

Rules (the standard game, matching OpenSpiel's ``tic_tac_toe``):

- A 3x3 board, cells numbered 1-9 row by row::

       1 | 2 | 3
      ---+---+---
       4 | 5 | 6
      ---+---+---
       7 | 8 | 9

- ``player_0`` plays X and moves first; ``player_1`` plays O. The players take turns marking an
  empty cell.
- Three of one's own marks in a row, column or diagonal wins (+1; the other gets -1). A full
  board without such a line is a draw (0 each).

Moves are the number of an empty cell in square brackets, ``[5]``, or as ``\\boxed{5}``;
whitespace inside is allowed (``[ 5 ]``) and leading zeros are ignored. When an answer names
several cells, the last one counts. An answer without a cell, or whose last cell is occupied or
outside 1-9, is an invalid move; once the agent's ``retries`` are used up it forfeits (outcome
``invalid``, reward ``invalid_reward``; the other player wins with the opposite reward).

``legal_actions`` are the exact strings ``"[k]"`` of the empty cells, in increasing order. The
structured ``state`` holds the board as a 9-character string (``"X.O......"``, row by row, ``.``
for empty), the agent's mark, the mark to move and the empty cells.

Reference agents: ``minimax`` (perfect play from a precomputed table of all 5,478 reachable
positions; ties among optimal moves are broken at random with the agent's own generator) and
``random`` (a uniformly random legal move). :func:`solve` gives any position's game-theoretic
value and its optimal moves.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any, ClassVar

from spenv.agents.base import Agent, BaseAgent, RandomAgent
from spenv.env import TextEnv, show_two
from spenv.observation import Observation

_SEATS = ("player_0", "player_1")
_MARKS = ("X", "O")
_SEAT_INDEX = {"player_0": 0, "player_1": 1}
EMPTY_BOARD = "." * 9

#: The eight winning lines, as 0-based cell indices.
LINES = (
    (0, 1, 2),
    (3, 4, 5),
    (6, 7, 8),
    (0, 3, 6),
    (1, 4, 7),
    (2, 5, 8),
    (0, 4, 8),
    (2, 4, 6),
)
_LINES_THROUGH = tuple(tuple(line for line in LINES if i in line) for i in range(9))

#: Exact legal-action strings and the move (the cell number, as text) each stands for.
_LEGAL = {f"[{k}]": str(k) for k in range(1, 10)}
_ACTIONS = tuple(_LEGAL)

# The last [k] or \boxed{k} in the text (ASCII digits only: no exotic digit sneaks in).
_MOVE_RE = re.compile(
    r"\[\s*+([0-9]++)\s*+\]|\\boxed\s*+\{\s*+(?:\\text(?:bf|tt|rm)?\s*+\{\s*+)?([0-9]++)\s*+\}",
    re.ASCII,
)

_RULES = """You are playing TicTacToe as {seat}: you play {mark}{first}.
Rules:
- The board has 3x3 cells, numbered like this:
   1 | 2 | 3
  ---+---+---
   4 | 5 | 6
  ---+---+---
   7 | 8 | 9
- player_0 plays X and moves first; player_1 plays O. Players take turns marking one empty cell.
- Three of your marks in a row, column or diagonal wins. A full board with no such line is a \
draw.
How to answer: think if you like, then write the number of an empty cell in square brackets, \
like [5], or as \\boxed{{5}}. If your answer names several cells, the last one counts. An answer \
without a cell, or naming a cell that is taken or not between 1 and 9, is invalid and {penalty}."""


def winner(board: str) -> str | None:
    """``"X"`` or ``"O"`` when that mark has three in a line on ``board``, else ``None``."""
    for a, b, c in LINES:
        m = board[a]
        if m != "." and m == board[b] == board[c]:
            return m
    return None


def to_move(board: str) -> str:
    """The mark to move on ``board`` (X when the marks are level)."""
    return "X" if board.count("X") == board.count("O") else "O"


def render_board(board: str) -> str:
    """The board as text: marks where played, cell numbers where empty."""
    cells = [m if m != "." else str(i + 1) for i, m in enumerate(board)]
    rows = [f" {cells[r]} | {cells[r + 1]} | {cells[r + 2]}" for r in (0, 3, 6)]
    return "\n---+---+---\n".join(rows)


# ---------------------------------------------------------------------------------- solving
_SOLVED: dict[str, tuple[int, tuple[int, ...]]] = {}


def _negamax(board: str) -> int:
    """Value of ``board`` for the mark to move (+1 win, 0 draw, -1 loss), memoised."""
    hit = _SOLVED.get(board)
    if hit is not None:
        return hit[0]
    if winner(board) is not None:
        value, best = -1, ()  # the previous mover made the line
    elif "." not in board:
        value, best = 0, ()
    else:
        mark = to_move(board)
        scored = []
        for i in range(9):
            if board[i] == ".":
                scored.append((-_negamax(board[:i] + mark + board[i + 1 :]), i + 1))
        value = max(v for v, _ in scored)
        best = tuple(cell for v, cell in scored if v == value)
    _SOLVED[board] = (value, best)
    return value


def solve(board: str = EMPTY_BOARD) -> tuple[int, tuple[int, ...]]:
    """The game-theoretic value of ``board`` for the mark to move (+1, 0 or -1) and its optimal
    moves (cell numbers 1-9; empty at a terminal position).

    ``board`` is 9 characters row by row, ``X``, ``O`` or ``.``; it must be reachable in play.
    The table of all reachable positions is built on first use and kept.
    """
    if not isinstance(board, str) or len(board) != 9 or set(board) - set("XO."):
        raise ValueError(f"a board is 9 characters of 'X', 'O' and '.', got {board!r}")
    x, o = board.count("X"), board.count("O")
    if x - o not in (0, 1):
        raise ValueError(f"board {board!r} cannot occur: X has {x} marks, O has {o}")
    if not _SOLVED:
        _negamax(EMPTY_BOARD)
    hit = _SOLVED.get(board)
    if hit is None:
        raise ValueError(f"board {board!r} cannot occur in play")
    return hit


def reachable_boards() -> list[str]:
    """Every position reachable in play (5,478 of them, the empty board included)."""
    if not _SOLVED:
        _negamax(EMPTY_BOARD)
    return list(_SOLVED)


# ---------------------------------------------------------------------------------- the env
class TicTacToeEnv(TextEnv):
    """TicTacToe for two players; see the module docstring for rules, format and options."""

    metadata: ClassVar[dict[str, Any]] = {**TextEnv.metadata, "name": "tictactoe_v1"}
    env_id = "TicTacToe-v1"
    possible_agents: ClassVar[list[str]] = list(_SEATS)
    _moves: ClassVar[dict[str, str]] = _LEGAL

    # Views are fixed by (env id, retries, invalid_reward, board[, outcomes]) and immutable, so
    # they are built once per position and shared by all instances.
    _view_cache: ClassVar[dict[tuple, tuple[Observation, Observation]]] = {}
    _shared_views: ClassVar[bool] = True
    _CACHE_LIMIT = 50_000

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        penalty = (
            "loses the game"
            if self.retries == 0
            else f"you are asked again; invalid answer number {self.retries + 1} loses the game"
        )
        self._system = {
            seat: _RULES.format(
                seat=seat,
                mark=_MARKS[i],
                first=" and move first" if i == 0 else "; player_0 (X) moves first",
                penalty=penalty,
            )
            for i, seat in enumerate(_SEATS)
        }
        self._board = EMPTY_BOARD
        self._history: list[int] = []

    # ------------------------------------------------------------------ game state
    def _new_game(self, options: dict[str, Any]) -> str:
        self._board = EMPTY_BOARD
        self._history = []
        if not self._fast_path:
            self._node = None
            self._views = self._cached_views()
            return _SEATS[0]
        nodes = self._positions
        if nodes is None:
            nodes = self._positions = self._position_table()
        node = nodes.get((EMPTY_BOARD, 0))
        if node is None:
            node = nodes[(EMPTY_BOARD, 0)] = _Node(self._cached_views())
        self._node = node
        self._views = node.views
        return _SEATS[0]

    def _position_table(self) -> dict[tuple[str, int], _Node]:
        """The fast path's positions for this env's context (shared by every env with it)."""
        key = (self.env_id, self.retries, self.invalid_reward)
        nodes = self._nodes.get(key)
        if nodes is None:
            if len(self._nodes) >= self._NODES_LIMIT:
                self._nodes.clear()
            nodes = self._nodes[key] = {}
        return nodes

    # ------------------------------------------------------------------ the hot path
    # An opt-in speed path (``_fast_path``): a legal move's outcome (the next board, who moves,
    # both views; at the end the outcomes, rewards and final views) depends only on the game's
    # context (env id, retries, invalid_reward), the board and the turn count (a re-asked move
    # makes it run ahead of the marks), so the generic path's result for each (board, turn,
    # legal move) is kept in a shared table of positions, and a move found there
    # is played from it in a few assignments: what TextEnv.step, _accept, _apply and _finish
    # do, inlined. Anything else (parsed or invalid moves, dead steps) goes through TextEnv and
    # fills the table. tests/core/test_fast_paths.py checks that both paths give the same
    # trajectories and records.
    _fast_path: ClassVar[bool] = True
    _nodes: ClassVar[dict[tuple, dict[tuple[str, int], _Node]]] = {}
    _NODES_LIMIT = 64
    _node: _Node | None = None  # the current position while the game is on (fast path only)
    _positions: dict[tuple[str, int], _Node] | None = None  # (board, turn) -> position

    def step(self, action: Any) -> None:
        """:meth:`TextEnv.step`; a legal move already in the position table runs inlined."""
        node = self._node
        if node is None or type(action) is not str:
            TextEnv.step(self, action)  # dead steps, non-text actions, the fast path off
            if node is not None:
                self._node = None if self._outcomes else node
            return
        edge = node.children.get(action)
        if edge is None:
            if action in node.views[_SEAT_INDEX[self.agent_selection]].legal_actions:
                TextEnv.step(self, action)
                self._learn(node, action)
            else:  # a parsed or invalid move: the board may have changed
                TextEnv.step(self, action)
                self._node = (
                    None if self._outcomes else self._positions.get((self._board, self._turn))
                )
            return
        nxt, move, cell = edge
        agent = self.agent_selection
        # (No step reward is pending here: TicTacToe gives rewards only as the game ends.)
        self._cumulative_rewards[agent] = 0.0
        infos = self.infos
        self._turns.append((agent, infos[agent]["observation"], action, move, True, None))
        self._feedback = None
        self._turn += 1
        self._board = nxt.board
        self._history.append(cell)
        final = nxt.final
        if final is None:
            self._node = nxt
            self.agent_selection = nxt.agent
            views = self._views = nxt.views
            show_two(infos, "player_0", views[0], "player_1", views[1])
        else:
            outcomes, given, views = final
            self._node = None
            if given is not None:
                rewards, totals = self.rewards, self._totals
                for a, r in given.items():
                    rewards[a] += r
                    totals[a] += r
                self._rewards_dirty = True
            self._outcomes = dict(outcomes)
            self._finished = time.time()
            self._views = None
            terminations = self.terminations
            terminations["player_0"] = terminations["player_1"] = True
            show_two(infos, "player_0", views[0], "player_1", views[1])
            infos["player_0"]["outcome"] = outcomes["player_0"]
            infos["player_1"]["outcome"] = outcomes["player_1"]
            if given is not None:
                cumulative = self._cumulative_rewards
                for a, r in self.rewards.items():
                    cumulative[a] += r
        if self.render_mode == "human":
            self.render()

    def _learn(self, node: _Node, action: str) -> None:
        """After the generic path played the legal move ``action`` from ``node``: keep what it
        did in the position table, and move to the new position."""
        board = self._board
        if self._outcomes:
            self._node = None
            nxt = _Node(None)
            nxt.final = (
                dict(self._outcomes),
                dict(self.rewards) if self._rewards_dirty else None,
                (self.infos["player_0"]["observation"], self.infos["player_1"]["observation"]),
            )
        else:
            nxt = self._positions.get((board, self._turn))
            if nxt is None:
                nxt = self._positions[(board, self._turn)] = _Node(self._views)
                nxt.agent = self.agent_selection
            self._node = nxt
        nxt.board = board
        node.children[action] = (nxt, _LEGAL[action], self._history[-1])

    def _cached_views(self) -> tuple[Observation, Observation]:
        outcomes = self._outcomes
        key = (
            self.env_id,
            self.retries,
            self.invalid_reward,
            self._board,
            self._turn,  # a re-asked move makes the turn count run ahead of the marks
            (outcomes.get(_SEATS[0]), outcomes.get(_SEATS[1])) if outcomes else None,
        )
        cache = self._view_cache
        views = cache.get(key)
        if views is None:
            if len(cache) >= self._CACHE_LIMIT:
                cache.clear()
            views = cache[key] = (self._build(0, None), self._build(1, None))
        return views

    # ------------------------------------------------------------------ observations
    def _observe(self, agent: str) -> Observation:
        seat = _SEAT_INDEX[agent]
        if self._feedback and not self._outcomes and agent == self.agent_selection:
            return self._build(seat, self._feedback)  # a re-ask shows the error: not cached
        views = self._views
        if views is None:
            views = self._views = self._cached_views()
        return views[seat]

    def _build(self, seat: int, feedback: str | None) -> Observation:
        agent, mark = _SEATS[seat], _MARKS[seat]
        board = self._board
        finished = bool(self._outcomes)
        moving = to_move(board)
        acting = not finished and moving == mark
        empty = tuple(i + 1 for i, m in enumerate(board) if m == ".")
        lines = [f"You are {agent} and play {mark}. The board:", render_board(board)]
        state: dict[str, Any] = {
            "seat": agent,
            "mark": mark,
            "board": board,
            "to_move": None if finished else moving,
            "empty_cells": empty,
        }
        legal: tuple[str, ...] = ()
        if finished:
            outcome = self._outcomes.get(agent)
            won = winner(board)
            if won is not None:
                lines.append(f"{won} has three in a line.")
            elif "." not in board:
                lines.append("The board is full with no line of three.")
            else:
                other = _SEATS[1 - seat]
                loser = agent if outcome == "invalid" else other
                lines.append(f"{loser} made an invalid move and forfeited.")
            reward = self._totals.get(agent, 0.0)
            lines.append(f"The game is over: {outcome}. Your reward: {reward:+g}.")
            state["outcome"] = outcome
        elif acting:
            legal = tuple(f"[{k}]" for k in empty)
            if feedback:
                lines.append(feedback)
            lines.append(f"You play {mark}. Empty cells: " + ", ".join(map(str, empty)) + ".")
            lines.append("Your move: write the cell number in brackets, like " + legal[0] + ".")
        else:
            lines.append(f"Waiting for {_SEATS[1 - seat]} ({moving}) to move.")
        return Observation(
            system=self._system[agent],
            user="\n".join(lines),
            role=agent,
            env_id=self.env_id,
            turn=self._turn,
            legal_actions=legal,
            state=state,
        )

    # ------------------------------------------------------------------ moves
    def _parse(self, agent: str, action: str) -> tuple[str | None, str | None]:
        last = None
        for last in _MOVE_RE.finditer(action):  # noqa: B007 - the last match counts
            pass
        empty = [str(i + 1) for i, m in enumerate(self._board) if m == "."]
        hint = "; empty cells: " + ", ".join(f"[{k}]" for k in empty)
        if last is None:
            return None, "no move found: write an empty cell's number in brackets, like [5]" + hint
        digits = (last.group(1) or last.group(2)).lstrip("0") or "0"
        if len(digits) > 1 or digits == "0":
            shown = digits if len(digits) <= 12 else digits[:12] + "..."
            return None, f"cell {shown} does not exist: cells are numbered 1-9" + hint
        cell = int(digits)
        taken = self._board[cell - 1]
        if taken != ".":
            return None, f"cell {cell} is already taken by {taken}" + hint
        return digits, None

    def _apply(self, agent: str, move: str) -> None:
        cell = int(move)
        seat = _SEAT_INDEX[agent]
        mark = _MARKS[seat]
        board = self._board
        i = cell - 1
        board = self._board = board[:i] + mark + board[i + 1 :]
        self._history.append(cell)
        for a, b, c in _LINES_THROUGH[i]:
            if board[a] == board[b] == board[c]:
                other = _SEATS[1 - seat]
                self._give({agent: 1.0, other: -1.0})
                self._finish({agent: "win", other: "loss"})
                return
        if len(self._history) == 9:
            self._finish({_SEATS[0]: "draw", _SEATS[1]: "draw"})
            return
        self.agent_selection = _SEATS[1 - seat]
        self._views = self._cached_views()

    def episode_info(self) -> dict[str, Any]:
        return {"board": self._board, "moves": list(self._history), "winner": winner(self._board)}


class _Node:
    """A position of the fast path's table: the board, who moves, both views (``views``; for a
    final position ``final``: outcomes, rewards given by the last move or None, final views),
    and the legal moves played from it so far (``children``: action -> (position, move,
    cell))."""

    __slots__ = ("agent", "board", "children", "final", "views")

    def __init__(self, views: Any) -> None:
        self.views = views
        self.board = EMPTY_BOARD
        self.agent = _SEATS[0]
        self.final: tuple | None = None
        self.children: dict[str, tuple[_Node, str, int]] = {}


# ---------------------------------------------------------------------------------- agents
class MinimaxAgent(BaseAgent):
    """Perfect play: a move of the best game-theoretic value, chosen at random (own generator)
    among the optimal ones. Reads the board from ``obs.state``."""

    name = "minimax"

    def act(self, obs: Observation) -> str:
        legal = obs.legal_actions
        if not legal:
            raise ValueError("asked to act on an observation with no legal moves")
        _, best = solve(obs.state["board"])
        cell = best[int(self.rng.random() * len(best))] if len(best) > 1 else best[0]
        return f"[{cell}]"


_FACTORIES: dict[str, Callable[..., Agent]] = {
    "minimax": lambda seed=None: MinimaxAgent(seed=seed),
    "random": lambda seed=None: RandomAgent(seed=seed),
}

#: Names of TicTacToe's reference agents.
REFERENCE_AGENTS = tuple(_FACTORIES)


def reference_agent(name: str, *, seed: int | None = None, **params: Any) -> Agent:
    """Build a TicTacToe reference agent by name: ``minimax`` or ``random`` (no parameters)."""
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ValueError(f"no TicTacToe agent named {name!r}; known: {REFERENCE_AGENTS}") from None
    return factory(seed=seed, **params)
