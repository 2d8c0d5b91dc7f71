"""The match store: schema, WAL, idempotent and crash-safe import, queries."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from spenv.episode import Episode, EpisodeFormatError, write_episodes
from spenv.leaderboard import store as store_mod
from spenv.leaderboard.store import MatchStore, StoreVersionError, pair_score


def make_episode(
    i: int,
    a: str = "alice",
    b: str = "bob",
    outcome_a: str = "win",
    env_id: str = "Toy-v1",
    reward_a: float = 1.0,
) -> Episode:
    other = {"win": "loss", "loss": "win", "draw": "draw", "invalid": "win"}[outcome_a]
    return Episode(
        env_id=env_id,
        seed=i,
        agents=["player_0", "player_1"],
        turns=[],
        rewards={"player_0": reward_a, "player_1": -reward_a},
        outcomes={"player_0": outcome_a, "player_1": other},
        players={"player_0": a, "player_1": b},
        metadata={"game": i},
        id=f"ep{i:04d}",
    )


def counts(path: Path) -> tuple[int, int]:
    with sqlite3.connect(path) as c:
        return (
            c.execute("SELECT COUNT(*) FROM episodes").fetchone()[0],
            c.execute("SELECT COUNT(*) FROM results").fetchone()[0],
        )


def test_wal_mode_and_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    with MatchStore(path) as s:
        assert s.journal_mode == "wal"
        assert s.schema_version == len(store_mod.MIGRATIONS)
    with sqlite3.connect(path) as c:
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert c.execute("PRAGMA user_version").fetchone()[0] == len(store_mod.MIGRATIONS)
        versions = [r[0] for r in c.execute("SELECT version FROM schema_migrations")]
    assert versions == list(range(1, len(store_mod.MIGRATIONS) + 1))


def test_migrations_run_once_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "m.db"
    MatchStore(path).close()  # at version 1
    extra = (
        "CREATE TABLE IF NOT EXISTS ran (n INTEGER)",
        "INSERT INTO ran (n) VALUES (1)",
    )
    monkeypatch.setattr(store_mod, "MIGRATIONS", [*store_mod.MIGRATIONS, extra])
    for _ in range(3):
        with MatchStore(path) as s:
            assert s.schema_version == 2
    with sqlite3.connect(path) as c:
        assert c.execute("SELECT COUNT(*) FROM ran").fetchone()[0] == 1
        assert [r[0] for r in c.execute("SELECT version FROM schema_migrations")] == [1, 2]


def test_failed_migration_rolls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "m.db"
    MatchStore(path).close()
    bad = ("CREATE TABLE half (n INTEGER)", "THIS IS NOT SQL")
    monkeypatch.setattr(store_mod, "MIGRATIONS", [*store_mod.MIGRATIONS, bad])
    with pytest.raises(sqlite3.OperationalError):
        MatchStore(path)
    monkeypatch.undo()
    with MatchStore(path) as s:
        assert s.schema_version == 1
    with sqlite3.connect(path) as c:
        assert not c.execute("SELECT name FROM sqlite_master WHERE name = 'half'").fetchall()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    MatchStore(path).close()
    with sqlite3.connect(path) as c:
        c.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreVersionError):
        MatchStore(path)


def test_import_jsonl_is_idempotent(tmp_path: Path) -> None:
    jsonl = tmp_path / "eps.jsonl"
    write_episodes(jsonl, [make_episode(i) for i in range(30)])
    path = tmp_path / "m.db"
    with MatchStore(path) as s:
        first = s.import_jsonl(jsonl, batch_size=7)
        assert (first.added, first.skipped_duplicates, first.bad_lines) == (30, 0, [])
        second = s.import_jsonl(jsonl, batch_size=7)
        assert (second.added, second.skipped_duplicates) == (0, 30)
        assert s.games() == 30
    assert counts(path) == (30, 60)
    with MatchStore(path) as s:  # and again after reopening
        assert s.import_jsonl(jsonl).added == 0
    assert counts(path) == (30, 60)


def test_import_jsonl_bad_lines(tmp_path: Path) -> None:
    jsonl = tmp_path / "eps.jsonl"
    write_episodes(jsonl, [make_episode(i) for i in range(3)])
    with open(jsonl, "a", encoding="utf-8") as fh:
        fh.write("{not json\n")
        fh.write(make_episode(3).to_json() + "\n")
    with MatchStore(tmp_path / "m.db") as s:
        with pytest.raises(EpisodeFormatError):
            s.import_jsonl(jsonl, batch_size=2)
        assert s.games() == 2  # the first full batch was committed before the bad line
        report = s.import_jsonl(jsonl, skip_bad=True)
        assert report.added == 2 and report.skipped_duplicates == 2
        assert len(report.bad_lines) == 1 and ":4:" in report.bad_lines[0]
        assert s.games() == 4


def test_crash_in_iterator_keeps_committed_batches(tmp_path: Path) -> None:
    path = tmp_path / "m.db"

    def crashing() -> Iterator[Episode]:
        for i in range(25):
            yield make_episode(i)
        raise RuntimeError("simulated crash")

    with MatchStore(path) as s, pytest.raises(RuntimeError, match="simulated crash"):
        s.import_episodes(crashing(), batch_size=10)
    assert counts(path) == (20, 40)  # two whole batches, none of the third
    with MatchStore(path) as s:  # reopening works and the import can resume
        assert s.import_episodes(make_episode(i) for i in range(30)) == 10
    assert counts(path) == (30, 60)


def test_failure_inside_an_episode_leaves_no_partial_episode(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    bad = make_episode(5)
    bad.rewards["player_1"] = object()  # type: ignore[assignment]  # fails on the 2nd seat row
    eps = [make_episode(i) for i in range(5)] + [bad]
    with MatchStore(path) as s, pytest.raises(TypeError):
        s.import_episodes(eps, batch_size=3)
    assert counts(path) == (3, 6)
    with sqlite3.connect(path) as c:
        orphans = c.execute(
            "SELECT COUNT(*) FROM episodes e WHERE (SELECT COUNT(*) FROM results r "
            "WHERE r.episode_id = e.id) != e.n_seats"
        ).fetchone()[0]
    assert orphans == 0


def test_killed_process_loses_only_the_batch_in_flight(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    script = textwrap.dedent(
        f"""
        import os
        from spenv.episode import Episode
        from spenv.leaderboard.store import MatchStore

        def eps():
            for i in range(100):
                if i == 45:
                    os._exit(3)  # no cleanup, no rollback: as if the process were killed
                yield Episode(env_id="Toy-v1", seed=i, agents=["p0", "p1"], turns=[],
                              rewards={{"p0": 1.0, "p1": -1.0}},
                              outcomes={{"p0": "win", "p1": "loss"}},
                              players={{"p0": "a", "p1": "b"}}, id=f"ep{{i}}")

        MatchStore({str(path)!r}).import_episodes(eps(), batch_size=20)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert proc.returncode == 3, proc.stderr.decode()
    with MatchStore(path) as s:
        assert s.games() == 40
        assert all(len(g.seats) == 2 for g in s.results())
    assert counts(path) == (40, 80)


