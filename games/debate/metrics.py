"""Debate's measurement over played debates, declared in the game's registry entry
(``episode_metrics={"judge": ...}``) so ``spenv eval games`` reports it without naming the game."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from spenv.episode import Episode
from spenv.stats import wilson


def judge_accuracy(episodes: Sequence[Episode], seats: Sequence[str]) -> dict[str, Any]:
    """The judge's accuracy over debates (Wilson 95% intervals), overall and split by whether
    the measured agent (in ``seats[i]`` of episode ``i``) argued for the correct answer.
    Forfeits (no verdict asked) are counted apart, never dropped."""
    judged = correct = forfeits = 0
    by_side = {"agent_correct": [0, 0], "agent_incorrect": [0, 0]}
    for ep, seat in zip(episodes, seats, strict=True):
        jc = ep.info.get("judge_correct")
        if jc is None:
            forfeits += 1
            continue
        judged += 1
        correct += bool(jc)
        side = "agent_correct" if ep.info.get("correct_debater") == seat else "agent_incorrect"
        by_side[side][0] += bool(jc)
        by_side[side][1] += 1
    p, lo, hi = wilson(correct, judged)
    out: dict[str, Any] = {
        "debates": len(episodes),
        "judged": judged,
        "no_verdict": forfeits,
        "accuracy": p,
        "accuracy_ci": [lo, hi],
    }
    for side, (k, n) in by_side.items():
        p, lo, hi = wilson(k, n)
        out[side] = {"judged": n, "accuracy": p, "accuracy_ci": [lo, hi]}
    return out
