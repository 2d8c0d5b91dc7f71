"""The code sandbox: results, limits, isolation, and hostile programs.

Every hostile case runs inside the sandbox with its limits already proven by a bounded test in
the same test function (a few processes before a fork bomb, a small allocation before a memory
bomb), and every program that could do harm checks first that it is sandboxed and refuses to
run otherwise. After each test no process carrying the test's marker, no cgroup and no temp
directory of this process is left behind.

bwrap tests carry ``@pytest.mark.backend("bwrap")`` (CI installs bubblewrap); the process
backend runs where it makes sense (it does not isolate the file system or the network); the
docker backend runs against a fake engine everywhere and against a real one where it answers.
"""

from __future__ import annotations

import ast
import contextlib
import errno
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from typing import Any

import pytest

from spenv.verifiers import Verdict
from spenv.verifiers.sandbox import (
    Limits,
    RunResult,
    Sandbox,
    SandboxUnavailable,
    bwrap_available,
    docker_available,
    run_limited,
)
from spenv.verifiers.sandbox import backends as sandbox_mod
from spenv.verifiers.sandbox import cgroups as sandbox_cg

BWRAP = pytest.mark.backend("bwrap")
SMALL = Limits(
    cpu_seconds=3,
    wall_seconds=6,
    memory_bytes=256 << 20,
    max_processes=16,
    max_file_bytes=1 << 20,
    max_output_bytes=64 << 10,
    tmp_bytes=16 << 20,
)


def _make(backend: str, **kw: Any) -> Sandbox:
    if backend == "bwrap" and not bwrap_available():
        pytest.skip("bubblewrap (bwrap) is not installed or cannot create namespaces here")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the process backend's warning
        return Sandbox(backend, limits=kw.pop("limits", SMALL), **kw)


@pytest.fixture(scope="module")
def bw() -> Sandbox:
    return _make("bwrap")


@pytest.fixture(scope="module")
def proc_sb() -> Sandbox:
    return _make("process")


BACKENDS = [pytest.param("bwrap", marks=BWRAP), "process"]


@pytest.fixture(params=BACKENDS)
def sb(request: pytest.FixtureRequest) -> Sandbox:
    return request.getfixturevalue("bw" if request.param == "bwrap" else "proc_sb")


def _procs_with(marker: str) -> list[int]:
    """Pids whose command line contains ``marker`` (psutil-free: /proc)."""
    needle = marker.encode()
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if needle in f.read():
                    out.append(int(entry))
        except OSError:
            continue
    return out


def _descendants() -> set[int]:
    """The processes descended from this one (the sandboxes it started and theirs)."""
    parent: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses
        parent[int(entry)] = int(stat[stat.rindex(b")") + 2 :].split()[1])
    out: set[int] = set()
    frontier = {os.getpid()}
    while frontier:
        frontier = {p for p, pp in parent.items() if pp in frontier and p not in out}
        out |= frontier
    return out


def _our_cgroups() -> list[str]:
    found = []
    prefix = f"spenv-{os.getpid()}-"
    for ctrl in ("pids", "memory", "cpuacct", ""):
        own = sandbox_cg._own_cgroups().get(ctrl)
        if own is None:
            continue
        parent = f"/sys/fs/cgroup/{ctrl}{own}".replace("//", "/").rstrip("/")
        try:
            found += [n for n in os.listdir(parent) if n.startswith(prefix)]
        except OSError:
            continue
    return found


def _tmp_dirs() -> set[str]:
    import tempfile

    base = tempfile.gettempdir()
    return {n for n in os.listdir(base) if n.startswith(f"spenv-sandbox-{os.getpid()}-")}


@pytest.fixture
def marker() -> str:
    return f"spenvmark{secrets.token_hex(6)}"


@pytest.fixture(autouse=True)
def no_leftovers(marker: str) -> Any:
    before = _tmp_dirs()
    yield
    deadline = time.monotonic() + 2
    while _procs_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _procs_with(marker) == [], "a sandboxed process outlived its run"
    assert _our_cgroups() == [], "a per-run cgroup was left behind"
    assert _tmp_dirs() - before == set(), "a run's temp directory was left behind"


# ------------------------------------------------------------------------- plain behaviour
def test_run_ok_with_stdin_files_and_args(sb: Sandbox) -> None:
    prog = (
        "import sys\n"
        "data = open('data/in.txt').read() + open('blob.bin', 'rb').read().hex()\n"
        "print(sys.stdin.read().upper(), data, sys.argv[1:])\n"
        "print('warn', file=sys.stderr)\n"
    )
    r = sb.run(
        prog,
        stdin="hello",
        files={"data/in.txt": "abc", "blob.bin": b"\x00\xff"},
        args=["-x", "y"],
    )
    assert r.status == "ok" and r.exit_code == 0 and r.limit is None
    assert r.stdout == "HELLO abc00ff ['-x', 'y']\n"
    assert r.stderr == "warn\n"
    assert not r.stdout_truncated and not r.stderr_truncated
    assert r.backend == sb.backend and r.wall_time > 0
    v = r.verdict()
    assert isinstance(v, Verdict) and v.status == "ok" and v.score == 1.0
    assert v.data["backend"] == sb.backend  # every verdict names the backend it ran on


def test_local_modules_and_exit_builtin(sb: Sandbox) -> None:
    r = sb.run("import helper\nprint(helper.X)\nexit(4)\n", files={"helper.py": "X = 41 + 1\n"})
    assert (r.status, r.exit_code, r.stdout) == ("error", 4, "42\n")


def test_failures_are_errors_with_tracebacks(sb: Sandbox) -> None:
    r = sb.run("def f():\n    raise ValueError('boom')\nf()\n")
    assert r.status == "error" and r.exit_code == 1
    assert "ValueError: boom" in r.stderr and 'File "main.py", line 2' in r.stderr
    assert "_spenv" not in r.stderr  # the bootstrap's frames are not shown
    v = r.verdict()
    assert v.status == "wrong" and v.score == 0.0 and "ValueError: boom" in v.detail

    r = sb.run("x = (\n")
    assert r.status == "error" and "SyntaxError" in r.stderr

    r = sb.run("import sys; sys.exit(7)")
    assert (r.status, r.exit_code) == ("error", 7)


def test_shell_programs(sb: Sandbox) -> None:
    r = sb.run("read x; echo got $x; echo oops >&2; exit 3", language="sh", stdin="7\n")
    assert (r.status, r.exit_code, r.stdout, r.stderr) == ("error", 3, "got 7\n", "oops\n")


def test_signal_exit_codes_follow_the_shell_convention(sb: Sandbox) -> None:
    r = sb.run("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)")
    assert r.status == "error" and r.exit_code == 128 + signal.SIGSEGV


