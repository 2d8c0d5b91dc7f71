"""``CodeAndTest-v1``: problem loading (HumanEval, JSONL), the AST mutator, every reward path
(correct, partial, broken and hostile code; invalid, weak and strong tests; equivalent mutants;
wrong coder code as a wrong program), malformed answers, the reference agents, registry, replay
and the CLI. Everything runs in the real sandbox."""

from __future__ import annotations

import ast
import json
import socket
import statistics
import threading
import warnings
from pathlib import Path
from typing import Any

import pytest

import spenv
from spenv.agents import make_agent
from spenv.episode import read_episodes
from spenv.games.code_and_test import (
    CodeAndTestEnv,
    Problem,
    _doc_examples,
    load_problems,
    mutants,
    split_tests,
)
from spenv.verifiers.code import bwrap_available

ENV_ID = "CodeAndTest-v1"
BWRAP = pytest.mark.backend("bwrap")

CLIP_PROMPT = '''def clip(x, lo, hi):
    """Clamp x into [lo, hi].
    >>> clip(5, 0, 3)
    3
    >>> clip(-1, 0, 3)
    0
    """
'''
CLIP_BODY = """    if x < lo:
        return lo
    if x > hi:
        return hi
    return x
"""
CLIP_TESTS = [
    "assert clip(5, 0, 3) == 3",
    "assert clip(-1, 0, 3) == 0",
    "assert clip(2, 0, 3) == 2",
    "assert clip(0, 0, 3) == 0",
    "assert clip(3, 0, 3) == 3",
]
GOOD = "def clip(x, lo, hi):\n    return min(max(x, lo), hi)"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("problems") / "clip.jsonl"
    rec = {
        "task_id": "clip",
        "prompt": CLIP_PROMPT,
        "canonical_solution": CLIP_BODY,
        "tests": CLIP_TESTS,
        "entry_point": "clip",
    }
    path.write_text(json.dumps(rec) + "\n")
    return str(path)


def make(source: str, **kw: Any) -> CodeAndTestEnv:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the process backend's warning
        return CodeAndTestEnv(source=source, **kw)


def play(env: CodeAndTestEnv, code: str, tests: str, seed: int = 0) -> spenv.Episode:
    env.reset(seed=seed)
    env.step(code)
    if not env.terminations["coder"]:
        env.step(tests)
    return env.episode()


def checks(ep: spenv.Episode, check: str) -> list[dict[str, Any]]:
    return [v for v in ep.verdicts if v["check"] == check]


# ------------------------------------------------------------------------------ problems
def test_split_tests_groups_setup_with_the_next_assert() -> None:
    code = (
        "import math\nx = 2\nassert math.sqrt(4) == x\nfor i in range(2):\n    assert i < 2\ny = 1"
    )
    assert split_tests(code) == [
        "import math\nx = 2\nassert math.sqrt(4) == x",
        "for i in range(2):\n    assert i < 2",
    ]
    assert split_tests("x = 1") == []
    with pytest.raises(SyntaxError):
        split_tests("assert (")


def test_humaneval_problems_load_with_split_hidden_tests() -> None:
    problems = load_problems("humaneval")
    assert len(problems) == 164
    assert len({p.task_id for p in problems}) == 164
    p0 = next(p for p in problems if p.task_id == "HumanEval/0")
    assert p0.entry_point == "has_close_elements" and len(p0.tests) == 7
    assert p0.tests[0].splitlines()[-2] == "candidate = has_close_elements"
    assert all(p.tests and p.solution.startswith(p.prompt) for p in problems)


@BWRAP
def test_reference_solutions_pass_their_split_hidden_tests() -> None:
    if not bwrap_available():
        pytest.skip("bubblewrap (bwrap) is not available here")
    from spenv.games.code_and_test import _sandbox

    problems = load_problems("humaneval")[::16]  # a spread of 11, loops in check() included
    problems += tuple(p for p in load_problems("humaneval") if p.task_id == "HumanEval/32")
    jobs = [
        {
            "solution": p.solution,
            "tests": list(p.tests),
            "entry_point": p.entry_point,
            "setup": p.prompt,
        }
        for p in problems
    ]
    verdicts = _sandbox("bwrap").run_tests_many(jobs)
    assert [v.status for v in verdicts] == ["ok"] * len(problems), [v.detail for v in verdicts]


