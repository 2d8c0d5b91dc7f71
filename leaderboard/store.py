"""The match store: episodes and per-seat results in one SQLite file.

The leaderboard reads games from here rather than from JSONL files, so that ratings can be
recomputed over many runs without re-reading every transcript. Design points:

- **WAL mode**: readers (the page, a rating job) never block the importer, and a crash never
  corrupts what was committed.
- **Versioned schema**: ``PRAGMA user_version`` holds the schema version and the
  ``schema_migrations`` table records when each migration ran. :data:`MIGRATIONS` is applied in
  order at open; each migration runs once, in its own transaction, guarded by ``BEGIN IMMEDIATE``
  so two processes opening a fresh store at once cannot both apply it.
- **Idempotent, crash-safe import**: an episode's id is the primary key, so importing a file twice
  adds nothing. Episodes are written in batches, each in one transaction that holds every
  episode of the batch together with its seat rows: a crash loses at most the batch in flight and
  never leaves an episode without its results.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from spenv.episode import Episode, read_episodes

#: Migrations, applied in order; migration ``i`` (0-based) brings the schema to version ``i + 1``.
#: Never edit a released migration: append a new one.
MIGRATIONS: list[tuple[str, ...]] = [
    (
        """CREATE TABLE episodes (
            id TEXT PRIMARY KEY,
            env_id TEXT NOT NULL,
            env_version INTEGER,
            seed INTEGER,
            status TEXT NOT NULL,
            error TEXT,
            n_seats INTEGER NOT NULL,
            game_index INTEGER,
            spenv_version TEXT,
            source TEXT,
            data TEXT,
            imported_at TEXT NOT NULL
        )""",
        """CREATE TABLE results (
            episode_id TEXT NOT NULL REFERENCES episodes(id) ON DELETE CASCADE,
            seat TEXT NOT NULL,
            seat_index INTEGER NOT NULL,
            agent TEXT NOT NULL,
            reward REAL,
            outcome TEXT,
            PRIMARY KEY (episode_id, seat)
        )""",
        "CREATE INDEX episodes_env ON episodes(env_id)",
        "CREATE INDEX results_agent ON results(agent)",
    ),
]

#: Outcome ranks used to score a two-seat game: a win beats a draw beats a loss, and an invalid
#: move or an agent error loses to anything else.
_RANK = {"win": 2, "draw": 1, "truncated": 1, "loss": 0, "invalid": -1, "error": -1}


class StoreVersionError(RuntimeError):
    """The store was written by a newer spenv (its schema version is unknown here)."""


@dataclass(frozen=True, slots=True)
class SeatResult:
    """One seat of one game."""

    seat: str
    agent: str
    reward: float | None
    outcome: str | None


@dataclass(frozen=True, slots=True)
class GameResult:
    """One stored game: its seats in seat order."""

    episode_id: str
    env_id: str
    status: str
    seats: tuple[SeatResult, ...]


@dataclass(frozen=True, slots=True)
class HeadToHead:
    """How agent ``a`` fared against agent ``b`` (from ``a``'s side)."""

    wins: int
    draws: int
    losses: int
    mean_reward: float | None

    @property
    def games(self) -> int:
        return self.wins + self.draws + self.losses


@dataclass(slots=True)
class ImportReport:
    """What an import did: episodes added, duplicates skipped, unreadable lines skipped."""

    added: int = 0
    skipped_duplicates: int = 0
    bad_lines: list[str] = field(default_factory=list)


def pair_score(outcome_a: str | None, outcome_b: str | None) -> float | None:
    """Score of seat ``a`` against seat ``b`` (1, 0.5 or 0) from their outcomes.

    An invalid move or an error counts as a loss for the offender. ``None`` when the game
    decides nothing: an outcome is missing or unknown, or both sides offended.
    """
    ra, rb = _RANK.get(outcome_a or ""), _RANK.get(outcome_b or "")
    if ra is None or rb is None or (ra < 0 and rb < 0):
        return None
    return 1.0 if ra > rb else 0.5 if ra == rb else 0.0


class MatchStore:
    """A SQLite store of episodes and per-seat results (see the module docstring)."""

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so each transaction is explicit.
        self._conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> MatchStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    @property
    def journal_mode(self) -> str:
        return str(self._conn.execute("PRAGMA journal_mode").fetchone()[0])

    def _migrate(self) -> None:
        c = self._conn
        c.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        if self.schema_version > len(MIGRATIONS):
            raise StoreVersionError(
                f"{self.path} has schema version {self.schema_version}; "
                f"this spenv knows up to {len(MIGRATIONS)}"
            )
        for target, statements in enumerate(MIGRATIONS, 1):
            if self.schema_version >= target:
                continue
            c.execute("BEGIN IMMEDIATE")
            try:
                if self.schema_version >= target:  # another process got there first
                    c.execute("ROLLBACK")
                    continue
                for stmt in statements:
                    c.execute(stmt)
                c.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                    (target, _now()),
                )
                c.execute(f"PRAGMA user_version = {int(target)}")
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise

    # -- import ----------------------------------------------------------------------------

    def import_episodes(
        self,
        episodes: Iterable[Episode],
        *,
        batch_size: int = 500,
        keep_json: bool = False,
        source: str | None = None,
    ) -> int:
        """Store episodes not yet stored (by id); returns how many were added.

        Each batch of ``batch_size`` episodes is one transaction. If the iterable or a write
        raises, the batch in flight is rolled back and the exception propagates; batches
        committed before it stay. ``keep_json`` also stores each episode's full JSON record.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size!r}")
        c = self._conn
        added = 0
        it = iter(episodes)
        done = False
        while not done:
            c.execute("BEGIN IMMEDIATE")
            batch_added = 0
            try:
                for _ in range(batch_size):
                    try:
                        ep = next(it)
                    except StopIteration:
                        done = True
                        break
                    batch_added += self._insert(ep, keep_json=keep_json, source=source)
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise
            added += batch_added
        return added

    def import_jsonl(
        self,
        path: str | os.PathLike[str],
        *,
        skip_bad: bool = False,
        batch_size: int = 500,
        keep_json: bool = False,
    ) -> ImportReport:
        """Import an episode JSONL file. Re-importing a file adds nothing.

        A malformed line raises :class:`~spenv.episode.EpisodeFormatError` (batches before it stay
        committed) unless ``skip_bad``: then it is skipped and described in ``bad_lines``.
        """
        report = ImportReport()
        seen = 0

        def counted() -> Iterator[Episode]:
            nonlocal seen
            for ep in read_episodes(path, skip_bad=skip_bad, errors=report.bad_lines):
                seen += 1
                yield ep

        report.added = self.import_episodes(
            counted(), batch_size=batch_size, keep_json=keep_json, source=str(path)
        )
        report.skipped_duplicates = seen - report.added
        return report

    def _insert(self, ep: Episode, *, keep_json: bool, source: str | None) -> int:
        game = ep.metadata.get("game")
        cur = self._conn.execute(
            "INSERT OR IGNORE INTO episodes (id, env_id, env_version, seed, status, error, "
            "n_seats, game_index, spenv_version, source, data, imported_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                ep.id,
                ep.env_id,
                ep.env_version,
                ep.seed if isinstance(ep.seed, int) else None,
                ep.status,
                ep.error,
                len(ep.agents),
                game if isinstance(game, int) else None,
                ep.spenv_version,
                source,
                ep.to_json() if keep_json else None,
                _now(),
            ),
        )
        if cur.rowcount != 1:
            return 0  # already stored
        for i, seat in enumerate(ep.agents):
            reward = ep.rewards.get(seat)
            self._conn.execute(
                "INSERT INTO results (episode_id, seat, seat_index, agent, reward, outcome) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    ep.id,
                    seat,
                    i,
                    str(ep.players.get(seat, seat)),
                    None if reward is None else float(reward),
                    ep.outcomes.get(seat),
                ),
            )
        return 1

    # -- queries ---------------------------------------------------------------------------

    def env_ids(self) -> list[str]:
        """The env ids with at least one stored game, sorted."""
        rows = self._conn.execute("SELECT DISTINCT env_id FROM episodes ORDER BY env_id")
        return [r[0] for r in rows]

    def agents(self, env_id: str | None = None) -> list[str]:
        """The agent labels that played (in ``env_id``, or anywhere), sorted."""
        sql = "SELECT DISTINCT r.agent FROM results r JOIN episodes e ON e.id = r.episode_id"
        sql, args = _where(sql, env_id)
        return [r[0] for r in self._conn.execute(sql + " ORDER BY r.agent", args)]

    def games(self, env_id: str | None = None) -> int:
        """The number of stored games (in ``env_id``, or in all envs)."""
        sql, args = _where("SELECT COUNT(*) FROM episodes e", env_id)
        return int(self._conn.execute(sql, args).fetchone()[0])

    def results(self, env_id: str | None = None) -> Iterator[GameResult]:
        """Every stored game with its seat results, in import order (game order per file)."""
        sql = (
            "SELECT e.id, e.env_id, e.status, r.seat, r.agent, r.reward, r.outcome "
            "FROM episodes e JOIN results r ON r.episode_id = e.id"
        )
        sql, args = _where(sql, env_id)
        rows = self._conn.execute(sql + " ORDER BY e.rowid, r.seat_index", args)
        current: tuple[str, str, str] | None = None
        seats: list[SeatResult] = []
        for eid, env, status, seat, agent, reward, outcome in rows:
            if current is not None and current[0] != eid:
                yield GameResult(*current, seats=tuple(seats))
                seats = []
            current = (eid, env, status)
            seats.append(SeatResult(seat, agent, reward, outcome))
        if current is not None:
            yield GameResult(*current, seats=tuple(seats))

    def head_to_head(self, env_id: str | None = None) -> dict[tuple[str, str], HeadToHead]:
        """Wins, draws, losses and mean reward of ``a`` against ``b``, for every ordered pair
        of distinct agents that met in a two-seat game. Games that decide nothing (see
        :func:`pair_score`) are left out."""
        tally: dict[tuple[str, str], list[float]] = {}
        rewards: dict[tuple[str, str], list[float]] = {}
        for game in self.results(env_id):
            if len(game.seats) != 2 or game.seats[0].agent == game.seats[1].agent:
                continue
            s0, s1 = game.seats
            score = pair_score(s0.outcome, s1.outcome)
            if score is None:
                continue
            for a, b, s in ((s0, s1, score), (s1, s0, 1.0 - score)):
                t = tally.setdefault((a.agent, b.agent), [0, 0, 0])
                t[0 if s == 1.0 else 1 if s == 0.5 else 2] += 1
                if a.reward is not None:
                    rewards.setdefault((a.agent, b.agent), []).append(a.reward)
        out = {}
        for pair, (w, d, lo) in sorted(tally.items()):
            rs = rewards.get(pair)
            out[pair] = HeadToHead(int(w), int(d), int(lo), sum(rs) / len(rs) if rs else None)
        return out


def _where(sql: str, env_id: str | None) -> tuple[str, Sequence[object]]:
    if env_id is None:
        return sql, ()
    return sql + " WHERE e.env_id = ?", (env_id,)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
