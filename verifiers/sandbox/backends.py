"""Probes for the backends (bubblewrap, docker), the interpreter used inside, and bwrap's
command line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
from typing import Any

from spenv.verifiers.sandbox.limits import _BWRAP, _NOBODY, _SANDBOX_DIR


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


#: Probed facts cached per process (site dirs, setpriv, the cgroup layout).
_CG_STATE: dict[str, Any] = {}
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
    args += ["--setenv", "PYTHONHASHSEED", "0"]  # read by the judge only (the rest run -I)
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
