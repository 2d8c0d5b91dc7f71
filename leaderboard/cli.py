"""``spenv leaderboard``: import episodes into a match store, build the page, serve it.

- ``spenv leaderboard import DB FILE...`` adds the episodes of JSONL files to the store (created
  if missing). Re-importing adds nothing (episodes are keyed by id); a malformed line (a torn
  last line after a crash, a hand edit) is reported and skipped, and the good lines around it
  are imported. Exit status 0, or 1 when a line was skipped or a file could not be read.
- ``spenv leaderboard build DB --out DIR`` writes ``DIR/index.html``.
- ``spenv leaderboard serve DB`` serves the page on ``127.0.0.1:8000`` (``--host``, ``--port``;
  port 0 picks a free one), rebuilt when the store changes.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import threading
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    """Register the ``leaderboard`` command group on the ``spenv`` subparsers."""
    p = sub.add_parser("leaderboard", help="match store, ratings and the leaderboard page")
    lsub = p.add_subparsers(dest="leaderboard_command", required=True)

    pi = lsub.add_parser("import", help="import episode JSONL files into a match store")
    pi.add_argument("db", help="the match store (SQLite file; created if missing)")
    pi.add_argument("files", nargs="+", metavar="FILE", help="episode JSONL files")
    pi.add_argument("--keep-json", action="store_true", help="also store each full episode")
    pi.set_defaults(func=cmd_import)

    pb = lsub.add_parser("build", help="write the leaderboard page (DIR/index.html)")
    pb.add_argument("db", help="an existing match store")
    pb.add_argument("--out", required=True, metavar="DIR", help="output folder")
    pb.add_argument("--title", default="spenv leaderboard", help="page title")
    pb.add_argument("--boot", type=int, default=200, help="bootstrap samples (default 200)")
    pb.set_defaults(func=cmd_build)

    ps = lsub.add_parser("serve", help="serve the leaderboard page, rebuilt when the store changes")
    ps.add_argument("db", help="an existing match store")
    ps.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    ps.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any free)")
    ps.add_argument("--title", default="spenv leaderboard", help="page title")
    ps.add_argument("--boot", type=int, default=200, help="bootstrap samples (default 200)")
    ps.set_defaults(func=cmd_serve)


def cmd_import(args: argparse.Namespace) -> int:
    from spenv.episode import EpisodeFormatError
    from spenv.leaderboard.store import MatchStore, StoreVersionError

    try:
        store = MatchStore(args.db)
    except (StoreVersionError, OSError, sqlite3.DatabaseError) as exc:
        print(f"spenv: cannot open match store {args.db}: {exc}", file=sys.stderr)
        return 2
    status = 0
    totals = [0, 0, 0]
    with store:
        for f in args.files:
            try:
                report = store.import_jsonl(f, skip_bad=True, keep_json=args.keep_json)
            except (OSError, UnicodeDecodeError, EpisodeFormatError) as exc:
                print(f"{f}: not imported: {exc}", file=sys.stderr)
                status = 1
                continue
            bad = len(report.bad_lines)
            totals[0] += report.added
            totals[1] += report.skipped_duplicates
            totals[2] += bad
            print(
                f"{f}: {report.added} imported, {report.skipped_duplicates} duplicates, "
                f"{bad} bad lines"
            )
            for line in report.bad_lines[:10]:
                print(f"  skipped bad line {line}")
            if bad > 10:
                print(f"  ... and {bad - 10} more bad lines")
            if bad:
                status = 1
        print(
            f"total: {totals[0]} imported, {totals[1]} duplicates, {totals[2]} bad lines; "
            f"{store.games()} games in {args.db}"
        )
    return status


def _open_existing(db: str) -> Any:
    from spenv.leaderboard.page import open_store

    return open_store(db)


def cmd_build(args: argparse.Namespace) -> int:
    from spenv.leaderboard.page import build_page

    try:
        with _open_existing(args.db) as store:
            path = build_page(store, args.out, title=args.title, n_boot=args.boot)
    except (FileNotFoundError, ValueError, sqlite3.DatabaseError, RuntimeError) as exc:
        print(f"spenv: {args.db}: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


class PageCache:
    """The rendered page of a store, rebuilt only when the store's files change.

    The key is the size and modification time of the database and its WAL file: an import
    (in this process or another) changes one of them, a read changes neither.
    """

    def __init__(self, db: str | Path, *, title: str, n_boot: int) -> None:
        self.db = Path(db)
        self.title = title
        self.n_boot = n_boot
        self._lock = threading.Lock()
        self._key: tuple[Any, ...] | None = None
        self._html = b""
        self._json = b""
        self.builds = 0

    def _stamp(self) -> tuple[Any, ...]:
        out: list[Any] = []
        for suffix in ("", "-wal"):
            p = self.db.with_name(self.db.name + suffix)
            try:
                st = p.stat()
                out += [st.st_size, st.st_mtime_ns]
            except FileNotFoundError:
                out += [None, None]
        return tuple(out)

    def get(self) -> tuple[bytes, bytes]:
        """(page HTML, data JSON), rebuilt if the store changed since the last call."""
        import json

        from spenv.leaderboard.page import leaderboard_data, render_html

        with self._lock:
            # Stamped before reading: an import that lands during the build changes the files
            # again, so the next request rebuilds rather than keep a stale page.
            key = self._stamp()
            if key != self._key:
                with _open_existing(str(self.db)) as store:
                    data = leaderboard_data(store, title=self.title, n_boot=self.n_boot)
                self._html = render_html(data).encode("utf-8")
                self._json = json.dumps(data, allow_nan=False).encode("utf-8")
                self._key = key
                self.builds += 1
            return self._html, self._json


def make_server(db: str | Path, host: str, port: int, *, title: str, n_boot: int) -> Any:
    """A threading HTTP server for the page of ``db`` (``/``, ``/index.html``, ``/data.json``)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    cache = PageCache(db, title=title, n_boot=n_boot)

    class Handler(BaseHTTPRequestHandler):
        server_version = "spenv-leaderboard"

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0].split("#", 1)[0]
            if path not in ("/", "/index.html", "/data.json"):
                self._send(404, b"not found\n", "text/plain; charset=utf-8")
                return
            try:
                page, data = cache.get()
            except Exception as exc:  # a broken store: say so, keep serving
                self._send(500, f"cannot build the page: {exc}\n".encode(), "text/plain")
                return
            if path == "/data.json":
                self._send(200, data, "application/json")
            else:
                self._send(200, page, "text/html; charset=utf-8")

        def _send(self, code: int, body: bytes, ctype: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # quiet: one line per request
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    server.cache = cache  # type: ignore[attr-defined]
    return server


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        _open_existing(args.db).close()
    except (FileNotFoundError, ValueError, sqlite3.DatabaseError, RuntimeError) as exc:
        print(f"spenv: {exc}", file=sys.stderr)
        return 2
    try:
        server = make_server(args.db, args.host, args.port, title=args.title, n_boot=args.boot)
    except OSError as exc:
        print(f"spenv: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    host, port = server.server_address[:2]
    print(f"serving the leaderboard of {args.db} at http://{host}:{port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
