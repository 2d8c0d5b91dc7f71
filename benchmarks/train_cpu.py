"""A CPU learning run of a training recipe, with its final evaluation, table and curves.

Runs a recipe (a name in ``agents/train/recipes/`` such as ``kuhn_cpu``, or a YAML path),
measures the policy before any training (the random-init model), at the start of self-play
(after the format warm-up) and at the end, and writes into ``--out``:

- ``metrics.jsonl``: the trainer's log (one row per step, evaluations included);
- ``result.json``: the numbers below, what each evaluation used (games, samples per question),
  the wall time, the config and library versions;
- ``curve.png``: each measurement and the chips per game against each eval opponent, over steps.

The measurements are the ones each trained env declares in its registry entry
(``agent_metrics``, e.g. an exact exploitability), taken by the trainer's ``evaluate``; nothing
here names a game. The final evaluation plays ``--games`` games against each eval opponent
(both seats) and takes the measurements with ``--samples`` samples per question.

    python -m spenv.benchmarks.train_cpu --recipe kuhn_cpu --out runs/kuhn_cpu

With ``--inits 0,1,2`` it runs the recipe once per model init (``model.tiny.seed``), each in its
own process (``--jobs`` at a time, one torch thread each, under ``nice``), into
``--out/init-N/``, and writes ``summary.json``, ``table.md`` (one row per init) and
``curves.png`` (every init's curves):

    python -m spenv.benchmarks.train_cpu --recipe kuhn_cpu --inits 0,1,2 --jobs 2 \\
        --out agents/train/results/kuhn_cpu
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path
from typing import Any


def recipe_path(recipe: str) -> Path:
    """A recipe name (``kuhn_cpu``) or a YAML path."""
    from spenv.agents.train import RECIPES

    p = Path(recipe)
    if p.suffix in (".yaml", ".yml") or p.exists():
        return p
    named = RECIPES / f"{recipe}.yaml"
    if not named.exists():
        known = sorted(x.stem for x in RECIPES.glob("*.yaml"))
        raise SystemExit(f"unknown recipe {recipe!r}: give a YAML path or one of {known}")
    return named


def measure_keys(cfg: Any) -> list[tuple[str, str]]:
    """``(env id, metric)`` for every declared agent measurement of the recipe's envs (the
    trainer logs each as ``eval/ENV/METRIC``)."""
    from spenv import registry
    from spenv.agents.train.trainer import make_env_id

    keys = []
    for env_cfg in cfg.envs:
        if env_cfg.options:  # the trainer measures games with default options only
            continue
        eid = make_env_id(env_cfg.id)
        keys.extend((eid, k) for k in registry.spec(eid).agent_metrics)
    return keys


def random_reference(env_id: str, metric: str) -> float | None:
    """The measurement of the uniformly random agent (a reference line), when it is cheap."""
    from spenv import registry
    from spenv.agents.base import RandomAgent

    try:
        rep = registry.spec(env_id).measure_agent(RandomAgent(), samples=50)[metric]
    except Exception:  # a measurement that cannot take a random agent just has no line
        return None
    return float(rep["value"])


def plot(
    rows: list[dict[str, Any]],
    path: Path,
    title: str,
    keys: list[tuple[str, str]],
    opponents: list[str],
    final: dict[str, Any] | None = None,
) -> None:
    """One panel per measurement and per (env, opponent) chips curve; ``final`` (a
    ``result.json``) adds the final evaluation as a star."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    envs = sorted(
        {e for e, _ in keys} | {str(k.split("/")[1]) for r in rows for k in r if _is_vs(k)}
    )
    panels = [("m", e, m) for e, m in keys] + [("v", e, o) for e in envs for o in opponents]
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    for ax, (kind, env, name) in zip(axes[0], panels, strict=True):
        key = f"eval/{env}/{name}" if kind == "m" else f"eval/{env}/vs_{name}"
        ev = [r for r in rows if key in r]
        steps = [r["step"] for r in ev]
        if kind == "m":
            ax.plot(steps, [r[key] for r in ev], marker="o")
            ref = random_reference(env, name)
            if ref is not None:
                ax.axhline(ref, color="gray", ls=":", label=f"uniform random ({ref:.3f})")
            ax.set_ylabel(f"{name} ({env})")
            if final is not None and key in final["final"]:
                ax.plot([final["steps"]], [final["final"][key]], "r*", ms=12, label="final")
        else:
            ci = [r.get(key + "_ci95", 0.0) for r in ev]
            ax.errorbar(steps, [r[key] for r in ev], yerr=ci, marker="o", capsize=3)
            ax.set_ylabel(f"chips/game vs {name} ({env}, 95% CI)")
            if final is not None and key in final["final"]:
                v, h = final["final"][key], final["final"].get(key + "_ci95", 0.0)
                ax.errorbar([final["steps"]], [v], yerr=[h], fmt="r*", ms=12, capsize=3)
        ax.axhline(0.0, color="black", lw=0.5)
        ax.set_xlabel("step")
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _is_vs(key: str) -> bool:
    parts = key.split("/")
    return (
        len(parts) == 3
        and parts[0] == "eval"
        and parts[2].startswith("vs_")
        and not any(parts[2].endswith(s) for s in ("_ci95", "_games", "_invalid"))
    )


