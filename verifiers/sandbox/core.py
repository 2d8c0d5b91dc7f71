"""The :class:`Sandbox`."""

from __future__ import annotations

import contextlib
import marshal
import math
import os
import re
import secrets
import select
import signal
import socket
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from spenv.verifiers.sandbox.backends import (
    _ETC_GROUP,
    _ETC_HOSTS,
    _ETC_PASSWD,
    _bwrap_base_args,
    _docker_ping,
    _host_user,
    _memfd,
    _popen_user,
    _probe_bwrap,
    _setpriv,
    _site_dirs,
    _which_python,
)
from spenv.verifiers.sandbox.cgroups import _cg_layout, _Cgroup
from spenv.verifiers.sandbox.judges import _JudgePool
from spenv.verifiers.sandbox.limits import (
    _DRAIN_SECONDS,
    _ENV_MARK,
    _NOBODY,
    _RESULT_CAP,
    _SANDBOX_DIR,
    BACKENDS,
    LANGUAGES,
    Limits,
    RunResult,
    SandboxUnavailable,
)
from spenv.verifiers.sandbox.records import _parse_records, _Records, _tests_verdict
from spenv.verifiers.sandbox.runner import (
    _count_tasks,
    _exit_code,
    _kill_marked,
    _pump,
    _Raw,
    _rmtree,
)
from spenv.verifiers.verdict import Verdict


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


#: The bootstrap that runs inside every sandbox (a module of this package, sent as ``-c``).
_BOOT = (Path(__file__).parent / "_boot.py").read_text(encoding="utf-8")

#: The environment variable that chooses the backend of ``Sandbox(backend="auto")``.
_ENV_BACKEND = "SPENV_SANDBOX"
#: The process backend runs each program as its own host user when we are root (so that
#: ``kill(-1, ...)`` reaches nothing but that run): a uid drawn from this range.
_RUN_UIDS = (1_900_000_000, 100_000_000)

# Runs the compiled bootstrap (read with pread: one memfd, shared by concurrent runs, no offset).
_BOOT_STUB = (
    "import marshal, posix, sys\n"
    "fd, n = int(sys.argv[1]), int(sys.argv[2])\n"
    "del sys.argv[1:3]\n"
    "code = marshal.loads(posix.pread(fd, n, 0))\n"
    "posix.close(fd)\n"
    "exec(code, {'__name__': '__main__', '__builtins__': __builtins__})\n"
)
_COMPILED: dict[str, bytes | None] = {}
_COMPILED_LOCK = threading.Lock()


def _compiled_boot(python: str) -> bytes | None:
    """The bootstrap as a marshalled code object of ``python``'s own version (None if that
    interpreter cannot compile it: the source is sent then)."""
    with _COMPILED_LOCK:
        if python not in _COMPILED:
            prog = (
                "import marshal, sys\n"
                "src = sys.stdin.buffer.read().decode('utf-8')\n"
                "sys.stdout.buffer.write(marshal.dumps(compile(src, '<spenv-boot>', 'exec')))\n"
            )
            try:
                r = subprocess.run(
                    [python, "-I", "-S", "-c", prog],
                    input=_BOOT.encode("utf-8"),
                    capture_output=True,
                    timeout=60,
                    env={"PATH": "/usr/bin:/bin"},
                    check=True,
                )
                _COMPILED[python] = r.stdout or None
            except (OSError, subprocess.SubprocessError):
                _COMPILED[python] = None
        return _COMPILED[python]


_CHECK_RE = re.compile(r"^def\s+check\s*\(", re.M)
#: Per thread: (sandbox, judge pool) while run_tests_many(trusted_tests=True) runs a job there.
_THREAD = threading.local()


