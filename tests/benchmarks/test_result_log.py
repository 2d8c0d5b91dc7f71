"""Result logs: complete records back, a torn tail dropped, corruption named, linear time."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from spenv.benchmarks.store import AppendLog, CorruptResults, read_records


def test_torn_tail_is_dropped_and_cut_before_appending(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    full = "".join(json.dumps({"i": i}) + "\n" for i in range(5))
    path.write_text(full + '{"i": 5, "x"')
    recs, end = read_records(path)
    assert [r["i"] for r in recs] == [0, 1, 2, 3, 4] and end == len(full)
    # blank lines after a torn tail do not make it a middle line
    path.write_text(full + '{"i": 5\n\n  \n')
    assert len(read_records(path)[0]) == 5
    # a record that parses but lost its newline is torn too
    path.write_text(full + '{"i": 5}')
    assert read_records(path) == (read_records(path)[0], len(full))
    with AppendLog(path) as log:
        assert len(log.records) == 5
        log.append({"i": 5})
    assert [r["i"] for r in read_records(path)[0]] == list(range(6))


def test_a_bad_line_in_the_middle_is_named(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text('{"i": 0}\n\n[1]\n{"i": 2}\n')
    with pytest.raises(CorruptResults, match="line 3"):
        read_records(path)


def test_reading_is_linear_in_the_file_size(tmp_path: Path) -> None:
    """60,000 short lines (4 MB): a reader that copies the rest of the file for every line moves
    about 120 GB here; a linear one reads it in well under a second."""
    path = tmp_path / "big.jsonl"
    line = json.dumps({"id": "x" * 40, "correct": 1, "n": 4}) + "\n"
    path.write_text(line * 60_000 + line[:20])
    t0 = time.perf_counter()
    recs, end = read_records(path)
    elapsed = time.perf_counter() - t0
    assert len(recs) == 60_000 and end == len(line) * 60_000
    assert elapsed < 10.0, elapsed
