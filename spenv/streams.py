"""Random streams for envs: numpy's default generator, drawn without numpy where that is cheaper.

A :class:`Stream` is the stream of ``np.random.default_rng(seed)`` (a PCG64 generator). Making
that generator costs more than a whole Kuhn poker hand (numpy hashes the seed through a
``SeedSequence``, ~7 us), and many games draw only a few floats from it. So a stream starts as
plain integers, the PCG64 state and increment, and :meth:`Stream.random` computes
``Generator.random()``'s next value arithmetically (one 128-bit LCG step and PCG's XSL-RR
output). The numpy generator is made only when a game asks for it (:meth:`Stream.generator`),
positioned exactly where the arithmetic draws have got to; from then on the stream draws through
it. The arithmetic is checked against numpy once per process (:func:`pcg64_math_ok`); if numpy
ever draws differently, every stream is a numpy generator from the start.

:func:`seed_state` keeps the (state, increment) of recent seeds, so a seed used again (every
seating of a paired run plays the same seed) costs a dictionary look-up.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# PCG64 is a 128-bit LCG: each 64-bit draw steps the state to state * _MULT + inc (mod 2**128)
# and outputs rotr64(high ^ low, high >> 58) of the new state; Generator.random() takes one draw
# per float, (draw >> 11) * 2**-53.
_MULT = 0x2360ED051FC65DA44385DF649FCCF645
_MASK128 = (1 << 128) - 1
_MASK64 = (1 << 64) - 1
_TO_FLOAT = 1.0 / 9007199254740992.0
# SeedSequence's output hash (numpy's INIT_B and MULT_B).
_INIT_B = 0x8B51F9DD
_MULT_B = 0x58F38DED
_MASK32 = 0xFFFFFFFF

_ok: bool | None = None
_SEED_STATES: dict[int, tuple[int, int]] = {}
_SEED_STATES_LIMIT = 4096


def pcg64_math_ok() -> bool:
    """Whether numpy's default generator seeds and draws as this module computes (checked once)."""
    global _ok
    if _ok is None:
        try:
            seed = 20_240_601
            ref = np.random.default_rng(seed)
            st = ref.bit_generator.state
            ok = st["bit_generator"] == "PCG64" and st["has_uint32"] == 0
            state, inc = _seed_state_arith(seed)
            ok = ok and (state, inc) == (st["state"]["state"], st["state"]["inc"])
            s = Stream(state, inc)
            ok = ok and [s.random() for _ in range(7)] == ref.random(7).tolist()
            ok = ok and s.state_dict() == ref.bit_generator.state
        except Exception:
            ok = False
        _ok = bool(ok)
    return _ok


def _seed_state_arith(seed: int) -> tuple[int, int]:
    # PCG64(seed) takes four 64-bit words from SeedSequence(seed).generate_state(4): its pool
    # (four 32-bit words, mixed from the seed when the SeedSequence is made) hashed once more
    # into eight 32-bit words, computed here (numpy's generate_state costs more than the hash).
    # The words are the initial state (0, 1) and the stream selector (2, 3); then PCG's
    # srandom: state 0, one step, add the initial state, one more step.
    pool = np.random.SeedSequence(seed).pool.tolist()
    h = _INIT_B
    w = []
    for v in pool + pool:
        v ^= h
        h = (h * _MULT_B) & _MASK32
        v = (v * h) & _MASK32
        w.append(v ^ (v >> 16))
    inc = (((w[5] << 96) | (w[4] << 64) | (w[7] << 32) | w[6]) << 1 | 1) & _MASK128
    state = (inc + ((w[1] << 96) | (w[0] << 64) | (w[3] << 32) | w[2])) & _MASK128
    return (state * _MULT + inc) & _MASK128, inc


# SeedSequence's entropy mixing (numpy's INIT_A, MULT_A, MIX_MULT_L, MIX_MULT_R): the sequence
# of hash constants it uses does not depend on the seed, so many seeds mix at once as arrays.
_INIT_A = 0x43B0D7E5
_MULT_A = 0x931E8875
_MIX_L = 0xCA01F9DD
_MIX_R = 0x4973F715


def _hash_consts(init: int, mult: int, n: int) -> list[int]:
    out, h = [], init
    for _ in range(n):
        h = (h * mult) & _MASK32
        out.append(h)
    return out


_CONSTS_A = _hash_consts(_INIT_A, _MULT_A, 16)  # the 4 + 12 hashmix calls of a one-word seed
_CONSTS_B = _hash_consts(_INIT_B, _MULT_B, 8)  # generate_state(4): eight 32-bit words
_CONSTS_B0 = [_INIT_B, *_CONSTS_B[:-1]]  # the constant each word is xored with


