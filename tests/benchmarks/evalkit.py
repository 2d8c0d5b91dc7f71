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


def kill_at_random_moments(
    command: Sequence[str],
    watch: Path,
    delays: Sequence[float],
    env: dict[str, str],
    after_kill: Callable[[], None] | None = None,
) -> None:
    """Start ``command`` once per delay; once ``watch`` has content, wait the delay and SIGKILL
    it (it must still be running then); ``after_kill`` checks what the kill left."""
    import signal
    import subprocess
    import time

    for delay in delays:
        proc = subprocess.Popen(
            list(command), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 60
        while not (watch.exists() and watch.stat().st_size) and time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            time.sleep(0.005)
        time.sleep(delay)
        assert proc.poll() is None, f"the run ended before the kill (delay {delay:.2f}s)"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        if after_kill is not None:
            after_kill()
