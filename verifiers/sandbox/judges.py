"""Long-lived judges for trusted reference tests (:meth:`Sandbox.run_tests_many` with
``trusted_tests=True``).

A judge server is one sandbox running the bootstrap's ``judge_server`` mode. For each job the
host makes the two pipes of a call channel, hands the judge its ends (read calls' answers,
write calls) with the job's tests over a control socket (``SCM_RIGHTS``), and starts the
solution in a fresh sandbox of its own holding the other ends, exactly as
:meth:`Sandbox.run_tests` does; the judge streams the job's tagged records back over the
control socket and ends them with a ``Z`` record. The solution never runs in the judge, and
nothing of one solution reaches the next: each has its own sandbox, and the judge only ever
held the plain data it returned, in a namespace dropped after the job.
"""

from __future__ import annotations

import array
import contextlib
import marshal
import os
import secrets
import select
import socket
import threading
import time
from typing import Any

from spenv.verifiers.sandbox.limits import _DRAIN_SECONDS, _RESULT_CAP, Limits
from spenv.verifiers.sandbox.records import _unesc
from spenv.verifiers.sandbox.runner import _Raw

#: A judge server's own wall and cpu limits: its jobs are bounded one by one.
_JUDGE_LIFE = 7 * 24 * 3600.0
#: Seconds a judge has past a job's time limit to report it (the solution's own limit ends the
#: calls it was waiting on, so an honest judge reports within milliseconds of it).
_JOB_MARGIN = 1.0


class _JudgeGone(Exception):
    """The judge could not take the job (its process ended between jobs): nothing ran."""


