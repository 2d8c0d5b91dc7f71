"""The CPU learning run: a tiny model trained from scratch by self-play on Kuhn poker.

Runs the shipped recipe ``agents/train/recipes/kuhn_cpu.yaml`` (a 2-layer, width-64 Llama
built from random weights, a format warm-up on random legal moves, then regularised self-play),
measures the policy before the warm-up, at the start of self-play and at the end (exact
exploitability of its strategy table, estimated by :func:`spenv.games.kuhn_poker.policy_of`,
invalid answers scored as forfeits; chips per hand against the random agent over 2,000
games in both seats with a 95% interval), and writes into ``--out``:

- ``metrics.jsonl``: the trainer's log (one row per step, evaluations included);
- ``result.json``: the numbers above, what each evaluation used (games, samples per
  information set), the wall time, the config and library versions;
- ``curve.png``: exploitability and chips against random over training steps.

    python -m spenv.benchmarks.train_kuhn_cpu --out agents/train/results/kuhn_cpu

With ``--inits 0,1,2`` it runs the recipe once per model init (``model.tiny.seed``), each in its
own process (``--jobs`` at a time, one torch thread each, under ``nice``), into
``--out/init-N/``, and writes ``summary.json``, ``table.md`` (the convergence table) and
``curves.png`` (every init's learning curves):

    python -m spenv.benchmarks.train_kuhn_cpu --inits 0,1,2 --jobs 3 \
        --out agents/train/results/kuhn_cpu
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
    p.add_argument("--init", type=int, default=None, help="model init (model.tiny.seed)")
    p.add_argument("--inits", default=None, help="comma-separated model inits: one run each")
    p.add_argument("--jobs", type=int, default=1, help="runs at once with --inits")
    args = p.parse_args(argv)
    if args.inits:
        return run_inits(args)

    from spenv.agents.train import RECIPES, load_config
    from spenv.agents.train.trainer import Trainer
    from spenv.meta import package_versions, run_metadata

    out = Path(args.out)
    run_dir = out / "run"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    cfg = load_config(args.config or RECIPES / "kuhn_cpu.yaml", out=str(run_dir))
    if args.init is not None:
        cfg.model.tiny = {**(cfg.model.tiny or {}), "seed": args.init}
    t0 = time.perf_counter()
    trainer = Trainer(cfg)
    before = trainer.evaluate()  # the random-init model, before the format warm-up
    log = trainer.train()
    train_s = time.perf_counter() - t0
    train_cfg = cfg.to_dict()  # what the in-training evaluations used, before the final's
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
        "policy_invalid_final": final.get("eval/KuhnPoker-v1/policy_invalid"),
        "model_init": (cfg.model.tiny or {}).get("seed"),
        "evaluations": {
            "in_training": {
                "games_vs_each_opponent": train_cfg["eval"]["games"],
                "opponents": list(train_cfg["eval"]["opponents"]),
                "policy_samples": train_cfg["eval"]["policy_samples"],
                "every_steps": train_cfg["eval"]["every"],
            },
            "final": {
                "games_vs_each_opponent": args.games,
                "opponents": list(cfg.eval.opponents),
                "policy_samples": args.samples,
            },
            "exploitability": "exact, of the strategy table estimated by policy_of; invalid "
            "answers scored as the game scores them (a forfeit of the hand)",
        },
        "steps": trainer.step,
        "train_seconds": train_s,
        "total_seconds": total_s,
        "config": train_cfg,
        "meta": run_metadata(
            libraries=package_versions(
                ("torch", "transformers", "tokenizers", "peft", "trl", "accelerate")
            ),
            threads=cfg.threads,
        ),
    }
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy(run_dir / "metrics.jsonl", out / "metrics.jsonl")
    (out / "result.json").write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    title = f"Kuhn poker self-play, tiny model on CPU ({trainer.step} steps)"
    plot(rows, out / "curve.png", title, result)
    print(json.dumps({k: v for k, v in result.items() if k not in ("config", "meta")}, indent=1))
    return result


def run_inits(args: argparse.Namespace) -> dict[str, Any]:
    """One run per model init in child processes; the table and curves of all of them."""
    import os
    import subprocess
    import sys

    inits = [int(x) for x in str(args.inits).split(",") if x.strip()]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    pending = list(inits)
    running: list[tuple[int, subprocess.Popen]] = []
    failed = []
    while pending or running:
        while pending and len(running) < max(1, args.jobs):
            i = pending.pop(0)
            cmd = ["nice", "-n", "10", sys.executable, "-m", "spenv.benchmarks.train_kuhn_cpu"]
            cmd += ["--out", str(out / f"init-{i}"), "--init", str(i)]
            cmd += ["--games", str(args.games), "--samples", str(args.samples)]
            if args.config:
                cmd += ["--config", str(args.config)]
            log = open(out / f"init-{i}.log", "w", encoding="utf-8")  # noqa: SIM115
            running.append(
                (i, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env))
            )
        time.sleep(2)
        for i, proc in list(running):
            if proc.poll() is not None:
                running.remove((i, proc))
                if proc.returncode != 0:
                    failed.append(i)
    results = {}
    for i in inits:
        path = out / f"init-{i}" / "result.json"
        if path.exists():
            results[i] = json.loads(path.read_text(encoding="utf-8"))
    summary = {"inits": inits, "failed": failed, "runs": {}}
    lines = [
        "| model init | exploitability at start of self-play | final exploitability "
        "| final invalid answers (policy table) | chips/hand vs random (95% CI) "
        "| steps | wall time |",
        "|---|---|---|---|---|---|---|",
    ]
    for i, r in results.items():
        lo, hi = r["vs_random_final_ci95"]
        summary["runs"][i] = {
            k: r[k]
            for k in (
                "exploitability_start_of_selfplay",
                "exploitability_final",
                "policy_invalid_final",
                "invalid_rate_final",
                "vs_random_final",
                "vs_random_final_ci95",
                "steps",
                "total_seconds",
            )
        }
        lines.append(
            f"| {i} | {r['exploitability_start_of_selfplay']:.3f} "
            f"| **{r['exploitability_final']:.3f}** | {100 * r['policy_invalid_final']:.1f}% "
            f"| {r['vs_random_final']:+.3f} [{lo:+.3f}, {hi:+.3f}] | {r['steps']} "
            f"| {r['total_seconds'] / 60:.1f} min |"
        )
    (out / "table.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    plot_inits(out, list(results))
    print("\n".join(lines))
    return summary


def plot_inits(out: Path, inits: list[int]) -> None:
    """Exploitability and invalid answers over training steps, one line per init."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    key_x = "eval/KuhnPoker-v1/exploitability"
    key_i = "eval/KuhnPoker-v1/policy_invalid"
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    for i in inits:
        rows = [
            json.loads(x) for x in (out / f"init-{i}" / "metrics.jsonl").read_text().splitlines()
        ]
        ev = [r for r in rows if key_x in r]
        a1.plot([r["step"] for r in ev], [r[key_x] for r in ev], marker=".", label=f"init {i}")
        a2.plot(
            [r["step"] for r in ev],
            [100 * r.get(key_i, 0.0) for r in ev],
            marker=".",
            label=f"init {i}",
        )
    a1.axhline(0.05, color="red", ls="--", label="goal 0.05")
    a1.axhline(0.458, color="gray", ls=":", label="uniform random")
    a1.set_xlabel("step")
    a1.set_ylabel("exploitability (chips/hand)")
    a1.legend()
    a2.axhline(2.0, color="red", ls="--", label="goal 2%")
    a2.set_xlabel("step")
    a2.set_ylabel("invalid answers (%)")
    a2.legend()
    fig.suptitle("Kuhn poker self-play, tiny model on CPU, one curve per model init")
    fig.tight_layout()
    fig.savefig(out / "curves.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
