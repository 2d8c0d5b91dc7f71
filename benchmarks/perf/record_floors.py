"""Floors: ``run_games``' own records computed with no engine, to bound what an engine can reach.

``play_kuhn(games, seed)`` and ``play_tictactoe(games, seed)`` return what
``run_games(GAME, ["random", "random"], games=games, seed=seed)`` returns (ids and timings
aside: :func:`check` asserts it before any round is timed), doing only what those records
require. Each game is one straight loop: the per-game streams the runner would use (Kuhn poker
draws its deal from the game's seed stream; each move comes from the spec's per-game agent
stream), the next view looked up in the tables of views the game shares between envs, then the
:class:`~spenv.episode.Episode` and its turns. No PettingZoo bookkeeping, no env object per
game, no tick loop.

``call_agent=False`` inlines the random agent's policy (one stream draw, one index);
``call_agent=True`` asks the agent object, as any engine must, since an engine cannot know what
an agent does. These are measuring devices that read spenv internals, not a second engine: if
the internals change, :func:`check` fails before anything is timed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import spenv
from spenv.agent import default_resolver
from spenv.env import _shared_record
from spenv.episode import Episode, Turn
from spenv.games import tictactoe as ttt_env
from spenv.games.kuhn_poker import env as kuhn_env
from spenv.rollout import _agent_state_ints, run_games
from spenv.streams import GeneratorStream, Stream, plan_seeds

_SEATS = ("player_0", "player_1")
#: Who sits where: game ``i`` of a run of one spec twice rotates the labels by ``i % 2``.
_LABELS = (
    {"player_0": "random", "player_1": "random#2"},
    {"player_0": "random#2", "player_1": "random"},
)


class _Game:
    """What every game of a floor run shares: the env's options and prompts, the agent, and the
    per-game records' common fields."""

    def __init__(self, env_id: str, seed: int, call_agent: bool) -> None:
        self.env = spenv.make(env_id)
        self.env_id = env_id
        self.seed = seed
        self.system = self.env.system_prompts()
        self.options = self.env.env_options()
        self.agent = default_resolver()("random", env_id, seed=0)
        self.call_agent = call_agent

    def start(self, index: int) -> GeneratorStream:
        """The agent stream of game ``index`` (both seats: one spec, one stream)."""
        stream = GeneratorStream(*_agent_state_ints(self.seed, index, 0))
        if self.call_agent:
            self.agent.rng = stream
        return stream

    def move(self, obs: Any, stream: GeneratorStream) -> tuple[str, float]:
        """The agent's move at ``obs`` and the seconds the choice took."""
        if self.call_agent:
            t0 = time.perf_counter()
            action = self.agent.act(obs)
            return action, time.perf_counter() - t0
        u = stream.random()
        t0 = time.perf_counter()
        legal = obs.legal_actions
        return legal[int(u * len(legal))], time.perf_counter() - t0

    def turn(self, i: int, obs: Any, action: str, move: str, elapsed: float) -> Turn:
        seat = _SEATS[i % 2]
        record = _shared_record(obs, self.system[seat])
        return Turn(i, seat, obs.turn, record, action, move, True, None, elapsed, {})

    def episode(self, index: int, clocks: tuple[float, float], **fields: Any) -> Episode:
        started, clock0 = clocks
        ep = Episode(
            env_id=self.env_id,
            seed=self.seed + index // 2,
            rng_state=None,
            env_options=dict(self.options),
            reset_options={},
            agents=list(_SEATS),
            players=dict(_LABELS[index % 2]),
            system=dict(self.system),
            verdicts=[],
            timings={"started": started, "duration": time.time() - started},
            metadata={"game": index},
            **fields,
        )
        ep.timings["wall"] = time.perf_counter() - clock0
        return ep


