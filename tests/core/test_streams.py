"""``spenv.streams``: the arithmetic PCG64 stream is numpy's default generator, draw for draw."""

from __future__ import annotations

import numpy as np
import pytest

import spenv
from spenv.streams import Stream, pcg64_math_ok, pcg64_state, seed_state


def test_the_arithmetic_matches_numpy_here() -> None:
    assert pcg64_math_ok()


@pytest.mark.parametrize("seed", [0, 1, 7, 2**32 - 1, 2**32, 2**63 - 1, 2**64 + 5, 12345678901234])
def test_a_seeded_stream_draws_what_default_rng_draws(seed: int) -> None:
    st = np.random.default_rng(seed).bit_generator.state["state"]
    assert seed_state(seed) == (st["state"], st["inc"])
    ref = np.random.default_rng(seed)
    stream = Stream.from_seed(seed)
    assert [stream.random() for _ in range(50)] == ref.random(50).tolist()
    assert stream.state_dict() == ref.bit_generator.state
    # From here on the numpy generator carries on exactly where the integers left off.
    gen = stream.generator()
    assert gen.integers(0, 1000, 20).tolist() == ref.integers(0, 1000, 20).tolist()
    assert stream.random() == ref.random()
    assert stream.position() == ref.bit_generator.state


def test_a_stream_from_a_recorded_state() -> None:
    ref = np.random.default_rng(3)
    ref.random(5)
    ref.integers(0, 2**31, 1, dtype=np.uint32)  # leaves half a 64-bit draw buffered
    state = ref.bit_generator.state
    assert state["has_uint32"] == 1
    stream = Stream.from_state(state)  # not integer-only: numpy keeps it
    assert stream.gen is not None and stream.random() == ref.random()
    plain = pcg64_state(*seed_state(9))
    s2 = Stream.from_state(plain)
    assert s2.gen is None and s2.random() == np.random.default_rng(9).random()


@pytest.mark.parametrize(
    "bad", [{"bit_generator": "MT19937"}, {"state": 1}, "x", {"bit_generator": "PCG64"}]
)
def test_a_bad_state_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="not a valid generator state"):
        Stream.from_state(bad)


def test_env_draws_mixing_uniform_and_np_random_replay_exactly() -> None:
    """A game's randomness mixing the cheap draws and numpy's generator is the one stream."""
    env = spenv.make("KuhnPoker-v1")
    env.reset(seed=11)
    ref = np.random.default_rng(11)
    ref.random()  # the deal
    assert env._uniform() == ref.random()
    assert env.np_random.integers(0, 100, 3).tolist() == ref.integers(0, 100, 3).tolist()
    assert env._uniform() == ref.random()
    start = ref.bit_generator.state
    env.reset()  # continuing the stream: the game's start is recorded
    deal = ref.random()
    assert env.episode().rng_state == start
    assert Stream.from_state(start).random() == deal
    assert env.episode().info["deals"][0] == list(
        [("J", "Q"), ("J", "K"), ("Q", "J"), ("Q", "K"), ("K", "J"), ("K", "Q")][int(deal * 6)]
    )


def test_a_generator_stream_is_numpys_generator_draw_for_draw() -> None:
    """An agent's per-game ``rng`` in a run: ``random()`` without numpy, anything else through
    a numpy generator made (or reused) at the same position."""
    from spenv.rollout import agent_game_state
    from spenv.streams import SPARE_GENERATORS, GeneratorStream

    state = agent_game_state(5, 3, 0)
    ref = np.random.Generator(np.random.PCG64())
    ref.bit_generator.state = state
    stream = GeneratorStream(state["state"]["state"], state["state"]["inc"])
    assert [stream.random() for _ in range(9)] == ref.random(9).tolist()
    assert stream.gen is None  # nothing but random() so far: no numpy generator
    assert stream.integers(0, 10**6, 5).tolist() == ref.integers(0, 10**6, 5).tolist()
    assert stream.random() == ref.random()
    assert stream.choice(7) == ref.choice(7)
    assert stream.bit_generator.state == ref.bit_generator.state
    made = stream.gen
    stream.recycle()
    assert stream.gen is None and SPARE_GENERATORS[-1] is made
    again = GeneratorStream(11, 13)
    assert again.permutation(4).tolist() is not None and again.gen is made  # reused
    fresh = np.random.Generator(np.random.PCG64())
    fresh.bit_generator.state = pcg64_state(11, 13)
    assert again.random() == (fresh.permutation(4), fresh.random())[1]