def test_bad_input_is_rejected_clearly(bw: Sandbox) -> None:
    with pytest.raises(TypeError, match="program"):
        bw.run(b"print(1)")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="language"):
        bw.run("1", language="ruby")
    with pytest.raises(ValueError, match="relative path"):
        bw.run("1", files={"../x": "a"})
    with pytest.raises(ValueError, match="relative path"):
        bw.run("1", files={"/etc/x": "a"})
    with pytest.raises(ValueError, match="max_file_bytes"):
        bw.run("1", files={"big": b"x" * (SMALL.max_file_bytes + 1)})
    with pytest.raises(ValueError, match=r"main\.py"):
        bw.run("1", files={"main.py": "a"})
    with pytest.raises(ValueError, match="entry_point"):
        bw.run_tests("def f(): pass", "def check(c):\n    assert c()\n")
    with pytest.raises(ValueError, match="empty"):
        bw.run_tests("def f(): pass", [])
    with pytest.raises(TypeError, match="tests"):
        bw.run_tests("def f(): pass", 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="backend"):
        Sandbox("vm")
    with pytest.raises(ValueError, match="cpu_seconds"):
        Limits(cpu_seconds=0)
    with pytest.raises(TypeError, match="wall_seconds"):
        Limits(wall_seconds="1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="memory_bytes"):
        Limits(memory_bytes=1 << 20)
    with pytest.raises(ValueError, match="run status"):
        RunResult(status="fine", exit_code=0)


def test_process_backend_warns_that_it_does_not_isolate() -> None:
    with pytest.warns(RuntimeWarning, match="does NOT isolate"):
        Sandbox("process")


@BWRAP
def test_explicit_backend_that_cannot_run_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox_mod, "_BWRAP_PROBE", {})
    monkeypatch.setattr(sandbox_mod, "_BWRAP", "/nonexistent/bwrap")
    monkeypatch.setattr(sandbox_mod.shutil, "which", lambda *a, **k: None)
    with pytest.raises(SandboxUnavailable, match="not installed"):
        Sandbox("bwrap")
    # auto never falls back to a backend that does not isolate: a clear error instead ...
    monkeypatch.delenv("SPENV_SANDBOX", raising=False)
    with pytest.raises(SandboxUnavailable, match="apt-get install bubblewrap"):
        Sandbox("auto")
    # ... unless the user opts in, by argument or environment variable.
    monkeypatch.setenv("SPENV_SANDBOX", "process")
    with pytest.warns(RuntimeWarning, match="does NOT isolate"):
        assert Sandbox("auto").backend == "process"
    monkeypatch.setenv("SPENV_SANDBOX", "chroot")
    with pytest.raises(ValueError, match="SPENV_SANDBOX"):
        Sandbox("auto")


