"""Crash-safe JSONL result files: append, flush and fsync one record at a time.

A process killed at any moment (SIGKILL included) leaves a file whose every complete line is a
whole record; at most the line being written is torn. :func:`read_records` returns the complete
records and reports a torn last line; :class:`AppendLog` cuts such a tail off before it appends,
so the next record never lands glued to a fragment. A malformed line anywhere but the end is
corruption from elsewhere and raises, naming the line, rather than being silently skipped.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any

__all__ = ["AppendLog", "CorruptResults", "read_records", "write_json_atomic"]


class CorruptResults(ValueError):
    """A result file holds a malformed line before its last one."""


def read_records(path: str | os.PathLike[str]) -> tuple[list[dict[str, Any]], int]:
    """The complete JSON records of a JSONL file and the byte length they span.

    A last line that is unterminated or does not parse (a write cut short) is dropped; its
    bytes lie past the returned length. A missing file gives ``([], 0)``.
    """
    p = Path(path)
    if not p.exists():
        return [], 0
    data = p.read_bytes()
    # One pass over the lines (linear in the file size): find where the last non-blank line
    # starts first, so each line knows whether it is the last without looking at the rest.
    last_start = len(data.rstrip())
    last_start = data.rfind(b"\n", 0, last_start) + 1 if last_start else 0
    records: list[dict[str, Any]] = []
    pos = 0
    good_end = 0
    lineno = 0
    n = len(data)
    while pos < n:
        lineno += 1
        nl = data.find(b"\n", pos)
        end = n if nl == -1 else nl + 1
        line = data[pos:end]
        if line.strip():
            last = pos >= last_start
            try:
                rec = json.loads(line)
                if not isinstance(rec, dict):
                    raise ValueError("not a JSON object")
            except ValueError as exc:
                if last:
                    break  # a torn tail: drop it
                raise CorruptResults(f"{p}: line {lineno} is not a JSON record ({exc})") from exc
            if nl == -1:
                break  # parses but unterminated: the newline never made it; treat as torn
            records.append(rec)
        good_end = end
        pos = end
    return records, good_end


def write_json_atomic(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as indented JSON through a temp file, fsync and rename (never half a file)."""
    p = Path(path)
    tmp = p.with_name(p.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(obj, indent=2, default=str, allow_nan=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, p)
    return p


class AppendLog:
    """Appends JSON records to a file durably (one ``write`` + ``flush`` + ``fsync`` each).

    Opening cuts a torn last line off (see :func:`read_records`); ``records`` holds what the
    file already had.
    """

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.records, good_end = read_records(self.path)
        if self.path.exists() and self.path.stat().st_size != good_end:
            with open(self.path, "r+b") as fh:
                fh.truncate(good_end)
                fh.flush()
                os.fsync(fh.fileno())
        self._fsync = fsync
        self._fh: IO[str] | None = open(self.path, "a", encoding="utf-8")  # noqa: SIM115

    def append(self, record: dict[str, Any]) -> None:
        if self._fh is None:
            raise ValueError(f"log {self.path} is closed")
        self._fh.write(json.dumps(record, default=str) + "\n")
        self._fh.flush()
        if self._fsync:
            os.fsync(self._fh.fileno())

    def sync(self) -> None:
        """Flush and fsync what was appended (for logs opened with ``fsync=False``)."""
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> AppendLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
