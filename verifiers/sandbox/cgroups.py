"""Per-run cgroups: task and memory caps, cpu accounting, and a whole-tree kill."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shlex
import signal
import threading
import time

from spenv.verifiers.sandbox.backends import _CG_STATE
from spenv.verifiers.sandbox.limits import Limits

# ---------------------------------------------------------------------------------- cgroups
_CG_LOCK = threading.Lock()


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
