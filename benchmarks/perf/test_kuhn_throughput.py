"""Kuhn poker throughput: spenv's KuhnPoker-v1 beside OpenSpiel, TextArena and a bare AEC loop.

Every benchmark plays a fixed number of games per round: ``kuhn_loops.GAMES`` (2000) one-hand
games, or a third as many three-hand games (TextArena's KuhnPoker-v0, spenv's ``hands=3``), so
every round is 2000 hands. Moves are uniformly random legal moves drawn from a
``random.Random(0)`` made for the round; the count is of decisions (moves chosen by a player).
Run with ``--benchmark-only``; the summary at the end prints decisions/second and the spenv/peer
ratios. What each loop does is in ``kuhn_loops.py``; README.md has the numbers.
"""

from __future__ import annotations

import random
import statistics
from typing import Any

import pytest
from kuhn_loops import (
    GAMES,
    BareTwoStep,
    make_openspiel,
    make_spenv,
    make_textarena,
    play_bare,
    play_openspiel,
    play_spenv,
    play_textarena,
)
from perfkit import NOTES, ROUNDS, paired_rounds, record_ratio, run_throughput


def test_spenv(benchmark: Any) -> None:
    """KuhnPoker-v1 through the AEC API; ``reset()`` continues the env's generator stream."""
    env = make_spenv()
    env.reset(seed=0)
    run_throughput(
        benchmark, "spenv", lambda: play_spenv(env, random.Random(0), GAMES), games=GAMES
    )


def test_spenv_reseeded(benchmark: Any) -> None:
    """KuhnPoker-v1 with ``reset(seed=i)`` for game ``i``: each game seeds a new generator."""
    env = make_spenv()
    run_throughput(
        benchmark,
        "spenv (reseeded)",
        lambda: play_spenv(env, random.Random(0), GAMES, reseed_from=0),
        games=GAMES,
    )


def test_spenv_match(benchmark: Any) -> None:
    """KuhnPoker-v1 with ``hands=3``: three-hand matches, as TextArena's KuhnPoker-v0 plays."""
    env = make_spenv(hands=3)
    env.reset(seed=0)
    games = GAMES // 3
    run_throughput(
        benchmark,
        "spenv (3-hand match)",
        lambda: play_spenv(env, random.Random(0), games),
        games=games,
    )


def test_openspiel(benchmark: Any) -> None:
    pytest.importorskip("pyspiel")
    game = make_openspiel()
    run_throughput(
        benchmark, "OpenSpiel", lambda: play_openspiel(game, random.Random(0), GAMES), games=GAMES
    )


def test_textarena_default_wrappers(benchmark: Any) -> None:
    """TextArena as its README runs it: ``textarena.make("KuhnPoker-v0")`` for each game."""
    pytest.importorskip("textarena")
    games = GAMES // 3  # three hands a game
    run_throughput(
        benchmark,
        "TextArena (default wrappers)",
        lambda: play_textarena(None, random.Random(0), games, fresh=True),
        games=games,
    )


def test_textarena_raw(benchmark: Any) -> None:
    """TextArena's env without its wrappers (``KuhnPoker-v0-raw``), reused across games."""
    pytest.importorskip("textarena")
    env = make_textarena(raw=True)
    games = GAMES // 3
    run_throughput(
        benchmark,
        "TextArena (raw)",
        lambda: play_textarena(env, random.Random(0), games),
        games=games,
    )


def test_bare_pettingzoo(benchmark: Any) -> None:
    """The AEC loop on a trivial two-move env: the floor any AEC env pays."""
    env = BareTwoStep()
    run_throughput(
        benchmark,
        "bare PettingZoo AEC",
        lambda: play_bare(env, random.Random(0), GAMES),
        games=GAMES,
    )


def test_interleaved_ratios(benchmark: Any) -> None:
    """The same loops, one round of each in turn (the order rotating), so machine noise (this
    is a shared 2-core VM) hits them alike; each ratio is paired per round (spenv's rate in a
    round over the peer's in the same round) and reported as median and min-max."""
    pytest.importorskip("pyspiel")
    pytest.importorskip("textarena")
    spenv_env = make_spenv()
    spenv_env.reset(seed=0)
    game = make_openspiel()
    ta_raw = make_textarena(raw=True)
    bare = BareTwoStep()
    loops = {
        "spenv": lambda r: play_spenv(spenv_env, random.Random(r), GAMES),
        "OpenSpiel": lambda r: play_openspiel(game, random.Random(r), GAMES),
        "TextArena (default wrappers)": lambda r: play_textarena(
            None, random.Random(r), GAMES // 3, fresh=True
        ),
        "TextArena (raw)": lambda r: play_textarena(ta_raw, random.Random(r), GAMES // 3),
        "bare PettingZoo AEC": lambda r: play_bare(bare, random.Random(r), GAMES),
    }
    rates: dict[str, list[float]] = {}

    def run() -> None:
        rates.update(paired_rounds(loops, max(3, ROUNDS // 2)))

    benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info.update({f"decisions_per_s[{k}]": v for k, v in rates.items()})
    NOTES.append(
        "interleaved (median round, decisions/s): "
        + ", ".join(f"{k} {statistics.median(v):,.0f}" for k, v in rates.items())
    )
    for peer in loops:
        if peer != "spenv":
            record_ratio(benchmark, f"Kuhn spenv / {peer}", rates["spenv"], rates[peer])
