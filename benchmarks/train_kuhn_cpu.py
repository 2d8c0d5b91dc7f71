"""The CPU learning run: a tiny model trained from scratch by self-play on Kuhn poker.

Runs the shipped recipe ``agents/train/recipes/kuhn_cpu.yaml`` (a 2-layer, width-64 Llama
built from random weights, a format warm-up on random legal moves, then GRPO self-play with
role-conditioned advantages), measures the policy before the warm-up, at the start of
self-play and at the end (exact exploitability of its strategy table, estimated by
:func:`spenv.games.kuhn_poker.policy_of`; chips per hand against the random agent over 2,000
games in both seats with a 95% interval), and writes into ``--out``:

- ``metrics.jsonl``: the trainer's log (one row per step, evaluations included);
- ``result.json``: the numbers above, the wall time, the config and package versions;
- ``curve.png``: exploitability and chips against random over training steps.

    python -m spenv.benchmarks.train_kuhn_cpu --out agents/train/results/kuhn_cpu
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path
from typing import Any


def plot(
    rows: list[dict[str, Any]], path: Path, title: str, final: dict[str, Any] | None = None
) -> None:
    """Exploitability and chips per hand against random, over training steps; ``final`` (a
    ``result.json``) adds the final evaluation as a star."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    key_x = "eval/KuhnPoker-v1/exploitability"
    key_r = "eval/KuhnPoker-v1/vs_random"
    ev = [r for r in rows if key_x in r]
    steps = [r["step"] for r in ev]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    a1.plot(steps, [r[key_x] for r in ev], marker="o")
    a1.axhline(0.458, color="gray", ls=":", label="uniform random (0.458)")
    a1.axhline(0.0, color="black", lw=0.5)
    a1.set_xlabel("step")
    a1.set_ylabel("exploitability (chips/hand)")
    a1.legend()
    mean = [r[key_r] for r in ev]
    ci = [r.get(key_r + "_ci95", 0.0) for r in ev]
    a2.errorbar(steps, mean, yerr=ci, marker="o", capsize=3)
    a2.axhline(0.0, color="black", lw=0.5)
    a2.axhline(0.148, color="gray", ls=":", label="equilibrium player (+0.148)")
    if final is not None:
        last = final["steps"]
        a1.plot([last], [final["exploitability_final"]], "r*", ms=12, label="final (400 samples)")
        lo, hi = final["vs_random_final_ci95"]
        a2.errorbar(
            [last],
            [final["vs_random_final"]],
            yerr=[[final["vs_random_final"] - lo], [hi - final["vs_random_final"]]],
            fmt="r*",
            ms=12,
            capsize=3,
            label=f"final ({final['vs_random_final_games']} games)",
        )
        a1.legend()
    a2.set_xlabel("step")
    a2.set_ylabel("chips/hand vs random (95% CI)")
    a2.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description="Kuhn poker self-play learning run on CPU")
    p.add_argument("--config", default=None, help="config (default: the kuhn_cpu recipe)")
    p.add_argument("--out", default="runs/kuhn_cpu")
    p.add_argument("--games", type=int, default=2000, help="final games against random")
    p.add_argument("--samples", type=int, default=400, help="samples per infoset, final table")
    args = p.parse_args(argv)

    from spenv.agents.train import RECIPES, load_config
    from spenv.agents.train.trainer import Trainer
    from spenv.meta import run_metadata

    out = Path(args.out)
    run_dir = out / "run"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    cfg = load_config(args.config or RECIPES / "kuhn_cpu.yaml", out=str(run_dir))
    t0 = time.perf_counter()
    trainer = Trainer(cfg)
    before = trainer.evaluate()  # the random-init model, before the format warm-up
    log = trainer.train()
    train_s = time.perf_counter() - t0
    cfg.eval.policy_samples = args.samples
    final = trainer.evaluate(games=args.games)
    total_s = time.perf_counter() - t0
    start = next(r for r in log if r.get("step") == 0 and "eval/KuhnPoker-v1/exploitability" in r)
    key_x, key_r = "eval/KuhnPoker-v1/exploitability", "eval/KuhnPoker-v1/vs_random"
    result = {
        "exploitability_random_init": before[key_x],
        "exploitability_start_of_selfplay": start[key_x],
        "exploitability_final": final[key_x],
        "vs_random_final": final[key_r],
        "vs_random_final_ci95": [
            final[key_r] - final[key_r + "_ci95"],
            final[key_r] + final[key_r + "_ci95"],
        ],
        "vs_random_final_games": args.games,
        "invalid_rate_final": final.get(key_r + "_invalid"),
        "policy_samples": args.samples,
        "steps": trainer.step,
        "train_seconds": train_s,
        "total_seconds": total_s,
        "config": cfg.to_dict(),
        "meta": run_metadata(),
    }
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy(run_dir / "metrics.jsonl", out / "metrics.jsonl")
    (out / "result.json").write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    title = f"Kuhn poker self-play, tiny model on CPU ({trainer.step} steps)"
    plot(rows, out / "curve.png", title, result)
    print(json.dumps({k: v for k, v in result.items() if k not in ("config", "meta")}, indent=1))
    return result


if __name__ == "__main__":
    main()