class Sandbox:
    """Runs untrusted programs under :class:`Limits` with one of :data:`BACKENDS`.

    ``backend="auto"`` is the backend named by the environment variable ``SPENV_SANDBOX`` when
    set (``bwrap``, ``process`` or ``docker``), else ``bwrap``; where bubblewrap cannot run it
    raises :class:`SandboxUnavailable` naming the install command, never falling back to a
    backend that does not isolate. ``process`` (no isolation) is used only when asked for, by
    argument or by ``SPENV_SANDBOX=process``, and warns when created; ``docker`` only when
    asked for. :attr:`backend` is the backend actually used; every verdict records it.
    ``python`` is the interpreter used inside bwrap and
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
        if backend == "auto" and os.environ.get(_ENV_BACKEND):
            backend = os.environ[_ENV_BACKEND]
            if backend not in BACKENDS:
                raise ValueError(
                    f"environment variable {_ENV_BACKEND} must be one of {BACKENDS}, "
                    f"got {backend!r}"
                )
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
        # The bootstrap compiled once by the sandbox's interpreter, in a memfd every run reads
        # at offset 0 (compiling its source costs each run more than starting the interpreter).
        self._boot_code: tuple[int, int] | None = None
        if self.backend != "docker":
            code = _compiled_boot(self.python)
            if code is not None:
                self._boot_code = (_memfd("spenv-boot", code), len(code))
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
            raise SandboxUnavailable(
                f"no isolating sandbox backend: {why}. Install bubblewrap (apt-get install "
                "bubblewrap), or opt in to running untrusted code without isolation with "
                "backend='process' or the environment variable SPENV_SANDBOX=process"
            )
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
        setup: str | None = None,
        repeat: int = 1,
    ) -> Verdict:
        """Run ``solution`` (full source: for HumanEval, the prompt plus the completion) against
        ``tests`` and return a :class:`Verdict` with score = fraction of tests passed.

        The solution and the tests run in two separate sandboxes (see the package docstring):
        the tests call the solution's top-level functions through proxies that send each call's
        arguments to the solution's process and get its result back as plain data. ``setup``
        is trusted code run beside the tests before them (HumanEval's prompt: the helpers its
        tests call); the names it defines are never taken from the solution, except
        ``entry_point``. ``repeat`` > 1 runs each test that many times (each from the same
        random state): it passes only if every run passes, and a test that passes some runs
        and fails others is marked ``"unstable": True`` in ``data["tests"]`` (a test's chance
        outcome, from a clock say, is then never taken for a catch).

        ``tests`` is either a string defining ``check(candidate)`` (HumanEval style: run with
        ``check(<entry_point>)``, one test), a list of test snippets (typically assert statements,
        each reported separately, run in order in one namespace), or any other string
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
        if isinstance(repeat, bool) or not isinstance(repeat, int) or not 1 <= repeat <= 100:
            raise ValueError(f"repeat must be an integer from 1 to 100, got {repeat!r}")
        if setup is not None and not isinstance(setup, str):
            raise TypeError(f"setup must be a str or None, got {type(setup).__name__}")
        judge = {
            "mode": mode,
            "tests": test_payload,
            "entry_point": entry_point,
            "per_test_timeout": per_test_timeout,
            "setup": setup or "",
            "repeat": repeat,
            "files": [],
        }
        served = {"mode": "serve", "solution": solution, "per_test_timeout": per_test_timeout}
        served["files"] = []
        current = getattr(_THREAD, "judges", None)
        judges: _JudgePool | None = current[1] if current and current[0] is self else None
        if judges is None:
            raw, nonce, sol_raw, sol_nonce = self._execute_tests(judge, served, lim)
        else:
            raw, nonce, sol_raw, sol_nonce = judges.run(judge, served, lim)
        records = _parse_records(raw.results, nonce)
        run = self._classify(raw, records, lim)
        sol_records = _parse_records(sol_raw.results, sol_nonce)
        sol_run = self._classify(sol_raw, sol_records, lim)
        return _tests_verdict(run, records, n_expected, sol_run, sol_records)

    def run_many(
        self, programs: Iterable[str | Mapping[str, Any]], *, workers: int | None = None
    ) -> list[RunResult]:
        """:meth:`run` over many programs concurrently (each item a program string or a dict of
        :meth:`run` keyword arguments including ``program``); results in input order."""
        jobs = [p if isinstance(p, Mapping) else {"program": p} for p in programs]
        return self._map(lambda kw: self.run(**kw), jobs, workers)

    def run_tests_many(
        self,
        jobs: Iterable[Mapping[str, Any]],
        *,
        workers: int | None = None,
        trusted_tests: bool = False,
    ) -> list[Verdict]:
        """:meth:`run_tests` over many jobs concurrently (each a dict of its keyword arguments:
        ``solution``, ``tests``, ``entry_point``, ...); verdicts in input order.

        ``trusted_tests=True`` says every job's tests (and ``setup``) are trusted reference
        tests (HumanEval's ``check``, MBPP's asserts), never tests an agent wrote: each worker
        then judges its jobs in one long-lived judge sandbox, started once, instead of a fresh
        judge sandbox per job. Every solution still runs in a fresh sandbox of its own, and the
        judge still never runs it: the judge gets each job's tests and the ends of that
        solution's call channel, runs the tests in a fresh namespace and reports them. A judge
        that dies or runs past a job's time limit fails that job and is replaced. The judges
        end before this returns."""
        jobs = list(jobs)
        if not trusted_tests:
            return self._map(lambda kw: self.run_tests(**kw), jobs, workers)
        if self.backend == "docker":
            self._execute_tests({}, {}, self.limits)  # raises: docker has no call channel
        pool = _JudgePool(self)

        def one(kw: Mapping[str, Any]) -> Verdict:
            _THREAD.judges = (self, pool)  # this thread's run_tests judges in the pool's judges
            try:
                return self.run_tests(**kw)
            finally:
                _THREAD.judges = None

        try:
            return self._map(one, jobs, workers)
        finally:
            pool.close()

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

    def _execute(
        self,
        payload: dict[str, Any],
        stdin: bytes,
        lim: Limits,
        channel: tuple[int, int] | None = None,
        stop_fd: int | None = None,
        judge: bool = False,
        hooks: dict[str, Any] | None = None,
    ) -> tuple[_Raw, str]:
        nonce = secrets.token_hex(16)
        payload["nonce"] = nonce
        data = marshal.dumps(payload, 2)  # version 2: readable by any Python 3
        if self.backend == "docker":
            return self._execute_docker(data, stdin, lim, nonce), nonce
        return self._execute_local(data, stdin, lim, channel, stop_fd, judge, hooks), nonce

    def _execute_tests(self, judge: dict[str, Any], solution: dict[str, Any], lim: Limits) -> Any:
        """Run the solution's server and the judge in two sandboxes joined by a call channel;
        returns (judge raw, judge nonce, solution raw, solution nonce)."""
        if self.backend == "docker":
            raise SandboxUnavailable(
                "run_tests needs two sandboxes joined by pipes, which the docker backend does not "
                "provide; use the bwrap backend"
            )
        to_sol_r, to_sol_w = os.pipe()
        to_judge_r, to_judge_w = os.pipe()
        stop_r, stop_w = os.pipe()
        out: dict[str, Any] = {}

        def serve() -> None:
            try:
                out["solution"] = self._execute(
                    solution, b"", lim, channel=(to_sol_r, to_judge_w), stop_fd=stop_r
                )
            except BaseException as exc:  # reported through the judge's view of the channel
                out["error"] = exc

        worker = threading.Thread(target=serve, name="spenv-solution", daemon=True)
        try:
            worker.start()
            judged = self._execute(judge, b"", lim, channel=(to_judge_r, to_sol_w), judge=True)
        finally:
            with contextlib.suppress(OSError):
                os.write(stop_w, b"x")  # the judge is done: end the solution's run
            worker.join()
            for fd in (stop_r, stop_w):
                os.close(fd)
        if "error" in out:
            raise out["error"]
        return (*judged, *out["solution"])

    def _execute_local(
        self,
        data: bytes,
        stdin: bytes,
        lim: Limits,
        channel: tuple[int, int] | None = None,
        stop_fd: int | None = None,
        judge: bool = False,
        hooks: dict[str, Any] | None = None,
    ) -> _Raw:
        """One run. ``channel``: two fds (the child reads the first, writes the second) passed
        into the sandbox and closed here once it started; ``stop_fd``: readable when the caller
        wants the run ended; ``hooks``: given, ``hooks["kill"]`` is set, once the run started,
        to a function that kills its whole tree at once."""
        raw = _Raw()
        chan_fds = list(channel or ())
        # The judge reads PYTHONHASHSEED=0 (set in every sandbox's environment): str hashes, and
        # so set orders, are the same in every run of the same tests. Everything else runs -I.
        flags = ["-s", "-S"] if judge else ["-I", "-S"]
        bwrap = self.backend == "bwrap"
        cg: _Cgroup | None = None
        tmpdir: str | None = None
        fds: list[int] = []
        proc: subprocess.Popen | None = None
        mark = f"{_ENV_MARK}={secrets.token_hex(8)}"
        user = self._user
        if not bwrap and user is not None:
            user = (_RUN_UIDS[0] + secrets.randbelow(_RUN_UIDS[1]), _NOBODY)
        t0 = time.monotonic()
        try:
            if self._cg_layout is not None:
                try:
                    cg = _Cgroup(
                        self._cg_layout,
                        lim,
                        extra_tasks=2 if bwrap else 0,
                        owner=None if user is None else user[0],
                    )
                except OSError as exc:
                    raw.spawn_error = f"could not create the run's cgroup: {exc}"
                    return raw
            payload_fd = _memfd("spenv-payload", data)
            stdin_fd = _memfd("spenv-stdin", stdin)
            res_r, res_w = os.pipe()
            fds += [payload_fd, stdin_fd, res_r, res_w]
            pass_fds = [payload_fd, res_w]
            if self._boot_code is not None:
                pass_fds.append(self._boot_code[0])
            if bwrap:
                nproc = lim.max_processes + 1  # per user namespace: this run, plus its init
            elif cg is None:
                # Counted per host user: allow for what that user already runs.
                uid = user[0] if user is not None else os.getuid()
                nproc = lim.max_processes + _count_tasks(uid)
            else:
                nproc = None  # the cgroup counts; RLIMIT_NPROC would count unrelated processes
            # bwrap runs the bootstrap as the pid namespace's init (--as-pid-1): it forks the
            # program and reaps; the process backend runs the program in the bootstrap itself.
            init = "1" if bwrap else "0"
            fdspec = f"{payload_fd},{res_w},-1,{init}"
            if channel is not None:
                fdspec += f",{channel[0]},{channel[1]}"
                pass_fds += chan_fds
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
                argv += ["--chdir", _SANDBOX_DIR, self.python, *flags, *self._boot_args(), *cfg]
                env = {"PATH": "/usr/bin:/bin"}
                cwd = None
            else:
                tmpdir = tempfile.mkdtemp(prefix=f"spenv-sandbox-{os.getpid()}-")
                if user is not None:
                    os.chown(tmpdir, *user)
                argv = [self.python, *flags, *self._boot_args(), *cfg]
                env = {
                    "PATH": "/usr/local/bin:/usr/bin:/bin",
                    "HOME": tmpdir,
                    "TMPDIR": tmpdir,
                    "LANG": "C.UTF-8",
                    "PYTHONDONTWRITEBYTECODE": "1",
                    "PYTHONHASHSEED": "0",
                    _ENV_MARK: mark.split("=", 1)[1],
                }
                cwd = tmpdir
            popen_user = _popen_user(user)
            setpriv = _setpriv()
            if user is not None and setpriv:
                # Drop to the unprivileged host user with setpriv rather than Popen(user=...):
                # measured ~10 ms faster per run before bwrap here.
                drop = [setpriv, f"--reuid={user[0]}", f"--regid={user[1]}"]
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
            for fd in (res_w, payload_fd, stdin_fd, *fds[4:], *chan_fds):
                os.close(fd)
            fds, chan_fds = [res_r], []
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

            if hooks is not None:
                hooks["kill"] = kill_tree
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
                stop_fd,
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
            for fd in (*fds, *chan_fds):
                with contextlib.suppress(OSError):
                    os.close(fd)
            if cg is not None:
                cg.remove()
            if tmpdir is not None:
                _rmtree(tmpdir)
            if not raw.wall:
                raw.wall = time.monotonic() - t0

    def _boot_args(self) -> list[str]:
        """``-c`` and what runs the bootstrap: a stub that loads its compiled code from the
        shared memfd (fd and size follow), or its source where it could not be compiled."""
        if self._boot_code is None:
            return ["-c", _BOOT]
        fd, size = self._boot_code
        return ["-c", _BOOT_STUB, str(fd), str(size)]

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
        if raw.killed_for == "stopped":
            return result("ok", None, "ended by the host once the tests were done")
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


