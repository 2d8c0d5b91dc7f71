"""Memory: 10,000 live KuhnPoker-v1 envs, each made and reset, must add less than 200 MB.

Self-play keeps one env per concurrent game, and a runner may hold thousands at once. The
benchmark times building them (pytest-benchmark, one round); the memory they hold is measured
with ``tracemalloc`` (every byte Python allocated and still holds, the number asserted) and as
the growth of the process's resident set (which also counts allocator slack). Both are recorded
in ``benchmark.extra_info`` and printed in the session summary.
"""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

from kuhn_loops import make_spenv
from perfkit import NOTES

ENVS = 10_000
LIMIT_MB = 200.0


def _rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    import os

    return pages * os.sysconf("SC_PAGE_SIZE")


def _build(n: int) -> list[Any]:
    envs = []
    for _ in range(n):
        env = make_spenv()
        env.reset()
        envs.append(env)
    return envs


def test_memory_of_10k_live_envs(benchmark: Any) -> None:
    # Warm up: imports, the registry, the shared observation tables.
    warm = _build(10)
    del warm
    gc.collect()

    rss_before = _rss_bytes()
    held: list[list[Any]] = []
    benchmark.pedantic(lambda: held.append(_build(ENVS)), rounds=1, iterations=1)
    envs = held[0]
    gc.collect()
    rss_after = _rss_bytes()
    assert len(envs) == ENVS and all(e.agents for e in envs)
    held.clear()
    del envs
    gc.collect()

    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        envs = _build(ENVS)
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    added_mb = (after - before) / 1e6
    per_env_kb = (after - before) / ENVS / 1e3
    rss_mb = None if rss_before is None or rss_after is None else (rss_after - rss_before) / 1e6

    benchmark.extra_info["envs"] = ENVS
    benchmark.extra_info["tracemalloc_added_mb"] = round(added_mb, 2)
    benchmark.extra_info["tracemalloc_kb_per_env"] = round(per_env_kb, 2)
    if rss_mb is not None:
        benchmark.extra_info["rss_added_mb"] = round(rss_mb, 2)
    rss_text = "n/a" if rss_mb is None else f"{rss_mb:.1f} MB"
    NOTES.append(
        f"memory: {ENVS:,} live KuhnPoker-v1 envs (made and reset): {added_mb:.1f} MB "
        f"({per_env_kb:.2f} kB per env) by tracemalloc, RSS growth {rss_text}; "
        f"limit {LIMIT_MB:.0f} MB"
    )
    assert added_mb < LIMIT_MB, f"{ENVS} envs hold {added_mb:.1f} MB (limit {LIMIT_MB} MB)"
    assert envs[-1].agents == ["player_0", "player_1"]