def run_one(args: argparse.Namespace) -> dict[str, Any]:
    from spenv.agents.train import load_config
    from spenv.agents.train.trainer import Trainer
    from spenv.meta import package_versions, run_metadata

    out = Path(args.out)
    run_dir = out / "run"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    path = recipe_path(args.recipe)
    cfg = load_config(path, out=str(run_dir))
    if args.init is not None:
        if cfg.model.tiny is None:
            raise SystemExit("--init/--inits set model.tiny.seed: the recipe has no model.tiny")
        cfg.model.tiny = {**cfg.model.tiny, "seed": args.init}
    keys = measure_keys(cfg)
    t0 = time.perf_counter()
    trainer = Trainer(cfg)
    before = trainer.evaluate()  # the random-init model, before any training
    log = trainer.train()
    train_s = time.perf_counter() - t0
    train_cfg = cfg.to_dict()  # what the in-training evaluations used, before the final's
    cfg.eval.policy_samples = args.samples
    final = trainer.evaluate(games=args.games)
    total_s = time.perf_counter() - t0
    first = next(r for r in log if r.get("step") == 0 and any(k.startswith("eval/") for k in r))
    measures = {
        f"{env}/{m}": {
            "random_init": before.get(f"eval/{env}/{m}"),
            "start_of_selfplay": first.get(f"eval/{env}/{m}"),
            "final": final.get(f"eval/{env}/{m}"),
        }
        for env, m in keys
    }
    result = {
        "recipe": str(path),
        "measures": measures,
        "final": final,
        "model_init": (cfg.model.tiny or {}).get("seed"),
        "evaluations": {
            "in_training": {
                "games_vs_each_opponent": train_cfg["eval"]["games"],
                "opponents": list(train_cfg["eval"]["opponents"]),
                "samples_per_question": train_cfg["eval"]["policy_samples"],
                "every_steps": train_cfg["eval"]["every"],
            },
            "final": {
                "games_vs_each_opponent": args.games,
                "opponents": list(cfg.eval.opponents),
                "samples_per_question": args.samples,
            },
            "measures": "each env's registry agent_metrics, as the trainer takes them "
            "(invalid answers scored as the game scores them)",
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
    title = f"{path.stem}: self-play on CPU ({trainer.step} steps, init {result['model_init']})"
    plot(rows, out / "curve.png", title, keys, list(cfg.eval.opponents), result)
    print(json.dumps({k: result[k] for k in ("measures", "steps", "total_seconds")}, indent=1))
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
            cmd = ["nice", "-n", "10", sys.executable, "-m", "spenv.benchmarks.train_cpu"]
            cmd += ["--recipe", str(args.recipe), "--out", str(out / f"init-{i}")]
            cmd += ["--init", str(i), "--games", str(args.games), "--samples", str(args.samples)]
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
        if path.exists() and i not in failed:
            results[i] = json.loads(path.read_text(encoding="utf-8"))
    summary = {"recipe": str(recipe_path(args.recipe)), "inits": inits, "failed": failed}
    summary["runs"] = {
        i: {k: r[k] for k in ("measures", "final", "steps", "total_seconds")}
        for i, r in results.items()
    }
    lines = table(results)
    (out / "table.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    if results:
        plot_inits(out, results)
    print("\n".join(lines))
    if failed:
        print(f"failed inits: {failed} (see {out}/init-N.log)")
    return summary


def table(results: dict[int, dict[str, Any]]) -> list[str]:
    """The convergence table: one row per init, each measurement at the start of self-play and
    at the end, the invalid answers of the measurements, chips against each eval opponent."""
    if not results:
        return ["no run finished"]
    some = next(iter(results.values()))
    names = list(some["measures"])
    vs = sorted(k for k in some["final"] if _is_vs(k))
    head = ["model init"]
    for n in names:
        head += [f"{n} at start of self-play", f"final {n}"]
    inv = sorted(k for k in some["final"] if k.endswith("/policy_invalid"))
    head += [f"final invalid answers ({k.split('/')[1]} measurement)" for k in inv]
    head += [f"{k.split('/')[1]} chips/game {k.split('/')[2]} (95% CI)" for k in vs]
    head += ["steps", "wall time"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i, r in results.items():
        cells = [str(i)]
        for n in names:
            m = r["measures"][n]
            cells += [_num(m["start_of_selfplay"]), f"**{_num(m['final'])}**"]
        cells += [f"{100 * r['final'][k]:.1f}%" for k in inv]
        for k in vs:
            v, h = r["final"][k], r["final"].get(k + "_ci95", 0.0)
            cells.append(f"{v:+.3f} [{v - h:+.3f}, {v + h:+.3f}]")
        cells += [str(r["steps"]), f"{r['total_seconds'] / 60:.1f} min"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _num(x: Any) -> str:
    return "-" if x is None else f"{x:.3f}"


def plot_inits(out: Path, results: dict[int, dict[str, Any]]) -> None:
    """Each measurement and its invalid answers over training steps, one line per init."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    some = next(iter(results.values()))
    keys = [f"eval/{n}" for n in some["measures"]]
    keys += sorted(k for k in some["final"] if k.endswith("/policy_invalid"))
    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 4), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        for i in results:
            text = (out / f"init-{i}" / "metrics.jsonl").read_text(encoding="utf-8")
            ev = [r for r in map(json.loads, text.splitlines()) if key in r]
            ax.plot([r["step"] for r in ev], [r[key] for r in ev], marker=".", label=f"init {i}")
        env, name = key.split("/")[1:3]
        if name != "policy_invalid":
            ref = random_reference(env, name)
            if ref is not None:
                ax.axhline(ref, color="gray", ls=":", label="uniform random")
        ax.axhline(0.0, color="black", lw=0.5)
        ax.set_xlabel("step")
        ax.set_ylabel(f"{name} ({env})")
        ax.legend()
    fig.suptitle(f"{Path(str(some['recipe'])).stem}: one curve per model init")
    fig.tight_layout()
    fig.savefig(out / "curves.png", dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description="A CPU learning run of a training recipe")
    p.add_argument("--recipe", required=True, help="recipe name (kuhn_cpu) or YAML path")
    p.add_argument("--out", required=True)
    p.add_argument("--games", type=int, default=2000, help="final games against each opponent")
    p.add_argument("--samples", type=int, default=400, help="final samples per question")
    p.add_argument("--init", type=int, default=None, help="model init (model.tiny.seed)")
    p.add_argument("--inits", default=None, help="comma-separated model inits: one run each")
    p.add_argument("--jobs", type=int, default=1, help="runs at once with --inits")
    args = p.parse_args(argv)
    for name in ("games", "samples", "jobs"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be >= 1")
    recipe_path(args.recipe)  # an unknown recipe fails before any run starts
    return run_inits(args) if args.inits else run_one(args)


if __name__ == "__main__":
    main()