def test_unprivileged_user_without_setpriv(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Popen(user=...) path that drops to nobody where setpriv is missing."""
    if os.geteuid() != 0:
        pytest.skip("only root drops to nobody")
    monkeypatch.setitem(sandbox_mod._CG_STATE, "setpriv", None)
    r = sb.run("import os; print(os.getuid(), os.getgid(), os.getgroups())")
    assert r.status == "ok", r
    uid, gid = map(int, r.stdout.split()[:2])
    assert gid == 65534
    if sb.backend == "bwrap":
        assert uid == 65534
    else:  # each process-backend run is its own host user: kill(-1) reaches only that run
        assert 1_900_000_000 <= uid < 2_000_000_000


def test_run_many_keeps_order(sb: Sandbox) -> None:
    progs = [f"print({i} * 2)" for i in range(6)] + [{"program": "print(input())", "stdin": "x"}]
    out = sb.run_many(progs, workers=3)
    assert [r.stdout for r in out] == [f"{i * 2}\n" for i in range(6)] + ["x\n"]


# ----------------------------------------------------------------------------- network
@BWRAP
def test_no_network(bw: Sandbox) -> None:
    # A listener on the host's loopback: the sandbox must not reach it (it has its own).
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.setblocking(False)
    port = srv.getsockname()[1]
    prog = f"""
import socket, time
out = []
for addr in [("127.0.0.1", {port}), ("1.1.1.1", 80), ("8.8.8.8", 53)]:
    s = socket.socket()
    s.settimeout(3)
    t = time.monotonic()
    try:
        s.connect(addr)
        out.append("CONNECTED")
    except OSError as e:
        out.append((e.errno, round(time.monotonic() - t, 2)))
try:
    socket.getaddrinfo("example.com", 80)
    out.append("RESOLVED")
except OSError:
    out.append("noresolve")
ifaces = [n for _, n in socket.if_nameindex()]
print(repr((out, ifaces)))
"""
    try:
        r = bw.run(prog)
        with pytest.raises(BlockingIOError):
            srv.accept()  # nothing reached the host's listener
    finally:
        srv.close()
    assert r.status == "ok", r.stderr
    assert "CONNECTED" not in r.stdout and "RESOLVED" not in r.stdout
    results, ifaces = ast.literal_eval(r.stdout)
    assert results[0][0] == errno.ECONNREFUSED
    assert results[1][0] == errno.ENETUNREACH and results[2][0] == errno.ENETUNREACH
    assert all(secs < 1.0 for _code, secs in results[:3])  # fails at once, no timeout
    assert ifaces == ["lo"]


# ------------------------------------------------------------------------- file system
@BWRAP
def test_writes_outside_the_work_dir_fail(bw: Sandbox, marker: str) -> None:
    host_tmp = f"/tmp/{marker}"
    prog = f"""
import os
res = {{}}
for p in ["/{marker}", "/usr/{marker}", "/etc/{marker}", "/dev/{marker}", "../{marker}"]:
    try:
        open(p, "w").write("x")
        res[p] = "WROTE"
    except OSError as e:
        res[p] = e.errno
open("{host_tmp}", "w").write("only in the sandbox's /tmp")
open("here.txt", "w").write("ok")
# Host-wide sysctls and the kernel's core handler must not be writable (checked, not written).
for p in ["/proc/sys/kernel/core_pattern", "/proc/sys/vm/drop_caches", "/proc/sysrq-trigger"]:
    res[p] = os.access(p, os.W_OK)
print(res)
"""
    r = bw.run(prog)
    assert r.status == "ok", r.stderr
    res = ast.literal_eval(r.stdout)
    assert "WROTE" not in res.values(), res
    assert not any(v is True for v in res.values()), res
    assert not os.path.exists(host_tmp) and not os.path.exists(f"/{marker}")


@BWRAP
def test_host_files_and_environment_are_invisible(
    bw: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = f"s3cr3t{secrets.token_hex(8)}"
    monkeypatch.setenv("SPENV_TEST_SECRET", secret)
    prog = f"""
import os
seen = {{}}
for p in ["/work/main/pyproject.toml", "/root", "/home", "/etc/shadow", "/work", "/old_root",
          "{os.path.abspath(__file__)}"]:
    try:
        seen[p] = os.listdir(p) if os.path.isdir(p) else open(p).read()[:20]
    except OSError as e:
        seen[p] = e.errno
leak = "{secret}" in repr(dict(os.environ))
for pid in os.listdir("/proc"):
    if pid.isdigit():
        for what in ("environ", "cmdline"):
            try:
                leak = leak or b"{secret}" in open(f"/proc/{{pid}}/{{what}}", "rb").read()
            except OSError:
                pass
print(repr((seen, leak, open("/etc/passwd").read().count("root"), sorted(os.listdir("/")))))
"""
    r = bw.run(prog)
    assert r.status == "ok", r.stderr
    seen, leak, root_lines, top = ast.literal_eval(r.stdout)
    assert leak is False
    assert all(v == errno.ENOENT for v in seen.values()), seen
    assert root_lines == 0  # a synthetic /etc/passwd, not the host's
    assert "work" not in top and "root" not in top and "home" not in top


def test_process_backend_hides_the_environment(
    proc_sb: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = f"s3cr3t{secrets.token_hex(8)}"
    monkeypatch.setenv("SPENV_TEST_SECRET", secret)
    r = proc_sb.run(
        f"import os\nprint('{secret}' in repr(dict(os.environ)))\n"
        f"try:\n    print(b'{secret}' in open('/proc/{os.getpid()}/environ', 'rb').read())\n"
        "except OSError:\n    print('unreadable')\n"
    )
    assert r.status == "ok" and r.stdout.split()[0] == "False"
    if os.geteuid() == 0:  # the program runs as nobody: root's /proc entries are closed to it
        assert r.stdout.split()[1] == "unreadable"


@BWRAP
def test_temp_space_is_bounded(bw: Sandbox) -> None:
    lim = SMALL.replace(max_file_bytes=64 << 20, tmp_bytes=8 << 20)
    r = bw.run("open('f', 'wb').write(b'x' * (4 << 20)); print('small ok')", limits=lim)
    assert r.status == "ok" and r.stdout == "small ok\n"
    r = bw.run("open('f', 'wb').write(b'x' * (32 << 20))", limits=lim)
    assert (r.status, r.limit) == ("killed", "disk"), r
    r = bw.run("open('/tmp/f', 'wb').write(b'x' * (32 << 20))", limits=lim)
    assert (r.status, r.limit) == ("killed", "disk"), r


def test_file_size_limit(sb: Sandbox) -> None:
    r = sb.run("open('f', 'wb').write(b'x' * (SMALL_OK))".replace("SMALL_OK", str(512 << 10)))
    assert r.status == "ok"
    r = sb.run("open('f', 'wb').write(b'x' * (4 << 20))")
    assert (r.status, r.limit) == ("killed", "file_size"), r
    r = sb.run("head -c 4000000 /dev/zero > f", language="sh")
    assert (r.status, r.limit) == ("killed", "file_size"), r


# ------------------------------------------------------------------------ time & output
def test_infinite_loop_hits_the_cpu_limit(sb: Sandbox) -> None:
    r = sb.run("while True:\n    pass\n", limits=SMALL.replace(cpu_seconds=1, wall_seconds=10))
    assert (r.status, r.limit) == ("timeout", "cpu"), r
    assert r.wall_time < 8
    assert r.verdict().status == "timeout"


def test_sleeping_forever_hits_the_wall_limit(sb: Sandbox) -> None:
    t0 = time.monotonic()
    r = sb.run("import time\ntime.sleep(60)\n", limits=SMALL.replace(wall_seconds=1))
    assert (r.status, r.limit) == ("timeout", "wall")
    assert 0.9 < r.wall_time < 3 and time.monotonic() - t0 < 4


def test_gigabytes_of_output_are_capped_and_killed(sb: Sandbox) -> None:
    cap = SMALL.max_output_bytes
    t0 = time.monotonic()
    r = sb.run("import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n")
    assert (r.status, r.limit) == ("killed", "output")
    assert r.stdout_truncated and len(r.stdout) == cap and not r.stderr_truncated
    r2 = sb.run("yes spam >&2", language="sh")
    assert (r2.status, r2.limit) == ("killed", "output") and r2.stderr_truncated
    assert len(r2.stderr) == cap
    assert time.monotonic() - t0 < 5  # killed at the cap, not at the wall limit


def test_output_within_the_cap_is_kept_whole(sb: Sandbox) -> None:
    r = sb.run("print('y' * 60000)")
    assert r.status == "ok" and len(r.stdout) == 60001 and not r.stdout_truncated


# ------------------------------------------------------------------------------ processes
_GUARD = """
import os, resource, sys
def _in_sandbox():
    soft = resource.getrlimit(resource.RLIMIT_NPROC)[0]
    try:
        in_cgroup = "spenv-" in open("/proc/self/cgroup").read()
    except OSError:
        in_cgroup = False
    return in_cgroup or os.getpid() < 100 or soft != resource.RLIM_INFINITY
if not _in_sandbox():
    print("REFUSING: not sandboxed")
    sys.exit(99)
"""


def _spawn_n(n: int) -> str:
    return (
        _GUARD
        + f"""
import time
pids, fails = [], 0
for i in range({n}):
    try:
        pid = os.fork()
    except OSError:
        fails += 1
        continue
    if pid == 0:
        time.sleep(0.3)
        os._exit(0)
    pids.append(pid)
for p in pids:
    os.waitpid(p, 0)
print(len(pids), fails)
"""
    )


def test_fork_bomb_is_contained(sb: Sandbox) -> None:
    lim = SMALL.replace(max_processes=10, wall_seconds=1.5, cpu_seconds=3)
    # Children this test process already had (worker pools other tests started) are not the
    # sandbox's: only processes that appear from here on are counted.
    before = _descendants()
    # Bounded first: 30 forks with room for 10 tasks must mostly fail.
    r = sb.run(_spawn_n(30), limits=lim)
    assert r.status == "ok", r
    made, failed = map(int, r.stdout.split())
    assert made <= 9 and failed >= 21 and made + failed == 30
    # The real thing, only now that the cap is proven.
    assert _descendants() - before == set()
    bomb = "while True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    seen: list[int] = []
    stop = threading.Event()

    def watch() -> None:  # the bomb's own processes while it runs (our descendants only)
        while not stop.is_set():
            seen.append(len(_descendants() - before))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        r = sb.run(_GUARD + bomb, limits=lim)
    finally:
        stop.set()
        watcher.join()
    assert (r.status, r.limit) == ("timeout", "wall"), r
    # The cap held while it ran (the run's tasks plus the sandbox's own: setpriv/sh, bwrap, its
    # init), and nothing of it is left: counted among this process's descendants, never the
    # whole machine's processes (others run here too).
    assert seen and max(seen) <= lim.max_processes + 4, max(seen)
    assert _descendants() - before == set()


@BWRAP
def test_bwrap_bounds_processes_without_cgroups_too() -> None:
    """RLIMIT_NPROC alone, counted in the run's own user namespace (bounded test only)."""
    sb = _make("bwrap", cgroups=False, limits=SMALL.replace(max_processes=10))
    assert not sb.cgroups
    r = sb.run(_spawn_n(30))
    assert r.status == "ok", r
    assert list(map(int, r.stdout.split())) == [9, 21]
    r = sb.run("while True:\n    pass\n", limits=SMALL.replace(cpu_seconds=1))
    assert (r.status, r.limit) == ("timeout", "cpu") and r.cpu_time is not None
    assert r.cpu_time >= 0.9


def test_memory_bomb_is_contained(sb: Sandbox) -> None:
    r = sb.run("x = b'1' * (64 << 20); print(len(x))")  # well under the 256 MB cap
    assert r.status == "ok" and r.stdout == f"{64 << 20}\n"
    r = sb.run("x = bytearray(512 << 20)")
    assert (r.status, r.limit) == ("killed", "memory"), r
    r = sb.run("blocks = []\nwhile True:\n    blocks.append(b'1' * (16 << 20))\n")
    assert (r.status, r.limit) == ("killed", "memory"), r
    assert r.verdict().status == "wrong"


def test_many_processes_share_one_memory_budget(sb: Sandbox) -> None:
    """Each process stays under its address-space cap; together they pass the cgroup's total
    (memory_bytes + tmp_bytes) and the kernel kills some of them."""
    if not sb.cgroups:
        pytest.skip("no writable cgroup hierarchy here: only per-process caps apply")
    prog = (
        _GUARD
        + """
import time
kids = []
for i in range(4):
    pid = os.fork()
    if pid == 0:
        block = b"1" * (200 << 20)
        time.sleep(0.5)
        os._exit(0)
    kids.append(pid)
bad = [os.waitpid(p, 0)[1] for p in kids]
sys.exit(1 if any(bad) else 0)
"""
    )
    r = sb.run(prog, limits=SMALL.replace(wall_seconds=10, max_processes=8))
    assert (r.status, r.limit) == ("killed", "memory"), r


def test_children_that_outlive_the_program_are_killed(sb: Sandbox, marker: str) -> None:
    prog = (
        _GUARD
        + f"""
import signal, subprocess, time
child = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
# 1) a plain child that ignores SIGTERM
subprocess.Popen([sys.executable, "-c", child, "{marker}-a"])
# 2) a double-forked daemon in its own session
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", child, "{marker}-b"])
    os._exit(0)
time.sleep(0.3)
print("spawned")
"""
    )
    r = sb.run(prog)
    assert r.status == "ok" and r.stdout == "spawned\n", r
    assert _procs_with(marker) == []  # gone by the time run() returns
    # The same when the parent is the one that times out.
    r = sb.run(prog + "time.sleep(60)\n", limits=SMALL.replace(wall_seconds=1))
    assert (r.status, r.limit) == ("timeout", "wall")
    assert _procs_with(marker) == []


def test_daemons_are_killed_without_cgroups_too(marker: str) -> None:
    """The process backend's fallback when no cgroup can be made: the run's environment mark."""
    sb = _make("process", cgroups=False)
    prog = (
        _GUARD
        + f"""
import time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv("/bin/sleep", ["sleep", "60", "{marker}"])
    os._exit(0)
time.sleep(0.3)
"""
    )
    r = sb.run(prog)
    assert r.status == "ok", r
    assert _procs_with(marker) == []


@BWRAP
def test_signal_tricks_stay_inside(bw: Sandbox, marker: str) -> None:
    # A canary owned by the same host user the sandbox runs as: kill(-1) inside must miss it.
    user = sandbox_mod._popen_user(sandbox_mod._host_user())
    canary = subprocess.Popen(["/bin/sleep", "30"], **user)
    try:
        prog = (
            _GUARD
            + """
import fcntl, signal, termios
assert os.getpid() < 10 and len([p for p in os.listdir("/proc") if p.isdigit()]) < 10
try:
    open("/dev/tty")
    print("TTY")
except OSError:
    print("no tty")
try:
    fcntl.ioctl(0, termios.TIOCSTI, b"x")
    print("TIOCSTI")
except OSError:
    print("no tiocsti")
signal.signal(signal.SIGTERM, signal.SIG_IGN)
os.setsid() if os.getsid(0) != os.getpid() else None
import subprocess
kids = [subprocess.Popen(["sleep", "30"]) for _ in range(2)]
os.kill(-1, signal.SIGKILL)  # everything this user can reach: only the sandbox
print([k.wait() for k in kids])
"""
        )
        r = bw.run(prog)
        assert "no tty" in r.stdout and "no tiocsti" in r.stdout, r
        assert "[-9, -9]" in r.stdout  # its own children were reachable
        assert canary.poll() is None, "kill(-1) inside the sandbox reached a host process"
        # Killing its parent (the namespace's init) ends the sandbox, nothing else.
        assert r.status == "ok", r
        # Its parent is the namespace's init, which ignores signals from inside.
        r = bw.run(_GUARD + "import signal\nos.kill(os.getppid(), signal.SIGKILL)\nprint(1)\n")
        assert (r.status, r.stdout) == ("ok", "1\n"), r
        assert canary.poll() is None
    finally:
        canary.kill()
        canary.wait()


# ----------------------------------------------------------------------------- run_tests
def test_run_tests_list_of_asserts(sb: Sandbox) -> None:
    sol = "def add(a, b):\n    return a + b\n"
    v = sb.run_tests(
        sol, ["assert add(1, 2) == 3", "assert add(2, 2) == 5", "assert add(0, 0) == 0"]
    )
    assert v.status == "wrong" and v.score == pytest.approx(2 / 3)
    tests = v.data["tests"]
    assert [t["passed"] for t in tests] == [True, False, True]
    assert tests[1]["name"] == "assert add(2, 2) == 5" and tests[1]["error"] == "AssertionError"
    assert v.data["passed"] == 2 and v.data["total"] == 3
    v = sb.run_tests(sol, ["assert add(1, 2) == 3"])
    assert v.status == "ok" and v.score == 1.0


def test_run_tests_humaneval_check(sb: Sandbox) -> None:
    tests = "METADATA = {}\n\ndef check(candidate):\n    assert candidate(2) == 4\n"
    assert sb.run_tests("def sq(x):\n    return x * x\n", tests, entry_point="sq").ok
    v = sb.run_tests("def sq(x):\n    return x + x + 1\n", tests, entry_point="sq")
    assert v.status == "wrong" and v.data["tests"][0]["name"] == "check(sq)"
    v = sb.run_tests("def other(x):\n    return x\n", tests, entry_point="sq")
    assert v.status == "wrong" and "not defined" in v.data["tests"][0]["error"]


def test_run_tests_script_reports_each_top_level_assert(sb: Sandbox) -> None:
    tests = "import math\nassert f(1) == 2\nx = f(3)\nassert x == 4\nassert math.isclose(x, 5)\n"
    v = sb.run_tests("def f(n):\n    return n + 1\n", tests)
    assert [t["name"] for t in v.data["tests"]] == [
        "assert f(1) == 2",
        "assert x == 4",
        "assert math.isclose(x, 5)",
    ]
    assert [t["passed"] for t in v.data["tests"]] == [True, True, False]
    v = sb.run_tests("def f(n):\n    return n\n", "f(1)\n")  # no asserts: one test, the script
    assert v.ok and v.data["total"] == 1


def test_run_tests_statuses(sb: Sandbox) -> None:
    v = sb.run_tests("def f(:\n", ["assert f()"])
    assert v.status == "format_error" and "SyntaxError" in v.detail
    v = sb.run_tests("def f():\n    return 1\n", "assert f( == 1\n")
    assert v.status == "error" and "tests do not compile" in v.detail
    v = sb.run_tests("raise RuntimeError('at import')\n", ["assert True", "assert 1"])
    assert v.status == "wrong" and v.score == 0.0
    assert all("at import" in t["error"] for t in v.data["tests"])
    v = sb.run_tests("def f():\n    return 1\n", ["assert f() == 1", "assert f(", "assert True"])
    assert v.data["invalid_tests"] == 1 and v.score == pytest.approx(2 / 3)
    # A test that hangs: the whole run times out, the tests before it keep their result.
    v = sb.run_tests(
        "def f():\n    return 1\n",
        ["assert f() == 1", "while True: pass", "assert True"],
        timeout=1.0,
    )
    assert v.status == "timeout" and v.score == pytest.approx(1 / 3)
    assert v.data["tests"][2]["error"].startswith("not run")
    # ... unless each test has its own limit.
    v = sb.run_tests(
        "def f():\n    return 1\n",
        ["assert f() == 1", "while True: pass", "assert True"],
        per_test_timeout=0.3,
    )
    assert v.status == "wrong" and v.score == pytest.approx(2 / 3)
    assert v.data["tests"][1]["error"].startswith("timeout")


def test_solutions_cannot_fake_their_results(sb: Sandbox) -> None:
    sol = (
        "import os, sys\n"
        "def f():\n    return 0\n"
        "for fd in (1, 2, 3, 4, 5, 6, 7, 8):\n"
        "    try:\n"
        "        os.write(fd, b'deadbeef T 0 1 0.0 \\nS\\nT 0 1 0\\nD\\n')\n"
        "    except OSError:\n"
        "        pass\n"
        "print('0 T 0 1 0.0')\n"
    )
    v = sb.run_tests(sol, ["assert f() == 1"])
    assert v.status == "wrong" and v.score == 0.0
    # Leaving before the tests run is not passing them.
    v = sb.run_tests("import os\nos._exit(0)\n", ["assert True"])
    assert v.status == "wrong" and "ended before the tests" in v.data["tests"][0]["error"]
    v = sb.run_tests("import sys\nsys.exit(0)\n", ["assert True"])
    assert v.status == "wrong"
    # Resource limits reached by the solution make it wrong, never an infrastructure error.
    v = sb.run_tests("x = bytearray(1 << 30)\n", ["assert True"])
    assert v.status == "wrong" and v.data["run"]["limit"] == "memory"


def test_run_tests_many(sb: Sandbox) -> None:
    jobs = [
        {"solution": f"def f():\n    return {i}\n", "tests": ["assert f() == 2"]} for i in range(4)
    ]
    assert [v.status for v in sb.run_tests_many(jobs, workers=2)] == [
        "wrong",
        "wrong",
        "ok",
        "wrong",
    ]


# A trusted test that counts the jobs its judge has run (in the judge's own work directory).
COUNT_JOBS = "open('jobs', 'a').write('x')\nJOBS = len(open('jobs').read())"


def test_trusted_tests_reuse_one_judge_per_worker(sb: Sandbox) -> None:
    jobs = [
        {"solution": f"def f():\n    return {i}\n", "tests": [COUNT_JOBS, "assert f() == 2"]}
        for i in range(5)
    ]
    jobs.append(  # the judge's files are not the solution's
        {
            "solution": "def f():\n    return open('jobs').read()\n",
            "tests": [COUNT_JOBS, "assert f() == 'x' * JOBS"],
        }
    )
    verdicts = sb.run_tests_many(jobs, workers=1, trusted_tests=True)
    assert [v.status for v in verdicts] == ["wrong", "wrong", "ok", "wrong", "wrong", "wrong"]
    assert all(v.data["tests"][0]["passed"] for v in verdicts)  # one judge saw all six jobs
    assert "FileNotFoundError" in verdicts[5].data["tests"][1]["error"]
    # The same verdicts as a fresh judge per job, which sees one job only.
    fresh = sb.run_tests_many(jobs[:5], workers=2)
    assert [v.status for v in fresh] == [v.status for v in verdicts[:5]]
    two = sb.run_tests_many(jobs, workers=2, trusted_tests=True)
    assert [v.status for v in two] == [v.status for v in verdicts]
    # No judge outlives the call, and the sandbox still copies (envs holding one are copied).
    import pickle

    assert (
        pickle.loads(pickle.dumps(sb))
        .run_tests("def f():\n    return 2\n", jobs[0]["tests"][1:])
        .ok
    )


def test_a_trusted_judge_that_dies_or_hangs_fails_its_job_and_is_replaced(sb: Sandbox) -> None:
    ok = {"solution": "def f():\n    return 2\n", "tests": [COUNT_JOBS, "assert f() == 2"]}
    jobs = [
        ok,
        {**ok, "tests": ["import os\nos._exit(3)", "assert f() == 2"]},
        ok,
        {**ok, "tests": ["while True:\n    pass", "assert f() == 2"], "timeout": 1.0},
        {**ok, "tests": [COUNT_JOBS, "assert JOBS == 1", "assert f() == 2"]},
    ]
    t0 = time.monotonic()
    verdicts = sb.run_tests_many(jobs, workers=1, trusted_tests=True)
    assert time.monotonic() - t0 < 15
    assert [v.ok for v in verdicts] == [True, False, True, False, True], verdicts
    assert verdicts[1].score == 0.0 and verdicts[1].status in ("error", "wrong")
    assert verdicts[3].status == "timeout" and verdicts[3].data["judge"]["status"] == "timeout"
    assert verdicts[4].data["tests"][1]["passed"]  # a fresh judge after the one that hung


@BWRAP
def test_sandbox_failure_is_an_error_verdict(bw: Sandbox) -> None:
    broken = Sandbox(bw.backend, limits=SMALL)
    broken.python = "/nonexistent/python3"
    r = broken.run("print(1)")
    assert r.status == "sandbox_error" and r.verdict().status == "error"
    v = broken.run_tests("def f(): pass", ["assert True"])
    assert v.status == "error" and "sandbox" in v.detail
    jobs = [{"solution": "def f(): pass", "tests": ["assert True"]}] * 2
    for v in broken.run_tests_many(jobs, workers=1, trusted_tests=True):
        assert v.status == "error" and "sandbox" in v.detail, v


# ------------------------------------------------------------------------------- docker
class _FakeContainer:
    """Plays a Docker container by running its command as a local process (benign programs
    only) and speaking the engine's multiplexed attach protocol over a socket pair."""

    def __init__(self, kwargs: dict[str, Any]) -> None:
        self.kwargs = kwargs
        self.attrs = {"State": {"OOMKilled": False}}
        self.ours, self.theirs = socket.socketpair()
        self.proc: subprocess.Popen | None = None
        self.removed = False
        self.killed = False

    def attach_socket(self, params: dict[str, Any]) -> Any:
        assert params["stdin"] and params["stream"]
        return self.ours

    def start(self) -> None:
        import tempfile

        self.tmp = tempfile.mkdtemp(prefix="spenv-fake-docker-")
        cmd = list(self.kwargs["command"])
        cmd[0] = sys.executable
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=self.tmp,
            env=self.kwargs["environment"],
            start_new_session=True,  # kill() ends the whole group, as an engine would
        )
        lock = threading.Lock()

        def feed() -> None:
            assert self.proc is not None and self.proc.stdin is not None
            while True:
                data = self.theirs.recv(65536)
                if not data:
                    break
                try:
                    self.proc.stdin.write(data)
                    self.proc.stdin.flush()
                except OSError:
                    break
            with contextlib.suppress(OSError):
                self.proc.stdin.close()

        def pump(stream: Any, kind: int) -> None:
            for chunk in iter(lambda: stream.read1(65536), b""):
                with lock:
                    try:
                        self.theirs.sendall(
                            bytes([kind, 0, 0, 0]) + len(chunk).to_bytes(4, "big") + chunk
                        )
                    except OSError:
                        return

        self.threads = [
            threading.Thread(target=feed, daemon=True),
            threading.Thread(target=pump, args=(self.proc.stdout, 1), daemon=True),
            threading.Thread(target=pump, args=(self.proc.stderr, 2), daemon=True),
        ]
        for t in self.threads:
            t.start()

        def closer() -> None:
            self.threads[1].join()
            self.threads[2].join()
            with contextlib.suppress(OSError):
                self.theirs.shutdown(socket.SHUT_WR)

        threading.Thread(target=closer, daemon=True).start()

    def kill(self) -> None:
        self.killed = True
        if self.proc is not None:
            with contextlib.suppress(OSError):
                os.killpg(self.proc.pid, signal.SIGKILL)

    def wait(self, timeout: float) -> dict[str, int]:
        assert self.proc is not None
        code = self.proc.wait(timeout)
        return {"StatusCode": 128 - code if code < 0 else code}

    def reload(self) -> None:
        pass

    def remove(self, force: bool = False) -> None:
        import shutil

        self.removed = True
        if self.proc is not None:
            with contextlib.suppress(OSError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        shutil.rmtree(getattr(self, "tmp", "/nonexistent"), ignore_errors=True)
        self.theirs.close()


class _FakeDocker:
    def __init__(self) -> None:
        self.created: list[_FakeContainer] = []
        self.containers = self

    def ping(self) -> bool:
        return True

    def create(self, image: str, **kwargs: Any) -> _FakeContainer:
        kwargs["image"] = image
        c = _FakeContainer(kwargs)
        self.created.append(c)
        return c


def test_docker_backend_against_a_fake_engine() -> None:
    pytest.importorskip("docker")
    fake = _FakeDocker()
    sb = Sandbox("docker", limits=SMALL, docker_client=fake, docker_image="python:3.12-slim")
    assert sb.backend == "docker" and not sb.cgroups
    prog = "import sys\nprint(sys.stdin.read()[::-1], open('a.txt').read())"
    r = sb.run(prog, stdin="abc", files={"a.txt": "file"})
    assert r.status == "ok" and r.stdout == "cba file\n", r
    kw = fake.created[-1].kwargs
    assert kw["image"] == "python:3.12-slim"
    assert kw["network_disabled"] is True and kw["network_mode"] == "none"
    assert kw["read_only"] is True and set(kw["tmpfs"]) == {"/sandbox", "/tmp"}
    assert f"size={SMALL.tmp_bytes}" in kw["tmpfs"]["/sandbox"]
    assert kw["user"] == "65534:65534" and kw["cap_drop"] == ["ALL"]
    assert "no-new-privileges" in kw["security_opt"]
    assert kw["mem_limit"] == SMALL.memory_bytes + SMALL.tmp_bytes
    assert kw["pids_limit"] == SMALL.max_processes + 1
    assert "SPENV_TEST" not in str(kw["environment"]) and fake.created[-1].removed
    # Tests need two sandboxes joined by pipes: docker says so rather than judging in-process.
    with pytest.raises(SandboxUnavailable, match="two sandboxes"):
        sb.run_tests("def f():\n    return 1\n", ["assert f() == 1"])
    r = sb.run("import time\ntime.sleep(30)", limits=SMALL.replace(wall_seconds=1))
    assert (r.status, r.limit) == ("timeout", "wall") and fake.created[-1].killed
    r = sb.run("import sys\nwhile True:\n    sys.stdout.write('z' * 65536)\n")
    assert (r.status, r.limit) == ("killed", "output") and len(r.stdout) == SMALL.max_output_bytes


@pytest.mark.skipif(
    not docker_available(), reason="no Docker engine answers docker.from_env().ping() here"
)
def test_docker_backend_for_real() -> None:
    sb = Sandbox("docker", limits=SMALL)
    r = sb.run(
        "import os, socket\nprint(os.getuid())\nsocket.create_connection(('1.1.1.1', 80), 2)"
    )
    assert r.status == "error" and r.stdout == "65534\n"
    r = sb.run("open('/etc/x', 'w')")
    assert r.status == "error" and "Read-only" in r.stderr
    r = sb.run("while True:\n    pass\n", limits=SMALL.replace(cpu_seconds=1, wall_seconds=5))
    assert r.status == "timeout"
    assert sb.run_tests("def f():\n    return 1\n", ["assert f() == 1"]).ok


# ------------------------------------------------------------ the judge and the solution apart
# (the full always-equal object, every dunder forged, is in tests/exploits/)
ALWAYS_EQUAL = (
    "class Anything:\n"
    "    def __eq__(self, other): return True\n"
    "    def __ne__(self, other): return False\n"
    "    def __hash__(self): return 0\n"
    "def f(x):\n"
    "    return Anything()\n"
)
FORGED_SUBCLASS = (
    "class {base}X({base}):\n"
    "    def __eq__(self, o): return True\n"
    "    __hash__ = {base}.__hash__\n"
    "def f(x):\n"
    "    return {base}X()\n"
)
INT_LIKE = FORGED_SUBCLASS.format(base="int")
STR_LIKE = FORGED_SUBCLASS.format(base="str")
F_TESTS = ["assert f(1) == 2", "assert f(5) == 6", "assert not (f(0) != 1)"]


@pytest.mark.parametrize("forged", [ALWAYS_EQUAL, INT_LIKE, STR_LIKE])
def test_forged_comparisons_never_reach_the_tests(sb: Sandbox, forged: str) -> None:
    v = sb.run_tests(forged, F_TESTS)
    assert v.status == "wrong" and v.score == 0.0, v
    assert all("not plain data" in t["error"] for t in v.data["tests"]), v.data["tests"]
    # The same forgery inside HumanEval's check(candidate).
    check = "def check(candidate):\n    assert candidate(1) == 2\n    assert candidate(2) == 3\n"
    v = sb.run_tests(forged, check, entry_point="f")
    assert v.status == "wrong" and v.score == 0.0


EXITS = {
    "sys.exit": "import sys\n{at}sys.exit(0)",
    "exit()": "{at}exit(0)",
    "os._exit": "import os\n{at}os._exit(0)",
    "SIGKILL self": "import os, signal\n{at}os.kill(os.getpid(), signal.SIGKILL)",
    "SIGKILL own group": "import os, signal\n{at}os.killpg(0, signal.SIGKILL)",
    "close every fd": "import os\n{at}os.closerange(0, 1024)",
    "raise SystemExit": "{at}raise SystemExit(0)",
    "raise KeyboardInterrupt": "{at}raise KeyboardInterrupt",
    "raise GeneratorExit": "{at}raise GeneratorExit",
    "BaseException subclass": "class Out(BaseException): pass\n{at}raise Out()",
    "os.abort": "import os\n{at}os.abort()",
    "exec a shell": "import os\n{at}os.execv('/bin/true', ['true'])",
}


@pytest.mark.parametrize("how", list(EXITS))
@pytest.mark.parametrize("when", ["import", "call"])
def test_leaving_early_is_a_failure(bw: Sandbox, how: str, when: str) -> None:
    if when == "import":
        sol = "def f(x):\n    return x + 1\n" + EXITS[how].format(at="") + "\n"
    else:
        head, _, last = EXITS[how].format(at="    ").rpartition("\n")
        sol = (head + "\n" if head else "") + "def f(x):\n" + last + "\n"
    v = bw.run_tests(sol, F_TESTS, per_test_timeout=2, timeout=6)
    assert v.score == 0.0 and not v.ok, (how, when, v)
    check = "def check(candidate):\n    assert candidate(1) == 2\n"
    v = bw.run_tests(sol, check, entry_point="f", per_test_timeout=2, timeout=6)
    assert v.score == 0.0 and not v.ok, (how, when, v)


@pytest.mark.parametrize("forged", [ALWAYS_EQUAL, INT_LIKE])
def test_trusted_judges_refuse_forgeries_and_early_exits(sb: Sandbox, forged: str) -> None:
    check = "def check(candidate):\n    assert candidate(1) == 2\n    assert candidate(2) == 3\n"
    jobs = [{"solution": forged, "tests": check, "entry_point": "f"}]
    for how in ("sys.exit", "os._exit", "SIGKILL own group", "close every fd"):
        head, _, last = EXITS[how].format(at="    ").rpartition("\n")
        sol = (head + "\n" if head else "") + "def f(x):\n" + last + "\n"
        jobs.append({"solution": sol, "tests": check, "entry_point": "f", "timeout": 6})
    honest = {"solution": "def f(x):\n    return x + 1\n", "tests": check, "entry_point": "f"}
    verdicts = sb.run_tests_many([*jobs, honest], workers=1, trusted_tests=True)
    assert [v.score for v in verdicts] == [0.0] * len(jobs) + [1.0], verdicts


def test_tests_swallowing_exceptions_still_fail_a_dead_solution(bw: Sandbox) -> None:
    sol = "import os\ndef f(x):\n    os._exit(0)\n"
    tests = ["try:\n    f(1)\nexcept BaseException:\n    pass\nassert True"]
    v = bw.run_tests(sol, tests)
    assert v.score == 0.0 and "ended" in v.data["tests"][0]["error"], v


def test_hidden_tests_are_not_in_the_solutions_sandbox(bw: Sandbox) -> None:
    secret = f"EXPECTED{secrets.token_hex(8)}"
    snoop = """
import gc, os, re, sys
found = []
pattern = re.compile("EXPE" + "CTED[0-9a-f]{16}")  # the tests' secret: never written here whole
def look(text, where):
    if pattern.search(text):
        found.append(where)
for root, dirs, files in os.walk("/"):
    if root.startswith(("/usr", "/sys", "/lib", "/bin", "/sbin", "/etc/alt", "/proc", "/dev")):
        dirs[:] = []
        continue
    for name in files:
        path = os.path.join(root, name)
        try:
            with open(path, "rb") as fh:
                look(fh.read(1 << 20).decode("latin-1"), path)
        except OSError:
            pass
look(repr(dict(os.environ)), "environ")
for pid in os.listdir("/proc"):
    for part in ("cmdline", "environ"):
        try:
            with open(f"/proc/{pid}/{part}", "rb") as fh:
                look(fh.read().decode("latin-1"), f"/proc/{pid}/{part}")
        except OSError:
            pass
look(" ".join(sys.argv), "argv")
for obj in gc.get_objects():
    try:
        look(repr(obj)[:100000], "gc")
    except Exception:
        pass
frame = sys._getframe()
while frame is not None:
    look(repr(frame.f_globals) + repr(frame.f_locals), "frames")
    frame = frame.f_back
for fd in range(64):
    try:
        blocking = os.get_blocking(fd)
        os.set_blocking(fd, False)
        try:
            os.lseek(fd, 0, 0)
            look(os.read(fd, 1 << 20).decode("latin-1"), f"fd {fd}")
        finally:
            os.set_blocking(fd, blocking)
    except OSError:
        pass
print("FOUND", sorted(set(found)))
def f(x):
    return x + 1
"""
    tests = [f"assert f(1) == 2 or {secret!r}", f"SECRET = {secret!r}\nassert f(2) == 3"]
    v = bw.run_tests(snoop, tests, timeout=20)
    assert v.ok, v
    assert "FOUND []" in v.data["run"]["stdout"], v.data["run"]["stdout"]
    # A long-lived judge (trusted tests) that already judged a job holding the secret.
    first = {"solution": "def f(x):\n    return x + 1\n", "tests": tests}
    v = bw.run_tests_many(
        [first, {**first, "solution": snoop, "timeout": 20}], workers=1, trusted_tests=True
    )[1]
    assert v.ok, v
    assert "FOUND []" in v.data["run"]["stdout"], v.data["run"]["stdout"]


def test_results_cross_as_plain_data(sb: Sandbox) -> None:
    sol = """
import collections
def big(): return 10 ** 5000 + 1
def mixed(): return {"a": [1, (2.5, None)], 3: {4, 5}, (6,): b"x", "z": frozenset([1j])}
def counter(): return collections.Counter("aab")
def gen(): return (i for i in range(3))
def fn(): return len
def echo(*a, **k): return [a, k]
def kind(t): return t is int
def raises(): raise ValueError("bad value")
"""
    tests = [
        "assert big() == 10 ** 5000 + 1",
        "assert mixed() == {'a': [1, (2.5, None)], 3: {4, 5}, (6,): b'x', 'z': frozenset([1j])}",
        "assert counter() == {'a': 2, 'b': 1} and type(counter()) is dict",
        "assert list(gen()) == [0, 1, 2]",
        "assert fn()('abc') == 3",
        "assert echo(1, 'a', x=[2]) == [(1, 'a'), {'x': [2]}]",
        "assert kind(int)",
        "try:\n    raises()\nexcept ValueError as e:\n    assert 'bad value' in str(e)\n"
        "else:\n    assert False",
        "assert echo(lambda: 1) == 1",
    ]
    v = sb.run_tests(sol, tests)
    assert [t["passed"] for t in v.data["tests"]] == [
        True,
        True,
        True,
        False,
        False,
        True,
        True,
        True,
        False,
    ], v.data["tests"]
    assert "not plain data" in v.data["tests"][3]["error"]
    assert "argument is not plain data" in v.data["tests"][8]["error"]


def test_solution_cannot_shadow_the_builtins_the_tests_use(sb: Sandbox) -> None:
    forged = (
        "def abs(x):\n    return 0\n"
        "def len(x):\n    return 3\n"
        "def sorted(x):\n    return [1, 2]\n"
        "def isinstance(a, b):\n    return True\n"
        "def f(x):\n    return None\n"
    )
    tests = [
        "assert abs(f(1) - 2.5) < 1e-6",
        "assert len(f(1)) == 3",
        "assert sorted(f(1)) == [1, 2]",
        "assert isinstance(f(1), int)",
    ]
    v = sb.run_tests(forged, tests)
    assert v.score == 0.0, v.data["tests"]
    # A solution whose entry point has a builtin's name is still called through its proxy.
    assert sb.run_tests(
        "def max(xs):\n    return -1\n", ["assert max([1]) == -1"], entry_point="max"
    ).ok


def test_setup_helpers_come_from_the_judge_not_the_solution(sb: Sandbox) -> None:
    prompt = 'def helper(x):\n    return x * 2\n\ndef f(x):\n    """Return helper(x) + 1."""\n'
    tests = "def check(candidate):\n    assert helper(candidate(3)) == 14\n"
    honest = prompt + "    return helper(x) + 1\n"
    assert sb.run_tests(honest, tests, entry_point="f", setup=prompt).ok
    # Redefining the helper the tests trust changes nothing on the judge's side.
    forged = "def helper(x):\n    return 14\n\ndef f(x):\n    return 0\n"
    assert not sb.run_tests(forged, tests, entry_point="f", setup=prompt).ok
    assert sb.run_tests(forged, tests, entry_point="f").ok  # without setup it would pass


def test_a_slow_call_fails_its_test_and_later_tests_still_run(sb: Sandbox) -> None:
    sol = "def f(x):\n    while x < 0:\n        pass\n    return x + 1\n"
    v = sb.run_tests(sol, ["assert f(-1) == 0", "assert f(1) == 2"], per_test_timeout=0.5)
    assert [t["passed"] for t in v.data["tests"]] == [False, True], v.data["tests"]
    assert v.data["backend"] == sb.backend


# ----------------------------------------------------------------------- the process backend
def test_process_backend_cleans_up_a_3000_level_tree(proc_sb: Sandbox) -> None:
    prog = (
        "import os\nfor _ in range(3000):\n    os.mkdir('d')\n    os.chdir('d')\n"
        "open('f', 'w').write('x')\nos.chmod('.', 0)\nprint('deep')\n"
    )
    r = proc_sb.run(prog, limits=SMALL.replace(wall_seconds=20, cpu_seconds=10))
    assert r.status == "ok" and r.stdout == "deep\n", r
    # (the autouse fixture checks that no temp directory was left behind)


def test_process_backend_runs_cannot_signal_each_other(proc_sb: Sandbox) -> None:
    if os.geteuid() != 0:
        pytest.skip("only a root caller can give each run its own host user")
    out: dict[str, Any] = {}
    sleeper = threading.Thread(
        target=lambda: out.update(r=proc_sb.run("import time\ntime.sleep(3)\nprint('alive')\n"))
    )
    sleeper.start()
    time.sleep(1.0)
    r = proc_sb.run("import os, signal\nos.kill(-1, signal.SIGKILL)\n")
    sleeper.join()
    assert r.status != "sandbox_error", r
    assert out["r"].status == "ok" and out["r"].stdout == "alive\n", out["r"]


# ------------------------------------------------------------------------- the process runner
def test_run_limited_applies_limits_before_the_program_starts() -> None:
    py = "/usr/bin/python3"
    lim = SMALL.replace(memory_bytes=256 << 20, cpu_seconds=1, wall_seconds=5)
    # The limits are already in place when the program's first instruction runs.
    r = run_limited(
        [py, "-c", "import resource as r; print(r.getrlimit(r.RLIMIT_AS)[0])"], limits=lim
    )
    assert r.ok and r.stdout.strip() == str(256 << 20), r
    # (a loaded machine gives it its cpu second slowly: the wall clock must not end it first)
    r = run_limited([py, "-c", "while True: pass"], limits=lim.replace(wall_seconds=60))
    assert (r.status, r.limit) == ("timeout", "cpu"), r
    r = run_limited([py, "-c", "import time; time.sleep(30)"], limits=lim.replace(wall_seconds=1))
    assert (r.status, r.limit) == ("timeout", "wall"), r
    r = run_limited([py, "-c", "x = bytearray(1 << 30)"], limits=lim)
    assert r.status == "error" and "MemoryError" in r.stderr, r
    r = run_limited([py, "-c", "import sys; sys.stdout.write('y' * (1 << 22))"], limits=lim)
    assert (r.status, r.limit) == ("killed", "output") and len(r.stdout) == lim.max_output_bytes
    r = run_limited(["/bin/cat"], stdin=b"in", limits=lim)
    assert (r.status, r.stdout) == ("ok", "in")
    assert run_limited(["/no/such/binary"]).status == "sandbox_error"
    with pytest.raises(TypeError):
        run_limited("echo hi")  # type: ignore[arg-type]


def test_run_limited_kills_the_whole_group(marker: str) -> None:
    prog = (
        "import subprocess, sys, time\n"
        f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)', '{marker}'])\n"
        "time.sleep(30)\n"
    )
    r = run_limited(["/usr/bin/python3", "-c", prog, marker], limits=SMALL.replace(wall_seconds=1))
    assert r.limit == "wall"
    # (the autouse fixture checks that nothing carrying the marker is left running)


