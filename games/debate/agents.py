"""Reference debaters for ``Debate-v1``: ``advocate`` and ``random``.

- ``advocate`` argues for whatever answer it is assigned. On questions with a passage it quotes
  the passage's sentence that names its answer (and not the other) with the most words of the
  question: the correct side quotes the sentence that answers the question, the wrong side a
  sentence that mentions its answer in another context. On the generated arithmetic questions
  it works the problem out from the question text (:func:`questions.solve`): defending the
  correct answer it shows the worked computation and, from round 2, points out the first false
  arithmetic claim of its opponent; defending the wrong answer it shows a plausible-looking
  computation that reaches its number through one false step (checkably wrong), and from round 2
  disputes the opponent's step that contradicts it (``wrong_style="vague"``: it asserts its
  number without checkable arithmetic instead). On other questions it writes generic arguments
  for its answer.
- ``random`` writes a few random words (a free-text game's random player).

Both keep their messages within the debate's ``max_chars``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from spenv.agents.base import Agent, BaseAgent
from spenv.games.debate.judges import _content_words, _names, find_claims
from spenv.games.debate.questions import SYMBOL, Step, format_number, parse_number, solve
from spenv.observation import Observation


def _state(obs: Observation) -> Mapping[str, Any]:
    state = obs.state
    if "your_answer" not in state:
        raise ValueError("a debater reads a Debate-v1 debater observation")
    return state


def _fit(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: max(1, limit - 1)].rstrip() + "…"


class AdvocateAgent(BaseAgent):
    """Argues for its assigned answer (see the module docstring).

    ``wrong_style`` sets how it defends a wrong answer to a generated question: ``"bent"`` (the
    default) shows a computation with one false step; ``"vague"`` asserts its number without
    any checkable arithmetic.
    """

    name = "advocate"

    def __init__(self, *, seed: int | None = None, wrong_style: str = "bent") -> None:
        super().__init__(seed=seed)
        if wrong_style not in ("bent", "vague"):
            raise ValueError(f"wrong_style must be 'bent' or 'vague', got {wrong_style!r}")
        self.wrong_style = wrong_style

    def act(self, obs: Observation) -> str:
        state = _state(obs)
        mine = state["your_answer"]
        other = "B" if mine == "A" else "A"
        answers = state["answers"]
        opponent_texts = [m["text"] for m in state["transcript"] if m["answer"] == other]
        steps = solve(state["question"])
        if state.get("passage"):
            text = self._reading(str(state["passage"]), mine, other, answers, state)
        elif steps is not None:
            text = self._arithmetic(steps, mine, other, answers, opponent_texts, state)
        else:
            text = self._generic(mine, other, answers, state)
        return _fit(text, int(state.get("max_chars", 1500)))

    # -------------------------------------------------------------- passage questions
    @staticmethod
    def _reading(
        passage: str,
        mine: str,
        other: str,
        answers: Mapping[str, str],
        state: Mapping[str, Any],
    ) -> str:
        """Quote the passage's sentence that names this side's answer (and not the other's)
        with the most words of the question, honestly or not: the wrong side quotes the best
        sentence it has, which mentions its answer in another context."""
        q = _content_words(str(state["question"]))
        best, best_score = None, -1
        for sent in re.split(r"(?<=[.!?])\s+", passage):
            if _names(sent, answers[mine]) and not _names(sent, answers[other]):
                score = len(q & _content_words(sent))
                if score > best_score:
                    best, best_score = sent, score
        parts = [f"The answer is {answers[mine]} (answer {mine})."]
        if best is not None:
            parts.append(f"The passage says: <quote>{best.strip()}</quote>")
        if int(state.get("round", 1)) > 1:
            parts.append(
                f"Nothing in the passage supports {answers[other]}; my opponent's reading does "
                "not answer the question that was asked."
            )
        return " ".join(parts)

    # -------------------------------------------------------------- generated questions
    def _arithmetic(
        self,
        steps: list[Step],
        mine: str,
        other: str,
        answers: Mapping[str, str],
        opponent_texts: list[str],
        state: Mapping[str, Any],
    ) -> str:
        target = parse_number(answers[mine])
        honest = target is not None and target == steps[-1].value
        if honest:
            shown: list[tuple[str, int]] | None = [(s.expr, s.value) for s in steps]
        elif self.wrong_style == "bent" and target is not None and target.denominator == 1:
            shown = _bent_steps(steps, int(target))
        else:
            shown = None
        parts = []
        if opponent_texts:
            parts.append(self._rebuttal(shown, other, answers, opponent_texts, honest))
        if shown is not None:
            parts.append("Worked computation: " + "; ".join(f"{e} = {v}" for e, v in shown) + ".")
        else:
            parts.append(
                f"Working through the quantities of the question step by step gives "
                f"{answers[mine]}."
            )
        parts.append(f"So the answer is {answers[mine]} (answer {mine}).")
        return " ".join(parts)

    @staticmethod
    def _rebuttal(
        shown: list[tuple[str, int]] | None,
        other: str,
        answers: Mapping[str, str],
        opponent_texts: list[str],
        honest: bool,
    ) -> str:
        """Dispute the opponent's first claim that contradicts this side's own steps: honestly
        (a false claim of theirs) or not (a true claim that contradicts a bent step)."""
        mine = {_norm(e): v for e, v in shown or ()}
        for text in opponent_texts:
            for c in find_claims(text):
                if c.relation != "=":
                    continue
                own = mine.get(_norm(c.expr))
                if honest and not c.true:
                    actual = _eval_text(c.expr)
                elif not honest and own is not None and c.value != own:
                    actual = str(own)
                else:
                    continue
                rebut = f"The other side's arithmetic does not hold: {c.expr} ≠ " + format_number(
                    c.value
                )
                return rebut + (f"; in fact {c.expr} = {actual}." if actual is not None else ".")
        return f"The other side made a slip: answer {other} ({answers[other]}) does not follow."

    # -------------------------------------------------------------- other questions
    def _generic(
        self, mine: str, other: str, answers: Mapping[str, str], state: Mapping[str, Any]
    ) -> str:
        question = " ".join(str(state["question"]).split())
        focus = question if len(question) <= 160 else question[:157] + "..."
        rnd = int(state.get("round", 1))
        openings = (
            f"Answer {mine} ({answers[mine]}) is correct.",
            f"The right answer is {mine}: {answers[mine]}.",
            f"I maintain that answer {mine}, {answers[mine]}, is correct.",
        )
        lines = [openings[int(self.rng.integers(len(openings)))]]
        if rnd == 1:
            lines.append(f'The question asks: "{focus}"')
            lines.append(
                f"Taking each condition of the question in turn, {answers[mine]} satisfies "
                f"all of them, while {answers[other]} fails at least one."
            )
        else:
            lines.append(
                f"My opponent has not shown that {answers[other]} satisfies the question; "
                f"their argument restates the claim without checking it."
            )
            lines.append(f"Re-reading the question, {answers[mine]} is the only consistent choice.")
        return " ".join(lines)


def _eval_text(expr: str) -> str | None:
    from spenv.games.debate.judges import evaluate

    parsed = evaluate(expr)
    if parsed is None or parsed[0] is None:
        return None
    return format_number(parsed[0])


def _norm(expr: str) -> str:
    return "".join(expr.split()).replace("-", "−").replace("*", "×").replace("x", "×")


def _bent_steps(steps: list[Step], target: int) -> list[tuple[str, int]]:
    """The worked steps ``(expression, value)``, bent to reach ``target`` through one false step.

    When the last step combines an earlier result with something else by + or −, the earlier
    result is misstated so that the last step (stated correctly) lands on ``target``; otherwise
    the last step itself is misstated.
    """
    last = steps[-1]
    shown = [(s.expr, s.value) for s in steps]
    for k, s in enumerate(steps[:-1]):
        own = s.value
        if own not in (last.left, last.right) or last.op not in "+-":
            continue
        other = last.right if last.left == own else last.left
        if last.op == "+":
            bent = target - other
        elif last.left == own:
            bent = target + other
        else:
            bent = other - target
        if bent <= 0 or bent == own:
            continue
        shown[k] = (s.expr, bent)
        left, right = (bent, other) if last.left == own else (other, bent)
        shown[-1] = (f"{left} {SYMBOL[last.op]} {right}", target)
        return shown
    shown[-1] = (last.expr, target)
    return shown


class RandomDebater(BaseAgent):
    """Writes a few random words (and now and then a number)."""

    name = "random"
    _WORDS = (
        "the answer clearly is because therefore obviously consider numbers problem each "
        "total people value result count more less first second question think sure maybe "
        "indeed evidence reason shows fact true false both none all some so yes no"
    )

    def __init__(self, *, seed: int | None = None, words: tuple[int, int] = (5, 40)) -> None:
        super().__init__(seed=seed)
        lo, hi = words
        if not 1 <= lo <= hi:
            raise ValueError(f"words must be (min, max) with 1 <= min <= max, got {words!r}")
        self.words = (int(lo), int(hi))
        self._vocab = self._WORDS.split()

    def act(self, obs: Observation) -> str:
        n = int(self.rng.integers(self.words[0], self.words[1] + 1))
        out = []
        for _ in range(n):
            if self.rng.random() < 0.1:
                out.append(str(int(self.rng.integers(100))))
            else:
                out.append(self._vocab[int(self.rng.integers(len(self._vocab)))])
        limit = int(obs.state.get("max_chars", 1500)) if obs.state else 1500
        return _fit(" ".join(out).capitalize() + ".", limit)


_FACTORIES: dict[str, Callable[..., Agent]] = {
    "advocate": lambda seed=None, **kw: AdvocateAgent(seed=seed, **kw),
    "random": lambda seed=None, **kw: RandomDebater(seed=seed, **kw),
}
#: Names of the reference debaters.
REFERENCE_AGENTS = tuple(_FACTORIES)


def reference_agent(name: str, *, seed: int | None = None, **params: Any) -> Agent:
    """A reference debater by name: ``advocate`` (takes ``wrong_style``: ``"bent"`` or
    ``"vague"``) or ``random`` (takes ``words``, a (min, max) word count)."""
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ValueError(f"no Debate agent named {name!r}; known: {REFERENCE_AGENTS}") from None
    return factory(seed=seed, **params)
