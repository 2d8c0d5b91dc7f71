"""spenv verifiers as reward functions for TRL's trainers (``GRPOTrainer(reward_funcs=...)``).

TRL calls a reward function as ``f(prompts=..., completions=..., completion_ids=..., **columns)``
where ``completions`` are strings (standard datasets) or lists of chat messages
(conversational datasets: the text is the last message's ``content``), and every other dataset
column arrives as a keyword argument with one value per completion. The function returns one
float per completion, or ``None`` where no reward applies (TRL then ignores that sample for this
function).

- :func:`math_reward`: 1.0 when the completion's final answer (``\\boxed{}``, "the answer is",
  ``#### x``) equals the gold answer, else 0.0, graded by :func:`spenv.verifiers.math.grade_batch`
  (symbolic equivalence by math-verify, in worker processes with a time limit). The gold comes
  from the ``answer`` column (GSM8K's worked answer with its ``#### x`` line works as is) or
  ``solution``. A grading failure or timeout gives ``None`` (unknown), never a silent 0.
- :func:`code_reward`: the fraction of tests passed by the completion's code (the last fenced
  ``python`` block, or the whole text) in the :class:`~spenv.verifiers.code.Sandbox`; tests from
  the ``tests`` column (a list of asserts, a test script, or HumanEval's ``check(candidate)``
  with ``entry_point``) and an optional ``prompt_code`` column prepended to the code (HumanEval's
  function header). A sandbox failure gives ``None``.

:func:`make_math_reward` and :func:`make_code_reward` build variants (other columns, other
values for failures, a private sandbox). Each function's ``__name__`` is what TRL logs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

RewardFunc = Callable[..., list[float | None]]

_FENCE = re.compile(r"```[ \t]*(?:python|py|python3)?[ \t]*\n(.*?)```", re.DOTALL | re.IGNORECASE)


def completion_text(completion: Any) -> str:
    """The text of one completion: a string, or the content of the last message of a list of
    chat messages (``[{"role": "assistant", "content": ...}]``)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        return str(completion.get("content", ""))
    if isinstance(completion, Sequence) and completion:
        last = completion[-1]
        if isinstance(last, dict):
            content = last.get("content", "")
            if isinstance(content, list):  # multimodal parts: keep the text ones
                return "".join(p.get("text", "") for p in content if isinstance(p, dict))
            return str(content)
        return str(last)
    return ""


def extract_code(text: str) -> str:
    """The last fenced Python block of ``text`` (the whole text when there is none)."""
    blocks = _FENCE.findall(text)
    return blocks[-1] if blocks else text


def _column(kwargs: dict[str, Any], names: Sequence[str], n: int, what: str) -> list[Any]:
    for name in names:
        if name in kwargs and kwargs[name] is not None:
            values = list(kwargs[name])
            if len(values) != n:
                raise ValueError(f"column {name!r} has {len(values)} values for {n} completions")
            return values
    raise ValueError(
        f"the {what} reward needs a dataset column named {' or '.join(map(repr, names))}; "
        f"got columns {sorted(kwargs)}"
    )


def make_math_reward(
    *,
    gold_columns: Sequence[str] = ("answer", "solution"),
    on_error: float | None = None,
    timeout: float | None = None,
    name: str = "math_reward",
) -> RewardFunc:
    """A math reward function reading the gold answer from the first of ``gold_columns``
    present; ``on_error`` is returned when grading fails or times out (``None``: unknown)."""

    def reward(prompts: Any = None, completions: Sequence[Any] = (), **kwargs: Any) -> list:
        from spenv.verifiers import math as vmath

        texts = [completion_text(c) for c in completions]
        golds = _column(kwargs, gold_columns, len(texts), "math")
        extra = {} if timeout is None else {"timeout": timeout}
        verdicts = vmath.grade_batch(
            [(t, str(g)) for t, g in zip(texts, golds, strict=True)], **extra
        )
        out: list[float | None] = []
        for v in verdicts:
            if v.status in ("ok", "wrong", "format_error"):
                out.append(float(v.score))
            else:  # timeout or error: the answer could not be checked
                out.append(on_error)
        return out

    reward.__name__ = name
    reward.__qualname__ = name
    return reward


def make_code_reward(
    *,
    tests_column: str = "tests",
    entry_point_column: str = "entry_point",
    prefix_column: str = "prompt_code",
    sandbox: Any = None,
    timeout: float = 10.0,
    on_error: float | None = None,
    name: str = "code_reward",
) -> RewardFunc:
    """A code reward function (fraction of tests passed in the sandbox); ``on_error`` is
    returned when the tests or the sandbox fail (``None``: unknown)."""

    def reward(prompts: Any = None, completions: Sequence[Any] = (), **kwargs: Any) -> list:
        from spenv.verifiers.code import Sandbox

        box = sandbox or _shared_sandbox(Sandbox)
        texts = [completion_text(c) for c in completions]
        tests = _column(kwargs, (tests_column,), len(texts), "code")
        entry = kwargs.get(entry_point_column) or [None] * len(texts)
        prefix = kwargs.get(prefix_column) or [""] * len(texts)
        jobs = [
            {
                "solution": (p or "") + extract_code(t),
                "tests": test,
                "entry_point": e,
                "timeout": timeout,
                # the prompt's code runs beside the tests too: the helpers they call are its own
                "setup": p or None,
            }
            for t, test, e, p in zip(texts, tests, entry, prefix, strict=True)
        ]
        verdicts = box.run_tests_many(jobs)
        return [on_error if v.status == "error" else float(v.score) for v in verdicts]

    reward.__name__ = name
    reward.__qualname__ = name
    return reward


_SANDBOX: list[Any] = []


def _shared_sandbox(factory: Callable[[], Any]) -> Any:
    if not _SANDBOX:
        _SANDBOX.append(factory())
    return _SANDBOX[0]


#: Math answers against the ``answer`` (or ``solution``) column; failures give ``None``.
math_reward = make_math_reward()
#: Code against the ``tests`` column in the sandbox; failures give ``None``.
code_reward = make_code_reward()

__all__ = [
    "code_reward",
    "completion_text",
    "extract_code",
    "make_code_reward",
    "make_math_reward",
    "math_reward",
]
