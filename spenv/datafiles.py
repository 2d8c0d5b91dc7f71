"""Where the data that ships with spenv lives.

The benchmark test sets (GSM8K, MATH-500, AIME, AMC, Minerva math, OlympiadBench, MMLU-STEM and
MBPP) are package data under ``spenv/data/benchmarks/``, one folder per suite with its licence
note. ``SPENV_DATA`` (or an explicit ``data_dir``) points the lookups at another folder of the
same layout.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGED_BENCHMARKS = Path(__file__).resolve().parent / "data" / "benchmarks"


def benchmark_root(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The benchmark data folder: ``data_dir``, else ``$SPENV_DATA``, else the packaged copy."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = os.environ.get("SPENV_DATA")
    if env:
        return Path(env).expanduser()
    return PACKAGED_BENCHMARKS
