"""Simple negotiation (``SimpleNegotiation-v1``): zero-sum trading of two resources with
opposite private values, after SPIRAL's SimpleNegotiation.

Rules:

- Two resources, ``Wood`` and ``Gold``. Both players (``player_0``, ``player_1``) start with 10
  of each. Inventories and every move are public.
- Each player has private integer values per unit. The seed decides which resource
  ``player_0`` prefers (a fair coin); ``player_1`` prefers the other one. A player's preferred
  resource is worth 6-10 per unit to them and the other one 1-5 (uniform and independent). The
  rules, and so both players, know that the preferences are opposite; the numbers stay private
  until the game ends.
- The game lasts ``max_turns`` turns in all (default 10); players alternate, ``player_0``
  first. A turn is one valid move: invalid answers that are asked again (``retries``) do not
  use up turns.
- On a turn a player does exactly one of:

  - ``[Offer: 3 Wood -> 2 Gold]``: proposes "I give you 3 Wood, you give me 2 Gold". Amounts
    are whole numbers of at least 1; an offer trades one resource for the other; the proposer
    must hold what it gives and the other player what it asks for. An offer made while one is
    pending is a counter-offer: the pending one lapses.
  - ``[Accept]``: accepts the offer the other player made on the turn just before; the trade
    is made at once.
  - ``[Deny]``: rejects that offer.
  - ``[Pass]``: does nothing (a pending offer lapses).

  An offer can only be accepted on the very next turn; whatever else the other player does
  lets it lapse (an offer made on the last turn lapses unanswered). Several trades may happen
  in one game.
- Score: the value of a player's inventory at the end minus its value at the start, by that
  player's own values. The higher score wins (+1, the other -1); equal scores are a draw (0
  each; no trade at all is a draw). Running out of turns ends the game normally: it is a
  termination, not a truncation.

Answer format (parser): free text, then a command in square brackets. Case and spaces inside
the command do not matter, ``:`` after ``Offer`` is optional, and ``->``, ``=>``, ``→`` or
``for`` separate the two sides (``[offer 3 wood for 2 gold]``); ``\\boxed{Accept}`` and
``\\boxed{Offer: 3 Wood -> 2 Gold}`` work too. Each side is one amount and one resource name
(``Wood`` or ``Gold``); anything else in an offer makes it malformed. When an answer names several
commands the last one counts. An answer without a command, with a malformed offer, offering
goods the proposer does not hold, asking for more than the other player holds, or accepting or
denying when no offer is pending, is an invalid move: once the agent's ``retries`` are used up
it forfeits (outcome ``invalid`` and ``invalid_reward`` for it, ``win`` and the opposite reward
for the other).

Messages: the text before the command (of a valid move) is relayed to the other player, quoted
and prefixed with its speaker (``player_0 said: "..."``), on one line: runs of whitespace,
line breaks included, become one space, control and format characters are removed, double
quotes become single quotes, and it is cut to :data:`MESSAGE_CAP` (300) characters. Text after
the command is ignored. The raw answer stays in the episode record.

Legal actions are free text, so ``legal_actions`` is ``None`` for the agent to move (``()`` for
the waiting agent and after the end). The structured ``state`` gives programmatic agents what the
text says: ``values`` (own only), ``inventory``, ``other_inventory``, ``start_inventory``,
``score``, ``pending_offer`` (``None`` or ``{"proposer", "gives", "gets"}``, each side a
``(resource, amount)`` pair from the proposer's side), ``turn`` (moves made), ``max_turns``,
``turns_left``, ``to_move`` and the public ``history``. After the end it adds ``outcome``, the
other player's ``other_values`` and both ``scores``.

Options: constructor ``max_turns`` (int >= 1, default 10); reset option ``values``
(``{"player_0": {"Wood": 8, "Gold": 3}, "player_1": {"Wood": 2, "Gold": 7}}``: positive
integers, opposite strict preferences) fixes the values instead of drawing them.

Reference agents: ``greedy`` (:class:`GreedyAgent`) and ``random`` (:class:`RandomNegotiator`,
random valid offers, accepts and denies with random messages; the generic random agent needs
finite legal actions, which this game does not have).
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, ClassVar

from spenv.agents.base import Agent, BaseAgent
from spenv.env import TextEnv
from spenv.observation import Observation
from spenv.options import Int, Option

RESOURCES = ("Wood", "Gold")
START_AMOUNT = 10
#: Per-unit values: a player's preferred resource is worth HIGH_VALUES, the other LOW_VALUES.
HIGH_VALUES = (6, 10)
LOW_VALUES = (1, 5)
#: Relayed messages are cut to this many characters.
MESSAGE_CAP = 300
DEFAULT_MAX_TURNS = 10

_SEATS = ("player_0", "player_1")
_SEAT_INDEX = {"player_0": 0, "player_1": 1}
_RESOURCE = {"wood": "Wood", "gold": "Gold"}

# The commands. Possessive quantifiers keep matching linear on hostile input.
_CMD_RE = re.compile(
    r"\[\s*+(?P<word>accept|deny|pass)\s*+\]"
    r"|\[\s*+(?P<offer>offer\b[^\[\]]*+)\]"
    r"|\\boxed\s*+\{\s*+(?:\\text(?:bf|tt|rm)?\s*+\{\s*+)?"
    r"(?:(?P<bword>accept|deny|pass)\s*+\}|(?P<boffer>offer\b[^{}\[\]]*+)\})",
    re.IGNORECASE | re.ASCII,
)
_OFFER_RE = re.compile(
    r"offer\s*+:?\s*+([0-9]++)\s*+(wood|gold)\s*+"
    r"(?:-++>|=++>|\u2192|\bfor\b)"
    r"\s*+([0-9]++)\s*+(wood|gold)\s*+\.?",
    re.IGNORECASE | re.ASCII,
)
_SPACE_RE = re.compile(r"\s+")
_FORMAT = "[Offer: 3 Wood -> 2 Gold]"
_COMMANDS = f"{_FORMAT} (you give 3 Wood, you get 2 Gold), [Accept], [Deny] or [Pass]"

_RULES = """You are playing a trading game as {seat}; the other player is {other}.
Rules:
- There are two resources, Wood and Gold. Each player starts with {start} Wood and {start} Gold. \
Inventories and all moves are public.
- Each player has private values per unit: the resource a player prefers is worth {hi_lo}-{hi_hi} \
per unit to them, the other {lo_lo}-{lo_hi}. The two players prefer different resources. Only you \
see your own values.
- The game lasts {max_turns} turns in all; players alternate and player_0 goes first ({own_turns}).
- On your turn you do exactly one of these:
  [Offer: 3 Wood -> 2 Gold]  propose that you give 3 Wood and the other player gives you 2 Gold \
