"""Kuhn poker as a text environment (``KuhnPoker-v1``).

Rules (the standard game, matching OpenSpiel's ``kuhn_poker``):

- A deck of three cards, J < Q < K. Each player antes 1 chip and is dealt one card; the third
  card stays face down.
- The first player acts: ``check`` or ``bet`` (1 chip). After a check the second player may
  ``check`` (showdown) or ``bet``. Facing a bet a player may ``call`` (1 chip; showdown) or
  ``fold`` (the bettor takes the pot).
- At a showdown the higher card takes the pot. Rewards are the chips won (+-1 or +-2 per hand).

Seats are ``player_0`` (acts first in hand 1) and ``player_1``. With ``hands=N`` a match of N
hands is played; the first player alternates (``player_1`` opens hands 2, 4, ...) and the
chips are summed. Each hand's chips are the step reward of the move that ends it.

Moves are written ``[check]``, ``[bet]``, ``[call]``, ``[fold]`` or as ``\\boxed{bet}``, in any
case; ``pass`` also works (check, or fold when facing a bet). When an answer names several moves,
the last one counts. An answer without a move, or whose last move is not legal now, is invalid;
once the agent's ``retries`` are used up it forfeits: the current hand counts as folded by the
offender and the match ends there (outcome ``invalid`` for the offender, ``win`` for the other).

Reset options: ``deal``: the cards, either one pair ``["K", "J"]`` (player_0's card, then
player_1's) for the first hand, or a list of pairs for the first hands of a match.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from spenv.env import TextEnv
from spenv.observation import Observation

CARDS = ("J", "Q", "K")
_RANK = {"J": 0, "Q": 1, "K": 2}
_SEATS = ("player_0", "player_1")
_SEAT_INDEX = {"player_0": 0, "player_1": 1}
#: The six deals (player_0's card, player_1's card), in OpenSpiel's chance order.
_DEALS = tuple((a, b) for a in CARDS for b in CARDS if a != b)

_CHECK_BET = ("[check]", "[bet]")
_FOLD_CALL = ("[fold]", "[call]")
_LEGAL = {
    "[check]": "check",
    "[bet]": "bet",
    "[fold]": "fold",
    "[call]": "call",
}

# The last [move] or \boxed{move} in the text; ASCII-only case folding, so no exotic letter
# (Kelvin sign, long s) can sneak in as a move.
_MOVE_RE = re.compile(
    r"\[\s*(check|bet|call|fold|pass)\s*\]"
    r"|\\boxed\s*\{\s*(?:\\text(?:bf|tt)?\s*\{\s*)?(check|bet|call|fold|pass)\s*\}",
    re.IGNORECASE | re.ASCII,
)

_RULES = """You are playing Kuhn poker, a two-player card game, as {seat}.
Rules:
- The deck has three cards: J < Q < K. Each player antes 1 chip and gets one card; the third \
card is not used.
- With no bet on the table you may [check] or [bet] (put in 1 more chip). Facing a bet you may \
[call] (match it) or [fold] (give up the pot).
- Two checks, or a bet and a call, lead to a showdown: the higher card wins the pot. A fold \
gives the pot to the other player.
{match}How to answer: think if you like, then write your move in square brackets, like [bet], \
or as \\boxed{{bet}}. Case does not matter. If your answer names several moves, the last one \
counts. An answer without a legal move is invalid and {penalty}."""

_MATCH_SINGLE = "- The game is one hand; the chips you win or lose are your score.\n"
_MATCH_MULTI = (
    "- The match has {hands} hands; player_0 acts first in odd hands, player_1 in even hands. "
    "Your score is the sum of your chips over all hands.\n"
)


def _describe(history: str, first: str, second: str) -> list[str]:
    lines = []
    for i, ch in enumerate(history):
        who = first if i % 2 == 0 else second
        if ch == "p":
            lines.append(f"{who} checked" if "b" not in history[:i] else f"{who} folded")
        else:
            lines.append(f"{who} bet" if "b" not in history[:i] else f"{who} called")
    return lines


class KuhnPokerEnv(TextEnv):
    """Two-player Kuhn poker; see the module docstring for the rules and options."""

    metadata: ClassVar[dict[str, Any]] = {**TextEnv.metadata, "name": "kuhn_poker_v1"}
    env_id = "KuhnPoker-v1"
    possible_agents: ClassVar[list[str]] = list(_SEATS)
    _moves: ClassVar[dict[str, str]] = _LEGAL

    # Observations depend only on a small state; they are immutable, so share them.
    _obs_cache: ClassVar[dict[tuple, Observation]] = {}
    _OBS_CACHE_LIMIT = 200_000

    def __init__(self, *, hands: int = 1, **kwargs: Any) -> None:
        if isinstance(hands, bool) or not isinstance(hands, int) or hands < 1:
            raise ValueError(f"hands must be a positive integer, got {hands!r}")
        super().__init__(**kwargs)
        self.hands = hands
        penalty = (
            "loses the hand"
            if hands == 1 and self.retries == 0
            else (
                "forfeits: the hand counts as folded and the match ends"
                if self.retries == 0
                else f"is asked again; after {self.retries} invalid answers you forfeit"
            )
        )
        self._system = {
            seat: _RULES.format(
                seat=seat,
                match=_MATCH_SINGLE if hands == 1 else _MATCH_MULTI.format(hands=hands),
                penalty=penalty,
            )
            for seat in _SEATS
        }

    def env_options(self) -> dict[str, Any]:
        opts = super().env_options()
        if self.hands != 1:
            opts["hands"] = self.hands
        return opts

    def system_prompts(self) -> dict[str, str]:
        return dict(self._system)

    # ------------------------------------------------------------------ game state
    def _check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        deal = options.get("deal")
        deals: list[tuple[str, str]] = []
        if deal is not None:
            pairs = deal if _is_pair_list(deal) else [deal]
            if len(pairs) > self.hands:
                raise ValueError(f"deal has {len(pairs)} hands but the match has {self.hands}")
            for pair in pairs:
                deals.append(_check_pair(pair))
        return {**options, "deal": deals} if deal is not None else {**options}

    def _new_game(self, options: dict[str, Any]) -> str:
        self._fixed = options.get("deal") or []
        self._hand = 0
        self._deals: list[tuple[str, str]] = []
        self._histories: list[str] = []
        self._chips = [0, 0]
        self._start_hand()
        return self.agent_selection

    def _start_hand(self) -> None:
        h = self._hand
        cards = self._fixed[h] if h < len(self._fixed) else _DEALS[int(self.np_random.random() * 6)]
        self._cards = cards
        self._deals.append(cards)
        self._history = ""
        self._first = h % 2
        self._hand_key = (
            self.env_id,
            self.hands,
            self.retries,
            h,
            cards,
            self._first,
            self._chips[0],
            self._chips[1],
            self._turn,
        )
        self.agent_selection = _SEATS[self._first]

    def _to_act(self) -> int:
        return (self._first + len(self._history)) % 2

    # ------------------------------------------------------------------ observations
    def _observe(self, agent: str) -> Observation:
        seat = _SEAT_INDEX[agent]
        if self._outcomes:
            status: Any = self._outcomes[agent]
        elif (self._first + len(self._history)) % 2 == seat:
            if self._feedback:  # a re-ask after an invalid answer: rare, not cached
                return self._build_obs(agent, seat, True, False)
            status = 1
        else:
            status = 0
        # The hand key fixes everything else the view depends on (cards, chips, turn offset).
        key = (self._hand_key, seat, self._history, status)
        cache = self._obs_cache
        obs = cache.get(key)
        if obs is None:
            obs = self._build_obs(agent, seat, status == 1, bool(self._outcomes))
            if len(cache) >= self._OBS_CACHE_LIMIT:
                cache.clear()
            cache[key] = obs
        return obs

    def _build_obs(self, agent: str, seat: int, acting: bool, finished: bool) -> Observation:
        first, second = _SEATS[self._first], _SEATS[1 - self._first]
        card = self._cards[seat]
        hist = self._history
        lines = []
        if self.hands > 1:
            lines.append(
                f"Hand {self._hand + 1} of {self.hands}. Your chips so far: {self._chips[seat]:+d}."
            )
        lines.append(f"You are {agent}. Your card: {card}.")
        events = _describe(hist, first, second)
        lines.append(
            f"{first} acts first. "
            + ("; ".join(events) + "." if events else "No one has acted yet.")
        )
        legal: tuple[str, ...] = ()
        facing_bet = "b" in hist
        state: dict[str, Any] = {
            "seat": agent,
            "card": card,
            "history": hist,
            "infoset": card + hist,
            "first_player": first,
            "hand": self._hand + 1,
            "hands": self.hands,
            "chips": self._chips[seat],
            "pot": 2 + hist.count("b"),
            "facing_bet": facing_bet,
        }
        if finished:
            outcome = self._outcomes.get(agent)
            if _showdown(hist):
                other = self._cards[1 - seat]
                lines.append(f"Showdown: your {card} against the other player's {other}.")
                state["opponent_card"] = other
            lines.append(
                f"The game is over: {outcome}. Your total chips: {self._totals.get(agent, 0.0):+g}."
            )
            state["outcome"] = outcome
        elif acting:
            legal = _FOLD_CALL if facing_bet else _CHECK_BET
            if self._feedback:
                lines.append(self._feedback)
            lines.append("Your legal moves: " + ", ".join(legal) + ".")
        else:
            lines.append(f"Waiting for {_SEATS[self._to_act()]} to act.")
        return Observation(
            system=self._system[agent],
            user="\n".join(lines),
            role=agent,
            env_id=self.env_id,
            turn=self._turn,
            legal_actions=legal,
            state=state,
        )

    # ------------------------------------------------------------------ moves
    def _parse(self, agent: str, action: str) -> tuple[str | None, str | None]:
        last = None
        for last in _MOVE_RE.finditer(action):  # noqa: B007
            pass
        if last is None:
            return None, "no move found; write one of " + ", ".join(self._legal_now())
        word = (last.group(1) or last.group(2)).lower()
        facing_bet = "b" in self._history
        if word == "pass":
            word = "fold" if facing_bet else "check"
        if (word in ("fold", "call")) != facing_bet:
            return None, f"[{word}] is not legal now; legal moves: " + ", ".join(self._legal_now())
        return word, None

    def _legal_now(self) -> tuple[str, ...]:
        return _FOLD_CALL if "b" in self._history else _CHECK_BET

    def _apply(self, agent: str, move: str) -> None:
        hist = self._history = self._history + _LETTER[move]
        if hist in _TERMINAL:
            self._end_hand()
        else:
            self.agent_selection = _SEATS[(self._first + len(hist)) % 2]

    def _end_hand(self, folded_by: int | None = None) -> None:
        """Settle the hand; ``folded_by`` is a seat that forfeits it."""
        hist = self._history
        key = (self._first, self._cards, hist, folded_by)
        delta = _SETTLED.get(key)
        if delta is None:
            delta = _SETTLED[key] = _settle(*key)
        chips = self._chips
        chips[0] += delta[0]
        chips[1] += delta[1]
        self._histories.append(hist)
        self._give(delta[2])
        if folded_by is not None:
            return
        if self._hand + 1 < self.hands:
            self._hand += 1
            self._start_hand()
        else:
            self._finish(
                _P0_WINS if chips[0] > chips[1] else _P1_WINS if chips[0] < chips[1] else _DRAW
            )

    def _forfeit(self, agent: str, reason: str) -> None:
        seat = 0 if agent == "player_0" else 1
        self._end_hand(folded_by=seat)
        self._finish({agent: "invalid", _SEATS[1 - seat]: "win"})

    def episode_info(self) -> dict[str, Any]:
        return {
            "deals": [list(d) for d in self._deals],
            "histories": list(self._histories) + ([] if self._outcomes else [self._history]),
            "chips": {_SEATS[0]: self._chips[0], _SEATS[1]: self._chips[1]},
        }


_TERMINAL = frozenset(("pp", "pbp", "pbb", "bp", "bb"))
_LETTER = {"check": "p", "fold": "p", "bet": "b", "call": "b"}
_P0_WINS = {"player_0": "win", "player_1": "loss"}
_P1_WINS = {"player_0": "loss", "player_1": "win"}
_DRAW = {"player_0": "draw", "player_1": "draw"}
_SETTLED: dict[tuple, tuple[int, int, dict[str, float]]] = {}


def _settle(
    first: int, cards: tuple[str, str], hist: str, folded_by: int | None
) -> tuple[int, int, dict[str, float]]:
    """Chips won by each seat at the end of a hand: (seat 0, seat 1, as a rewards dict)."""
    put = [0, 0]  # chips each seat put in beyond the ante
    for i, ch in enumerate(hist):
        if ch == "b":
            put[(first + i) % 2] += 1
    if folded_by is not None:
        loser = folded_by
    elif hist in ("bp", "pbp"):
        loser = (first + len(hist) - 1) % 2  # the player who passed last folded
    else:
        loser = 1 if _RANK[cards[0]] > _RANK[cards[1]] else 0
    amount = 1 + put[loser]
    delta = [0, 0]
    delta[loser] = -amount
    delta[1 - loser] = amount
    return delta[0], delta[1], {_SEATS[0]: float(delta[0]), _SEATS[1]: float(delta[1])}


def _showdown(history: str) -> bool:
    return history in ("pp", "pbb", "bb")


def _is_pair_list(deal: Any) -> bool:
    return (
        isinstance(deal, list | tuple)
        and len(deal) > 0
        and all(isinstance(p, list | tuple) for p in deal)
    )


def _check_pair(pair: Any) -> tuple[str, str]:
    if isinstance(pair, str) and len(pair) == 2:
        pair = tuple(pair)
    if not isinstance(pair, list | tuple) or len(pair) != 2:
        raise ValueError(f"a deal is two cards (player_0's, player_1's), got {pair!r}")
    cards = []
    for c in pair:
        if not isinstance(c, str) or c.upper() not in _RANK:
            raise ValueError(f"unknown card {c!r}; cards are J, Q, K")
        cards.append(c.upper())
    if cards[0] == cards[1]:
        raise ValueError(f"both players cannot hold the same card: {pair!r}")
    return cards[0], cards[1]
