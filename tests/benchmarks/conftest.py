"""Fixtures: the real benchmark data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def data_dir() -> Path:
    env = os.environ.get("SPENV_DATA")
    return Path(env) if env else (ROOT.parent / "shared" / "benchmarks")


@pytest.fixture(scope="session")
def benchmarks_dir() -> Path:
    d = data_dir()
    if not (d / "gsm8k" / "test.jsonl").exists():
        pytest.skip(f"benchmark data not found at {d} (set SPENV_DATA)")
    return d
