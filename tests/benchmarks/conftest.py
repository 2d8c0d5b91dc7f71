"""Fixtures: the real benchmark data folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from spenv.datafiles import benchmark_root

ROOT = Path(__file__).resolve().parents[2]


def data_dir() -> Path:
    return benchmark_root()


@pytest.fixture(scope="session")
def benchmarks_dir() -> Path:
    d = data_dir()
    assert (d / "gsm8k" / "test.jsonl").exists(), f"benchmark data missing at {d}"
    return d
