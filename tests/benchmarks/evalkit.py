"""Scripted agents of known accuracy on the real benchmark sets (imported by the tests)."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

from spenv.benchmarks.suites import TEMPLATES, Item, load_items


def in_subset(item_id: str) -> bool:
    """A fixed, known subset of items (about a third), decided by the item id."""
    return zlib.crc32(item_id.encode()) % 3 == 0


def right_answer(item: Item, template: str) -> str:
    if item.kind == "code":
        if template == "plain":
            return item.raw["canonical_solution"]
        return (
            "Here it is:\n```python\n" + item.raw["prompt"] + item.raw["canonical_solution"] + "```"
        )
    if item.kind == "choice":
        return f"The answer is \\boxed{{{item.gold_text()}}}."
    return f"Let me think. So the final answer is \\boxed{{{item.gold}}}."


def wrong_answer(item: Item, template: str) -> str:
    if item.kind == "code":
        body = "    return None\n"
        if template == "plain":
            return body
        return "```python\n" + item.raw["prompt"] + body + "```"
    if item.kind == "choice":
        letter = "ABCD"[(int(item.gold) + 1) % len(item.choices or "ABCD")]
        return f"\\boxed{{{letter}}}"
    return "\\boxed{-987654321}"


class LookupAgent:
    """Answers from a table keyed by the prompt text: right where ``right(item)`` says so,
    elsewhere a wrong answer (``otherwise="wrong"``) or none (``otherwise="none"``)."""

    def __init__(
        self,
        items: Sequence[Item],
        right: Callable[[Item], bool],
        *,
        template: str = "boxed",
        name: str = "lookup",
        otherwise: str = "wrong",
    ) -> None:
        self.name = name
        self.calls = 0
        self.table: dict[str, str] = {}
        for it in items:
            _, user = TEMPLATES[template].render(it)
            if right(it):
                self.table[user] = right_answer(it, template)
            elif otherwise == "wrong":
                self.table[user] = wrong_answer(it, template)
            else:  # no answer at all (cheap to grade: no equivalence check is needed)
                self.table[user] = "I do not know."

    def act(self, obs) -> str:
        return self.table[obs.user]

    def act_batch(self, observations) -> list[str]:
        self.calls += 1
        return [self.table[o.user] for o in observations]


def items_of(suites: Sequence[str], limit: int | None, data: Path) -> list[Item]:
    out: list[Item] = []
    for s in suites:
        out.extend(load_items(s, data_dir=data, limit=limit))
    return out