def test_queries(tmp_path: Path) -> None:
    eps = [
        make_episode(0, "alice", "bob", "win", reward_a=2.0),
        make_episode(1, "bob", "alice", "loss", reward_a=-1.0),  # alice wins
        make_episode(2, "alice", "bob", "draw", reward_a=0.0),
        make_episode(3, "alice", "carol", "invalid", reward_a=-1.0),  # alice offends: loses
        make_episode(4, "dave", "erin", "win", env_id="Other-v1"),
        make_episode(5, "alice", "alice", "win"),  # self-play: not a head-to-head
    ]
    with MatchStore(tmp_path / "m.db") as s:
        assert s.import_episodes(eps) == 6
        assert s.env_ids() == ["Other-v1", "Toy-v1"]
        assert s.agents() == ["alice", "bob", "carol", "dave", "erin"]
        assert s.agents("Toy-v1") == ["alice", "bob", "carol"]
        assert s.games() == 6 and s.games("Toy-v1") == 5 and s.games("Nope-v1") == 0
        results = list(s.results("Toy-v1"))
        assert [g.episode_id for g in results] == ["ep0000", "ep0001", "ep0002", "ep0003", "ep0005"]
        assert [(x.seat, x.agent, x.reward, x.outcome) for x in results[1].seats] == [
            ("player_0", "bob", -1.0, "loss"),
            ("player_1", "alice", 1.0, "win"),
        ]
        h2h = s.head_to_head("Toy-v1")
        ab = h2h[("alice", "bob")]
        assert (ab.wins, ab.draws, ab.losses, ab.games) == (2, 1, 0, 3)
        assert ab.mean_reward == pytest.approx(1.0)
        ba = h2h[("bob", "alice")]
        assert (ba.wins, ba.draws, ba.losses) == (0, 1, 2)
        assert ba.mean_reward == pytest.approx(-1.0)
        ac = h2h[("alice", "carol")]
        assert (ac.wins, ac.losses) == (0, 1)
        assert ("alice", "alice") not in h2h
        assert set(s.head_to_head()) == set(h2h) | {("dave", "erin"), ("erin", "dave")}


def test_pair_score() -> None:
    assert pair_score("win", "loss") == 1.0
    assert pair_score("loss", "win") == 0.0
    assert pair_score("draw", "draw") == 0.5
    assert pair_score("invalid", "loss") == 0.0
    assert pair_score("loss", "error") == 1.0
    assert pair_score("invalid", "invalid") is None
    assert pair_score(None, "win") is None
