"""Compare two transfer runs: per-suite paired bootstrap differences, a Markdown report, a chart.

For every suite both runs evaluated, the items both hold (matched by item id) are paired; the
per-item score is the fraction of correct samples (pass@1 of the item). The difference of the
means (A - B) gets a paired percentile bootstrap interval (the items resampled jointly, so
problem difficulty cancels). A suite whose interval excludes zero is marked as a significant
difference at the 5% level.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from spenv.benchmarks.metrics import DEFAULT_RESAMPLES, paired_bootstrap_diff
from spenv.benchmarks.store import write_json_atomic
from spenv.benchmarks.suites import SUITES
from spenv.benchmarks.transfer import load_records

__all__ = ["compare_runs", "render_markdown", "write_chart", "write_comparison"]


def _run_info(run: Path) -> dict[str, Any]:
    if not (run / "config.json").exists():
        raise FileNotFoundError(f"{run} is not a transfer results folder (no config.json)")
    cfg = json.loads((run / "config.json").read_text(encoding="utf-8"))
    suites = [s for s in SUITES if (run / f"{s}.jsonl").exists()]
    return {"path": str(run), "config": cfg, "suites": suites}


def compare_runs(
    run_a: str | os.PathLike[str],
    run_b: str | os.PathLike[str],
    *,
    seed: int = 0,
    resamples: int = DEFAULT_RESAMPLES,
) -> dict[str, Any]:
    """Per-suite paired differences ``A - B`` of pass@1 over the items both runs hold."""
    a, b = Path(run_a), Path(run_b)
    ia, ib = _run_info(a), _run_info(b)
    shared = [s for s in ia["suites"] if s in ib["suites"]]
    suites: dict[str, Any] = {}
    for k, s in enumerate(shared):
        ra = {r["id"]: r for r in load_records(a, s)}
        rb = {r["id"]: r for r in load_records(b, s)}
        ids = [i for i in ra if i in rb]
        xa = [ra[i]["correct"] / ra[i]["n"] for i in ids]
        xb = [rb[i]["correct"] / rb[i]["n"] for i in ids]
        d = paired_bootstrap_diff(xa, xb, seed=seed + k, resamples=resamples)
        d["a"] = sum(xa) / len(xa) if xa else math.nan
        d["b"] = sum(xb) / len(xb) if xb else math.nan
        d["items_a"], d["items_b"] = len(ra), len(rb)
        d["significant"] = bool(ids) and (d["low"] > 0 or d["high"] < 0)
        suites[s] = d
    return {
        "a": ia,
        "b": ib,
        "suites": suites,
        "only_in_a": [s for s in ia["suites"] if s not in ib["suites"]],
        "only_in_b": [s for s in ib["suites"] if s not in ia["suites"]],
        "resamples": resamples,
    }


def _label(info: dict[str, Any]) -> str:
    return str(info["config"].get("agent", info["path"]))


def render_markdown(cmp: dict[str, Any]) -> str:
    """The comparison as a Markdown report."""
    la, lb = _label(cmp["a"]), _label(cmp["b"])
    lines = [
        "# Transfer comparison",
        "",
        f"- A: `{cmp['a']['path']}` (agent `{la}`, template `{cmp['a']['config'].get('template')}`,"
        f" n={cmp['a']['config'].get('n')})",
        f"- B: `{cmp['b']['path']}` (agent `{lb}`, template `{cmp['b']['config'].get('template')}`,"
        f" n={cmp['b']['config'].get('n')})",
        "",
        "pass@1 over the items both runs hold; difference A - B with a paired bootstrap 95% "
        f"interval ({cmp['resamples']} resamples over items).",
        "",
        "| suite | items | A | B | A - B | 95% interval | |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for s, d in cmp["suites"].items():
        mark = "significant" if d["significant"] else ""
        if d["items"] == 0:
            lines.append(f"| {s} | 0 | - | - | - | no shared items | |")
            continue
        lines.append(
            f"| {s} | {d['items']} | {d['a']:.3f} | {d['b']:.3f} | {d['diff']:+.3f} | "
            f"[{d['low']:+.3f}, {d['high']:+.3f}] | {mark} |"
        )
    for key, who in (("only_in_a", "A"), ("only_in_b", "B")):
        if cmp[key]:
            lines += ["", f"Suites only in {who}: {', '.join(cmp[key])}."]
    return "\n".join(lines) + "\n"


def write_chart(cmp: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """A bar chart of the per-suite differences with their intervals (PNG, matplotlib Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [s for s, d in cmp["suites"].items() if d["items"]]
    diffs = [cmp["suites"][s]["diff"] for s in names]
    lo = [cmp["suites"][s]["diff"] - cmp["suites"][s]["low"] for s in names]
    hi = [cmp["suites"][s]["high"] - cmp["suites"][s]["diff"] for s in names]
    fig, ax = plt.subplots(figsize=(max(4.0, 1.0 + 0.9 * len(names)), 3.6))
    colors = [
        "tab:green" if cmp["suites"][s]["low"] > 0
        else "tab:red" if cmp["suites"][s]["high"] < 0
        else "tab:gray"
        for s in names
    ]  # fmt: skip
    ax.bar(range(len(names)), diffs, yerr=[lo, hi], color=colors, capsize=4)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_ylabel("pass@1 difference (A - B)")
    ax.set_title(f"{_label(cmp['a'])} vs {_label(cmp['b'])} (95% paired bootstrap)")
    fig.tight_layout()
    p = Path(path)
    fig.savefig(p, dpi=110)
    plt.close(fig)
    return p


def write_comparison(
    run_a: str | os.PathLike[str],
    run_b: str | os.PathLike[str],
    out: str | os.PathLike[str],
    **kwargs: Any,
) -> dict[str, Any]:
    """Compare and write ``compare.json``, ``compare.md`` and ``compare.png`` into ``out``."""
    cmp = compare_runs(run_a, run_b, **kwargs)
    o = Path(out)
    o.mkdir(parents=True, exist_ok=True)
    write_json_atomic(o / "compare.json", cmp)
    (o / "compare.md").write_text(render_markdown(cmp), encoding="utf-8")
    write_chart(cmp, o / "compare.png")
    return cmp
