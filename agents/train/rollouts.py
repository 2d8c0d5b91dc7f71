"""From games to training samples.

Every decision the learner made in a game becomes one :class:`Sample`: the prompt tokens it saw,
the tokens it sampled (the only ones that carry gradient), and the decision's return: its own
reward when the game scores decisions one by one (``Turn.reward``, set through
``TextEnv.decision_rewards()``: each attempt by its verdict, each proposal by its score), else the
game's return for its role. When a game asks one prompt k times in a row (``Observation.repeat``
k, k-1, ..., 1, identical prompt tokens), the k decisions form one *attempt group*.
The rollout engine stores the token ids in each turn's ``extra`` (an agent returning
:class:`spenv.agents.Reply` with ``prompt_ids``, ``completion_ids``, ``logprobs``); turns without
them (a scripted opponent, a frozen snapshot) are not trained on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from spenv.episode import Episode
from spenv.rollout import Runner


@dataclass
class Sample:
    """One decision of the learner."""

    prompt_ids: list[int]
    completion_ids: list[int]
    ret: float
    """The decision's return: its own reward (``Turn.reward``) when the game set one, else the
    episode's return for the sample's role."""
    env_id: str
    role: str
    seed: int | None
    game: int
    opponent: str = ""
    """Label of the opponent in the game (empty in self-play)."""
    valid: bool = True
    """Whether the move was accepted by the game."""
    rollout_logprobs: list[float] | None = None
    """The sampler's per-token log-probabilities (for diagnostics)."""
    advantage: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    turn: int = 0
    """The turn's index in its episode."""
    own_reward: bool = False
    """Whether ``ret`` is the decision's own reward (not the seat's episode reward)."""
    attempt_group: int | None = None
    """For one of k independent asks of the same prompt: the turn index of the first ask."""
    move: str | None = None
    """The move the game parsed from the answer (None when invalid)."""


def samples_from_episodes(
    episodes: Iterable[Episode],
    *,
    learner: str,
    roles: Sequence[str] | None = None,
) -> tuple[list[Sample], dict[str, int]]:
    """The learner's decisions in ``episodes`` as samples, in game and turn order.

    ``learner`` is the learner's player label prefix (the rollout engine numbers repeats:
    ``policy``, ``policy#2`` in self-play); ``roles`` restricts the trained seats. Returns the
    samples and counts of what was skipped (``error`` episodes, turns without token ids).
    """
    samples: list[Sample] = []
    skipped = {"error_episodes": 0, "turns_without_ids": 0}
    for ep in episodes:
        if ep.status == "error":
            skipped["error_episodes"] += 1
            continue
        learner_seats = {
            s
            for s, label in ep.players.items()
            if label == learner or label.startswith(learner + "#")
        }
        opponents = sorted({label for s, label in ep.players.items() if s not in learner_seats})
        opponent = ",".join(opponents)
        runs: dict[str, tuple[int, int, tuple[int, ...]]] = {}  # seat -> (first, next, prompt)
        for turn in ep.turns:
            if turn.agent not in learner_seats:
                continue
            if roles is not None and turn.agent not in roles:
                continue
            extra = turn.extra or {}
            p_ids, c_ids = extra.get("prompt_ids"), extra.get("completion_ids")
            if p_ids is None or c_ids is None:
                skipped["turns_without_ids"] += 1
                continue
            group = _attempt_group(runs, turn, tuple(p_ids))
            own = turn.reward is not None
            samples.append(
                Sample(
                    prompt_ids=list(p_ids),
                    completion_ids=list(c_ids),
                    ret=float(turn.reward) if own else float(ep.rewards.get(turn.agent, 0.0)),
                    env_id=ep.env_id,
                    role=turn.agent,
                    seed=ep.seed,
                    game=int(ep.metadata.get("game", 0)),
                    opponent=opponent,
                    valid=bool(turn.valid),
                    rollout_logprobs=extra.get("logprobs"),
                    turn=int(turn.index),
                    own_reward=own,
                    attempt_group=group,
                    move=turn.move,
                )
            )
    return samples, skipped


def _attempt_group(
    runs: dict[str, tuple[int, int, tuple[int, ...]]], turn: Any, prompt: tuple[int, ...]
) -> int | None:
    """The attempt group of ``turn`` (the index of the first of k asks of one prompt), tracking
    each seat's open run in ``runs``: a run starts at ``repeat`` k > 1 and takes the seat's
    following asks with the same prompt tokens and ``repeat`` counting down to 1."""
    r = int((turn.observation or {}).get("repeat", 1))
    seat = turn.agent
    run = runs.get(seat)
    if run is not None and run[1] == r and run[2] == prompt:
        first = run[0]
    elif r > 1:
        first = turn.index
    else:
        runs.pop(seat, None)
        return None
    if r > 1:
        runs[seat] = (first, r - 1, prompt)
    else:
        runs.pop(seat, None)
    return first


class GroupedRunner(Runner):
    """A :class:`Runner` that plays each seed ``group_size`` times in every seating.

    Game ``i`` has rotation ``i % seats`` and seed ``seed + (i // seats) // group_size``: the
    groups of GRPO (same env, seed and role) are formed by consecutive games.
    """

    def __init__(self, *args: Any, group_size: int = 1, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if group_size < 1:
            raise ValueError(f"group_size must be at least 1, got {group_size}")
        self.group_size = group_size

    def seating(self, index: int) -> tuple[int, int | None]:
        n = len(self.seats)
        rotation, group = (index % n, index // n) if self.swap_seats else (0, index)
        return rotation, None if self.seed is None else self.seed + group // self.group_size


@dataclass
class Row:
    """Identical samples merged into one loss row (see :mod:`spenv.agents.train.loss`)."""

    prompt_ids: list[int]
    completion_ids: list[int]
    weight: int
    """How many samples the row stands for."""
    advantage: float
    """Their mean advantage (all of the same sign, unless merged across signs)."""


def merge_samples(samples: Sequence[Sample], by_sign: bool = True) -> list[Row]:
    """Merge samples with the same prompt, completion and sign of advantage, in first-seen
    order. The loss over the rows (with their weights) equals the loss over the samples.

    ``by_sign=False`` merges across signs too: exact only while the ratio to the sampling
    policy is 1 (one optimizer step per batch, ``iterations: 1``), where the clipped loss is
    linear in the advantage."""
    rows: dict[tuple, list[Any]] = {}
    for s in samples:
        sign = (s.advantage > 0) - (s.advantage < 0) if by_sign else 0
        key = (tuple(s.prompt_ids), tuple(s.completion_ids), sign)
        acc = rows.get(key)
        if acc is None:
            rows[key] = [s, 1, s.advantage]
        else:
            acc[1] += 1
            acc[2] += s.advantage
    return [
        Row(list(s.prompt_ids), list(s.completion_ids), n, total / n)
        for s, n, total in rows.values()
    ]