class _JudgeServer:
    """One long-lived judge sandbox with limits ``limits`` (time limits aside)."""

    def __init__(self, sandbox: Any, limits: Limits) -> None:
        self.limits = limits
        self.dead = False
        self._sb = sandbox
        host, far = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock = host
        self._stop_r, self._stop_w = os.pipe()
        self._hooks: dict[str, Any] = {}
        self._out: dict[str, Any] = {}
        jfd = far.detach()
        chan = (jfd, os.dup(jfd))
        lim = limits.replace(wall_seconds=_JUDGE_LIFE, cpu_seconds=_JUDGE_LIFE)
        payload = {"mode": "judge_server", "files": []}

        def life() -> None:
            try:
                self._out["raw"] = sandbox._execute(
                    payload,
                    b"",
                    lim,
                    channel=chan,
                    stop_fd=self._stop_r,
                    judge=True,
                    hooks=self._hooks,
                )[0]
            except BaseException as exc:  # reported with the job that finds the judge gone
                self._out["error"] = exc
                for fd in chan:
                    with contextlib.suppress(OSError):
                        os.close(fd)

        self._thread = threading.Thread(target=life, name="spenv-judge", daemon=True)
        self._thread.start()

    def run(self, judge: dict[str, Any], served: dict[str, Any], lim: Limits) -> Any:
        """One job: (judge raw, judge nonce, solution raw, solution nonce), like
        ``Sandbox._execute_tests``. Raises :class:`_JudgeGone` when the job could not be
        handed over (nothing ran then)."""
        nonce = secrets.token_hex(16)
        job = {k: v for k, v in judge.items() if k != "files"}
        job["nonce"] = nonce
        data = marshal.dumps(job, 2)
        to_sol_r, to_sol_w = os.pipe()
        to_judge_r, to_judge_w = os.pipe()
        try:
            fds = array.array("i", [to_judge_r, to_sol_w])
            self._sock.sendmsg(
                [len(data).to_bytes(4, "big")], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)]
            )
            self._sock.sendall(data)
        except OSError as exc:
            self.dead = True
            for fd in (to_sol_r, to_judge_w):
                os.close(fd)
            raise _JudgeGone(str(exc)) from None
        finally:
            os.close(to_judge_r)  # the judge holds its own copies now
            os.close(to_sol_w)
        t0 = time.monotonic()
        stop_r, stop_w = os.pipe()
        out: dict[str, Any] = {}

        def serve() -> None:
            try:
                out["solution"] = self._sb._execute(
                    served, b"", lim, channel=(to_sol_r, to_judge_w), stop_fd=stop_r
                )
            except BaseException as exc:
                out["error"] = exc

        worker = threading.Thread(target=serve, name="spenv-solution", daemon=True)
        try:
            worker.start()
            raw = self._collect(nonce, t0, t0 + lim.wall_seconds + _JOB_MARGIN)
        finally:
            with contextlib.suppress(OSError):
                os.write(stop_w, b"x")  # the judge is done: end the solution's run
            worker.join()
            os.close(stop_r)
            os.close(stop_w)
        if "error" in out:
            raise out["error"]
        return (raw, nonce, *out["solution"])

    def _collect(self, nonce: str, t0: float, deadline: float) -> _Raw:
        """The job's records, read until its ``Z`` record, the judge's end, or the deadline."""
        raw = _Raw()
        buf = bytearray()
        end = (nonce + " Z ").encode()
        done = False
        while not done:
            left = deadline - time.monotonic()
            if left <= 0:
                raw.killed_for = "wall"
                break
            if not select.select([self._sock], [], [], left)[0]:
                continue
            try:
                chunk = self._sock.recv(1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                break  # the judge ended
            buf += chunk
            if len(buf) > _RESULT_CAP:
                raw.killed_for = "output"
                break
            if buf.endswith(b"\n"):
                last = buf[buf.rfind(b"\n", 0, len(buf) - 1) + 1 :]
                done = last.startswith(end)
        raw.wall = time.monotonic() - t0
        raw.results = bytes(buf)
        prefix = (nonce + " ").encode()
        for line in raw.results.split(b"\n"):
            if not line.startswith(prefix):
                continue
            kind, _, rest = line[len(prefix) :].decode("utf-8", "replace").partition(" ")
            if kind == "O":
                raw.stdout = _unesc(rest).encode("utf-8")
            elif kind == "R":
                raw.stderr = _unesc(rest).encode("utf-8")
            elif kind == "Z":
                with contextlib.suppress(ValueError):
                    raw.cpu = float(rest)
        if done:
            raw.exit_code = 0
            return raw
        # The judge ran out of time, flooded its records or ended: it is not used again.
        self.dead = True
        kill = self._hooks.get("kill")
        if kill is not None and raw.killed_for is not None:
            kill()
        self._thread.join(_DRAIN_SECONDS + 5.0)
        ended: _Raw | None = self._out.get("raw")
        if raw.killed_for is None:
            if "error" in self._out:
                raw.spawn_error = f"the judge sandbox failed: {self._out['error']}"
            elif ended is not None:
                raw.spawn_error = ended.spawn_error
                raw.exit_code = ended.exit_code
                raw.stderr = ended.stderr
                raw.notes += ended.notes
            else:
                raw.exit_code = -1
                raw.notes.append("the judge ended mid-job")
        return raw

    def close(self) -> None:
        """End the judge (it exits at the end of its control socket) and wait for it."""
        self.dead = True
        with contextlib.suppress(OSError):
            self._sock.close()
        with contextlib.suppress(OSError):
            os.write(self._stop_w, b"x")
        self._thread.join()
        for fd in (self._stop_r, self._stop_w):
            os.close(fd)


class _JudgePool:
    """The judges of one :meth:`Sandbox.run_tests_many` call: one per worker in use, each
    reused for that worker's later jobs with the same limits; all closed by :meth:`close`."""

    def __init__(self, sandbox: Any) -> None:
        self._sb = sandbox
        self._lock = threading.Lock()
        self._free: list[_JudgeServer] = []
        self._all: list[_JudgeServer] = []

    def _take(self, key: Limits) -> _JudgeServer:
        with self._lock:
            for i, server in enumerate(self._free):
                if server.limits == key and not server.dead:
                    return self._free.pop(i)
            server = _JudgeServer(self._sb, key)
            self._all.append(server)
            return server

    def run(self, judge: dict[str, Any], served: dict[str, Any], lim: Limits) -> Any:
        key = lim.replace(wall_seconds=_JUDGE_LIFE, cpu_seconds=_JUDGE_LIFE)
        server = self._take(key)
        try:
            try:
                return server.run(judge, served, lim)
            except _JudgeGone:  # it ended between jobs: the job never started; a fresh one
                server = self._take(key)
                try:
                    return server.run(judge, served, lim)
                except _JudgeGone as exc:
                    why = f"could not hand the job to a judge sandbox: {exc}"
                    return _Raw(spawn_error=why), "", _Raw(spawn_error=why), ""
        finally:
            with self._lock:
                if not server.dead:
                    self._free.append(server)

    def close(self) -> None:
        with self._lock:
            servers, self._all, self._free = self._all, [], []
        for server in servers:
            server.close()
