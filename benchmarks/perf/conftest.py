"""Prints the perf suite's summary at the end of the session: decisions/second of every loop
that ran and the spenv/peer ratios (bookkeeping in ``perfkit.py``; numbers in README.md)."""

from __future__ import annotations

from typing import Any

from perfkit import NOTES, RATIOS, RESULTS


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not RESULTS and not NOTES:
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
        tr.write_line("")
        for num, den in RATIOS:
            if num in RESULTS and den in RESULTS:
                best = RESULTS[num]["best"] / RESULTS[den]["best"]
                mean = RESULTS[num]["mean"] / RESULTS[den]["mean"]
                tr.write_line(f"{num} / {den}: {best:.2f}x (best rounds), {mean:.2f}x (means)")
    for line in NOTES:
        tr.write_line(line)
