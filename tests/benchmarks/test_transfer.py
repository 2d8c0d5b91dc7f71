"""Transfer evaluation on the real benchmark sets with scripted agents of known accuracy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from evalkit import LookupAgent, in_subset, items_of, right_answer

from spenv.benchmarks.metrics import pass_at_k
from spenv.benchmarks.suites import (
    GROUPS,
    SUITES,
    TEMPLATES,
    load_items,
    resolve_suites,
)
from spenv.benchmarks.transfer import (
    ConfigMismatch,
    grade_samples,
    humaneval_program,
    load_records,
    run_transfer,
)

TEXT_SUITES = [s for s in SUITES if s != "humaneval"]


def test_every_suite_reads_its_real_rows(benchmarks_dir: Path) -> None:
    expected = {
        "gsm8k": 1319,
        "math500": 500,
        "aime24": 30,
        "aime25": 30,
        "amc23": 40,
        "minerva_math": 272,
        "olympiadbench": 675,
        "mmlu_stem": 3018,
        "humaneval": 164,
    }
    for suite, count in expected.items():
        items = load_items(suite, data_dir=benchmarks_dir)
        assert len(items) == count, suite
        assert len({it.id for it in items}) == count, f"{suite}: ids not unique"
        assert all(it.question.strip() for it in items)
    gsm = load_items("gsm8k", data_dir=benchmarks_dir, limit=2)
    assert gsm[0].gold == "18" and gsm[0].id == "gsm8k/0"
    mm = load_items("mmlu_stem", data_dir=benchmarks_dir, limit=1)[0]
    assert mm.kind == "choice" and mm.gold == 2 and mm.gold_text() == "C" and len(mm.choices) == 4
    mv = load_items("minerva_math", data_dir=benchmarks_dir, limit=1)[0]
    assert mv.gold == "1.6"  # the last \boxed{} of the solution
    ob = load_items("olympiadbench", data_dir=benchmarks_dir)
    assert all("$" not in it.gold for it in ob)
    amc = load_items("amc23", data_dir=benchmarks_dir, limit=1)[0]
    assert amc.gold == "27"  # stored as the float 27.0


def test_suite_groups_and_errors(tmp_path: Path) -> None:
    assert resolve_suites("math") == list(GROUPS["math"])
    assert resolve_suites("all") == list(SUITES)
    assert resolve_suites("gsm8k, math,gsm8k") == list(GROUPS["math"])
    with pytest.raises(ValueError, match="unknown suite"):
        resolve_suites("gsm9k")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_items("gsm8k", data_dir=tmp_path, source="file")
    bad = tmp_path / "gsm8k"
    bad.mkdir()
    (bad / "test.jsonl").write_text('{"question": "q", "answer": "#### 1"}\n{oops\n')
    with pytest.raises(ValueError, match="line 2"):
        load_items("gsm8k", data_dir=tmp_path)


def test_templates_render_and_hash(benchmarks_dir: Path) -> None:
    mm = load_items("mmlu_stem", data_dir=benchmarks_dir, limit=1)[0]
    system, user = TEMPLATES["boxed"].render(mm)
    assert system == "" and "A. " in user and "D. " in user and "\\boxed{}" in user
    digests = {t.digest() for t in TEMPLATES.values()}
    assert len(digests) == len(TEMPLATES)
    he = load_items("humaneval", limit=1)[0]
    assert TEMPLATES["plain"].render(he)[1] == he.raw["prompt"]
    system, user = TEMPLATES["chat"].render(mm)
    assert "\\boxed{LETTER}" in system and user.startswith(mm.question.rstrip())
    gsm = load_items("gsm8k", data_dir=benchmarks_dir, limit=1)[0]
    assert TEMPLATES["plain"].render(gsm) == ("", f"Question: {gsm.question}\nAnswer:")
    # a question with braces is shown as it is (no format-string surprises)
    mb = load_items("math500", data_dir=benchmarks_dir, limit=2)[1]
    assert "{" in mb.question and mb.question in TEMPLATES["boxed"].render(mb)[1]


def test_gold_answers_grade_right_on_every_full_suite(benchmarks_dir: Path) -> None:
    """Every item of every suite: the gold answer, phrased as an agent would, grades ok."""
    items = items_of(TEXT_SUITES, None, benchmarks_dir)
    answers = [[right_answer(it, "boxed")] for it in items]
    graded = grade_samples(items, answers)
    bad = [
        (it.id, g[0]["status"])
        for it, g in zip(items, graded, strict=True)
        if g[0]["status"] != "ok"
    ]
    assert not bad, bad[:5]
    assert len(items) == 5884


def test_gold_agent_scores_one_through_the_harness(benchmarks_dir: Path, tmp_path: Path) -> None:
    items = items_of(TEXT_SUITES, 100, benchmarks_dir)
    agent = LookupAgent(items, lambda it: True)
    res = run_transfer(
        agent, TEXT_SUITES, out=tmp_path, data_dir=benchmarks_dir, limit=100, batch_size=100
    )
    for suite in TEXT_SUITES:
        m = res["suites"][suite]
        assert m["items"] == min(100, len(load_items(suite, data_dir=benchmarks_dir))), suite
        assert m["pass@1"]["mean"] == 1.0, (suite, m["status_counts"])
        assert m["pass@1"]["ci"] == [1.0, 1.0]
        assert m["format_error_rate"] == 0.0
        assert m["complete"]


def test_wrong_and_subset_agents_score_exactly(benchmarks_dir: Path, tmp_path: Path) -> None:
    items = items_of(TEXT_SUITES, 30, benchmarks_dir)
    wrong = LookupAgent(items, lambda it: False, name="wrong")
    # (wrong answers to LaTeX golds need math-verify's equivalence check: fewer items here)
    res = run_transfer(
        wrong, TEXT_SUITES, out=tmp_path / "wrong", data_dir=benchmarks_dir, limit=15
    )
    for suite in TEXT_SUITES:
        assert res["suites"][suite]["pass@1"]["mean"] == 0.0, suite
        assert res["suites"][suite]["items"] == 15
        assert res["suites"][suite]["status_counts"].get("ok", 0) == 0
    part = LookupAgent(items, lambda it: in_subset(it.id), name="subset", otherwise="none")
    res = run_transfer(part, TEXT_SUITES, out=tmp_path / "part", data_dir=benchmarks_dir, limit=30)
    for suite in TEXT_SUITES:
        mine = [it for it in items if it.suite == suite]
        expected = sum(in_subset(it.id) for it in mine) / len(mine)
        m = res["suites"][suite]
        assert m["pass@1"]["mean"] == pytest.approx(expected, abs=1e-12), suite
        assert m["pass@1"]["ci"][0] <= expected <= m["pass@1"]["ci"][1]
        # per-item records say which items were right
        recs = load_records(tmp_path / "part", suite)
        assert [r["correct"] == 1 for r in recs] == [in_subset(it.id) for it in mine]


@pytest.mark.backend("bwrap")
@pytest.mark.parametrize("template", ["boxed", "plain"])
def test_humaneval_canonical_solutions_pass(template: str, tmp_path: Path) -> None:
    from spenv.verifiers.code import bwrap_available

    if not bwrap_available():
        pytest.skip("bubblewrap (bwrap) with user namespaces is not available")
    items = load_items("humaneval", limit=24)
    right = LookupAgent(items, lambda it: True, template=template)
    res = run_transfer(right, ["humaneval"], out=tmp_path / "r", limit=24, template=template)
    assert res["suites"]["humaneval"]["pass@1"]["mean"] == 1.0
    wrong = LookupAgent(items[:8], lambda it: False, template=template)
    res = run_transfer(wrong, ["humaneval"], out=tmp_path / "w", limit=8, template=template)
    assert res["suites"]["humaneval"]["pass@1"]["mean"] == 0.0
    assert res["suites"]["humaneval"]["status_counts"].get("ok", 0) == 0


def test_humaneval_program_extraction() -> None:
    problem = {"prompt": 'import math\n\ndef f(x):\n    """doc"""\n', "entry_point": "f"}
    body, how = humaneval_program(problem, "    return x + 1\n")
    assert how == "body" and body == "    return x + 1\n"
    full, how = humaneval_program(problem, "Sure:\n```python\ndef f(x):\n    return x\n```\nDone")
    assert how == "block+def" and full.startswith("    pass\n\n") and "def f(x)" in full
    helper, how = humaneval_program(problem, "```python\n    return 2\n```")
    assert how == "block" and helper == "    return 2\n"


class CountingAgent:
    """Sample j of a prompt is right when j < c, where c depends on the item."""

    name = "counting"

    def __init__(self, items, template: str = "boxed") -> None:
        from evalkit import right_answer, wrong_answer

        self.right: dict[str, str] = {}
        self.wrong: dict[str, str] = {}
        self.c: dict[str, int] = {}
        for it in items:
            user = TEMPLATES[template].render(it)[1]
            self.right[user] = right_answer(it, template)
            self.wrong[user] = wrong_answer(it, template)
            self.c[user] = it.index % 5

    def act_batch(self, observations):
        out, seen = [], {}
        for o in observations:
            j = seen.get(o.user, 0)
            seen[o.user] = j + 1
            out.append(self.right[o.user] if j < self.c[o.user] else self.wrong[o.user])
        return out

    def act(self, obs):
        return self.act_batch([obs])[0]


def test_pass_at_k_and_maj_from_samples(benchmarks_dir: Path, tmp_path: Path) -> None:
    items = load_items("gsm8k", data_dir=benchmarks_dir, limit=40)
    res = run_transfer(
        CountingAgent(items), ["gsm8k"], out=tmp_path, data_dir=benchmarks_dir, limit=40, n=4
    )
    m = res["suites"]["gsm8k"]
    cs = [min(it.index % 5, 4) for it in items]
    assert m["samples_per_item"] == 4 and m["samples"] == 160
    assert m["pass@1"]["mean"] == pytest.approx(sum(c / 4 for c in cs) / 40)
    assert m["pass@2"]["mean"] == pytest.approx(sum(pass_at_k(4, c, 2) for c in cs) / 40)
    assert m["pass@4"]["mean"] == pytest.approx(sum(c > 0 for c in cs) / 40)
    # majority of 4: right when 3 or 4 are right, a 2-2 tie goes to the first (right) answer
    assert m["maj@4"]["mean"] == pytest.approx(sum(c >= 2 for c in cs) / 40)
    rec = load_records(tmp_path, "gsm8k")[3]
    assert rec["n"] == 4 and rec["correct"] == 3 and len(rec["samples"]) == 4
    assert rec["samples"][0]["extracted"] == items[3].gold
    assert rec["prompt"]["user"].startswith(items[3].question.rstrip())


class FlakyAgent:
    """Raises on every third prompt, answers right otherwise; its batch call always fails."""

    name = "flaky"

    def __init__(self, items) -> None:
        self.inner = LookupAgent(items, lambda it: True)
        self.order = {TEMPLATES["boxed"].render(it)[1]: it.index for it in items}

    def act_batch(self, observations):
        raise RuntimeError("batch failed")

    def act(self, obs):
        if self.order[obs.user] % 3 == 0:
            raise RuntimeError("generation failed")
        return self.inner.act(obs)


def test_agent_failures_are_counted_not_dropped(benchmarks_dir: Path, tmp_path: Path) -> None:
    items = load_items("aime24", data_dir=benchmarks_dir)
    res = run_transfer(FlakyAgent(items), ["aime24"], out=tmp_path, data_dir=benchmarks_dir)
    m = res["suites"]["aime24"]
    failing = sum(it.index % 3 == 0 for it in items)
    assert m["items"] == 30
    assert m["status_counts"]["agent_error"] == failing
    assert m["agent_error_rate"] == pytest.approx(failing / 30)
    assert m["pass@1"]["mean"] == pytest.approx((30 - failing) / 30)
    rec = load_records(tmp_path, "aime24")[0]
    assert rec["samples"][0]["status"] == "agent_error"
    assert "generation failed" in rec["samples"][0]["detail"]
    # a rerun keeps them as they are; with retry_errors only the failed items are asked again
    fixed = LookupAgent(items, lambda it: True, name="flaky")
    again = run_transfer(fixed, ["aime24"], out=tmp_path, data_dir=benchmarks_dir)
    assert fixed.calls == 0 and again["suites"] == res["suites"]
    again = run_transfer(
        fixed, ["aime24"], out=tmp_path, data_dir=benchmarks_dir, retry_errors=True
    )
    assert fixed.calls == 1
    assert again["suites"]["aime24"]["pass@1"]["mean"] == 1.0
    assert again["suites"]["aime24"]["items"] == 30
    assert len(load_records(tmp_path, "aime24")) == 30


def test_resume_skips_done_items_and_refuses_other_configs(
    benchmarks_dir: Path, tmp_path: Path
) -> None:
    items = load_items("amc23", data_dir=benchmarks_dir)
    agent = LookupAgent(items, lambda it: in_subset(it.id))
    kw = {"out": tmp_path, "data_dir": benchmarks_dir, "batch_size": 5}
    run_transfer(agent, ["amc23"], limit=20, **kw)
    assert agent.calls == 4
    res = run_transfer(agent, ["amc23"], **kw)  # the other 20 only
    assert agent.calls == 8
    assert res["suites"]["amc23"]["items"] == 40
    meta = json.loads((tmp_path / "metadata.json").read_text())
    assert meta["items_resumed"] == 20
    assert meta["config"]["template_sha256"] == TEMPLATES["boxed"].digest()
    assert meta["git_sha"] is None or len(meta["git_sha"]) >= 40
    assert meta["eval_packages"]["math-verify"]
    assert set(meta["timings"]) >= {"load", "generate", "grade", "write", "total"}
    run_transfer(agent, ["amc23"], **kw)  # nothing left to do
    assert agent.calls == 8
    with pytest.raises(ConfigMismatch, match="template"):
        run_transfer(agent, ["amc23"], template="plain", **kw)
    with pytest.raises(ConfigMismatch, match="n: 1"):
        run_transfer(agent, ["amc23"], n=2, **kw)
    # asked to mix: allowed, and the earlier config is recorded
    plain = LookupAgent(items, lambda it: True, template="plain")
    run_transfer(plain, ["aime24"], template="plain", allow_mixed=True, limit=3, **kw)
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["template"] == "plain" and cfg["mixed"][0]["template"] == "boxed"
    # restart discards the old results
    res = run_transfer(plain, ["amc23"], template="plain", restart=True, **kw)
    assert not (tmp_path / "aime24.jsonl").exists()
    assert res["suites"]["amc23"]["pass@1"]["mean"] == 1.0


def test_torn_last_line_is_dropped_and_redone(benchmarks_dir: Path, tmp_path: Path) -> None:
    items = load_items("aime25", data_dir=benchmarks_dir)
    agent = LookupAgent(items, lambda it: in_subset(it.id))
    kw = {"out": tmp_path, "data_dir": benchmarks_dir}
    full = run_transfer(agent, ["aime25"], **kw)
    path = tmp_path / "aime25.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-2]) + lines[-2][: len(lines[-2]) // 2])  # torn write
    again = run_transfer(agent, ["aime25"], **kw)
    assert again["suites"] == full["suites"]
    assert len(path.read_bytes().splitlines()) == 30
    assert path.read_bytes().endswith(b"\n")
    # a malformed line in the middle is corruption, reported with its line number
    data = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(data[:5]) + b"{garbage\n" + b"".join(data[5:]))
    with pytest.raises(ValueError, match="line 6"):
        run_transfer(agent, ["aime25"], **kw)


def test_bad_arguments(tmp_path: Path) -> None:
    agent = LookupAgent([], lambda it: True)
    with pytest.raises(ValueError, match="unknown template"):
        run_transfer(agent, ["gsm8k"], out=tmp_path, template="fancy")
    with pytest.raises(ValueError, match="unknown suites"):
        run_transfer(agent, ["gsm9k"], out=tmp_path)
    with pytest.raises(ValueError, match="agent spec"):
        run_transfer(agent, ["gsm8k"], out=tmp_path, backend="ray")
    with pytest.raises(ValueError, match="n must be"):
        run_transfer(agent, ["gsm8k"], out=tmp_path, n=0)


def test_hub_source_failure_is_a_clear_error(tmp_path: Path) -> None:
    """The hub path imports ``datasets`` lazily and names the dataset when it cannot load it
    (run offline in a child process, so no request leaves the machine)."""
    code = (
        "from spenv.benchmarks.suites import load_items\n"
        "try:\n"
        "    load_items('gsm8k', source='hub')\n"
        "except FileNotFoundError as exc:\n"
        "    print('ERROR:', exc)\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    env["HF_HOME"] = str(tmp_path / "hf")
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    if "needs the 'datasets' package" in done.stderr:
        pytest.skip("the datasets package is not installed")
    assert "ERROR: no local data for gsm8k" in done.stdout, done.stderr[-2000:]
    assert "openai/gsm8k" in done.stdout
