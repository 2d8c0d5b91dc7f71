"""Deal or No Deal, the negotiation game of Lewis et al. 2017, as a text environment
(``DealOrNoDeal-v1``).

Seats: ``player_0`` (speaks first) and ``player_1``.

The deal:

- A pool of three item types, books, hats and balls, with 1 to 4 items of each type.
- Each player has private non-negative integer values per item type, and the whole pool is
  worth exactly 10 points to each player (``sum(count * value) == 10``). As in the paper, every
  item type is worth something to at least one player, and at least one item type is worth
  something to both (so interests conflict).
- Sampling (from the env's generator): the counts are drawn uniformly among the 62 count
  triples that admit such values (``(3, 3, 3)`` and ``(4, 4, 4)`` admit none), then the pair of
  value vectors uniformly among the valid pairs for those counts.

Turns: the players alternate, at most ``max_turns`` turns in all (default 10). On a turn a player
writes a message (free text, shown to the other player) and may include one action:

- ``[Propose] books=1 hats=2 balls=0``: what the proposer keeps; the other player gets the
  rest. Tolerant grammar: case-insensitive; ``[Proposal]`` and ``[Offer]`` work too; each item
  type as ``books=1``, ``books: 1``, ``book=1`` or ``1 book(s)``, in any order, separated by
  spaces, commas or ``and``; all three types must be named, once each, within the 300
  characters after the tag (the first three named count; later mentions are talk). A number is
  read whole: ``1.5``, ``1e9`` or ``1_000`` is not a whole number (an invalid proposal), never
  read as ``1`` or ``5``. A new
  proposal replaces any earlier proposal on the table.
- ``[Accept]`` (or ``[Agree]``): accepts the proposal on the table, which must be the other
  player's. That makes the deal and ends the game.
- ``[Reject]`` (or ``[Decline]``): rejects the other player's proposal on the table (it is
  removed); with nothing to reject it is just talk.
- No action: talk; a proposal on the table stays there.

When a message names several actions the last one counts. Invalid moves: an empty message, a
``[Propose]`` that does not name each item type once with a whole number, or asks for more items
than exist (or a negative number), an ``[Accept]`` with no proposal of the other player on the
table. They follow the core's policy (``retries``; then the offender forfeits: it gets
``invalid_reward``, the other player 0, or the opposite amount under the zero-sum competitive
objective; outcomes ``invalid`` / ``win``).

Rewards: a deal gives each player its points ``u`` (the value of what it gets under its own
values), turned into rewards by the option ``objective``:

- ``"selfish"`` (default): own points, ``u_self``;
- ``"cooperative"``: joint points, ``u_self + u_other`` for both;
- ``"competitive"``: ``u_self - u_other`` (zero-sum).

No deal by the turn limit gives 0 to both under every objective.

Outcomes (the game is general-sum, so they summarise rather than define success): no deal is a
``draw`` for both; a deal under ``selfish`` or ``competitive`` is a ``win`` for the player with
more points, a ``loss`` for the other, a ``draw`` when equal; a deal under ``cooperative`` is a
``win`` for both (a ``draw`` for both if it is worth 0 points in all).

Messages are relayed on one line as ``player_0 said: "..."`` (JSON-quoted, control characters
and line breaks turned into spaces, invisible format characters removed, cut to ``RELAY_CAP`` =
1,000 characters); the game's own lines (proposals, acceptances, rejections) are separate lines
that no message can forge. A player's values never appear in the other's view (text or state)
before the game ends; the final views reveal both.

Constructor options: ``max_turns`` (2 to 100, default 10), ``objective``. Reset options:
``counts`` (three integers from 1 to 4: books, hats, balls) and ``values`` (two lists of three
non-negative integers, player_0's then player_1's, each worth 10 in total under ``counts``),
together, to fix the deal; other reset options are ignored.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Sequence
from functools import cache
from itertools import product
from typing import Any, ClassVar

from spenv.agents.base import Agent, BaseAgent
from spenv.env import TextEnv
from spenv.observation import Observation
from spenv.options import Int, OneOf, Option

SEATS = ("player_0", "player_1")
ITEMS = ("book", "hat", "ball")
PLURAL = {"book": "books", "hat": "hats", "ball": "balls"}
TOTAL_VALUE = 10
MAX_COUNT = 4
OBJECTIVES = ("selfish", "cooperative", "competitive")
RELAY_CAP = 1000
MAX_TURNS_LIMIT = 100

Triple = tuple[int, int, int]

_ACTION_RE = re.compile(
    r"\[\s*(propose|proposal|offer|accept|agree|reject|decline)\s*\]", re.IGNORECASE | re.ASCII
)
_ITEM = r"(books?|hats?|balls?)"
# A number is read whole (``1.5``, ``1e9``, ``1_000`` are one token each, then refused as not a
# whole number), never a piece of one: ``2.5 books`` is not ``5 books``.
_NUMBER = r"(?<![\w.])([+-]?\d+(?:\.\d+|[eE][+-]?\d+|_\d+)*)(?!\w)"
_ASSIGN_RE = re.compile(
    rf"\b{_ITEM}\s*[=:]\s*{_NUMBER}|{_NUMBER}\s*{_ITEM}\b", re.IGNORECASE | re.ASCII
)
_INT_RE = re.compile(r"[+-]?\d+", re.ASCII)
_KIND = {
    "propose": "propose",
    "proposal": "propose",
    "offer": "propose",
    "accept": "accept",
    "agree": "accept",
    "reject": "reject",
    "decline": "reject",
}


# ------------------------------------------------------------------------------ the deals
def _vectors(counts: Triple) -> list[Triple]:
    c1, c2, c3 = counts
    out = []
    for v1 in range(TOTAL_VALUE // c1 + 1):
        for v2 in range((TOTAL_VALUE - c1 * v1) // c2 + 1):
            rest = TOTAL_VALUE - c1 * v1 - c2 * v2
            if rest % c3 == 0:
                out.append((v1, v2, rest // c3))
    return out


def _valid_pair(a: Triple, b: Triple) -> bool:
    return all(x > 0 or y > 0 for x, y in zip(a, b, strict=True)) and any(
        x > 0 and y > 0 for x, y in zip(a, b, strict=True)
    )


@cache
def value_pairs(counts: Triple) -> tuple[tuple[Triple, Triple], ...]:
    """Every valid (player_0's values, player_1's values) for ``counts``."""
    vs = _vectors(counts)
    return tuple((a, b) for a in vs for b in vs if _valid_pair(a, b))


#: The count triples that admit valid values (drawn uniformly).
COUNT_TRIPLES: tuple[Triple, ...] = tuple(
    c for c in product(range(1, MAX_COUNT + 1), repeat=3) if value_pairs(c)
)


def points(keep: Sequence[int], values: Sequence[int]) -> int:
    """The value of the items ``keep`` under ``values``."""
    return sum(k * v for k, v in zip(keep, values, strict=True))


def describe(items: Sequence[int]) -> str:
    """``books=1 hats=2 balls=0``: the proposal format."""
    return " ".join(f"{PLURAL[t]}={n}" for t, n in zip(ITEMS, items, strict=True))


def _count_text(counts: Sequence[int]) -> str:
    return ", ".join(
        f"{n} {t if n == 1 else PLURAL[t]}" for t, n in zip(ITEMS, counts, strict=True)
    )


def relay(text: str, cap: int = RELAY_CAP) -> str:
    """A message as shown to the other player: one line of visible characters, at most ``cap``
    (control characters become spaces, invisible format characters are removed)."""
    text = unicodedata.normalize("NFKC", text[: 8 * cap])
    if text.isascii():
        chars = [ch if ch.isprintable() else " " for ch in text]
    else:
        chars = []
        for ch in text:
            cat = unicodedata.category(ch)
            if cat == "Cc":
                chars.append(" ")
            elif cat[0] != "C":
                chars.append(ch)
    line = " ".join("".join(chars).split())
    if len(line) > cap:
        line = line[:cap].rstrip() + " [cut]"
    return line


def parse_proposal(text: str, counts: Sequence[int]) -> tuple[Triple | None, str | None]:
    """The items a ``[Propose]`` keeps, read from the text after the tag, or an error."""
    found: dict[str, int] = {}
    for m in _ASSIGN_RE.finditer(text[:300]):
        name = (m.group(1) or m.group(4)).lower()
        number = m.group(2) if m.group(1) else m.group(3)
        item = name[:-1] if name.endswith("s") else name
        if item in found:
            return None, f"the proposal names {PLURAL[item]} twice"
        if not _INT_RE.fullmatch(number):
            return None, f"{PLURAL[item]}: {number[:20]} is not a whole number"
        if len(number.lstrip("+-").lstrip("0")) > 6:  # beyond any pool; not worth an int
            shown = number if len(number) <= 12 else number[:12] + "..."
            return None, f"you cannot keep {shown} {PLURAL[item]}: the pool is far smaller"
        found[item] = int(number)
        if len(found) == len(ITEMS):  # what follows is talk ("that leaves you 3 books")
            break
    missing = [PLURAL[t] for t in ITEMS if t not in found]
    if missing:
        return None, (
            "a proposal names every item type with the number you keep, like "
            "[Propose] books=1 hats=2 balls=0 (missing: " + ", ".join(missing) + ")"
        )
    keep = tuple(found[t] for t in ITEMS)
    for t, k, c in zip(ITEMS, keep, counts, strict=True):
        if k < 0 or k > c:
            return None, f"you cannot keep {k} {PLURAL[t]}: there are {c}"
    return keep, None  # type: ignore[return-value]


_SYSTEM = """You are playing Deal or No Deal, a negotiation game, as {seat}, against {other}.
Rules:
- There are books, hats and balls to divide between you two. Each player values each item type \
privately: your values are shown to you, the other player's are hidden (and yours are hidden \
from them). The whole pool is worth 10 points to each of you.
- You take turns, player_0 first, at most {n} turns in all ({mine} for you).
- On your turn write a message to the other player (free text), and optionally one action:
  [Propose] books=1 hats=2 balls=0 : the items YOU keep (name all three types); the other \
