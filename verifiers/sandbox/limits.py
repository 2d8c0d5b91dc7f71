"""Resource limits, run statuses and the result of one run."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from spenv.verifiers.verdict import Verdict

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
            data={"run": self.to_dict(), "backend": self.backend},
        )