def _seed_states_bulk(seeds: list[int]) -> list[tuple[int, int]]:
    """:func:`_seed_state_arith` of many seeds below 2**32, as uint32 array arithmetic."""
    with np.errstate(over="ignore"):
        u32 = np.uint32
        ca = [u32(c) for c in _CONSTS_A]
        seeds_arr = np.asarray(seeds, dtype=np.uint32)
        h0 = u32(_INIT_A)
        pool = []
        k = 0
        for i in range(4):
            v = (seeds_arr if i == 0 else np.zeros_like(seeds_arr)) ^ (h0 if k == 0 else ca[k - 1])
            v = v * ca[k]
            pool.append(v ^ (v >> u32(16)))
            k += 1
        mix_l, mix_r = u32(_MIX_L), u32(_MIX_R)
        for src in range(4):
            for dst in range(4):
                if src != dst:
                    v = (pool[src] ^ ca[k - 1]) * ca[k]
                    v ^= v >> u32(16)
                    r = mix_l * pool[dst] - mix_r * v
                    pool[dst] = r ^ (r >> u32(16))
                    k += 1
        w = []
        for j in range(8):
            v = (pool[j % 4] ^ u32(_CONSTS_B0[j])) * u32(_CONSTS_B[j])
            w.append((v ^ (v >> u32(16))).astype(np.uint64))
        s32 = np.uint64(32)
        inc_hi = ((w[5] << s32) | w[4]).tolist()
        inc_lo = ((w[7] << s32) | w[6]).tolist()
        st_hi = ((w[1] << s32) | w[0]).tolist()
        st_lo = ((w[3] << s32) | w[2]).tolist()
    out = []
    for a, b, c, d in zip(inc_hi, inc_lo, st_hi, st_lo, strict=True):
        inc = (((a << 64) | b) << 1 | 1) & _MASK128
        state = (inc + ((c << 64) | d)) & _MASK128
        out.append(((state * _MULT + inc) & _MASK128, inc))
    return out


