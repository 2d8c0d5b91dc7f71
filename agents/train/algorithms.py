"""Learning rules besides the clipped policy gradient, on the same samples.

Each function takes the step's :class:`~spenv.agents.train.rollouts.Sample` list (in game and
turn order, returns set) and returns what the update trains on, with ``advantage`` as the
weight of each decision in the loss of :mod:`spenv.agents.train.loss`:

- :func:`filtered` (expert iteration, filtered behaviour cloning): the decisions whose return
  is at least a threshold, each with weight 1 (the update is then supervised: the gradient of
  the decisions' log-likelihood). Expert iteration (STP's prover) keeps each distinct
  (prompt, completion) once; filtered behaviour cloning keeps every copy.
- :func:`spag_weighted` (SPAG's offline self-play objective): only the winning seat's decisions
  (return > 0), each weighted by its return discounted by ``gamma`` for every later decision of
  that seat in the game.
- :func:`pseudo_label` (R-Zero, test-time RL): for solver seats without a verifier, the return
  of each of k attempts at one prompt becomes its agreement with the majority move.
- :func:`judge_prompt` / :func:`parse_rating` / :func:`apply_ratings` (a third role that scores
  proposals, as SGS's guide and MAE's judge): the policy rates each proposal from 0 to 10; the
  rating is mixed into the proposal's return, and the judge is rewarded for predicting the
  proposal's verified return.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any


def filtered(samples: Sequence[Any], threshold: float, distinct: bool) -> list[Any]:
    """The samples with ``ret >= threshold``, advantage 1; with ``distinct`` one per distinct
    (prompt, completion)."""
    out, seen = [], set()
    for s in samples:
        if s.ret < threshold:
            continue
        if distinct:
            key = (tuple(s.prompt_ids), tuple(s.completion_ids))
            if key in seen:
                continue
            seen.add(key)
        s.advantage = 1.0
        out.append(s)
    return out


def spag_weighted(samples: Sequence[Any], gamma: float) -> list[Any]:
    """The winning seats' samples (``ret > 0``), advantage ``ret * gamma**later`` where
    ``later`` counts the seat's decisions after this one in the same game."""
    by_seat: dict[tuple, list[Any]] = {}
    for s in samples:
        if s.ret > 0:
            by_seat.setdefault((s.env_id, s.opponent, s.game, s.seed, s.role), []).append(s)
    out = []
    for seat in by_seat.values():
        seat.sort(key=lambda s: s.turn)
        n = len(seat)
        for i, s in enumerate(seat):
            s.advantage = s.ret * gamma ** (n - 1 - i)
            out.append(s)
    return out


def pseudo_label(samples: Sequence[Any], roles: Sequence[str]) -> int:
    """Majority-vote returns for the attempt groups of ``roles`` (in place): 1 for an attempt
    whose move equals the group's unique most common valid move, else 0 (a tie or no valid
    move: 0 for all). Returns how many samples were relabelled."""
    if not roles:
        return 0
    wanted = set(roles)
    groups: dict[tuple, list[Any]] = {}
    for s in samples:
        if s.role in wanted and s.attempt_group is not None:
            key = (s.env_id, s.opponent, s.game, s.seed, s.role, s.attempt_group)
            groups.setdefault(key, []).append(s)
    n = 0
    for members in groups.values():
        votes = Counter(s.move for s in members if s.valid and s.move is not None)
        top = votes.most_common(2)
        label = top[0][0] if top and (len(top) == 1 or top[0][1] > top[1][1]) else None
        for s in members:
            s.ret = 1.0 if label is not None and s.move == label else 0.0
            s.own_reward = True
            n += 1
    return n


JUDGE_SYSTEM = (
    "You judge proposals made in a game for their quality: a good proposal is well-formed, "
    "solvable and neither trivial nor impossible."
)
_RATING = re.compile(r"\[\s*(\d{1,2})\s*\]")


def judge_prompt(env_id: str, role: str, context: str, proposal: str) -> Any:
    """The observation shown to the judge for one proposal (the proposer's prompt and answer)."""
    from spenv.observation import Observation

    user = (
        f"A {role} in {env_id} was shown:\n{context}\n\nIt answered:\n{proposal}\n\n"
        "Rate this proposal from 0 (worthless) to 10 (excellent). Answer with the number in "
        "brackets, like [7]."
    )
    return Observation(system=JUDGE_SYSTEM, user=user, role="judge", env_id=env_id, turn=0)


def parse_rating(answer: str) -> float | None:
    """The last bracketed whole number from 0 to 10 in ``answer``, divided by 10 (None when
    there is none)."""
    found = [int(m.group(1)) for m in _RATING.finditer(str(answer))]
    found = [x for x in found if 0 <= x <= 10]
    return found[-1] / 10.0 if found else None


def apply_ratings(rated: Sequence[Any], ratings: Sequence[float | None], weight: float) -> list:
    """Mix each rating into its proposal's return, ``(1 - weight) * R + weight * rating`` (an
    unparsable rating leaves the return alone), and return the judge's rewards: ``1 -
    |rating - clip(R, 0, 1)|`` for a rating, 0 for an unparsable answer."""
    rewards = []
    for s, r in zip(rated, ratings, strict=True):
        verified = min(1.0, max(0.0, s.ret))
        if r is None:
            rewards.append(0.0)
            continue
        rewards.append(1.0 - abs(r - verified))
        s.ret = (1.0 - weight) * s.ret + weight * r
        s.own_reward = True
    return rewards
