"""The engine's speed goals, each a paired ratio over interleaved rounds (``perfkit``).

Each test runs its contenders one round each in turn (the order rotating), ``ROUNDS`` times,
and reports the median and min-max of the per-round ratios; a round of every contender does the
same work (the same number of games of the same game with uniformly random legal moves, counted
in decisions). Seeds are fresh every round (per-game seeds of a round never repeat in another),
so no cache carries over from one round to the next. All contenders run in this process: none
forks, so no state is carried into a peer.

Each ratio is reported twice: by wall-clock time and by this process's CPU time (on a machine
shared with other work, the second leaves out time spent waiting for a core).

Goals (the summary says met / NOT met; nothing here fails on speed, see DESIGN: no timed
assertions):

- Kuhn ``run_games`` (scripted ``random`` agents, per-game seeds) >= 5x TextArena's
  ``KuhnPoker-v0`` loop and >= 0.5x spenv's own raw AEC loop;
- Kuhn raw loop >= 5x TextArena and >= 0.5x OpenSpiel;
- TicTacToe raw loop >= 0.5x OpenSpiel; TicTacToe ``run_games`` >= 3x TextArena.

Some contenders are floors, reported beside TextArena: the same raw AEC loop over an env that
does nothing (Kuhn, ``kuhn_loops.BareTwoStep``), and ``run_games``' own records computed with no
engine (``record_floors.py``, asserted equal to ``run_games``' episodes before the rounds
start), once with the random agent's policy inlined and once asking the agent object
(``call_agent``), as an engine must. A goal above a floor's ratio cannot be met by any engine
that has to do what the floor does.
"""

from __future__ import annotations

import random
from typing import Any

import kuhn_loops as kuhn
import pytest
import record_floors as floors
import ttt_loops as ttt
from perfkit import NOTES, ROUNDS, paired_rounds, record_ratio

from spenv.rollout import Runner, run_games

#: Hands per round (Kuhn: 2000 one-hand games, or 666 three-hand TextArena games).
KUHN_GAMES = kuhn.GAMES
TTT_GAMES = 1000


def _decisions(episodes: list[Any]) -> int:
    assert all(e.status == "completed" for e in episodes)
    return sum(len(e.turns) for e in episodes)


def _streamed_decisions(runner: Runner) -> int:
    n = 0
    for e in runner:
        assert e.status == "completed"
        n += len(e.turns)
    return n


