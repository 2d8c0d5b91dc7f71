"""The process runner: :func:`run_limited` (a trusted program under rlimits set before it
starts, its own process group, capped output, a wall-clock limit), and the pieces the sandbox
shares with it: reading a run's streams under caps and deadlines, killing the tree, cleaning up
its directory."""

from __future__ import annotations

import contextlib
import math
import os
import resource
import selectors
import signal
import stat
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from spenv.verifiers.sandbox.limits import _DRAIN_SECONDS, Limits, RunResult


# -------------------------------------------------------------------------------- the runner
@dataclass
class _Raw:
    """What the host saw of one run, before classification."""

    exit_code: int | None = None
    stdout: bytes = b""
    stderr: bytes = b""
    results: bytes = b""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    wall: float = 0.0
    cpu: float | None = None
    killed_for: str | None = None  # wall / output, when we killed it
    oom_kills: int = 0
    fork_failures: int = 0
    oom_flag: bool = False
    spawn_error: str = ""
    notes: list[str] = field(default_factory=list)


def _exit_code(status: int) -> int:
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def _kill_marked(mark: str, rounds: int = 20) -> None:
    """SIGKILL every process whose environment carries ``mark`` (the process backend's
    fallback for children that left the process group when no cgroup is available)."""
    needle = mark.encode()
    me = os.getpid()
    for _ in range(rounds):
        found = False
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == me:
                continue
            try:
                with open(f"/proc/{entry}/environ", "rb") as f:
                    env = f.read()
            except OSError:
                continue
            if needle in env.split(b"\0"):
                found = True
                with contextlib.suppress(OSError):
                    os.kill(int(entry), signal.SIGKILL)
        if not found:
            return
        time.sleep(0.01)


_STOP_GRACE = 1.0  # seconds a stopped run has to end on its own (and flush its output)


def _pump(
    proc: subprocess.Popen,
    streams: dict[str, int],
    caps: dict[str, int],
    deadline: float,
    kill_tree: Callable[[], None],
    raw: _Raw,
    stop_fd: int | None = None,
) -> None:
    """Read the streams until the process has exited and the pipes are closed; kill the tree on
    the wall-clock deadline, when a stream passes its cap, once the main process exits, and when
    ``stop_fd`` (if given) has become readable and the program has not ended on its own within
    a short grace (``raw.killed_for`` is then ``"stopped"``): the caller is done with it."""
    sel = selectors.DefaultSelector()
    bufs: dict[str, bytearray] = {}
    for name, fd in streams.items():
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ, name)
        bufs[name] = bytearray()
    pidfd = None
    with contextlib.suppress(OSError, AttributeError):
        pidfd = os.pidfd_open(proc.pid)
        sel.register(pidfd, selectors.EVENT_READ, None)
    if stop_fd is not None:
        sel.register(stop_fd, selectors.EVENT_READ, "")
    stop_at: float | None = None
    exited = False
    finishing_until: float | None = None  # set once the tree has been killed
    over = set()

    def finish() -> None:
        nonlocal finishing_until
        if finishing_until is None:
            kill_tree()
            finishing_until = time.monotonic() + _DRAIN_SECONDS

    try:
        while True:
            if not exited and pidfd is None:
                with contextlib.suppress(ChildProcessError):
                    info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
                    exited = info is not None
            if exited:
                finish()
            open_streams = [k for k in sel.get_map().values() if k.data]
            if exited and not open_streams:
                break
            now = time.monotonic()
            if finishing_until is not None:
                if now >= finishing_until:
                    raw.notes.append("pipes still open after the process tree was killed")
                    break
                timeout = finishing_until - now
            else:
                if stop_at is not None and now >= stop_at:
                    raw.killed_for = raw.killed_for or "stopped"
                    finish()
                    continue
                timeout = min(deadline, stop_at or deadline) - now
                if timeout <= 0:
                    raw.killed_for = raw.killed_for or "wall"
                    finish()
                    continue
            if pidfd is None:
                timeout = min(timeout, 0.01)
            for key, _ev in sel.select(timeout):
                if key.data is None:
                    exited = True
                    sel.unregister(key.fd)
                    continue
                if key.data == "":  # stop: the run may end on its own for a moment, then dies
                    sel.unregister(key.fd)
                    stop_at = time.monotonic() + _STOP_GRACE
                    continue
                try:
                    chunk = os.read(key.fd, 1 << 16)
                except BlockingIOError:
                    continue
                except OSError:
                    chunk = b""
                if not chunk:
                    sel.unregister(key.fd)
                    continue
                name = key.data
                if name in over:
                    continue
                buf = bufs[name]
                room = caps[name] - len(buf)
                if len(chunk) > room:
                    buf += chunk[: max(room, 0)]
                    over.add(name)
                    raw.killed_for = raw.killed_for or "output"
                    finish()
                else:
                    buf += chunk
    finally:
        sel.close()
        if pidfd is not None:
            os.close(pidfd)
    raw.stdout = bytes(bufs.get("stdout", b""))
    raw.stderr = bytes(bufs.get("stderr", b""))
    raw.results = bytes(bufs.get("results", b""))
    raw.stdout_truncated = "stdout" in over
    raw.stderr_truncated = "stderr" in over


def _count_tasks(uid: int) -> int:
    """How many tasks (threads included) ``uid`` owns now: RLIMIT_NPROC counts them all."""
    n = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            st = os.stat(f"/proc/{entry}")
            if st.st_uid == uid:
                n += len(os.listdir(f"/proc/{entry}/task"))
        except OSError:
            continue
    return n


