"""ConjectureProve-v1's proof checks beside a bare coqc check, in the same run.

The peer is the floor any Coq-checked game pays: ``CoqChecker().check`` of a small theorem with
no preamble (one ``coqc`` process: the prelude, the theorem, ``Print Assumptions``). The game's
check is the same call through the game's backend: the same theorem and proof, plus the
preamble every game check carries (``Arith``, ``Bool``, ``List``, ``Lia`` and the compiled seed
library), with the verdict cache cleared before each call. Also timed: a cached verdict (what a
replay or a resubmitted proof costs) and one default game of the scripted agents from a cold
cache (the one-run novelty probe plus four independent proof attempts, the distinct proofs
checked side by side).

``test_interleaved_ratio`` alternates peer and game checks round by round, so machine load hits
both alike; its ratio (taken per round; median, min and max over the rounds) is the one to quote.

    .venv/bin/python -m pytest benchmarks/perf/test_conjecture_prove_checks.py --benchmark-only
"""

from __future__ import annotations

import os
import shutil
import statistics
import time

import pytest
from perfkit import NOTES

import spenv
from spenv.games.conjecture_prove import CoqBackend, clear_cache, lemmas
from spenv.verifiers.proof import CoqChecker

pytestmark = pytest.mark.skipif(shutil.which("coqc") is None, reason="coqc not installed")

ROUNDS = int(os.environ.get("SPENV_PERF_COQ_ROUNDS", "5"))
STATEMENT = "forall n : nat, n + 0 = n"
PROOF = "intros n. induction n as [|n IH]; simpl; [reflexivity | rewrite IH; reflexivity]."


@pytest.fixture(scope="module")
def backend() -> CoqBackend:
    b = CoqBackend(lemmas(), timeout=60)
    assert b.checker() is not None, b.build_error  # compile the library outside the timing
    return b


def _peer() -> None:
    v = CoqChecker(timeout=60).check(STATEMENT, PROOF)
    assert v.status == "ok", v.detail


def _game(backend: CoqBackend) -> None:
    clear_cache()
    v = backend.check(STATEMENT, PROOF)
    assert v.status == "ok", v.detail


def test_bare_coqc_check(benchmark) -> None:
    benchmark.pedantic(_peer, rounds=ROUNDS, iterations=1, warmup_rounds=1)


def test_game_check_uncached(benchmark, backend) -> None:
    benchmark.pedantic(_game, args=(backend,), rounds=ROUNDS, iterations=1, warmup_rounds=1)


def test_game_check_cached(benchmark, backend) -> None:
    backend.check(STATEMENT, PROOF)

    def cached() -> None:
        assert backend.check(STATEMENT, PROOF).status == "ok"

    benchmark(cached)


def test_default_game_cold_cache(benchmark, backend) -> None:
    def game() -> None:
        clear_cache()
        ep = spenv.play("ConjectureProve-v1", ["conjecturer", "prover"], seed=0)
        assert [v["kind"] for v in ep.verdicts] == ["novelty"] + ["proof"] * 4

    benchmark.pedantic(game, rounds=ROUNDS, iterations=1, warmup_rounds=1)


def test_interleaved_ratio(benchmark, backend) -> None:
    peer: list[float] = []
    game: list[float] = []

    def pair() -> None:
        t = time.perf_counter()
        _peer()
        peer.append(time.perf_counter() - t)
        t = time.perf_counter()
        _game(backend)
        game.append(time.perf_counter() - t)

    benchmark.pedantic(pair, rounds=ROUNDS, iterations=1)
    ratios = [g / p for p, g in zip(peer, game, strict=True)]
    r = statistics.median(ratios)
    p, g = statistics.median(peer), statistics.median(game)
    benchmark.extra_info.update(peer_median_s=p, game_median_s=g, ratio=r)
    NOTES.append(
        f"ConjectureProve check / bare coqc check, per round: median {r:.2f}x "
        f"(min {min(ratios):.2f}, max {max(ratios):.2f}) over {ROUNDS} interleaved rounds; "
        f"medians {g:.3f} s / {p:.3f} s"
    )
