"""``spenv leaderboard import|build|serve`` run as a user runs them: the installed script, real
files, a real SQLite store and a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from spenv.episode import read_episodes

SPENV = shutil.which("spenv") or str(Path(sys.executable).with_name("spenv"))


def spenv(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SPENV, *args], capture_output=True, text=True, timeout=120, check=False)


def stored(db: Path) -> tuple[int, int]:
    with sqlite3.connect(db) as c:
        return (
            c.execute("SELECT COUNT(*) FROM episodes").fetchone()[0],
            c.execute("SELECT COUNT(*) FROM results").fetchone()[0],
        )


def counts(stdout: str, name: str) -> tuple[int, int, int]:
    m = re.search(re.escape(name) + r": (\d+) imported, (\d+) duplicates, (\d+) bad lines", stdout)
    assert m, stdout
    return int(m[1]), int(m[2]), int(m[3])


def test_import_twice_adds_nothing(tmp_path: Path, games_file: Path) -> None:
    db = tmp_path / "m.db"
    n = sum(1 for _ in read_episodes(games_file))
    first = spenv("leaderboard", "import", str(db), str(games_file))
    assert first.returncode == 0, first.stderr
    assert counts(first.stdout, str(games_file)) == (n, 0, 0)
    assert stored(db) == (n, 2 * n)
    second = spenv("leaderboard", "import", str(db), str(games_file))
    assert second.returncode == 0, second.stderr
    assert counts(second.stdout, str(games_file)) == (0, n, 0)
    assert stored(db) == (n, 2 * n)


def test_torn_last_line_keeps_the_good_lines(tmp_path: Path, games_file: Path) -> None:
    lines = games_file.read_text(encoding="utf-8").splitlines(keepends=True)[:50]
    torn = tmp_path / "torn.jsonl"
    # 49 whole episodes, then the first half of the 50th: what a crash mid-write leaves.
    torn.write_text("".join(lines[:49]) + lines[49][: len(lines[49]) // 2], encoding="utf-8")
    db = tmp_path / "m.db"
    res = spenv("leaderboard", "import", str(db), str(torn))
    assert res.returncode == 1  # something was skipped: scripts can notice
    assert counts(res.stdout, str(torn)) == (49, 0, 1)
    assert f"{torn}:50" in res.stdout  # the bad line is named
    assert stored(db) == (49, 98)
    # The rest of the file arrives later (the writer finished): only the new games are added.
    whole = tmp_path / "whole.jsonl"
    whole.write_text("".join(lines), encoding="utf-8")
    res = spenv("leaderboard", "import", str(db), str(whole))
    assert res.returncode == 0, res.stdout + res.stderr
    assert counts(res.stdout, str(whole)) == (1, 49, 0)
    assert stored(db) == (50, 100)


def test_bad_lines_in_the_middle_and_unreadable_files(tmp_path: Path, games_file: Path) -> None:
    lines = games_file.read_text(encoding="utf-8").splitlines(keepends=True)[:10]
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(
        "".join(lines[:4]) + "not json\n" + '{"id": "x"}\n' + "".join(lines[4:]), encoding="utf-8"
    )
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe\x00garbage\n")
    db = tmp_path / "m.db"
    res = spenv("leaderboard", "import", str(db), str(binary), str(tmp_path / "nope"), str(mixed))
    assert res.returncode == 1
    assert "Traceback" not in res.stderr
    assert counts(res.stdout, str(mixed)) == (10, 0, 2)
    assert f"{tmp_path / 'nope'}: not imported" in res.stderr
    assert stored(db)[0] == 10  # the files after the broken ones were still imported


def test_build_writes_the_page(tmp_path: Path, games_file: Path) -> None:
    db = tmp_path / "m.db"
    assert spenv("leaderboard", "import", str(db), str(games_file)).returncode == 0
    out = tmp_path / "site"
    res = spenv("leaderboard", "build", str(db), "--out", str(out), "--boot", "50")
    assert res.returncode == 0, res.stderr
    page = (out / "index.html").read_text(encoding="utf-8")
    m = re.search(r'<script type="application/json" id="leaderboard-data">(.*?)</script>', page)
    assert m
    data = json.loads(m[1])
    labels = [v["label"] for v in data["views"]]
    assert labels == ["Overall", "KuhnPoker-v1", "TicTacToe-v1"]
    kuhn = data["views"][1]
    assert kuhn["score"] == "reward" and data["views"][2]["score"] == "outcome"
    assert {r["agent"] for r in kuhn["agents"]} == {"nash", "random", "aggressive", "passive"}
    assert data["n_boot"] == 50
    # No network: nothing is loaded from elsewhere.
    assert not re.search(r"(src|href)=\"(https?:)?//", page)


def test_build_refuses_a_missing_store(tmp_path: Path) -> None:
    db = tmp_path / "typo.db"
    res = spenv("leaderboard", "build", str(db), "--out", str(tmp_path / "site"))
    assert res.returncode == 2
    assert "no match store" in res.stderr and "Traceback" not in res.stderr
    assert not db.exists()  # a typo must not leave an empty database behind
    not_a_db = tmp_path / "text.db"
    not_a_db.write_text("hello\n" * 1000)
    res = spenv("leaderboard", "build", str(not_a_db), "--out", str(tmp_path / "site"))
    assert res.returncode == 2 and "Traceback" not in res.stderr


def _get(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.read(), r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers.get("Content-Type", "")


@pytest.fixture
def served(tmp_path: Path, games_file: Path):  # type: ignore[no-untyped-def]
    """``spenv leaderboard serve`` on a free port of 127.0.0.1; yields (base url, db, proc)."""
    lines = games_file.read_text(encoding="utf-8").splitlines(keepends=True)
    first = tmp_path / "first.jsonl"
    first.write_text("".join(lines[:800]), encoding="utf-8")
    db = tmp_path / "m.db"
    assert spenv("leaderboard", "import", str(db), str(first)).returncode == 0
    proc = subprocess.Popen(
        [SPENV, "leaderboard", "serve", str(db), "--port", "0", "--boot", "30"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        m = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        assert m, line + (proc.stderr.read() if proc.poll() is not None else "")  # type: ignore[union-attr]
        yield m[1], db, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_serve_rebuilds_when_the_store_changes(tmp_path: Path, games_file: Path, served) -> None:  # type: ignore[no-untyped-def]
    base, db, _ = served
    status, body, ctype = _get(base)
    assert status == 200 and ctype.startswith("text/html")
    assert b'id="leaderboard-data"' in body
    status, body, ctype = _get(base + "data.json")
    assert status == 200 and ctype == "application/json"
    before = json.loads(body)
    assert before["views"][0]["games"] == 800
    assert _get(base + "nope")[0] == 404
    assert _get(base + "index.html?x=1")[0] == 200
    # Import the rest in another process: the next request sees it.
    res = spenv("leaderboard", "import", str(db), str(games_file))
    assert res.returncode == 0, res.stderr
    total = sum(1 for _ in read_episodes(games_file))
    deadline = time.monotonic() + 30
    while True:
        after = json.loads(_get(base + "data.json")[1])
        if after["views"][0]["games"] == total or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert after["views"][0]["games"] == total
    assert [v["label"] for v in after["views"]] == ["Overall", "KuhnPoker-v1", "TicTacToe-v1"]


def test_page_cache_rebuilds_only_on_change(tmp_path: Path, games_file: Path) -> None:
    from spenv.leaderboard.cli import PageCache
    from spenv.leaderboard.store import MatchStore

    lines = games_file.read_text(encoding="utf-8").splitlines(keepends=True)
    part = tmp_path / "part.jsonl"
    part.write_text("".join(lines[:100]), encoding="utf-8")
    db = tmp_path / "m.db"
    with MatchStore(db) as s:
        s.import_jsonl(part)
    cache = PageCache(db, title="t", n_boot=10)
    page, data = cache.get()
    assert cache.get() == (page, data) and cache.get() == (page, data)
    assert cache.builds == 1  # reading the store does not count as a change
    with MatchStore(db) as s:  # a reader elsewhere changes nothing either
        assert s.games() == 100
    cache.get()
    assert cache.builds == 1
    with MatchStore(db) as s:
        s.import_jsonl(games_file)
    _, data2 = cache.get()
    assert cache.builds == 2
    assert json.loads(data2)["views"][0]["games"] == len(lines)


def test_serve_refuses_a_missing_store(tmp_path: Path) -> None:
    res = spenv("leaderboard", "serve", str(tmp_path / "none.db"), "--port", "0")
    assert res.returncode == 2 and "no match store" in res.stderr
    assert not (tmp_path / "none.db").exists()