(whole numbers of at least 1, one resource for the other; you must hold what you give and the \
other player what you ask for). An offer made while one is pending to you replaces it.
  [Accept]  accept the offer the other player made on the turn just before: the trade happens.
  [Deny]  reject that offer.
  [Pass]  do nothing this turn.
  An offer can only be accepted on the next turn; otherwise it lapses. Several trades may happen.
- Your score: the value of your inventory at the end minus its value at the start, by your own \
values. The higher score wins; equal scores (for example, no trade at all) are a draw.
How to answer: you may first write a message to the other player (they see it quoted, cut to \
{cap} characters); then end with one command in square brackets, as above. Case and spaces do \
not matter, and "for" or "=>" may replace "->"; \\boxed{{Accept}} works too. If your answer has \
several commands, the last one counts; text after it is ignored. An answer without a valid \
command is invalid and {penalty}."""


def sanitize_message(text: str, cap: int = MESSAGE_CAP) -> str:
    """A message as relayed: one line, no control or format characters, no double quotes, at
    most ``cap`` characters (cut ones end with an ellipsis)."""
    kept = "".join(ch for ch in text if ch.isprintable() or ch.isspace())
    one_line = _SPACE_RE.sub(" ", kept).strip().replace('"', "'")
    if len(one_line) > cap:
        one_line = one_line[: cap - 1].rstrip() + "\u2026"
    return one_line


def _amount(digits: str) -> int:
    """An amount from ASCII digits; huge numbers are capped (they exceed any inventory)."""
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= 6 else 10**6


def _other(agent: str) -> str:
    return _SEATS[1 - _SEAT_INDEX[agent]]


def _value(values: Mapping[str, int], inventory: Mapping[str, int]) -> int:
    return sum(values[r] * inventory[r] for r in RESOURCES)


def _describe_offer(offer: Mapping[str, Any]) -> str:
    (g_res, g_n), (a_res, a_n) = offer["gives"], offer["gets"]
    return f"{g_n} {g_res} -> {a_n} {a_res}"


class SimpleNegotiationEnv(TextEnv):
    """Two players trade Wood and Gold; see the module docstring for rules and format."""

    metadata: ClassVar[dict[str, Any]] = {**TextEnv.metadata, "name": "simple_negotiation_v1"}
    env_id = "SimpleNegotiation-v1"
    possible_agents: ClassVar[list[str]] = list(_SEATS)

    OPTIONS: ClassVar[tuple[Option, ...]] = (
        Option("max_turns", DEFAULT_MAX_TURNS, Int(1), "turns in the whole game (both seats)"),
    )

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        max_turns = self.max_turns
        penalty = (
            "loses the game"
            if self.retries == 0
            else f"you are asked again; invalid answer number {self.retries + 1} loses the game"
        )
        for i, seat in enumerate(_SEATS):
            own = (max_turns + 1 - i) // 2
            self._system[seat] = _RULES.format(
                seat=seat,
                other=_SEATS[1 - i],
                start=START_AMOUNT,
                hi_lo=HIGH_VALUES[0],
                hi_hi=HIGH_VALUES[1],
                lo_lo=LOW_VALUES[0],
                lo_hi=LOW_VALUES[1],
                max_turns=max_turns,
                own_turns=f"you get {own} turn{'s' if own != 1 else ''}",
                cap=MESSAGE_CAP,
                penalty=penalty,
            )
        self._parsed: tuple[str, str] | None = None

    # ------------------------------------------------------------------ game state
    def _check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        values = options.get("values")
        if values is None:
            return options
        if not isinstance(values, Mapping) or set(values) != set(_SEATS):
            raise ValueError(f"values maps each of {_SEATS} to its values, got {values!r}")
        checked = {}
        for seat in _SEATS:
            v = values[seat]
            if not isinstance(v, Mapping) or set(v) != set(RESOURCES):
                raise ValueError(f"values[{seat!r}] maps each of {RESOURCES} to a value, got {v!r}")
            for r in RESOURCES:
                x = v[r]
                if isinstance(x, bool) or not isinstance(x, numbers.Integral) or x < 1:
                    raise ValueError(
                        f"values[{seat!r}][{r!r}] must be a positive integer, got {x!r}"
                    )
            checked[seat] = {r: int(v[r]) for r in RESOURCES}
        p0, p1 = checked[_SEATS[0]], checked[_SEATS[1]]
        w, g = RESOURCES
        if not ((p0[w] > p0[g] and p1[g] > p1[w]) or (p0[g] > p0[w] and p1[w] > p1[g])):
            raise ValueError(
                f"the players must strictly prefer different resources, got {checked!r}"
            )
        return {**options, "values": checked}

    def _new_game(self, options: dict[str, Any]) -> str:
        values = options.get("values")
        if values is None:
            rng = self.np_random
            first = int(rng.integers(2))  # the resource player_0 prefers
            draws = rng.integers(
                (HIGH_VALUES[0], LOW_VALUES[0], HIGH_VALUES[0], LOW_VALUES[0]),
                (HIGH_VALUES[1] + 1, LOW_VALUES[1] + 1, HIGH_VALUES[1] + 1, LOW_VALUES[1] + 1),
            )
            a, b = RESOURCES[first], RESOURCES[1 - first]
            values = {
                _SEATS[0]: {a: int(draws[0]), b: int(draws[1])},
                _SEATS[1]: {b: int(draws[2]), a: int(draws[3])},
            }
        self._values = {s: {r: values[s][r] for r in RESOURCES} for s in _SEATS}
        self._inventory = {s: dict.fromkeys(RESOURCES, START_AMOUNT) for s in _SEATS}
        self._pending: dict[str, Any] | None = None
        self._events: list[dict[str, Any]] = []
        self._trades: list[dict[str, Any]] = []
        self._parsed = None
        return _SEATS[0]

    def _score(self, agent: str) -> int:
        values = self._values[agent]
        return _value(values, self._inventory[agent]) - _value(
            values, dict.fromkeys(RESOURCES, START_AMOUNT)
        )

    # ------------------------------------------------------------------ observations
    def _observe(self, agent: str) -> Observation:
        finished = bool(self._outcomes)
        acting = not finished and agent == self.agent_selection
        other = _other(agent)
        values = self._values[agent]
        inv, oinv = self._inventory[agent], self._inventory[other]
        score = self._score(agent)
        turn = self._turn
        left = self.max_turns - turn
        mine = max(RESOURCES, key=lambda r: values[r])
        theirs = RESOURCES[1 - RESOURCES.index(mine)]
        start_value = _value(values, dict.fromkeys(RESOURCES, START_AMOUNT))
        lines = [f"You are {agent}."]
        if finished:
            lines.append(f"The game is over after {turn} of {self.max_turns} turns.")
        elif acting:
            own_turn = turn // 2 + 1
            own_total = (self.max_turns + 1 - _SEAT_INDEX[agent]) // 2
            lines.append(
                f"This is turn {turn + 1} of {self.max_turns} (your turn {own_turn} of "
                f"{own_total})" + (": the last turn of the game." if left == 1 else ".")
            )
        else:
            lines.append(f"Turn {turn + 1} of {self.max_turns}: {other} is to move.")
        lines.append(
            f"Your values per unit: Wood {values['Wood']}, Gold {values['Gold']} "
            f"(you prefer {mine}; {other} prefers {theirs})."
        )
        lines.append(
            f"You hold {inv['Wood']} Wood and {inv['Gold']} Gold, worth "
            f"{_value(values, inv)} to you ({start_value} at the start: your score is "
            f"{score:+d})."
        )
        lines.append(f"{other} holds {oinv['Wood']} Wood and {oinv['Gold']} Gold.")
        if self._events:
            lines.append("What happened so far:")
            lines.extend(self._event_line(e, agent) for e in self._events)
        else:
            lines.append("Nothing has happened yet.")
        history = tuple(MappingProxyType(dict(e)) for e in self._events)
        pending = self._pending
        state: dict[str, Any] = {
            "seat": agent,
            "other": other,
            "resources": RESOURCES,
            "values": MappingProxyType(dict(values)),
            "inventory": MappingProxyType(dict(inv)),
            "other_inventory": MappingProxyType(dict(oinv)),
            "start_inventory": MappingProxyType(dict.fromkeys(RESOURCES, START_AMOUNT)),
            "score": score,
            "pending_offer": None if pending is None else MappingProxyType(dict(pending)),
            "turn": turn,
            "max_turns": self.max_turns,
            "turns_left": left,
            "to_move": None if finished else self.agent_selection,
            "history": history,
        }
        legal: tuple[str, ...] | None = ()
        if finished:
            outcome = self._outcomes.get(agent)
            ovals = self._values[other]
            oscore = self._score(other)
            forfeit = [a for a, o in self._outcomes.items() if o == "invalid"]
            if forfeit:
                lines.append(f"{forfeit[0]} made an invalid move and forfeited.")
            lines.append(
                f"{other}'s values were: Wood {ovals['Wood']}, Gold {ovals['Gold']}. "
                f"Scores: you {score:+d}, {other} {oscore:+d}."
            )
            lines.append(
                f"The game is over: {outcome}. Your reward: {self._totals.get(agent, 0.0):+g}."
            )
            state["outcome"] = outcome
            state["other_values"] = MappingProxyType(dict(ovals))
            state["scores"] = MappingProxyType({agent: score, other: oscore})
        elif acting:
            legal = None
            if pending is not None:
                (g_res, g_n), (a_res, a_n) = pending["gives"], pending["gets"]
                lines.append(
                    f"{other} offers you a trade: you get {g_n} {g_res} and give {a_n} {a_res}."
                )
                lines.append(
                    "Your move: [Accept], [Deny], a counter-offer like "
                    f"{_FORMAT}, or [Pass]; you may write a message first."
                )
            else:
                lines.append(
                    f"No offer is pending. Your move: an offer like {_FORMAT} (you give 3 Wood, "
                    "you get 2 Gold), or [Pass]; you may write a message first."
                )
        else:
            if pending is not None and pending["proposer"] == agent:
                lines.append(f"Your offer ({_describe_offer(pending)}) awaits {other}'s answer.")
            lines.append(f"Waiting for {other} to move.")
        return Observation(
            system=self._system[agent],
            user="\n".join(lines),
            role=agent,
            env_id=self.env_id,
            turn=turn,
            legal_actions=legal,
            state=state,
        )

    @staticmethod
    def _event_line(event: Mapping[str, Any], viewer: str) -> str:
        who = event["agent"]
        me = who == viewer
        name = f"{who} (you)" if me else who
        move = event["move"]
        if move.startswith("offer"):
            offer = event["offer"]
            (g_res, g_n), (a_res, a_n) = offer["gives"], offer["gets"]
            what = f"offered to give {g_n} {g_res} for {a_n} {a_res}"
            if event.get("replaces"):
                what += " (a counter-offer: the pending offer lapsed)"
        elif move == "accept":
            offer = event["offer"]
            (g_res, g_n), (a_res, a_n) = offer["gives"], offer["gets"]
            proposer = offer["proposer"]
            what = (
                f"accepted {proposer}'s offer: {proposer} gave {g_n} {g_res} to {who} "
                f"for {a_n} {a_res}"
            )
        elif move == "deny":
            what = "denied the offer"
        else:
            what = "passed" + (" (the pending offer lapsed)" if event.get("replaces") else "")
        line = f"- Turn {event['turn']}, {name}: {what}."
        if event["message"]:
            speaker = "You" if me else who
            line += f' {speaker} said: "{event["message"]}"'
        return line

    # ------------------------------------------------------------------ moves
    def _parse(self, agent: str, action: str) -> tuple[str | None, str | None]:
        last = None
        for last in _CMD_RE.finditer(action):  # noqa: B007 - the last command counts
            pass
        self._parsed = None
        if last is None:
            return None, f"no command found: end your answer with {_COMMANDS}"
        word = last.group("word") or last.group("bword")
        pending = self._pending
        if word is not None:
            move = word.lower()
            if move in ("accept", "deny") and pending is None:
                return None, (
                    f"there is no offer to {move}: make an offer like {_FORMAT} or [Pass]"
                )
        else:
            body = (last.group("offer") or last.group("boffer")).strip()
            m = _OFFER_RE.fullmatch(body)
            if m is None:
                shown = sanitize_message(body, 60)
                return None, (
                    f'malformed offer "{shown}": write it like {_FORMAT} (you give 3 Wood, '
                    "you get 2 Gold)"
                )
            give_n, give_r = _amount(m.group(1)), _RESOURCE[m.group(2).lower()]
            get_n, get_r = _amount(m.group(3)), _RESOURCE[m.group(4).lower()]
            if give_r == get_r:
                return None, f"an offer trades one resource for the other, not {give_r} for {get_r}"
            if give_n < 1 or get_n < 1:
                return None, "both amounts of an offer must be at least 1"
            held = self._inventory[agent][give_r]
            if give_n > held:
                return None, f"you offer {give_n} {give_r} but hold only {held}"
            other = _other(agent)
            theirs = self._inventory[other][get_r]
            if get_n > theirs:
                return None, f"you ask for {get_n} {get_r} but {other} holds only {theirs}"
            move = f"offer {give_n} {give_r} -> {get_n} {get_r}"
        self._parsed = (move, sanitize_message(action[: last.start()]))
        return move, None

    def _apply(self, agent: str, move: str) -> None:
        parsed = self._parsed
        message = parsed[1] if parsed is not None and parsed[0] == move else ""
        self._parsed = None
        pending = self._pending
        other = _other(agent)
        event: dict[str, Any] = {"turn": self._turn, "agent": agent, "move": move}
        if move.startswith("offer"):
            _, give_n, give_r, _, get_n, get_r = move.split()
            offer = {
                "proposer": agent,
                "gives": (give_r, int(give_n)),
                "gets": (get_r, int(get_n)),
            }
            event["offer"] = MappingProxyType(dict(offer))
            event["replaces"] = pending is not None
            self._pending = offer
        elif move == "accept":
            assert pending is not None and pending["proposer"] == other
            (g_res, g_n), (a_res, a_n) = pending["gives"], pending["gets"]
            proposer, responder = self._inventory[other], self._inventory[agent]
            proposer[g_res] -= g_n
            responder[g_res] += g_n
            responder[a_res] -= a_n
            proposer[a_res] += a_n
            self._trades.append(
                {"turn": self._turn, "proposer": other, "gives": [g_res, g_n], "gets": [a_res, a_n]}
            )
            event["offer"] = MappingProxyType(dict(pending))
            self._pending = None
        else:  # deny or pass
            event["replaces"] = pending is not None
            self._pending = None
        event["message"] = message
        self._events.append(event)
        if self._turn >= self.max_turns:
            self._pending = None
            s0, s1 = self._score(_SEATS[0]), self._score(_SEATS[1])
            if s0 == s1:
                self._finish({_SEATS[0]: "draw", _SEATS[1]: "draw"})
            else:
                win, lose = (_SEATS[0], _SEATS[1]) if s0 > s1 else (_SEATS[1], _SEATS[0])
                self._give({win: 1.0, lose: -1.0})
                self._finish({win: "win", lose: "loss"})
            return
        self.agent_selection = other

    def episode_info(self) -> dict[str, Any]:
        return {
            "values": {s: dict(v) for s, v in self._values.items()},
            "inventories": {s: dict(v) for s, v in self._inventory.items()},
            "scores": {s: self._score(s) for s in _SEATS},
            "trades": [dict(t) for t in self._trades],
        }


# ---------------------------------------------------------------------------------- agents
#: What a player's value for each kind of resource is on average (the uniform ranges' means):
#: a greedy agent's estimate of the other player's values.
MEAN_HIGH = (HIGH_VALUES[0] + HIGH_VALUES[1]) / 2
MEAN_LOW = (LOW_VALUES[0] + LOW_VALUES[1]) / 2


def _decision_state(obs: Observation) -> Mapping[str, Any]:
    if obs.legal_actions is not None or "pending_offer" not in obs.state:
        raise ValueError("asked to act on an observation that is not a SimpleNegotiation move")
    return obs.state


class GreedyAgent(BaseAgent):
    """Trades for its own gain, judged by its own values and, for the other side, by the mean
    values the rules imply (the other player prefers the resource it values less).

    - Facing an offer, it accepts when the trade raises its own score by at least
      ``reservation`` and by at least as much as it seems to raise the other's (otherwise the
      other would likely win the zero-sum game).
    - Otherwise it offers the trade (amounts 1..``max_amount``) that most favours it, by its
      own gain minus the other's estimated gain, among those that raise its score by at least
      ``reservation`` and seem not to lower the other's (so a trader might take it). Ties are
      broken with its own generator. On the last turn of the game (when no offer can be
      accepted any more) it passes, as it does when no such trade exists.
    """

    name = "greedy"

    def __init__(
        self, *, reservation: int = 1, max_amount: int = 5, seed: int | None = None
    ) -> None:
        super().__init__(seed=seed)
        if isinstance(max_amount, bool) or not isinstance(max_amount, int) or max_amount < 1:
            raise ValueError(f"max_amount must be a positive integer, got {max_amount!r}")
        if isinstance(reservation, bool) or not isinstance(reservation, int | float):
            raise ValueError(f"reservation must be a number, got {reservation!r}")
        self.reservation = reservation
        self.max_amount = max_amount

    def act(self, obs: Observation) -> str:
        s = _decision_state(obs)
        values = s["values"]
        hi = max(RESOURCES, key=lambda r: values[r])
        lo = RESOURCES[1 - RESOURCES.index(hi)]
        est = {hi: MEAN_LOW, lo: MEAN_HIGH}  # the other's values, on average
        pending = s["pending_offer"]
        if pending is not None:
            (g_res, g_n), (a_res, a_n) = pending["gives"], pending["gets"]
            mine = values[g_res] * g_n - values[a_res] * a_n
            theirs = est[a_res] * a_n - est[g_res] * g_n
            if mine >= self.reservation and mine >= theirs:
                return "That works for me. [Accept]"
        if s["turns_left"] <= 1:
            return "No more trades. [Pass]"
        best: list[tuple[int, int]] = []
        best_margin = None
        inv, oinv = s["inventory"], s["other_inventory"]
        for give in range(1, min(self.max_amount, inv[lo]) + 1):
            for get in range(1, min(self.max_amount, oinv[hi]) + 1):
                mine = values[hi] * get - values[lo] * give
                theirs = est[lo] * give - est[hi] * get
                if mine < self.reservation or theirs < 0:
                    continue
                margin = mine - theirs
                if best_margin is None or margin > best_margin:
                    best, best_margin = [(give, get)], margin
                elif margin == best_margin:
                    best.append((give, get))
        if not best:
            return "I will wait. [Pass]" if pending is None else "No, thanks. [Deny]"
        give, get = best[int(self.rng.random() * len(best))] if len(best) > 1 else best[0]
        return f"You value {lo} more than I do. [Offer: {give} {lo} -> {get} {hi}]"


_PHRASES = (
    "",
    "How about this?",
    "Let's make a deal.",
    "This is my best offer.",
    "Trust me, this is fair.",
    "Hmm.",
    "I need that badly.",
)


class RandomNegotiator(BaseAgent):
    """Random valid moves with random short messages.

    Facing an offer: accept, deny or counter-offer, each with probability 1/3. Otherwise it
    offers. An offer gives a random resource it holds (1..``max_amount`` units, at most what it
    holds) for the other one (likewise, at most what the other player holds); with no valid
    offer it passes (or denies).
    """

    name = "random"

    def __init__(self, *, max_amount: int = 5, seed: int | None = None) -> None:
        super().__init__(seed=seed)
        if isinstance(max_amount, bool) or not isinstance(max_amount, int) or max_amount < 1:
            raise ValueError(f"max_amount must be a positive integer, got {max_amount!r}")
        self.max_amount = max_amount

    def act(self, obs: Observation) -> str:
        s = _decision_state(obs)
        rng = self.rng
        phrase = _PHRASES[int(rng.integers(len(_PHRASES)))]
        prefix = phrase + " " if phrase else ""
        pending = s["pending_offer"]
        if pending is not None:
            u = int(rng.integers(3))
            if u == 0:
                return prefix + "[Accept]"
            if u == 1:
                return prefix + "[Deny]"
        inv, oinv = s["inventory"], s["other_inventory"]
        options = [
            r for r in RESOURCES if inv[r] > 0 and oinv[RESOURCES[1 - RESOURCES.index(r)]] > 0
        ]
        if not options:
            return prefix + ("[Deny]" if pending is not None else "[Pass]")
        give_r = options[int(rng.integers(len(options)))]
        get_r = RESOURCES[1 - RESOURCES.index(give_r)]
        give_n = int(rng.integers(1, min(self.max_amount, inv[give_r]) + 1))
        get_n = int(rng.integers(1, min(self.max_amount, oinv[get_r]) + 1))
        return prefix + f"[Offer: {give_n} {give_r} -> {get_n} {get_r}]"


_FACTORIES: dict[str, Callable[..., Agent]] = {
    "greedy": GreedyAgent,
    "random": RandomNegotiator,
}

#: Names of SimpleNegotiation's reference agents.
REFERENCE_AGENTS = tuple(_FACTORIES)


def reference_agent(name: str, *, seed: int | None = None, **params: Any) -> Agent:
    """Build a SimpleNegotiation reference agent by name: ``greedy`` (``reservation``,
    ``max_amount``) or ``random`` (``max_amount``; a random-message agent for this game)."""
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ValueError(
            f"no SimpleNegotiation agent named {name!r}; known: {REFERENCE_AGENTS}"
        ) from None
    return factory(seed=seed, **params)
