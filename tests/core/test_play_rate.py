"""``spenv play`` reports the decisions it played and their rate."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from spenv.apps.cli import main
from spenv.episode import read_episodes


def test_play_prints_decisions_per_second(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "eps.jsonl"
    assert main(["play", "KuhnPoker-v1", "--games", "12", "--quiet", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    m = re.search(r"([\d,]+) decisions in ([\d.]+) s: ([\d,]+) decisions/s", text)
    assert m, text
    turns = sum(len(ep.turns) for ep in read_episodes(out))
    assert int(m.group(1).replace(",", "")) == turns > 12
    assert int(m.group(3).replace(",", "")) > 0