player gets the rest. A new proposal replaces any earlier one.
  [Accept] : accept the other player's proposal on the table; this makes the deal and ends the \
game.
  [Reject] : reject the other player's proposal on the table.
  If your answer names several actions, the last one counts.
- If no deal is made within {n} turns, both players score 0.
- Scoring of a deal: {scoring}
- An empty answer, a proposal that does not name each item type or asks for more items than \
exist, or an [Accept] with no proposal of the other player on the table is invalid and {penalty}.
Messages longer than {cap} characters are cut when shown to the other player."""

_SCORING = {
    "selfish": "your score is the value of the items you get, under your own values.",
    "cooperative": "your score is the total value of the deal: the value of your items to you "
    "plus the value of the other player's items to them (both players score the same).",
    "competitive": "your score is the value of your items to you minus the value of the other "
    "player's items to them.",
}


class DealOrNoDealEnv(TextEnv):
    """Deal or No Deal negotiation; see the module docstring for the rules and options."""

    metadata: ClassVar[dict[str, Any]] = {**TextEnv.metadata, "name": "deal_or_no_deal_v1"}
    env_id = "DealOrNoDeal-v1"
    possible_agents: ClassVar[list[str]] = list(SEATS)
    zero_sum = False
    _moves: ClassVar[dict[str, str]] = {}

    OPTIONS: ClassVar[tuple[Option, ...]] = (
        Option("max_turns", 10, Int(2, MAX_TURNS_LIMIT), "turns in the whole game (both seats)"),
        Option("objective", "selfish", OneOf(*OBJECTIVES), "what each seat's reward counts"),
    )

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        max_turns, objective = self.max_turns, self.objective
        self.zero_sum = objective == "competitive"  # the default forfeit pays the other then
        penalty = (
            "you forfeit: you score " + f"{self.invalid_reward:g}"
            if self.retries == 0
            else f"you are asked again; after {self.retries} invalid answers you forfeit"
        )
        self._system = {
            seat: _SYSTEM.format(
                seat=seat,
                other=SEATS[1 - i],
                n=max_turns,
                mine=(max_turns + 1 - i) // 2,
                scoring=_SCORING[objective],
                penalty=penalty,
                cap=RELAY_CAP,
            )
            for i, seat in enumerate(SEATS)
        }
        self._counts: Triple = (1, 1, 1)
        self._values: tuple[Triple, Triple] = ((0, 0, 0), (0, 0, 0))
        self._offer: tuple[str, Triple] | None = None
        self._log: list[tuple[str, str, str]] = []
        self._proposals: list[tuple[str, Triple]] = []
        self._deal: tuple[Triple, Triple] | None = None
        self._end: str | None = None
        self._pending: tuple[str, Triple | None, str] = ("say", None, "")

    # ------------------------------------------------------------------ game state
    def _check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        has_c, has_v = "counts" in options, "values" in options
        if not has_c and not has_v:
            return options
        if has_c != has_v:
            raise ValueError("reset options counts and values go together")
        counts = _triple(options["counts"], "counts")
        if not all(1 <= c <= MAX_COUNT for c in counts):
            raise ValueError(f"counts are integers from 1 to {MAX_COUNT}, got {counts}")
        values = options["values"]
        if isinstance(values, dict):
            values = [values.get(s) for s in SEATS]
        if not isinstance(values, list | tuple) or len(values) != 2:
            raise ValueError(f"values are two lists of three integers, got {values!r}")
        vals = tuple(_triple(v, "values") for v in values)
        for seat, v in zip(SEATS, vals, strict=True):
            if min(v) < 0 or points(counts, v) != TOTAL_VALUE:
                raise ValueError(
                    f"{seat}'s values {list(v)} must be non-negative and make the pool worth "
                    f"{TOTAL_VALUE}, not {points(counts, v)}"
                )
        return {**options, "counts": counts, "values": vals}

    def _new_game(self, options: dict[str, Any]) -> str:
        if "counts" in options:
            self._counts = options["counts"]
            self._values = options["values"]
        else:
            rng = self.np_random
            counts = COUNT_TRIPLES[int(rng.integers(len(COUNT_TRIPLES)))]
            pairs = value_pairs(counts)
            self._counts = counts
            self._values = pairs[int(rng.integers(len(pairs)))]
        self._offer = None
        self._log = []
        self._proposals = []
        self._deal = None
        self._end = None
        return "player_0"

    # ------------------------------------------------------------------ observations
    def _observe(self, agent: str) -> Observation:
        i = SEATS.index(agent)
        other = SEATS[1 - i]
        finished = bool(self._outcomes)
        acting = not finished and agent == self.agent_selection
        counts, values = self._counts, self._values[i]
        n, t = self.max_turns, self._turn
        lines = [
            f"You are {agent}.",
            f"Items in the pool: {_count_text(counts)}.",
            "Your values: "
            + ", ".join(f"{x} {v}" for x, v in zip(ITEMS, values, strict=True))
            + f" per item (the pool is worth {points(counts, values)} to you).",
        ]
        if self._log:
            lines.append("Conversation so far:")
            for speaker, text, event in self._log:
                lines.append(f"{speaker} said: {json.dumps(text, ensure_ascii=False)}")
                if event:
                    lines.append(event)
        else:
            lines.append("No messages yet.")
        offer = self._offer
        state: dict[str, Any] = {
            "role": agent,
            "counts": dict(zip(ITEMS, counts, strict=True)),
            "values": dict(zip(ITEMS, values, strict=True)),
            "objective": self.objective,
            "turn": t,
            "max_turns": n,
            "turns_left": n - t,
            "history": tuple(self._log),
            "proposals": tuple(self._proposals),
            "offer": None,
            "can_accept": False,
        }
        if offer is not None:
            by, keep = offer
            give = tuple(c - k for c, k in zip(counts, keep, strict=True))
            mine = give if by != agent else keep
            state["offer"] = {
                "by": by,
                "proposer_keeps": dict(zip(ITEMS, keep, strict=True)),
                "other_gets": dict(zip(ITEMS, give, strict=True)),
                "my_points": points(mine, values),
            }
            state["can_accept"] = by != agent and not finished
        if finished:
            outcome = self._outcomes.get(agent)
            other_values = self._values[1 - i]
            lines.append(
                f"{other}'s values were: "
                + ", ".join(f"{x} {v}" for x, v in zip(ITEMS, other_values, strict=True))
                + "."
            )
            if self._deal is not None:
                got = self._deal[i]
                lines.append(
                    f"Deal: you get {describe(got)} ({points(got, values)} points to you); "
                    f"{other} gets {describe(self._deal[1 - i])} "
                    f"({points(self._deal[1 - i], other_values)} points to them)."
                )
            else:
                lines.append("No deal was made.")
            lines.append(
                f"The game is over: {outcome}. Your score: {self._totals.get(agent, 0.0):+g}."
            )
            state.update(
                outcome=outcome,
                end=self._end,
                other_values=dict(zip(ITEMS, other_values, strict=True)),
                deal=None
                if self._deal is None
                else {
                    s: dict(zip(ITEMS, d, strict=True))
                    for s, d in zip(SEATS, self._deal, strict=True)
                },
            )
        else:
            if offer is not None:
                by, keep = offer
                if by == agent:
                    lines.append(f"On the table: your proposal (you keep {describe(keep)}).")
                else:
                    lines.append(
                        f"On the table: {by}'s proposal: you get "
                        f"{describe(tuple(c - k for c, k in zip(counts, keep, strict=True)))} "
                        f"({state['offer']['my_points']} points to you)."
                    )
            else:
                lines.append("No proposal is on the table.")
            if acting:
                last = " This is the last turn." if t == n - 1 else ""
                lines.append(
                    f"Your turn: turn {t + 1} of {n}.{last} Write your message, with "
                    "[Propose] books=.. hats=.. balls=.., [Accept] or [Reject] if you like."
                )
            else:
                lines.append(f"Waiting for {other}.")
        return Observation(
            system=self._system[agent],
            user="\n".join(lines),
            role=agent,
            env_id=self.env_id,
            turn=t,
            legal_actions=None if acting else (),
            state=state,
        )

    # ------------------------------------------------------------------ moves
    def _parse(self, agent: str, action: str) -> tuple[str | None, str | None]:
        shown = relay(action)
        if not shown:
            return None, "the message is empty; write something"
        last = None
        for last in _ACTION_RE.finditer(action):  # noqa: B007
            pass
        kind = _KIND[last.group(1).lower()] if last is not None else "say"
        keep = None
        if kind == "propose":
            keep, error = parse_proposal(action[last.end() :], self._counts)  # type: ignore[union-attr]
            if error is not None:
                return None, error
            move = "propose " + describe(keep)  # type: ignore[arg-type]
        elif kind == "accept":
            if self._offer is None or self._offer[0] == agent:
                return None, "[Accept] needs a proposal of the other player on the table"
            move = "accept"
        else:
            move = kind
        self._pending = (kind, keep, shown)
        return move, None

    def _apply(self, agent: str, move: str) -> None:
        kind, keep, shown = self._pending
        i = SEATS.index(agent)
        other = SEATS[1 - i]
        line = ""
        if kind == "propose":
            give = tuple(c - k for c, k in zip(self._counts, keep, strict=True))  # type: ignore[arg-type]
            self._offer = (agent, keep)  # type: ignore[assignment]
            self._proposals.append((agent, keep))  # type: ignore[arg-type]
            line = (
                f"{agent} proposed: {agent} keeps {describe(keep)}; {other} gets {describe(give)}."  # type: ignore[arg-type]
            )
        elif kind == "reject":
            if self._offer is not None and self._offer[0] == other:
                self._offer = None
                line = f"{agent} rejected {other}'s proposal."
        elif kind == "accept":
            by, kept = self._offer  # type: ignore[misc]
            rest = tuple(c - k for c, k in zip(self._counts, kept, strict=True))
            deal = (kept, rest) if by == SEATS[0] else (rest, kept)
            self._log.append((agent, shown, f"{agent} accepted {by}'s proposal: deal."))
            self._settle(deal)  # type: ignore[arg-type]
            return
        self._log.append((agent, shown, line))
        if self._turn >= self.max_turns:
            self._end = "no_deal"
            self._finish({SEATS[0]: "draw", SEATS[1]: "draw"})
        else:
            self.agent_selection = other

    def _settle(self, deal: tuple[Triple, Triple]) -> None:
        self._deal = deal
        self._end = "deal"
        u = [points(deal[k], self._values[k]) for k in (0, 1)]
        if self.objective == "selfish":
            r = (float(u[0]), float(u[1]))
        elif self.objective == "cooperative":
            r = (float(u[0] + u[1]),) * 2
        else:
            r = (float(u[0] - u[1]), float(u[1] - u[0]))
        self._give({SEATS[0]: r[0], SEATS[1]: r[1]})
        if self.objective == "cooperative":
            o = ("win", "win") if u[0] + u[1] > 0 else ("draw", "draw")
        elif u[0] > u[1]:
            o = ("win", "loss")
        elif u[0] < u[1]:
            o = ("loss", "win")
        else:
            o = ("draw", "draw")
        self._finish(dict(zip(SEATS, o, strict=True)))

    def _forfeit(self, agent: str, reason: str) -> None:
        self._end = f"{agent}_forfeit"
        super()._forfeit(agent, reason)

    def episode_info(self) -> dict[str, Any]:
        deal = self._deal
        return {
            "counts": list(self._counts),
            "values": {s: list(v) for s, v in zip(SEATS, self._values, strict=True)},
            "end": self._end,
            "deal": None
            if deal is None
            else {s: list(d) for s, d in zip(SEATS, deal, strict=True)},
            "points": None
            if deal is None
            else {s: points(d, v) for s, d, v in zip(SEATS, deal, self._values, strict=True)},
            "turns": self._turn,
        }


def _triple(value: Any, what: str) -> Triple:
    if (
        not isinstance(value, list | tuple)
        or len(value) != 3
        or not all(isinstance(x, int) and not isinstance(x, bool) for x in value)
    ):
        raise ValueError(f"{what} must be three integers (books, hats, balls), got {value!r}")
    return (int(value[0]), int(value[1]), int(value[2]))


# ------------------------------------------------------------------------------ agents
class GreedyNegotiator(BaseAgent):
    """Keeps a reservation value (own points) that it lowers over its turns, from ``start``
    (default 10) at its first turn to ``floor`` (default 5) at its last; at the game's last turn
    it is 1 (any points beat no deal).

    Each turn it accepts the proposal on the table if it is worth at least the reservation to
    it; otherwise it proposes the split that keeps at least the reservation while conceding the
    most: the smallest own value not below the reservation, then the most items given away,
    then the items the other player asked to keep in its latest proposal, ties broken at
    random. It reasons about its own points only (whatever the objective) and reads only its
    observation, so one object can play both seats.
    """

    name = "greedy"

    def __init__(self, *, start: float = 10.0, floor: float = 5.0, seed: int | None = None) -> None:
        super().__init__(seed=seed)
        if not 0 <= floor <= start:
            raise ValueError(f"need 0 <= floor <= start, got floor={floor!r}, start={start!r}")
        self.start = float(start)
        self.floor = float(floor)

    def reservation(self, obs: Observation) -> float:
        s = obs.state
        t, n = s["turn"], s["max_turns"]
        if t == n - 1:
            return 1.0
        seat = SEATS.index(obs.role)
        mine = (n + 1 - seat) // 2  # this player's turns in the game
        k = t // 2  # this player's turns so far
        frac = k / max(1, mine - 1)
        return self.start - (self.start - self.floor) * min(1.0, frac)

    def act(self, obs: Observation) -> str:
        s = obs.state
        r = self.reservation(obs)
        offer = s.get("offer")
        if s.get("can_accept") and offer is not None and offer["my_points"] >= r:
            return "That works for me. [Accept]"
        counts = tuple(s["counts"][t] for t in ITEMS)
        values = tuple(s["values"][t] for t in ITEMS)
        wanted = next((tuple(k) for by, k in reversed(s["proposals"]) if by != obs.role), (0, 0, 0))
        best: list[Triple] = []
        best_key = None
        for keep in product(*(range(c + 1) for c in counts)):
            u = points(keep, values)
            if u < r:
                continue
            given = tuple(c - k for c, k in zip(counts, keep, strict=True))
            asked = sum(min(g, w) for g, w in zip(given, wanted, strict=True))
            key = (u, -sum(given), -asked)
            if best_key is None or key < best_key:
                best, best_key = [keep], key  # type: ignore[list-item]
            elif key == best_key:
                best.append(keep)  # type: ignore[arg-type]
        if not best:  # nothing reaches the reservation: keep everything worth anything
            best = [tuple(c if v > 0 else 0 for c, v in zip(counts, values, strict=True))]  # type: ignore[list-item]
        keep = best[int(self.rng.random() * len(best))]
        return f"How about this? [Propose] {describe(keep)}"


_TALK = "hello deal offer maybe fine no yes books hats balls want give take please"


class RandomNegotiator(BaseAgent):
    """Random talk, random valid proposals, random accepts and rejects."""

    name = "random"
    WORDS: tuple[str, ...] = tuple(_TALK.split())

    def act(self, obs: Observation) -> str:
        s = obs.state
        rng = self.rng
        talk = " ".join(
            self.WORDS[int(rng.integers(len(self.WORDS)))] for _ in range(int(rng.integers(1, 8)))
        )
        u = rng.random()
        if s.get("can_accept") and u < 0.25:
            return f"{talk} [Accept]"
        if u < 0.65:
            keep = tuple(int(rng.integers(s["counts"][t] + 1)) for t in ITEMS)
            return f"{talk} [Propose] {describe(keep)}"
        if u < 0.75:
            return f"{talk} [Reject]"
        return talk


_FACTORIES: dict[str, Callable[..., Agent]] = {
    "greedy": lambda seed=None, **kw: GreedyNegotiator(seed=seed, **kw),
    "random": lambda seed=None, **kw: RandomNegotiator(seed=seed, **kw),
}

#: Names of the reference agents (``random`` included: it talks, proposes and accepts).
REFERENCE_AGENTS = tuple(_FACTORIES)


def reference_agent(name: str, *, seed: int | None = None, **params: Any) -> Agent:
    """Build a reference negotiator: ``greedy`` (takes ``start`` and ``floor``) or ``random``."""
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ValueError(
            f"no Deal or No Deal agent named {name!r}; known: {REFERENCE_AGENTS}"
        ) from None
    return factory(seed=seed, **params)
