"""spenv verifiers as TRL reward functions, and TRL's GRPOTrainer running with them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from spenv.datafiles import benchmark_root
from spenv.verifiers.rewards import (
    code_reward,
    completion_text,
    extract_code,
    make_code_reward,
    make_math_reward,
    math_reward,
)

GSM8K = benchmark_root() / "gsm8k" / "test.jsonl"


def test_math_reward_reads_strings_and_chat_messages_against_the_answer_column():
    gold = "She sells 16 - 3 - 4 = 9 eggs and makes 9 * 2 = $18.\n#### 18"
    completions = [
        "9 eggs at $2 each: \\boxed{18}",
        [{"role": "assistant", "content": "The answer is 18."}],
        "\\boxed{17}",
        "no idea",
        [{"role": "assistant", "content": "so \\boxed{\\frac{36}{2}}"}],
    ]
    got = math_reward(prompts=["q"] * 5, completions=completions, answer=[gold] * 5)
    assert got == [1.0, 1.0, 0.0, 0.0, 1.0]
    # The ``solution`` column works too; a missing gold column is a clear error.
    assert math_reward(completions=["\\boxed{x^2}"], solution=["$x^2$"]) == [1.0]
    with pytest.raises(ValueError, match="answer"):
        math_reward(prompts=["q"], completions=["1"], question=["q"])
    with pytest.raises(ValueError, match="values for 2 completions"):
        math_reward(completions=["1", "2"], answer=["1"])
    custom = make_math_reward(gold_columns=("gold",), name="gold_reward")
    assert custom.__name__ == "gold_reward"
    assert custom(completions=["\\boxed{3}"], gold=["3"]) == [1.0]


def test_completion_text_and_code_extraction():
    assert completion_text([{"role": "assistant", "content": "hi"}]) == "hi"
    assert completion_text("plain") == "plain"
    text = "first\n```python\nx = 1\n```\nthen\n```py\ndef f():\n    return 2\n```"
    assert extract_code(text) == "def f():\n    return 2\n"
    assert extract_code("def g(): pass") == "def g(): pass"


@pytest.mark.backend("bwrap")
def test_code_reward_scores_the_fraction_of_tests_passed_in_the_sandbox():
    from spenv.verifiers.code import bwrap_available

    if not bwrap_available():
        pytest.skip("bubblewrap (bwrap) is not installed or cannot create namespaces here")
    tests = ["assert add(1, 2) == 3", "assert add(2, 0) == 2", "assert add(2, 2) == 4"]
    completions = [
        "```python\ndef add(a, b):\n    return a + b\n```",
        [{"role": "assistant", "content": "```python\ndef add(a, b):\n    return a - b\n```"}],
        "```python\ndef add(a, b):\n    while True: pass\n```",
    ]
    quick = make_code_reward(timeout=3.0)  # the endless loop is stopped by the time limit
    got = quick(prompts=["p"] * 3, completions=completions, tests=[tests] * 3)
    assert got[0] == 1.0
    assert got[1] == pytest.approx(1 / 3)  # a - b passes only add(2, 0) == 2
    assert got[2] == 0.0
    assert code_reward.__name__ == "code_reward"
    # HumanEval style: a header column before the body, check(candidate) tests.
    he = make_code_reward(timeout=5.0)
    got = he(
        completions=["    return a * b\n"],
        prompt_code=["def mul(a, b):\n"],
        tests=["def check(candidate):\n    assert candidate(2, 3) == 6\n"],
        entry_point=["mul"],
    )
    assert got == [1.0]


@pytest.mark.skipif(not GSM8K.exists(), reason=f"GSM8K test rows not found at {GSM8K}")
def test_trl_grpo_trainer_runs_with_the_math_reward(tmp_path):
    pytest.importorskip("trl")
    pytest.importorskip("datasets")
    from spenv.agents.testing import tiny_model

    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "examples"))
    try:
        import trl_grpo_math
    finally:
        sys.path.pop(0)
    model = tiny_model(tmp_path / "m", layers=1, hidden_size=32, heads=2, kv_heads=1)
    summary = trl_grpo_math.main(
        [
            "--model",
            model,
            "--rows",
            "4",
            "--steps",
            "1",
            "--max-completion-length",
            "6",
            "--out",
            str(tmp_path / "run"),
            "--data",
            str(GSM8K),
        ]
    )
    assert summary["global_step"] == 1
    logged = [row for row in summary["logs"] if "rewards/math_reward/mean" in row]
    assert logged and 0.0 <= logged[0]["rewards/math_reward/mean"] <= 1.0
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["global_step"] == 1