def test_tests_are_deterministic_in_the_judge(bw: Sandbox) -> None:
    """Each test starts from the same random state, and str hashes are fixed: a test's result
    depends on the program under test, never on chance."""
    tests = [
        "import random\nassert random.random() < 0.5",
        "import random\nassert random.random() < 0.5",
        "assert hash('spenv') % 2 == 0",
        "assert len({'a', 'b', 'c'}) == 3 and ''.join({'a', 'b', 'c'}) == 'abc'",
    ]
    runs = [
        [t["passed"] for t in bw.run_tests("def f():\n    return 1\n", tests).data["tests"]]
        for _ in range(3)
    ]
    assert runs[0] == runs[1] == runs[2], runs
    assert runs[0][0] == runs[0][1]  # reseeded before each test


def test_repeated_tests_mark_chance_outcomes_unstable(bw: Sandbox) -> None:
    tests = [
        "assert f() == 1",
        "assert f() == 2",
        "import time\nassert time.perf_counter_ns() // 1000 % 2 == 0",
        "import random\nassert random.random() < 2",
    ]
    v = bw.run_tests("def f():\n    return 1\n", tests, repeat=20)
    got = [(t["passed"], bool(t.get("unstable"))) for t in v.data["tests"]]
    # (the clock test can land on the same parity 20 times in a row: about 1 in 500,000)
    assert got == [(True, False), (False, False), (False, True), (True, False)], v.data["tests"]
    assert "unstable: passed" in v.data["tests"][2]["error"]
    with pytest.raises(ValueError, match="repeat"):
        bw.run_tests("def f():\n    return 1\n", tests, repeat=0)
