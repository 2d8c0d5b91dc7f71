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

Tests never share an interpreter with the code they judge (:meth:`Sandbox.run_tests`): the
solution runs in one sandbox as a server of its top-level functions, the tests in another
sandbox (the judge) where each of those functions is a proxy. A call sends its arguments to the
solution's process as plain data and gets the result back as plain data (``None``, booleans,
numbers, ``str``, ``bytes``, and lists, tuples, dicts, sets and frozensets of them, exact types
only): an object with a forged ``__eq__`` cannot cross, and a result that is not plain data
fails the test. A solution that exits, dies, stops answering or breaks the protocol fails the
test during which it does (and every later one). The tests, the expected values and the judge's
memory are never in the solution's sandbox. Per-test results travel from the judge to the host
over a private pipe, tagged with a per-run token, apart from the programs' own output.

Modules: :mod:`.limits` (:class:`Limits`, :class:`RunResult`), :mod:`.core` (:class:`Sandbox`),
:mod:`.backends` (bubblewrap/docker probes and command lines), :mod:`.cgroups`, :mod:`.runner`
(the process runner: :func:`run_limited`, and the stream pump the sandbox uses),
:mod:`.records` (result parsing), and :mod:`._boot` (the code that runs inside each sandbox).
"""

from spenv.verifiers.sandbox.backends import bwrap_available, docker_available
from spenv.verifiers.sandbox.core import Sandbox, check_humaneval, check_humaneval_many
from spenv.verifiers.sandbox.limits import (
    BACKENDS,
    LIMIT_KINDS,
    RUN_STATUSES,
    Limits,
    RunResult,
    SandboxUnavailable,
)
from spenv.verifiers.sandbox.runner import run_limited

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
    "check_humaneval_many",
    "docker_available",
    "run_limited",
]