def prime_seeds(seeds: range) -> None:
    """Compute the (state, increment) of many upcoming seeds at once and keep them for
    :func:`seed_state` (a run's per-game seeds: each costs a fraction of a one-off
    :func:`_seed_state_arith`). Seeds already kept, negative or of 2**32 and more are left
    alone; nothing happens unless the arithmetic matches numpy here (:func:`pcg64_math_ok`)."""
    if not pcg64_math_ok() or bulk_seeding_ok() is False:
        return
    todo = [s for s in seeds if 0 <= s < 2**32 and s not in _SEED_STATES]
    if not todo:
        return
    todo = todo[: _SEED_STATES_LIMIT // 2]
    if len(_SEED_STATES) + len(todo) > _SEED_STATES_LIMIT:
        _SEED_STATES.clear()
    _SEED_STATES.update(zip(todo, _seed_states_bulk(todo), strict=True))


_bulk_ok: bool | None = None


def bulk_seeding_ok() -> bool:
    """Whether the bulk arithmetic gives numpy's seeding for a sample of seeds (checked once)."""
    global _bulk_ok
    if _bulk_ok is None:
        sample = [0, 1, 2, 12345, 20_240_601, 2**31, 2**32 - 1]
        try:
            _bulk_ok = _seed_states_bulk(sample) == [_seed_state_arith(s) for s in sample]
        except Exception:
            _bulk_ok = False
    return _bulk_ok


#: Seeds announced by :func:`plan_seeds` (a run's per-game seeds), primed in chunks of
#: ``_PRIME_CHUNK`` from the first one a stream is made from; fewer than ``_PRIME_MIN`` left
#: are seeded one by one.
_planned: range = range(0)
_PRIME_CHUNK = 1024
_PRIME_MIN = 64


def plan_seeds(seeds: range) -> None:
    """Announce the seeds a run will reset its games with (consecutive integers).

    Nothing is computed now: when a game first draws from a stream of one of these seeds,
    :func:`seed_state` derives the states of the next ones with it in one vectorized pass
    (:func:`prime_seeds`), so a game that never draws (TicTacToe) costs nothing, and a run of
    games that do pays a fraction of numpy's per-seed cost. One plan at a time per process (a
    later plan replaces it; a replaced run's seeds are then derived one by one, the same
    states).
    """
    global _planned
    _planned = seeds


def seed_state(seed: int) -> tuple[int, int]:
    """The PCG64 (state, increment) of ``np.random.default_rng(seed)``, for a non-negative int."""
    got = _SEED_STATES.get(seed)
    if got is None:
        planned = _planned
        if seed in planned and planned.stop - seed >= _PRIME_MIN:
            prime_seeds(range(seed, min(seed + _PRIME_CHUNK, planned.stop)))
            got = _SEED_STATES.get(seed)
            if got is not None:
                return got
        if len(_SEED_STATES) >= _SEED_STATES_LIMIT:
            _SEED_STATES.clear()
        got = _SEED_STATES[seed] = _seed_state_arith(seed)
    return got


def pcg64_state(state: int, inc: int) -> dict[str, Any]:
    """numpy's state dict of a PCG64 generator at (state, inc) with no buffered 32-bit half."""
    return {
        "bit_generator": "PCG64",
        "state": {"state": state, "inc": inc},
        "has_uint32": 0,
        "uinteger": 0,
    }


class Stream:
    """One PCG64 stream: integers while only :meth:`random` draws, a numpy generator after.

    Make one with :meth:`from_seed` (``default_rng(seed)``'s stream) or :meth:`from_state`
    (a recorded numpy state dict).
    """

    __slots__ = ("gen", "inc", "state")

    def __init__(self, state: int, inc: int, gen: np.random.Generator | None = None) -> None:
        self.state = state
        self.inc = inc
        #: The numpy generator once made; it then holds the stream's position.
        self.gen = gen

    @classmethod
    def from_seed(cls, seed: int, spare: np.random.Generator | None = None) -> Stream:
        """``np.random.default_rng(seed)``'s stream (``spare``: a generator to reuse)."""
        if pcg64_math_ok():
            state, inc = seed_state(seed)
            return cls(state, inc)
        if spare is not None and type(spare.bit_generator) is np.random.PCG64:
            spare.bit_generator.state = np.random.PCG64(seed).state
            return cls(0, 0, spare)
        return cls(0, 0, np.random.default_rng(seed))

    @classmethod
    def from_state(cls, state: Any) -> Stream:
        """The stream at a recorded numpy bit-generator state (``ValueError`` if it is not one)."""
        gen = np.random.Generator(np.random.PCG64())
        try:
            gen.bit_generator.state = state
        except (TypeError, ValueError, KeyError) as exc:
            raise ValueError(f"not a valid generator state: {exc}") from exc
        st = gen.bit_generator.state
        if pcg64_math_ok() and st["has_uint32"] == 0:
            return cls(st["state"]["state"], st["state"]["inc"])
        return cls(0, 0, gen)

    def random(self) -> float:
        """The next float in [0, 1): exactly ``Generator.random()``'s next value."""
        gen = self.gen
        if gen is not None:
            return gen.random()
        s = self.state = (self.state * _MULT + self.inc) & _MASK128
        hi = s >> 64
        x = hi ^ (s & _MASK64)
        rot = hi >> 58
        return ((((x >> rot) | (x << ((64 - rot) & 63))) & _MASK64) >> 11) * _TO_FLOAT

    def generator(self, spare: np.random.Generator | None = None) -> np.random.Generator:
        """The numpy generator at the stream's position (made now if needed; ``spare``: a
        generator to reuse); all later draws go through it."""
        gen = self.gen
        if gen is None:
            if spare is not None and type(spare.bit_generator) is np.random.PCG64:
                gen = spare
            else:
                gen = np.random.Generator(np.random.PCG64())
            gen.bit_generator.state = pcg64_state(self.state, self.inc)
            self.gen = gen
        return gen

    def position(self) -> dict[str, Any] | tuple[int, int]:
        """Where the stream is now: (state, inc) while integer (cheap), else numpy's dict."""
        gen = self.gen
        if gen is None:
            return (self.state, self.inc)
        return gen.bit_generator.state

    def state_dict(self) -> dict[str, Any]:
        """numpy's state dict of the stream's position."""
        pos = self.position()
        return pcg64_state(*pos) if type(pos) is tuple else pos


class GeneratorStream(Stream):
    """A :class:`Stream` that stands in for a numpy ``Generator`` (an agent's ``rng``).

    ``random()`` is drawn arithmetically while that is all the holder asks for; any other
    attribute (``integers``, ``choice``, ``bit_generator``, ...) is the numpy generator's, made
    at the stream's position on first use (a recycled one from :data:`SPARE_GENERATORS` when
    there is one), after which every draw goes through it. The draws are exactly those of a
    numpy PCG64 generator at the same (state, inc).
    """

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # copy, pickle and friends probe for these
            raise AttributeError(name)
        try:
            spare = SPARE_GENERATORS.pop()
        except IndexError:  # none to reuse (or another thread took the last)
            spare = None
        return getattr(self.generator(spare), name)

    def recycle(self) -> None:
        """Hand the numpy generator (if one was made) back for reuse; the stream is done."""
        gen = self.gen
        if gen is not None and len(SPARE_GENERATORS) < _SPARES_LIMIT:
            self.gen = None
            SPARE_GENERATORS.append(gen)


#: numpy generators that finished streams handed back, reused by the next that needs one.
SPARE_GENERATORS: list[np.random.Generator] = []
_SPARES_LIMIT = 256
