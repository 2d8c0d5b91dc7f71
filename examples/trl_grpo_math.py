"""TRL's ``GRPOTrainer`` on GSM8K with the spenv math verifier as its reward function.

A worked example of :mod:`spenv.verifiers.rewards`: the reward function receives TRL's
completions (strings here; chat message lists work too) and the dataset's ``answer`` column, and
grades each completion's final answer with :func:`spenv.verifiers.math.grade_batch`.

By default it runs offline on a CPU: a tiny random-init model (:func:`spenv.agents.testing.
tiny_model`), a few GSM8K test rows from the benchmark data shipped with spenv, two optimizer
steps. The tiny model answers nonsense, so the rewards are zero; the point is the plumbing. Give
a real model with ``--model`` (e.g. ``Qwen/Qwen2.5-0.5B-Instruct`` on a GPU) for a real run.

    python examples/trl_grpo_math.py --steps 2 --out runs/trl_math
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def gsm8k_rows(path: Path, n: int) -> list[dict[str, str]]:
    """The first ``n`` rows as TRL prompts (conversational) with their ``answer`` column."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            item = json.loads(line)
            prompt = [
                {
                    "role": "user",
                    "content": item["question"] + "\nGive the final answer as \\boxed{number}.",
                }
            ]
            rows.append({"prompt": prompt, "answer": item["answer"]})
            if len(rows) == n:
                break
    return rows


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None, help="model path or hub id (default: a tiny model)")
    p.add_argument(
        "--data", default=None, help="GSM8K test.jsonl (default: the copy shipped with spenv)"
    )
    p.add_argument("--rows", type=int, default=8)
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--out", default="runs/trl_grpo_math")
    p.add_argument("--max-completion-length", type=int, default=24)
    args = p.parse_args(argv)

    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from spenv.verifiers.rewards import math_reward

    out = Path(args.out)
    model = args.model
    if model is None:
        from spenv.agents.testing import tiny_model

        model = tiny_model(out / "tiny_model", layers=2, hidden_size=64)
    from spenv.datafiles import benchmark_root

    data = Path(args.data) if args.data else benchmark_root() / "gsm8k" / "test.jsonl"
    if not data.is_file():
        raise SystemExit(f"trl_grpo_math: no GSM8K file at {data} (pass --data or set SPENV_DATA)")
    dataset = Dataset.from_list(gsm8k_rows(data, args.rows))
    config = GRPOConfig(
        output_dir=str(out / "trainer"),
        max_steps=args.steps,
        per_device_train_batch_size=4,
        num_generations=4,
        max_completion_length=args.max_completion_length,
        learning_rate=1e-4,
        loss_type="dr_grpo",
        beta=0.0,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        bf16=False,
        seed=0,
    )
    trainer = GRPOTrainer(
        model=model, reward_funcs=[math_reward], args=config, train_dataset=dataset
    )
    result = trainer.train()
    logs = [row for row in trainer.state.log_history if "loss" in row or "reward" in row]
    summary = {
        "global_step": trainer.state.global_step,
        "train_loss": result.training_loss,
        "logs": logs,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str), encoding="utf-8")
    print(json.dumps(summary, indent=1, default=str))
    return summary


if __name__ == "__main__":
    main()