def play_kuhn(games: int, seed: int, call_agent: bool = False) -> list[Episode]:
    """``run_games("KuhnPoker-v1", ["random", "random"], games=games, seed=seed)``, no engine."""
    k = kuhn_env
    g = _Game("KuhnPoker-v1", seed, call_agent)
    tables = k.KuhnPokerEnv._tables
    keys = [(k.KuhnPokerEnv.env_id, 1, 0, deal) for deal in range(len(k._DEALS))]
    if not all(key in tables for key in keys):  # the engine fills them as it first meets them
        run_games("KuhnPoker-v1", ["random", "random"], games=500, seed=0)
    plan_seeds(range(seed, seed + (games + 1) // 2))
    out = []
    for index in range(games):
        clocks = time.time(), time.perf_counter()
        deal = int(Stream.from_seed(seed + index // 2).random() * 6)
        table = tables[keys[deal]]
        stream = g.start(index)
        views = table.views[""]
        history = ""
        turns = []
        while True:
            i = len(turns)
            obs = views[i % 2]
            action, elapsed = g.move(obs, stream)
            move = k._LEGAL[action]
            turns.append(g.turn(i, obs, action, move, elapsed))
            history += k._LETTER[move]
            if history in k._TERMINAL:
                break
            views = table.views[history]
        c0, c1, given = table.settled[history]
        out.append(
            g.episode(
                index,
                clocks,
                turns=turns,
                rewards=dict(given),
                outcomes=dict(k._P0_WINS if c0 > c1 else k._P1_WINS if c0 < c1 else k._DRAW),
                info={
                    "deals": [list(k._DEALS[deal])],
                    "histories": [history],
                    "chips": {"player_0": c0, "player_1": c1},
                },
            )
        )
    return out


def play_tictactoe(games: int, seed: int, call_agent: bool = False) -> list[Episode]:
    """``run_games("TicTacToe-v1", ["random", "random"], games=games, seed=seed)``, no engine:
    each game walks the table of positions TicTacToe-v1's speed path shares between envs (a
    position's views; for each legal move played so far, the next position). A move the table
    does not hold yet is played once through an env, which adds it."""
    g = _Game("TicTacToe-v1", seed, call_agent)
    env = g.env
    env.reset(seed=0)  # makes the env's position table
    root = env._positions[(ttt_env.EMPTY_BOARD, 0)]
    zeros = {"player_0": 0.0, "player_1": 0.0}
    out = []
    for index in range(games):
        clocks = time.time(), time.perf_counter()
        stream = g.start(index)
        node = root
        turns: list[Any] = []
        cells: list[int] = []
        while True:
            i = len(turns)
            obs = node.views[i % 2]
            action, elapsed = g.move(obs, stream)
            edge = node.children.get(action)
            if edge is None:
                env.reset(seed=seed + index // 2)
                for t in turns:
                    env.step(t.action)
                env.step(action)
                edge = node.children[action]
            node, move, cell = edge
            turns.append(g.turn(i, obs, action, move, elapsed))
            cells.append(cell)
            if node.final is not None:
                break
        outcomes, given, _views = node.final
        board = node.board
        out.append(
            g.episode(
                index,
                clocks,
                turns=turns,
                rewards=dict(given) if given is not None else dict(zeros),
                outcomes=dict(outcomes),
                info={"board": board, "moves": cells, "winner": ttt_env.winner(board)},
            )
        )
    return out


def _comparable(episode: Episode) -> dict[str, Any]:
    d = episode.to_dict()
    for key in ("id", "timings"):
        d.pop(key)
    for t in d["turns"]:
        t.pop("elapsed", None)
    return d


def check(
    play: Callable[..., list[Episode]], env_id: str, games: int = 400, seed: int = 987_654
) -> None:
    """Assert that ``play`` returns what ``run_games`` does (ids and timings aside), with the
    policy inlined and with the agent asked."""
    engine = run_games(env_id, ["random", "random"], games=games, seed=seed)
    for call_agent in (False, True):
        ours = play(games, seed, call_agent)
        assert len(ours) == len(engine)
        for a, b in zip(ours, engine, strict=True):
            assert _comparable(a) == _comparable(b), (a.metadata["game"], a, b)