# -------------------------------------------------------------------------------- helpers
_DEFAULT: dict[str, Sandbox] = {}
_DEFAULT_LOCK = threading.Lock()


def _default_sandbox() -> Sandbox:
    with _DEFAULT_LOCK:
        if "sb" not in _DEFAULT:
            _DEFAULT["sb"] = Sandbox()
        return _DEFAULT["sb"]


def _humaneval_job(problem: Mapping[str, Any], completion: str, timeout: float) -> dict[str, Any]:
    for key in ("prompt", "test", "entry_point"):
        if key not in problem:
            raise ValueError(f"problem has no {key!r} field (a HumanEval problem record needed)")
    if not isinstance(completion, str):
        raise TypeError(f"completion must be a str, got {type(completion).__name__}")
    return {
        "solution": problem["prompt"] + completion,
        "tests": problem["test"],
        "entry_point": problem["entry_point"],
        "timeout": timeout,
        "setup": problem["prompt"],
    }


def check_humaneval(
    problem: Mapping[str, Any],
    completion: str,
    *,
    sandbox: Sandbox | None = None,
    timeout: float = 10.0,
) -> Verdict:
    """Grade a HumanEval completion (the function body that follows ``problem["prompt"]``) in
    the sandbox: prompt + completion is the solution; ``check(entry_point)`` runs in the judge's
    sandbox beside the prompt (whose helpers the tests call), with the entry point a proxy."""
    job = _humaneval_job(problem, completion, timeout)
    return (sandbox or _default_sandbox()).run_tests(**job)


def check_humaneval_many(
    problems: Sequence[Mapping[str, Any]],
    completions: Sequence[str],
    *,
    sandbox: Sandbox | None = None,
    timeout: float = 10.0,
    workers: int | None = None,
) -> list[Verdict]:
    """:func:`check_humaneval` for each (problem, completion) pair, ``workers`` at a time
    (default: the sandbox's ``workers``); verdicts in input order. HumanEval's tests are
    trusted, so each worker judges its problems in one long-lived judge sandbox
    (:meth:`Sandbox.run_tests_many` with ``trusted_tests=True``); every completion still runs
    in a fresh sandbox of its own."""
    if isinstance(completions, str) or len(problems) != len(completions):
        raise ValueError("give one completion (a str) per problem")
    jobs = [_humaneval_job(p, c, timeout) for p, c in zip(problems, completions, strict=True)]
    sb = sandbox or _default_sandbox()
    return sb.run_tests_many(jobs, workers=workers, trusted_tests=True)