def test_agent_game_state_is_the_hash_of_run_seed_game_and_seat() -> None:
    """Per-game agent streams are blake2b of ``spenv.agent:{seed}:{game}:{slot}`` (state: the
    first 16 bytes, increment: the last 16, made odd), whatever was derived before it in the
    process: runs recorded by an earlier spenv give the same games."""
    import hashlib

    from spenv.rollout import agent_game_state

    def expected(seed: int, game: int, slot: int) -> tuple[int, int]:
        d = hashlib.blake2b(f"spenv.agent:{seed}:{game}:{slot}".encode(), digest_size=32)
        raw = d.digest()
        return int.from_bytes(raw[:16], "big"), int.from_bytes(raw[16:], "big") | 1

    cases = [(0, 0, 0), (5, 3, 0), (5, 3, 1), (5, 30, 1), (2**62, 10**12, 2), (7, 1, 0)]
    for seed, game, slot in cases * 2:  # twice: the second pass reuses each seed's prefix
        st = agent_game_state(seed, game, slot)["state"]
        assert (st["state"], st["inc"]) == expected(seed, game, slot)
    assert agent_game_state(5, 3, 0) != agent_game_state(53, 0, 0)  # no prefix collision


def test_a_run_gives_scripted_agents_their_own_generator_back() -> None:
    runner = spenv.Runner("KuhnPoker-v1", ["random", "random"], games=4, seed=0)
    spec_agent = runner.agents[0]
    before = spec_agent.rng
    assert len(list(runner)) == 4
    assert spec_agent.rng is before  # per-game streams only while the run lasts


def test_bulk_seeding_is_numpys_seeding() -> None:
    """The vectorized derivation of many seeds' states (a run's per-game seeds) is exactly
    ``default_rng(seed)``'s, and a run's seeded games replay after priming."""
    from spenv.streams import _SEED_STATES, _seed_states_bulk, bulk_seeding_ok, prime_seeds

    assert bulk_seeding_ok()
    rng = np.random.default_rng(0)
    seeds = [0, 1, 2**32 - 1, *rng.integers(0, 2**32, 200).tolist()]
    for seed, (state, inc) in zip(seeds, _seed_states_bulk(seeds), strict=True):
        st = np.random.default_rng(seed).bit_generator.state["state"]
        assert (state, inc) == (st["state"], st["inc"])
    _SEED_STATES.clear()
    prime_seeds(range(2**32 - 3, 2**32 + 3))  # seeds from 2**32 on are left to seed_state
    assert set(_SEED_STATES) == {2**32 - 3, 2**32 - 2, 2**32 - 1}
    eps = spenv.run_games("KuhnPoker-v1", ["random", "random"], games=300, seed=40_000)
    assert 40_000 in _SEED_STATES and 40_149 in _SEED_STATES  # derived ahead, in one pass
    for ep in eps[::37]:
        assert spenv.replay(ep).replay_key() == ep.replay_key()
        ref = np.random.default_rng(ep.seed)
        deal = int(ref.random() * 6)
        assert tuple(ep.info["deals"][0]) == [(a, b) for a in "JQK" for b in "JQK" if a != b][deal]


def test_a_run_derives_only_the_seeds_its_games_draw_from() -> None:
    """The runner announces its per-game seeds (plan_seeds); states are derived in bulk when a
    game first draws, so a game that never draws derives none, and a planned seed's state is
    numpy's whoever asks for it."""
    from spenv.streams import _SEED_STATES, plan_seeds, seed_state

    _SEED_STATES.clear()
    eps = spenv.run_games("TicTacToe-v1", ["random", "random"], games=300, seed=70_000)
    assert all(e.status == "completed" for e in eps)
    assert not any(70_000 <= s < 70_150 for s in _SEED_STATES)  # TicTacToe never draws
    spenv.run_games("KuhnPoker-v1", ["random", "random"], games=300, seed=80_000)
    assert {80_000, 80_149} <= set(_SEED_STATES) and 80_150 not in _SEED_STATES
    plan_seeds(range(90_000, 90_200))
    for seed in (90_050, 90_051, 90_199, 95_000):  # in the plan (the rest primed), or not
        st = np.random.default_rng(seed).bit_generator.state["state"]
        assert seed_state(seed) == (st["state"], st["inc"])
    assert 90_198 in _SEED_STATES and 90_049 not in _SEED_STATES
