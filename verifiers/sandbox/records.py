"""The per-test records a run sends back, and the verdict they make."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from spenv.verifiers.sandbox.limits import RunResult
from spenv.verifiers.verdict import Verdict


# ---------------------------------------------------------------------------------- records
@dataclass
class _Records:
    started: bool = False
    limit: str | None = None
    plan: list[str] | None = None
    # index -> (passed, seconds, error, invalid, unstable)
    tests: dict[int, tuple[bool, float, str, bool, bool]] = field(default_factory=dict)
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
                    rec.tests[idx] = (flag == "1", float(parts[2]), err, flag == "2", flag == "3")
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


def _describe(run: RunResult, rec: _Records) -> dict[str, Any]:
    return {
        "status": run.status,
        "exit_code": run.exit_code,
        # a limit the program ran into, even where the harness caught the error
        "limit": run.limit or rec.limit,
        "wall_time": run.wall_time,
        "cpu_time": run.cpu_time,
        "backend": run.backend,
        "stdout": _tail(run.stdout),
        "stderr": _tail(run.stderr),
        "stdout_truncated": run.stdout_truncated,
        "stderr_truncated": run.stderr_truncated,
    }


def _tests_verdict(
    judge: RunResult,
    rec: _Records,
    n_expected: int | None,
    run: RunResult,
    sol_rec: _Records,
) -> Verdict:
    """Turn a test run into a Verdict (see :meth:`Sandbox.run_tests` for the statuses).

    ``judge``/``rec``: the tests' sandbox and its records (the per-test results); ``run``/
    ``sol_rec``: the solution's sandbox. ``data["run"]`` describes the solution's run (its
    output, the limit it hit), ``data["judge"]`` the tests' run, ``data["backend"]`` the
    sandbox backend both used."""
    data: dict[str, Any] = {
        "backend": judge.backend,
        "run": _describe(run, sol_rec),
        "judge": _describe(judge, rec),
    }
    elapsed = max(judge.wall_time, run.wall_time)
    for side, r, started in (("tests", judge, rec.started), ("solution", run, sol_rec.started)):
        if r.status == "sandbox_error" or (not started and r.status != "timeout"):
            return Verdict("error", 0.0, f"sandbox failure ({side}): {r.detail}", elapsed, data)
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
    limit = run.limit or sol_rec.limit or judge.limit
    if limit is not None:
        stop = f"stopped by the {limit} limit"
    elif run.status == "error":
        stop = f"the program exited early ({run.detail})"
    else:
        stop = f"the program ended before this test ({run.detail})"
    tests = []
    invalid = 0
    for i, name in enumerate(names):
        if i in rec.tests:
            passed, secs, err, bad, unstable = rec.tests[i]
            invalid += bad
            if bad:
                err = f"invalid test: {err}"
            t = {"name": name, "passed": passed, "error": err or None, "time": secs}
            if unstable:
                t["unstable"] = True
            tests.append(t)
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
    for r in (judge, run):
        if r.status == "timeout":
            return Verdict("timeout", score, f"{summary}; {r.detail}", elapsed, data)
    if total and passed == total:
        return Verdict("ok", 1.0, summary, elapsed, data)
    first = next((t for t in tests if not t["passed"]), None)
    why = f"; first failure: {first['name'][:80]!r}: {first['error']}" if first else ""
    if not total:
        why = "; no tests were found"
    return Verdict("wrong", score, f"{summary}{why}", elapsed, data)
