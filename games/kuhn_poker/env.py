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
In a match (``hands`` > 1) each hand left unplayed also costs the offender the most a hand can
cost, 2 chips, paid to the other player, so quitting is never cheaper than playing on.

Reset options: ``deal``: the cards, either one pair ``["K", "J"]`` (player_0's card, then
player_1's) for the first hand, or a list of pairs for the first hands of a match.
"""

from __future__ import annotations

import functools
import re
import time
from typing import Any, ClassVar

from spenv.env import TextEnv
from spenv.observation import Observation
from spenv.options import Int, Option

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


@functools.lru_cache(maxsize=256)
def _system_prompts(hands: int, retries: int) -> dict[str, str]:
    """Each seat's system prompt (shared by every env with these options, to save memory;
    callers copy the dict)."""
    penalty = (
        "loses the hand"
        if hands == 1 and retries == 0
        else (
            "forfeits: the hand counts as folded, the match ends and every hand left unplayed "
            "costs you 2 chips"
            if retries == 0
            else f"is asked again; after {retries + 1} invalid answers you forfeit"
        )
    )
    return {
        seat: _RULES.format(
            seat=seat,
            match=_MATCH_SINGLE if hands == 1 else _MATCH_MULTI.format(hands=hands),
            penalty=penalty,
        )
        for seat in _SEATS
    }


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

    # Everything a hand's views depend on is fixed by its context (ids, options, hand number,
    # cards, first player, chips and turn at its start), and observations are immutable, so
    # each context's views and settlements are built once and shared by all instances.
    _tables: ClassVar[dict[tuple, _HandTable]] = {}
    _TABLES_LIMIT = 10_000

    OPTIONS: ClassVar[tuple[Option, ...]] = (
        Option("hands", 1, Int(1), "hands in a match (chips carry over, the opener alternates)"),
    )

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._system = dict(_system_prompts(self.hands, self.retries))

    # ------------------------------------------------------------------ the hot path
    # Self-play and evaluation play this game millions of times. ``reset()`` is TextEnv's (its
    # ``_new_game`` deals the usual first hand in a few lines); ``step()`` with an exact legal
    # move and the dead steps have an inlined version here, an opt-in speed path: it does what
    # TextEnv.step and the hooks below do, in fewer Python calls (see benchmarks/perf/).
    # Everything else (parsed or invalid moves, truncation) goes through TextEnv. With
    # ``_fast_path = False`` only the generic path runs; both must give the same trajectories
    # (tests/games/test_kuhn_env.py checks it), which is what guards this copy of TextEnv's
    # step bookkeeping.
    _fast_path: ClassVar[bool] = True
    _shared_views: ClassVar[bool] = True

    def step(self, action: Any) -> None:
        """:meth:`TextEnv.step`; a dead step or an exact legal move runs the inlined path."""
        agent = self.agent_selection
        infos = self.infos
        if action is None and self.terminations[agent]:
            # TextEnv's dead step, inlined: the agent leaves the finished game.
            del self.terminations[agent]
            del self.truncations[agent]
            del infos[agent]
            del self._cumulative_rewards[agent]
            rewards = self.rewards
            del rewards[agent]
            for a in rewards:
                rewards[a] = 0.0
            agents = self.agents
            agents.remove(agent)
            if agents:
                self.agent_selection = agents[0]
            return
        info = infos[agent]
        # The fast path takes an exact legal move (only the agent to act has legal moves, and
        # only while the game is on); anything else goes the generic way.
        if (
            action not in info["observation"].legal_actions
            or type(action) is not str
            or not self._fast_path
        ):
            TextEnv.step(self, action)  # parsing, invalid moves, truncated agents, ...
            return
        obs = info["observation"]
        if self._rewards_dirty:
            rewards = self.rewards
            for a in rewards:
                rewards[a] = 0.0
            self._rewards_dirty = False
        self._cumulative_rewards[agent] = 0.0
        move = self._moves[action]
        self._turns.append((agent, obs, action, move, True, None))
        self._feedback = None
        self._turn += 1
        hist = self._history = self._history + _LETTER[move]  # _apply, inlined
        if hist in _TERMINAL:
            if self._hand + 1 < self.hands:  # a match goes on: the generic way
                self._end_hand()
                self._refresh_all()
            else:  # _end_hand, _give and _finish, inlined
                table = self._table
                delta = table.settled.get(hist)
                if delta is None:
                    delta = table.settled[hist] = _settle(self._first, self._cards, hist, None)
                chips = self._chips
                c0 = chips[0] = chips[0] + delta[0]
                c1 = chips[1] = chips[1] + delta[1]
                self._histories.append(hist)
                given = delta[2]
                r0, r1 = given["player_0"], given["player_1"]
                rewards = self.rewards
                rewards["player_0"] += r0
                rewards["player_1"] += r1
                totals = self._totals
                totals["player_0"] += r0
                totals["player_1"] += r1
                self._rewards_dirty = True
                outcomes = self._outcomes = dict(
                    _P0_WINS if c0 > c1 else _P1_WINS if c0 < c1 else _DRAW
                )
                self._finished = time.time()
                views = self._views = table.finals.get(hist) or self._build_views()
                terminations = self.terminations
                terminations["player_0"] = terminations["player_1"] = True
                v0, v1 = views
                info = infos["player_0"]
                info["observation"] = v0
                info["legal_actions"] = v0.legal_actions
                info["outcome"] = outcomes["player_0"]
                info = infos["player_1"]
                info["observation"] = v1
                info["legal_actions"] = v1.legal_actions
                info["outcome"] = outcomes["player_1"]
            cumulative = self._cumulative_rewards
            rewards = self.rewards
            cumulative["player_0"] += rewards["player_0"]
            cumulative["player_1"] += rewards["player_1"]
        else:
            self.agent_selection = _SEATS[(self._first + len(hist)) % 2]
            views = self._views = self._table.views.get(hist) or self._build_views()
            v0, v1 = views
            info = infos["player_0"]
            info["observation"] = v0
            info["legal_actions"] = v0.legal_actions
            info = infos["player_1"]
            info["observation"] = v1
            info["legal_actions"] = v1.legal_actions
        if self.render_mode == "human":
            self.render()

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
        self._hand = 0
        self._histories: list[str] = []
        self._chips = [0, 0]
        fixed = options.get("deal")
        if fixed:
            self._fixed = fixed
            self._deals: list[tuple[str, str]] = []
            self._start_hand()
            return self.agent_selection
        # The usual case, kept short: the first hand is dealt (what _start_hand does for it).
        self._fixed = ()
        d = int(self._uniform() * 6)
        cards = self._cards = _DEALS[d]
        self._deals = [cards]
        key = (self.env_id, self.hands, self.retries, d)
        table = self._table = self._tables.get(key) or self._new_table(key)
        self._views = table.views.get("")
        self._history = ""
        self._first = 0
        return _SEATS[0]

    def _start_hand(self) -> None:
        h = self._hand
        cards = self._fixed[h] if h < len(self._fixed) else _DEALS[int(self._uniform() * 6)]
        chips = self._chips
        key = (self.env_id, self.hands, self.retries, h, cards, h % 2, *chips, self._turn)
        table = self._table = self._tables.get(key) or self._new_table(key)
        self._views = table.views.get("")
        self._cards = cards
        self._deals.append(cards)
        self._history = ""
        first = self._first = h % 2
        self.agent_selection = _SEATS[first]

    def _new_table(self, key: tuple) -> _HandTable:
        tables = self._tables
        if len(tables) >= self._TABLES_LIMIT:
            tables.clear()
        table = tables[key] = _HandTable()
        return table

    def _to_act(self) -> int:
        return (self._first + len(self._history)) % 2

    # ------------------------------------------------------------------ observations
    def _observe(self, agent: str) -> Observation:
        views = self._views
        if views is None:
            table = self._table
            views = (table.finals if self._outcomes else table.views).get(self._history)
            if views is None:
                views = self._build_views()
            self._views = views
        if self._feedback and not self._outcomes and self._to_act() == _SEAT_INDEX[agent]:
            # A re-ask shows the error: not cached.
            return self._build_obs(agent, _SEAT_INDEX[agent], True, False, self._feedback)
        return views[_SEAT_INDEX[agent]]

    def _build_views(self) -> tuple[Observation, Observation]:
        """Build and cache (player_0's, player_1's) view now in the hand's table.

        The hand context and history fix everything a view shows, final views included: a
        match ends at a terminal history of its last hand, or by a forfeit at a non-terminal
        history, where only the player to act can have forfeited.
        """
        finished = bool(self._outcomes)
        acting = -1 if finished else self._to_act()
        views = (
            self._build_obs(_SEATS[0], 0, acting == 0, finished, None),
            self._build_obs(_SEATS[1], 1, acting == 1, finished, None),
        )
        table = self._table
        (table.finals if finished else table.views)[self._history] = views
        return views

    def _build_obs(
        self, agent: str, seat: int, acting: bool, finished: bool, feedback: str | None
    ) -> Observation:
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
            if feedback:
                lines.append(feedback)
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
            self._views = self._table.views.get(hist)

    def _end_hand(self, folded_by: int | None = None) -> None:
        """Settle the hand; ``folded_by`` is a seat that forfeits it."""
        hist = self._history
        self._views = None
        if folded_by is None:
            settled = self._table.settled
            delta = settled.get(hist)
            if delta is None:
                delta = settled[hist] = _settle(self._first, self._cards, hist, None)
        else:
            delta = _settle(self._first, self._cards, hist, folded_by)
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
        # In a match, quitting must never be cheaper than playing on: each hand not played costs
        # the offender the most a hand can cost, 2 chips.
        left = self.hands - self._hand - 1
        if left > 0:
            penalty = 2 * left
            sign = 1 if seat == 1 else -1
            self._chips[0] += sign * penalty
            self._chips[1] -= sign * penalty
            self._give({agent: -penalty, _SEATS[1 - seat]: penalty})
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


class _HandTable:
    """What one hand context determines: the views at each history (``views[history]`` is
    (player_0's, player_1's) while the hand is being played), the final views
    (``finals[history]``, likewise) and the settlement of each terminal history
    (``settled[history]``)."""

    __slots__ = ("finals", "settled", "views")

    def __init__(self) -> None:
        self.views: dict[str, tuple[Observation, Observation]] = {}
        self.finals: dict[str, tuple[Observation, Observation]] = {}
        self.settled: dict[str, tuple[int, int, dict[str, float]]] = {}


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