def test_mbpp_problems_by_task_id_split() -> None:
    sizes = {s: len(load_problems(f"mbpp:{s}")) for s in ("train", "validation", "test", "prompt")}
    # 374/90/500/10 rows, less the tasks left out (601, 642, 927 / 596 / 123, 341, 367 / -)
    assert sizes == {"train": 371, "validation": 89, "test": 497, "prompt": 10}
    ids = {int(p.task_id.split("/")[1]) for p in load_problems("mbpp:train")}
    assert min(ids) == 602 and max(ids) == 974
    p = next(p for p in load_problems("mbpp:train") if p.task_id == "mbpp/602")
    assert p.prompt.startswith(f"def {p.entry_point}(") and len(p.tests) == 3
    # The expected values never appear in what the players see.
    for test in p.tests:
        assert test not in p.prompt and test.split("==")[-1].strip() not in p.prompt
    with pytest.raises(ValueError, match="mbpp:SPLIT"):
        load_problems("mbpp:nope")


@BWRAP
@pytest.mark.slow
def test_every_mbpp_reference_passes_its_hidden_tests() -> None:
    """All 967 kept MBPP problems (the 7 left out are listed in MBPP_EXCLUDED)."""
    if not bwrap_available():
        pytest.skip("bubblewrap (bwrap) is not available here")
    from spenv.games.code_and_test import _sandbox

    problems = load_problems("mbpp")
    jobs = [
        {
            "solution": p.solution,
            "tests": list(p.tests),
            "entry_point": p.entry_point,
            "setup": p.prompt,
            "timeout": 10.0,
        }
        for p in problems
    ]
    verdicts = _sandbox("bwrap").run_tests_many(jobs)
    bad = [(p.task_id, v.detail) for p, v in zip(problems, verdicts, strict=True) if not v.ok]
    assert bad == []


