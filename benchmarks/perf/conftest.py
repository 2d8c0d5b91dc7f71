"""Prints the perf suite's summary at the end of the session: decisions/second of every loop
that ran and the paired spenv/peer ratios (bookkeeping in ``perfkit.py``; numbers in
``docs/performance.md``)."""

from __future__ import annotations

from typing import Any

from perfkit import NOTES, PAIRED, RESULTS


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not RESULTS and not NOTES and not PAIRED:
        return
    tr = terminalreporter
    tr.section("spenv perf summary")
    if RESULTS:
        tr.write_line(
            f"{'loop':32s} {'decisions/round':>15s} {'best round':>14s} {'mean round':>14s}"
        )
        for name, r in sorted(RESULTS.items(), key=lambda kv: -kv[1]["best"]):
            tr.write_line(
                f"{name:32s} {r['decisions']:15,.0f} {r['best']:12,.0f}/s {r['mean']:12,.0f}/s"
            )
        tr.write_line("(per-loop runs, one after the other: for ratios see the paired lines)")
    if PAIRED:
        tr.write_line("")
        tr.write_line("paired ratios (per interleaved round: median [min-max], rounds, goal):")
        for label, med, lo, hi, goal, n in PAIRED:
            verdict = (
                ""
                if goal is None
                else f"  goal >= {goal:g}x: {'met' if med >= goal else 'NOT met'}"
            )
            tr.write_line(f"  {label}: {med:.2f}x [{lo:.2f}-{hi:.2f}], {n} rounds{verdict}")
    for line in NOTES:
        tr.write_line(line)