def _rmtree(path: str) -> None:
    """Remove a run's host directory, however deep (no recursion: one directory fd open at a
    time, names relative to it, so neither the stack nor PATH_MAX limits the depth), even where
    the program made parts of it unwritable; symlinks are removed, never followed. What cannot
    be removed (a file the kernel refuses to unlink) is left, and the walk still ends."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    try:
        cur = os.open(path, flags)
    except OSError:
        return
    names: list[str] = []  # the path from ``path`` down to ``cur``
    stuck: set[tuple[int, int]] = set()  # directories that could not be emptied
    while True:
        sub = None
        try:
            entries = os.listdir(cur)
        except OSError:
            entries = []
        for name in entries:
            try:
                st = os.stat(name, dir_fd=cur, follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(st.st_mode):
                if (st.st_dev, st.st_ino) not in stuck and sub is None:
                    sub = name
                continue
            with contextlib.suppress(OSError):
                os.unlink(name, dir_fd=cur)
        if sub is not None:
            with contextlib.suppress(OSError):
                os.chmod(sub, 0o700, dir_fd=cur)
            try:
                nxt = os.open(sub, flags, dir_fd=cur)
            except OSError:
                with contextlib.suppress(OSError):
                    st = os.stat(sub, dir_fd=cur, follow_symlinks=False)
                    stuck.add((st.st_dev, st.st_ino))
                continue
            os.close(cur)
            cur = nxt
            names.append(sub)
            continue
        if not names:
            os.close(cur)
            with contextlib.suppress(OSError):
                os.rmdir(path)
            return
        here = os.fstat(cur)
        parent = os.open("..", flags, dir_fd=cur)
        os.close(cur)
        cur = parent
        name = names.pop()
        try:
            os.rmdir(name, dir_fd=cur)
        except OSError:
            stuck.add((here.st_dev, here.st_ino))


# ------------------------------------------------------------------------ the process runner
def run_limited(
    argv: Sequence[str],
    *,
    limits: Limits | None = None,
    stdin: bytes = b"",
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
) -> RunResult:
    """Run a trusted program (a checker binary such as ``coqc``) under ``limits``, without
    isolation: the rlimits (``RLIMIT_CPU``, ``RLIMIT_AS``, ``RLIMIT_FSIZE``, ``RLIMIT_CORE=0``)
    are set in the child before it execs the program, so no instant of it runs unlimited; it
    gets its own session and process group, which is killed whole at the end, on the wall-clock
    limit and when an output stream passes ``max_output_bytes``. Untrusted code belongs in
    :class:`~spenv.verifiers.sandbox.Sandbox`, which applies the same limits inside bubblewrap.

    Never raises for what the program does; a program that cannot start is a ``sandbox_error``
    result.
    """
    if isinstance(argv, str) or not argv or not all(isinstance(a, str) for a in argv):
        raise TypeError("argv must be a non-empty sequence of str")
    lim = limits or Limits()
    cpu = max(1, math.ceil(lim.cpu_seconds))
    rlimits = [
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),
        (resource.RLIMIT_AS, (lim.memory_bytes, lim.memory_bytes)),
        (resource.RLIMIT_FSIZE, (lim.max_file_bytes, lim.max_file_bytes)),
        (resource.RLIMIT_CORE, (0, 0)),
    ]

    def limit_child() -> None:  # runs in the child between fork and exec
        for res, value in rlimits:
            resource.setrlimit(res, value)

    raw = _Raw()
    t0 = time.monotonic()
    try:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=None if env is None else dict(env),
            start_new_session=True,
            close_fds=True,
            preexec_fn=limit_child,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return RunResult("sandbox_error", None, detail=f"could not start {argv[0]!r}: {exc}")
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    feeder = threading.Thread(target=_feed, args=(proc.stdin, stdin), daemon=True)
    feeder.start()

    def kill_tree() -> None:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)

    try:
        _pump(
            proc,
            {"stdout": proc.stdout.fileno(), "stderr": proc.stderr.fileno()},
            {"stdout": lim.max_output_bytes, "stderr": lim.max_output_bytes},
            t0 + lim.wall_seconds,
            kill_tree,
            raw,
        )
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        kill_tree()
        if proc.returncode is None:
            proc.kill()
            proc.wait()
        feeder.join(1.0)
        proc.stdout.close()
        proc.stderr.close()
    code = _exit_code(status)
    cpu_used = usage.ru_utime + usage.ru_stime
    status_, limit, detail = "error", None, f"exit code {code}"
    if raw.killed_for == "wall":
        status_, limit, detail = "timeout", "wall", f"wall-clock limit of {lim.wall_seconds:g}s"
    elif raw.killed_for == "output":
        status_, limit, detail = "killed", "output", "output passed its cap"
    elif code == 0:
        status_, detail = "ok", "exit code 0"
    elif code == 128 + signal.SIGXCPU or (code == 128 + signal.SIGKILL and cpu_used >= cpu):
        status_, limit, detail = "timeout", "cpu", f"cpu time limit of {cpu}s"
    elif code == 128 + signal.SIGXFSZ:
        status_, limit, detail = "killed", "file_size", "file size limit"
    return RunResult(
        status_,
        code,
        stdout=raw.stdout.decode("utf-8", "replace"),
        stderr=raw.stderr.decode("utf-8", "replace"),
        stdout_truncated=raw.stdout_truncated,
        stderr_truncated=raw.stderr_truncated,
        wall_time=time.monotonic() - t0,
        cpu_time=cpu_used,
        limit=limit,
        detail=detail,
        backend="process",
    )


def _feed(pipe: Any, data: bytes) -> None:
    """Write the program's stdin (it may exit without reading it)."""
    with contextlib.suppress(OSError):
        pipe.write(data)
    with contextlib.suppress(OSError):
        pipe.close()