def test_jsonl_formats(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    recs = [
        # MBPP style: text, code, test_list; entry point from the code
        {"text": "Add two numbers.", "code": "def add(a, b):\n    return a + b",
         "test_list": ["assert add(1, 2) == 3", "assert add(0, 0) == 0"]},
        # HumanEval style: check(candidate)
        {"task_id": "x/1", "prompt": "def neg(a):\n", "canonical_solution": "    return -a\n",
         "test": "def check(candidate):\n    assert candidate(1) == -1\n"
                 "    assert candidate(0) == 0\n",
         "entry_point": "neg"},
        # a script of asserts
        {"task_id": "x/2", "prompt": "def one():\n", "solution": "def one():\n    return 1",
         "test": "v = 1\nassert one() == v"},
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(r) for r in recs) + "\n\n")
    a, b, c = load_problems(str(path))
    assert a == Problem(
        "p.jsonl/1", "Add two numbers.", recs[0]["code"], tuple(recs[0]["test_list"]), "add"
    )
    assert b.entry_point == "neg" and b.solution == "def neg(a):\n    return -a\n"
    assert b.tests == ("candidate = neg\nassert candidate(1) == -1", "assert candidate(0) == 0")
    assert c.tests == ("v = 1\nassert one() == v",)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "JSON object"),
        ('{"prompt": "p"}', "no reference"),
        ('{"solution": "def f(): pass", "tests": ["assert 1"]}', "prompt"),
        ('{"prompt": "p", "solution": "x = 1", "tests": ["assert 1"]}', "entry_point"),
        ('{"prompt": "p", "solution": "def f(): pass"}', "no hidden tests"),
        ('{"prompt": "p", "solution": "def f(): pass", "test": "assert ("}', "do not parse"),
    ],
)
def test_bad_jsonl_records_name_the_problem(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(ValueError, match=message) as info:
        load_problems(str(path))
    assert "bad.jsonl/1" in str(info.value)


def test_bad_sources() -> None:
    with pytest.raises(ValueError, match="not a file"):
        load_problems("/no/such/file.jsonl")
    with pytest.raises(ValueError, match="source"):
        load_problems("")


# ------------------------------------------------------------------------------ mutants
def test_mutants_cover_the_operator_kinds_and_leave_the_rest() -> None:
    src = (
        "LIMIT = 10\n"
        "def f(xs, k):\n"
        '    """Docstring with 3 < 4 == 5."""\n'
        "    total = 0\n"
        "    for x in xs:\n"
        "        if x > k and not x == 7:\n"
        "            total += x * 2\n"
        "    return total\n"
    )
    ms = mutants(src)
    kinds = " | ".join(m.description for m in ms)
    expected_kinds = ("Gt -> GtE", "Eq -> NotEq", "And -> Or", "drop Not", "Add -> Sub")
    expected_kinds += ("Mult -> Add", "0 -> 1", "2 -> 3", "negate the if", "return None")
    for expected in expected_kinds:
        assert expected in kinds
    original = ast.unparse(ast.parse(src))
    assert len({m.source for m in ms}) == len(ms) and original not in {m.source for m in ms}
    for m in ms:
        compile(m.source, "<m>", "exec")
        tree = ast.parse(m.source)
        assert ast.get_docstring(tree.body[1]) == "Docstring with 3 < 4 == 5."
        assert ast.unparse(tree.body[0]) == "LIMIT = 10"  # module-level code is not mutated
        # exactly one statement line differs from the original
        diff = [a != b for a, b in zip(m.source.splitlines(), original.splitlines(), strict=True)]
        assert sum(diff) == 1
    assert mutants(src) == ms  # deterministic
    assert mutants("def broken(:") == ()
    assert mutants("x = 1 + 2") == ()  # nothing inside a function


# ------------------------------------------------------------------------------ rewards
@BWRAP
def test_correct_code_and_strong_tests(source: str) -> None:
    env = make(source, n_mutants=100)
    ep = play(env, f"<code>\n{GOOD}\n</code>", "<tests>\n" + "\n".join(CLIP_TESTS) + "\n</tests>")
    assert ep.rewards == {"coder": 1.0, "tester": 1.0}
    assert ep.outcomes == {"coder": "win", "tester": "win"}
    (hidden,) = checks(ep, "hidden_tests")
    assert hidden["status"] == "ok" and (hidden["passed"], hidden["total"]) == (5, 5)
    assert checks(ep, "tests_on_reference")[0]["status"] == "ok"
    screens = checks(ep, "mutant_on_hidden_tests")
    assert len(screens) == len(mutants(env.problem.solution)) == len(ep.info["mutants"])
    wrong = [s for s in screens if s["status"] != "ok"]
    catches = checks(ep, "tests_on_wrong_program")
    # the tester's tests are the hidden tests: every wrong mutant is caught
    assert len(catches) == len(wrong) == ep.info["wrong_programs"] == ep.info["caught"] > 0
    assert all(c["caught"] for c in catches)
    # `x < lo` -> `x <= lo` is equivalent: the hidden tests cannot tell it, so it is not counted
    equiv = [s for s in screens if s["mutation"] == "line 8: Lt -> LtE"]
    assert equiv and equiv[0]["status"] == "ok"
    assert {c["subject"] for c in catches} == {s["subject"] for s in wrong}
    spenv.replay(ep)


@BWRAP
def test_partially_correct_code_gets_its_pass_rate_and_counts_as_a_wrong_program(
    source: str,
) -> None:
    env = make(source, n_mutants=2)
    partial = "def clip(x, lo, hi):\n    return max(lo, x)"  # wrong only above hi
    ep = play(env, f"<code>{partial}</code>", "<tests>assert clip(9, 1, 4) == 4</tests>")
    assert ep.rewards["coder"] == pytest.approx(0.8)
    assert ep.outcomes["coder"] == "draw"
    coder_catch = [v for v in checks(ep, "tests_on_wrong_program") if v["subject"] == "coder"]
    assert coder_catch and coder_catch[0]["caught"] is True
    assert ep.info["wrong_programs"] >= 1
    assert ep.rewards["tester"] == pytest.approx(ep.info["caught"] / ep.info["wrong_programs"])


@BWRAP
def test_completion_style_and_fenced_code(source: str) -> None:
    env = make(source, n_mutants=0)
    ep = play(
        env,
        "<code>\n    return min(max(x, lo), hi)\n</code>",
        "<tests>assert clip(1, 0, 3) == 1</tests>",
    )
    # No mutants and a right coder: valid tests, but nothing to catch, so nothing earned.
    assert ep.rewards == {"coder": 1.0, "tester": 0.0}
    assert ep.info["wrong_programs"] == 0 and ep.info["tests_valid"]
    assert ep.outcomes == {"coder": "win", "tester": "draw"}
    ep = play(env, f"Sure:\n```python\n{GOOD}\n```\n", "```python\nassert clip(1, 0, 3) == 1\n```")
    assert ep.rewards["coder"] == 1.0 and ep.info["tests_valid"]


@BWRAP
def test_code_that_does_not_compile_scores_zero_without_running(source: str) -> None:
    env = make(source, n_mutants=1)
    ep = play(
        env,
        "<code>def clip(x, lo, hi)\n    return x</code>",
        "<tests>assert clip(1, 0, 3) == 1</tests>",
    )
    (hidden,) = checks(ep, "hidden_tests")
    assert hidden["status"] == "format_error" and "does not compile" in hidden["detail"]
    assert ep.rewards["coder"] == 0.0 and ep.outcomes["coder"] == "loss"
    # code that does not compile is not a wrong program for the tester
    assert all(v["subject"] != "coder" for v in checks(ep, "tests_on_wrong_program"))


@BWRAP
@pytest.mark.parametrize(
    "tests",
    [
        "assert clip(5, 0, 3) == 5",  # wrong on the reference
        "assert clip(",  # does not compile
        "x = clip(1, 0, 3)",  # no assert
        "while True:\n    pass\nassert True",  # hangs on the reference
    ],
)
def test_invalid_tests_score_zero_and_run_no_mutant(source: str, tests: str) -> None:
    env = make(source, n_mutants=3, time_limit=2.0, per_test_timeout=0.5)
    ep = play(env, f"<code>{GOOD}</code>", f"<tests>\n{tests}\n</tests>")
    assert ep.rewards == {"coder": 1.0, "tester": 0.0}
    assert ep.outcomes["tester"] == "loss" and ep.info["tests_valid"] is False
    assert checks(ep, "tests_on_reference")[0]["status"] != "ok"
    assert not checks(ep, "mutant_on_hidden_tests") and ep.info["mutants"] == []


@BWRAP
def test_weak_tests_catch_some_or_no_wrong_programs(source: str) -> None:
    env = make(source, n_mutants=100)
    ep = play(env, f"<code>{GOOD}</code>", "<tests>assert callable(clip)</tests>")
    assert ep.info["tests_valid"] and ep.info["wrong_programs"] > 0 and ep.info["caught"] == 0
    assert ep.rewards["tester"] == 0.0 and ep.outcomes["tester"] == "loss"
    ep = play(env, f"<code>{GOOD}</code>", "<tests>assert clip(2, 0, 3) == 2</tests>")
    caught, wrong = ep.info["caught"], ep.info["wrong_programs"]
    assert 0 < caught < wrong  # the middle branch only: `return None` on it is caught
    assert ep.rewards["tester"] == pytest.approx(caught / wrong)
    assert ep.outcomes["tester"] == "draw"
    assert sum(v["caught"] for v in checks(ep, "tests_on_wrong_program")) == caught


HOSTILE = {
    "fork_bomb": "import os\nwhile True:\n    os.fork()\n",
    "infinite_loop": "def clip(x, lo, hi):\n    while True:\n        pass\n",
    "huge_output": "print('x' * 10**8)\ndef clip(x, lo, hi):\n    return min(max(x, lo), hi)\n",
    "memory_hog": "blob = bytearray(8 << 30)\n" + GOOD + "\n",
}


@BWRAP
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_code_is_contained(source: str, name: str) -> None:
    env = make(source, n_mutants=0, time_limit=1.5, per_test_timeout=0.5, backend="bwrap")
    ep = play(env, f"<code>\n{HOSTILE[name]}</code>", "<tests>assert clip(1, 0, 3) == 1</tests>")
    assert ep.status == "completed"
    (hidden,) = checks(ep, "hidden_tests")
    assert hidden["status"] in ("wrong", "timeout") and ep.rewards["coder"] < 1.0
    assert ep.rewards["tester"] == 1.0 and ep.info["tests_valid"]
    json.dumps(ep.to_dict())


@BWRAP
def test_code_cannot_read_host_files(source: str, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("3")
    code = (
        f"HI = int(open({str(secret)!r}).read())\n"
        "def clip(x, lo, hi):\n    return min(max(x, lo), HI)\n"
    )
    env = make(source, n_mutants=0, backend="bwrap")
    ep = play(env, f"<code>\n{code}</code>", "<tests>assert clip(1, 0, 3) == 1</tests>")
    (hidden,) = checks(ep, "hidden_tests")
    assert ep.rewards["coder"] == 0.0 and "FileNotFoundError" in json.dumps(hidden)


@BWRAP
def test_code_cannot_reach_the_network(source: str) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    seen: list[Any] = []

    done = threading.Event()

    def accept() -> None:
        while not done.is_set():
            try:
                seen.append(server.accept())
            except (TimeoutError, OSError):
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    code = (
        f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1).close()\n"
        "def clip(x, lo, hi):\n    return min(max(x, lo), hi)\n"
    )
    try:
        env = make(source, n_mutants=0, backend="bwrap")
        ep = play(env, f"<code>\n{code}</code>", "<tests>assert clip(1, 0, 3) == 1</tests>")
    finally:
        done.set()
        t.join()
        server.close()
    assert seen == []
    assert ep.rewards["coder"] == 0.0
    assert "ConnectionRefusedError" in json.dumps(checks(ep, "hidden_tests"))


# ------------------------------------------------------------------------------ moves
def test_an_answer_without_a_tag_is_an_invalid_move(source: str) -> None:
    env = make(source)
    env.reset(seed=0)
    env.step("I would write a loop.")
    ep = env.episode()
    assert ep.outcomes == {"coder": "invalid", "tester": "win"}
    assert ep.rewards == {"coder": -1.0, "tester": 0.0}
    assert "no <code> tag" in ep.turns[0].error and ep.verdicts == []
    assert ep.info["ended_by"] == "forfeit"


@BWRAP
def test_retries_show_the_error_and_parse_notes_are_kept(source: str) -> None:
    env = make(source, retries=1, n_mutants=0)
    env.reset(seed=0)
    env.step("<tests>assert 1</tests>")  # not the coder's tool
    obs = env.infos["coder"]["observation"]
    assert "<tests> is not available here" in obs.user and "1 attempt left" in obs.user
    many = "".join(f"<code>x = {i}</code>" for i in range(9)) + f"<code>{GOOD}</code>"
    env.step(many)
    assert env.agent_selection == "tester"
    env.step("<tests>assert clip(1, 0, 3) == 1</tests>")
    ep = env.episode()
    assert ep.info["parse_notes"]["coder"] and "at most 8" in ep.info["parse_notes"]["coder"][0]
    assert ep.info["code"] == "x = 7"  # the last of the 8 calls read
    assert ep.rewards["coder"] == 0.0


def test_reset_option_problem_and_constructor_checks(source: str) -> None:
    env = spenv.make(ENV_ID)
    env.reset(seed=1, options={"problem": "mbpp/700"})
    assert env.problem.task_id == "mbpp/700"
    env.reset(seed=1, options={"problem": 5})
    assert env.problem.task_id == "mbpp/607"
    view = env.infos["tester"]["observation"]
    assert "canonical" not in json.dumps(dict(view.state)) and env.problem.solution not in view.text
    env.step("<code>\nSECRET_MARK = 1\n</code>")
    view = env.infos["tester"]["observation"]
    assert view.is_decision and "SECRET_MARK" not in view.text + json.dumps(dict(view.state))
    with pytest.raises(ValueError, match="problem"):
        env.reset(options={"problem": "nope"})
    for bad in ({"split": "x"}, {"n_mutants": -1}, {"time_limit": 0}, {"backend": "vm"}):
        with pytest.raises(ValueError):
            CodeAndTestEnv(**bad)
    with pytest.raises(ValueError, match="split"):
        CodeAndTestEnv(source="mbpp:train")
    # Training on the evaluation's problems needs an explicit opt-in.
    for opts in ({"source": "humaneval"}, {"split": "test"}, {"split": "all"}):
        with pytest.raises(ValueError, match="allow_eval_overlap=True"):
            CodeAndTestEnv(**opts)
    he = {"source": "humaneval", "allow_eval_overlap": True}
    train = {p for p in (CodeAndTestEnv(split="train", **he)._problems)}
    test = {p for p in (CodeAndTestEnv(split="test", **he)._problems)}
    assert not train & test and len(train) + len(test) == 164
    # The problem source is always recorded, so an evaluation can notice overlap.
    assert CodeAndTestEnv().env_options() == {"source": "mbpp", "split": "train"}
    opts = CodeAndTestEnv(**he).env_options()
    assert opts == {"source": "humaneval", "split": "all", "allow_eval_overlap": True}


# ------------------------------------------------------------------------------ agents
def test_doctest_examples_become_asserts() -> None:
    assert _doc_examples(CLIP_PROMPT, "clip") == [("clip(5, 0, 3)", "3"), ("clip(-1, 0, 3)", "0")]
    arrow = "def f(x):\n    '''f(1) ➞ 2\n    f(2) -> 4\n    '''\n"
    assert _doc_examples(arrow, "f") == [("f(1)", "2"), ("f(2)", "4")]
    problems = load_problems("humaneval")
    assert sum(bool(_doc_examples(p.prompt, p.entry_point)) for p in problems) > 120


@BWRAP
def test_reference_agents_through_the_registry() -> None:
    ep = spenv.play(ENV_ID, ["oracle", "doctest"], seed=0)
    assert ep.rewards["coder"] == 1.0 and ep.outcomes["coder"] == "win"
    assert ep.info["tests_valid"] is True
    spenv.replay(ep)
    # (HumanEval's hidden tests catch its first mutant; MBPP's three asserts often do not.)
    he = {"source": "humaneval", "allow_eval_overlap": True}
    ep = spenv.play(ENV_ID, ["oracle:mutant=0", "oracle"], seed=0, env_options=he)
    assert ep.rewards["coder"] < 1.0
    assert ep.rewards["tester"] == 1.0  # the hidden tests catch every wrong program
    ep = spenv.play(ENV_ID, ["doctest", "random"], seed=3)
    assert ep.status == "completed" and 0.0 <= ep.rewards["coder"] < 1.0
    spenv.replay(ep)
    agent = make_agent("random", ENV_ID, seed=0)
    assert agent.name == "random"


def test_api_test_through_the_registry() -> None:
    from pettingzoo.test import api_test

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        api_test(spenv.make(ENV_ID), num_cycles=20)


@BWRAP
def test_cli_play_writes_verdicts(tmp_path: Path) -> None:
    from spenv.apps.cli import main

    out = tmp_path / "cat.jsonl"
    assert main(["play", ENV_ID, "--games", "2", "--out", str(out), "-q"]) == 0
    episodes = list(read_episodes(out))
    assert len(episodes) == 2
    for ep in episodes:
        assert {v["check"] for v in ep.verdicts} >= {"hidden_tests", "tests_on_reference"}
        assert all("status" in v and "score" in v for v in ep.verdicts)
        spenv.replay(ep)


def test_hugging_face_dataset_source(tmp_path: Path) -> None:
    pytest.importorskip("datasets", reason="the hf: source needs the datasets package")
    rec = {
        "task_id": "t/1",
        "prompt": "def add(a, b):\n",
        "canonical_solution": "    return a + b\n",
        "test": "def check(candidate):\n    assert candidate(1, 2) == 3\n",
        "entry_point": "add",
    }
    (tmp_path / "test.jsonl").write_text(json.dumps(rec) + "\n")
    (problem,) = load_problems(f"hf:{tmp_path}:test")
    assert problem.task_id == "t/1" and problem.solution == "def add(a, b):\n    return a + b\n"
    assert problem.tests == ("candidate = add\nassert candidate(1, 2) == 3",)


# ------------------------------------------------------------------------- cure scoring
@BWRAP
def test_cure_scoring_matrix_and_per_decision_rewards(source: str) -> None:
    env = make(source, scoring="cure", n_solutions=3, n_mutants=100)
    env.reset(seed=0)
    texts = []
    for code in (GOOD, "def clip(x, lo, hi):\n    return x", "no code at all"):
        obs = env.infos["coder"]["observation"]
        assert env.agent_selection == "coder" and obs.is_decision
        texts.append((obs.text, obs.repeat))
        env.step(f"<code>\n{code}\n</code>" if "def" in code else code)
    # The same prompt three times, counting down; no answer sees another.
    assert [t for t, _ in texts] == [texts[0][0]] * 3 and [r for _, r in texts] == [3, 2, 1]
    assert "return x" not in env.infos["coder"]["observation"].text
    env.step("<tests>\nassert clip(5, 0, 3) == 3\nassert clip(1, 0, 3) == 1\n</tests>")
    ep = env.episode()
    m = ep.info["matrix"]
    assert m["solutions"][:4] == ["coder 0", "coder 1", "coder 2", "reference"]
    assert len(m["tests"]) == 2 + len(CLIP_TESTS) and all(m["test_correct"])
    assert m["solution_correct"][:4] == [True, False, False, True]
    assert m["passed"][0] == [1] * 7 and m["passed"][2] == [0] * 7
    # coder 1 (identity) passes clip(1,0,3), and the hidden clip(2..), clip(0..), clip(3..)
    assert ep.info["solution_rewards"] == [1.0, pytest.approx(4 / 7), 0.0]
    rewards = {t.index: t.reward for t in ep.turns}
    assert [rewards[i] for i in range(3)] == ep.info["solution_rewards"]
    assert (
        rewards[3]
        == ep.rewards["tester"]
        == pytest.approx(statistics.fmean(ep.info["test_rewards"]))
    )
    assert ep.rewards["coder"] == pytest.approx(statistics.fmean(ep.info["solution_rewards"]))
    # Each test: the fraction of the wrong programs (coder answers and mutants that fail the
    # hidden tests) it fails; the identity (coder 1) passes clip(1, 0, 3) but not clip(5, 0, 3).
    wrong = [i for i, ok in enumerate(m["solution_correct"]) if not ok]
    for j in (0, 1):
        caught = sum(1 - m["passed"][i][j] for i in wrong) / len(wrong)
        assert ep.info["test_rewards"][j] == pytest.approx(caught)
    assert m["passed"][1][:2] == [0, 1]
    assert ep.info["test_rewards"][0] > ep.info["test_rewards"][1] > 0
    assert {v["check"] for v in ep.verdicts} == {"solution_on_tests"}
    assert all(v["backend"] == "bwrap" for v in ep.verdicts)
    spenv.replay(ep)


@BWRAP
def test_cure_test_sources(source: str) -> None:
    tests = "<tests>\nassert clip(5, 0, 3) == 3\nassert clip(9, 0, 3) == 9\n</tests>"
    rewards = {}
    for ts in ("tester", "reference", "both"):
        env = make(source, scoring="cure", n_solutions=1, n_mutants=0, test_source=ts)
        env.reset(seed=0)
        env.step(f"<code>\n{GOOD}\n</code>")
        env.step(tests)
        ep = env.episode()
        rewards[ts] = ep.info["solution_rewards"][0]
        assert ep.info["matrix"]["test_correct"][:2] == [True, False]
        # A wrong test earns nothing; with no wrong program, a right one earns nothing either.
        assert ep.info["test_rewards"] == [0.0, 0.0]
    # Scored on the correct tests only: the tester's one right test, the hidden ones, or both.
    assert rewards == {"tester": 1.0, "reference": 1.0, "both": 1.0}


def test_cure_options_are_checked_and_recorded() -> None:
    for bad in ({"scoring": "x"}, {"n_solutions": 0}, {"test_source": "oracle"}):
        with pytest.raises(ValueError):
            CodeAndTestEnv(**bad)
    opts = CodeAndTestEnv(scoring="cure", n_solutions=2, test_source="tester").env_options()
    assert (
        opts["scoring"] == "cure" and opts["n_solutions"] == 2 and opts["test_source"] == "tester"
    )
    assert "n_solutions" not in CodeAndTestEnv(scoring="cure").env_options()


@BWRAP
def test_tests_that_depend_on_chance_catch_nothing(source: str) -> None:
    env = make(source, n_mutants=100, test_repeats=6)
    clock = "import time\nassert time.perf_counter_ns() // 1000 % 2 == 0"
    ep = play(env, f"<code>\n{GOOD}\n</code>", f"<tests>\n{clock}\n</tests>")
    # Unstable on the reference: not valid, so nothing earned.
    assert not ep.info["tests_valid"] and ep.rewards["tester"] == 0.0
    rec = next(v for v in ep.verdicts if v["check"] == "tests_on_reference")
    assert rec["status"] == "wrong"
    with pytest.raises(ValueError, match="test_repeats"):
        CodeAndTestEnv(test_repeats=0)