def _kuhn_contenders() -> dict[str, Any]:
    env = kuhn.make_spenv()
    env.reset(seed=0)
    seeded = kuhn.make_spenv()
    game = kuhn.make_openspiel()
    bare = kuhn.BareTwoStep()
    floors.check(floors.play_kuhn, "KuhnPoker-v1")
    g = KUHN_GAMES
    return {
        "run_games": lambda r: _decisions(
            run_games("KuhnPoker-v1", ["random", "random"], games=g, seed=10_000_000 + r * g)
        ),
        # The same run, its episodes counted as they stream out and not kept: what keeping
        # every record costs (chiefly the garbage collector walking them) is the difference.
        "Runner, not kept": lambda r: _streamed_decisions(
            Runner("KuhnPoker-v1", ["random", "random"], games=g, seed=40_000_000 + r * g)
        ),
        # The records kept in a plain list, without run_games' gc.freeze of the kept records:
        # what the freeze saves within one round. What it saves with the collections it may
        # defer counted is measured in fresh processes by test_runner_gc.py (the gc.collect
        # before each round here is untimed).
        "Runner kept, no freeze": lambda r: _decisions(
            list(Runner("KuhnPoker-v1", ["random", "random"], games=g, seed=50_000_000 + r * g))
        ),
        "raw, per-game seeds": lambda r: kuhn.play_spenv(
            seeded, random.Random(r), g, reseed_from=20_000_000 + r * g
        ),
        "raw": lambda r: kuhn.play_spenv(env, random.Random(r), g),
        "OpenSpiel": lambda r: kuhn.play_openspiel(game, random.Random(r), g),
        "TextArena": lambda r: kuhn.play_textarena(None, random.Random(r), g // 3, fresh=True),
        # Floors: what no Kuhn engine in Python gets above. The same AEC loop over an env that
        # does nothing (no rules, text, record or randomness), and run_games' records computed
        # with no engine at all (checked equal to run_games' before the rounds).
        "floor: bare AEC env": lambda r: kuhn.play_bare(bare, random.Random(r), g),
        "floor: records, no engine": lambda r: _decisions(floors.play_kuhn(g, 70_000_000 + r * g)),
        "floor: records + agent calls": lambda r: _decisions(
            floors.play_kuhn(g, 75_000_000 + r * g, call_agent=True)
        ),
    }


def test_kuhn_engine_goals(benchmark: Any) -> None:
    pytest.importorskip("pyspiel")
    pytest.importorskip("textarena")
    pairs = [
        ("run_games", "TextArena", 5),
        ("run_games", "raw, per-game seeds", 0.5),
        ("run_games", "raw", 0.5),
        ("raw", "TextArena", 5),
        ("raw", "OpenSpiel", 0.5),
        ("raw, per-game seeds", "raw", None),
        ("Runner, not kept", "raw, per-game seeds", None),
        ("run_games", "Runner kept, no freeze", None),
        ("floor: bare AEC env", "TextArena", None),
        ("floor: records, no engine", "TextArena", None),
        ("floor: records + agent calls", "TextArena", None),
        ("run_games", "floor: records + agent calls", None),
    ]
    _run_and_report(benchmark, "Kuhn", _kuhn_contenders(), pairs)


def test_tictactoe_engine_goals(benchmark: Any) -> None:
    pytest.importorskip("pyspiel")
    pytest.importorskip("textarena")
    env = ttt.make_spenv()
    env.reset(seed=0)
    game = ttt.make_openspiel()
    floors.check(floors.play_tictactoe, "TicTacToe-v1")
    g = TTT_GAMES
    contenders = {
        "run_games": lambda r: _decisions(
            run_games("TicTacToe-v1", ["random", "random"], games=g, seed=30_000_000 + r * g)
        ),
        "Runner kept, no freeze": lambda r: _decisions(
            list(Runner("TicTacToe-v1", ["random", "random"], games=g, seed=60_000_000 + r * g))
        ),
        "raw": lambda r: ttt.play_spenv(env, random.Random(r), g),
        "OpenSpiel": lambda r: ttt.play_openspiel(game, random.Random(r), g),
        "TextArena": lambda r: ttt.play_textarena(random.Random(r), g),
        "floor: records, no engine": lambda r: _decisions(
            floors.play_tictactoe(g, 80_000_000 + r * g)
        ),
        "floor: records + agent calls": lambda r: _decisions(
            floors.play_tictactoe(g, 85_000_000 + r * g, call_agent=True)
        ),
    }
    pairs = [
        ("raw", "OpenSpiel", 0.5),
        ("run_games", "TextArena", 3),
        ("run_games", "raw", None),
        ("run_games", "Runner kept, no freeze", None),
        ("floor: records, no engine", "TextArena", None),
        ("floor: records + agent calls", "TextArena", None),
        ("run_games", "floor: records + agent calls", None),
    ]
    _run_and_report(benchmark, "TicTacToe", contenders, pairs)


def _run_and_report(
    benchmark: Any, game: str, contenders: dict[str, Any], pairs: list[tuple[str, str, Any]]
) -> None:
    """Paired rounds of the contenders; each (numerator, denominator, goal) ratio recorded by
    wall clock and by CPU time."""
    wall: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}

    def run() -> None:
        wall.update(paired_rounds(contenders, ROUNDS, cpu=cpu))

    benchmark.pedantic(run, rounds=1, iterations=1)
    for clock, rates in (("", wall), (" (CPU time)", cpu)):
        for num, den, goal in pairs:
            record_ratio(benchmark, f"{game} {num} / {den}{clock}", rates[num], rates[den], goal)
        _note(game + clock, rates)


def _note(game: str, rates: dict[str, list[float]]) -> None:
    import statistics

    NOTES.append(
        f"{game} decisions/s (median round): "
        + ", ".join(f"{name} {statistics.median(v):,.0f}" for name, v in rates.items())
    )
