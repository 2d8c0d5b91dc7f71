"""Exact game theory for standard two-player Kuhn poker.

The game
--------
Three cards ``J < Q < K``; each player antes 1 chip and is dealt one card (the six ordered
deals are equally likely).  Player 0 acts first.  There are two moves, written as letters:
``"p"`` (pass: check, or fold when facing a bet) and ``"b"`` (bet: bet 1 chip, or call when
facing a bet).  The decision points and terminal histories are::

    ""   player 0:  p -> "p",   b -> "b"
    "p"  player 1:  p -> "pp"  (showdown, pot 2),   b -> "pb"
    "pb" player 0:  p -> "pbp" (player 0 folds),    b -> "pbb" (showdown, pot 4)
    "b"  player 1:  p -> "bp"  (player 1 folds),    b -> "bb"  (showdown, pot 4)

Payoffs are net chips: a showdown wins the opponent's stake (1 or 2) for the higher card, a
fold loses the folder's ante (1).  The game is zero-sum.

Policy keying convention
------------------------
A *policy* is a ``dict[str, float]`` giving, at each of the 12 information sets, the
probability of the aggressive move ``"b"`` (bet, or call when facing a bet); the passive move
``"p"`` has the complementary probability.  An information set is keyed by the acting
player's own card followed by the public history, e.g. ``"Qpb"`` is player 0 holding the queen
after check–bet, and ``"Kb"`` is player 1 holding the king facing a bet.  The order of
:data:`INFOSETS` is player 0's six keys (``J Q K Jpb Qpb Kpb``) followed by player 1's six
(``Jp Qp Kp Jb Qb Kb``).  One dict holds a strategy for both seats; functions that need only
one seat read only that seat's keys, but every policy must still contain all 12 keys.

Definitions
-----------
* :func:`game_value` -- expected chips won by player 0 (exact, averaged over the 6 deals).
* :func:`best_response_value` -- the value a best-responding player obtains against the
  other seat's part of a policy (imperfect-information best response, i.e. the responder
  only conditions on its own card and the public history).
* :func:`exploitability` -- ``(BR_0 + BR_1) / 2``, i.e. NashConv divided by the number of
  players, the definition used by OpenSpiel's ``exploitability.exploitability``.  It is zero
  exactly at Nash equilibria.  The game value of every equilibrium is ``-1/18`` for player 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from numbers import Real

__all__ = [
    "CARDS",
    "DEALS",
    "DECISION_HISTORIES",
    "EQUILIBRIUM_VALUE",
    "INFOSETS",
    "PLAYER0_INFOSETS",
    "PLAYER1_INFOSETS",
    "TERMINAL_HISTORIES",
    "best_response",
    "best_response_value",
    "equilibrium_policy",
    "exploitability",
    "game_value",
    "payoff",
    "solve",
    "uniform_policy",
    "validate_policy",
]

CARDS: tuple[str, ...] = ("J", "Q", "K")
"""The deck, in increasing rank."""

_RANK: dict[str, int] = {card: rank for rank, card in enumerate(CARDS)}

DEALS: tuple[tuple[str, str], ...] = tuple((a, b) for a in CARDS for b in CARDS if a != b)
"""The six equally likely deals ``(player 0's card, player 1's card)``."""

DECISION_HISTORIES: dict[str, int] = {"": 0, "p": 1, "b": 1, "pb": 0}
"""Non-terminal histories mapped to the player who acts there."""

TERMINAL_HISTORIES: tuple[str, ...] = ("pp", "pbp", "pbb", "bp", "bb")

PLAYER0_INFOSETS: tuple[str, ...] = tuple(c + h for h in ("", "pb") for c in CARDS)
PLAYER1_INFOSETS: tuple[str, ...] = tuple(c + h for h in ("p", "b") for c in CARDS)
INFOSETS: tuple[str, ...] = PLAYER0_INFOSETS + PLAYER1_INFOSETS

EQUILIBRIUM_VALUE: float = -1.0 / 18.0
"""Player 0's expected chips under any Nash equilibrium."""

_INFOSET_SET = frozenset(INFOSETS)
_PLAYER_INFOSETS: tuple[tuple[str, ...], tuple[str, ...]] = (PLAYER0_INFOSETS, PLAYER1_INFOSETS)
# A player's decision histories, deepest first (the order a best response is built in).
_BR_ORDER: tuple[tuple[str, ...], tuple[str, ...]] = (("pb", ""), ("p", "b"))
# Ties in a best response are broken towards passing unless betting is better by this much.
_TIE_TOLERANCE = 1e-12

Policy = dict[str, float]


# --------------------------------------------------------------------------------------------
# Validation and payoffs
# --------------------------------------------------------------------------------------------


def validate_policy(policy: Mapping[str, float]) -> Policy:
    """Check ``policy`` and return a clean ``dict[str, float]`` in :data:`INFOSETS` order.

    Raises :class:`ValueError` if a key is missing or unknown, or a value is not a finite
    real number in ``[0, 1]``.
    """
    if not isinstance(policy, Mapping):
        raise ValueError(f"policy must be a mapping of infoset -> probability, got {policy!r}")
    extra = [key for key in policy if key not in _INFOSET_SET]
    if extra:
        raise ValueError(f"policy has unknown information-set keys: {sorted(map(repr, extra))}")
    missing = [key for key in INFOSETS if key not in policy]
    if missing:
        raise ValueError(f"policy is missing information-set keys: {missing}")
    clean: Policy = {}
    for key in INFOSETS:
        value = policy[key]
        if isinstance(value, bool) or not isinstance(value, Real):
            raise ValueError(f"policy[{key!r}] must be a real number, got {value!r}")
        prob = float(value)
        if not math.isfinite(prob) or not 0.0 <= prob <= 1.0:
            raise ValueError(
                f"policy[{key!r}] must be a finite probability in [0, 1], got {value!r}"
            )
        clean[key] = prob
    return clean


def _check_cards(cards: tuple[str, str]) -> tuple[str, str]:
    if not isinstance(cards, (tuple, list)) or len(cards) != 2:
        raise ValueError(f"cards must be a pair of cards, got {cards!r}")
    c0, c1 = cards
    if c0 not in _RANK or c1 not in _RANK:
        raise ValueError(f"cards must be drawn from {CARDS}, got {cards!r}")
    if c0 == c1:
        raise ValueError(f"the two players cannot hold the same card, got {cards!r}")
    return c0, c1


def _terminal_value(c0: str, c1: str, history: str) -> float:
    """Chips won by player 0 at a terminal history (no validation)."""
    if history == "pbp":
        return -1.0
    if history == "bp":
        return 1.0
    stake = 1.0 if history == "pp" else 2.0
    return stake if _RANK[c0] > _RANK[c1] else -stake


def payoff(cards: tuple[str, str], history: str) -> tuple[float, float]:
    """Chips won by ``(player 0, player 1)`` when the deal is ``cards`` and play ended at
    the terminal ``history`` (one of :data:`TERMINAL_HISTORIES`)."""
    c0, c1 = _check_cards(cards)
    if not isinstance(history, str) or history not in TERMINAL_HISTORIES:
        raise ValueError(
            f"history must be one of the terminal histories {TERMINAL_HISTORIES}, got {history!r}"
        )
    value = _terminal_value(c0, c1, history)
    return value, -value


# --------------------------------------------------------------------------------------------
# Reference policies
# --------------------------------------------------------------------------------------------


def uniform_policy() -> Policy:
    """Every move with probability 1/2 at every information set."""
    return {key: 0.5 for key in INFOSETS}


def equilibrium_policy(alpha: float = 0.0) -> Policy:
    """The closed-form Nash equilibrium family, parameterised by ``alpha`` in ``[0, 1/3]``.

    Player 0 bets J with probability ``alpha``, never opens with Q, bets K with ``3*alpha``;
    after check-bet it folds J, calls Q with ``alpha + 1/3`` and always calls K.  Player 1
    (unique equilibrium strategy) after a check bets K, checks Q and bets J with 1/3; facing a
    bet it calls K, calls Q with 1/3 and folds J.
    """
    if isinstance(alpha, bool) or not isinstance(alpha, Real):
        raise ValueError(f"alpha must be a real number in [0, 1/3], got {alpha!r}")
    a = float(alpha)
    if not math.isfinite(a) or not 0.0 <= a <= 1.0 / 3.0 + 1e-15:
        raise ValueError(f"alpha must be in [0, 1/3], got {alpha!r}")
    a = min(a, 1.0 / 3.0)
    third = 1.0 / 3.0
    return {
        "J": a,
        "Q": 0.0,
        "K": min(3.0 * a, 1.0),
        "Jpb": 0.0,
        "Qpb": a + third,
        "Kpb": 1.0,
        "Jp": third,
        "Qp": 0.0,
        "Kp": 1.0,
        "Jb": 0.0,
        "Qb": third,
        "Kb": 1.0,
    }


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


def _subtree_value(
    c0: str, c1: str, history: str, s0: Mapping[str, float], s1: Mapping[str, float]
) -> float:
    """Expected chips of player 0 from ``history`` on (no validation).

    Player 0's moves are read from ``s0``, player 1's from ``s1``.
    """
    player = DECISION_HISTORIES.get(history)
    if player is None:
        return _terminal_value(c0, c1, history)
    bet = s0[c0 + history] if player == 0 else s1[c1 + history]
    value = 0.0
    if bet < 1.0:
        value += (1.0 - bet) * _subtree_value(c0, c1, history + "p", s0, s1)
    if bet > 0.0:
        value += bet * _subtree_value(c0, c1, history + "b", s0, s1)
    return value


def _value(s0: Mapping[str, float], s1: Mapping[str, float]) -> float:
    return sum(_subtree_value(c0, c1, "", s0, s1) for c0, c1 in DEALS) / len(DEALS)


def game_value(policy0: Mapping[str, float], policy1: Mapping[str, float]) -> float:
    """Exact expected chips of player 0 when seat 0 follows ``policy0``'s player-0 entries and
    seat 1 follows ``policy1``'s player-1 entries (pass the same dict twice for self-play)."""
    return _value(validate_policy(policy0), validate_policy(policy1))


def _check_player(player: int) -> int:
    if isinstance(player, bool) or player not in (0, 1):
        raise ValueError(f"player must be 0 or 1, got {player!r}")
    return int(player)


def _opponent_reach(
    policy: Mapping[str, float], responder: int, opp_card: str, history: str
) -> float:
    """Probability that the opponent of ``responder``, holding ``opp_card``, plays its own
    moves along ``history``."""
    reach = 1.0
    for depth, move in enumerate(history):
        prefix = history[:depth]
        if DECISION_HISTORIES[prefix] != responder:
            bet = policy[opp_card + prefix]
            reach *= bet if move == "b" else 1.0 - bet
    return reach


def _best_response(policy: Mapping[str, float], player: int) -> Policy:
    """Pure best response of ``player`` to a validated ``policy`` (bottom-up construction)."""
    br: Policy = {}
    for history in _BR_ORDER[player]:
        for card in CARDS:
            action_values = [0.0, 0.0]
            for opp_card in CARDS:
                if opp_card == card:
                    continue
                reach = _opponent_reach(policy, player, opp_card, history)
                if reach == 0.0:
                    continue
                c0, c1 = (card, opp_card) if player == 0 else (opp_card, card)
                # The responder's own later decisions (deeper infosets) are already in ``br``.
                s0, s1 = (br, policy) if player == 0 else (policy, br)
                for index, move in enumerate("pb"):
                    value = _subtree_value(c0, c1, history + move, s0, s1)
                    action_values[index] += reach * (value if player == 0 else -value)
            br[card + history] = (
                1.0 if action_values[1] > action_values[0] + _TIE_TOLERANCE else 0.0
            )
    return {key: br[key] for key in _PLAYER_INFOSETS[player]}


def best_response(policy: Mapping[str, float], player: int) -> Policy:
    """A pure best response (probabilities 0.0/1.0) of ``player`` against the other seat's
    part of ``policy``, keyed by ``player``'s six information sets.

    Ties (within 1e-12) are broken towards the passive move.
    """
    return _best_response(validate_policy(policy), _check_player(player))


def best_response_value(policy: Mapping[str, float], player: int) -> float:
    """Expected chips of ``player`` when it best-responds to the other seat of ``policy``."""
    clean = validate_policy(policy)
    player = _check_player(player)
    merged = {**clean, **_best_response(clean, player)}
    value = _value(merged, merged)
    return value if player == 0 else -value


def exploitability(policy: Mapping[str, float]) -> float:
    """``(best_response_value(policy, 0) + best_response_value(policy, 1)) / 2``.

    Equals NashConv / 2 and OpenSpiel's ``exploitability.exploitability``; zero exactly at a
    Nash equilibrium, ``11/24`` for the uniform policy.
    """
    clean = validate_policy(policy)
    return (best_response_value(clean, 0) + best_response_value(clean, 1)) / 2.0


# --------------------------------------------------------------------------------------------
# Counterfactual regret minimisation
# --------------------------------------------------------------------------------------------


class _CFRState:
    """Regret and average-strategy accumulators for a CFR run over the full tree."""

    def __init__(self) -> None:
        self.strategy: Policy = uniform_policy()
        self.regret_pass: dict[str, float] = dict.fromkeys(INFOSETS, 0.0)
        self.regret_bet: dict[str, float] = dict.fromkeys(INFOSETS, 0.0)
        self.avg_bet: dict[str, float] = dict.fromkeys(INFOSETS, 0.0)
        self.avg_reach: dict[str, float] = dict.fromkeys(INFOSETS, 0.0)

    def traverse(
        self,
        c0: str,
        c1: str,
        history: str,
        reach0: float,
        reach1: float,
        update: int | None,
        weight: float,
    ) -> float:
        """Return player 0's expected chips below ``history`` under the current strategy and
        accumulate regrets / average strategy for ``update`` (``None``: both players)."""
        player = DECISION_HISTORIES.get(history)
        if player is None:
            return _terminal_value(c0, c1, history)
        key = (c0 if player == 0 else c1) + history
        bet = self.strategy[key]
        if player == 0:
            v_pass = self.traverse(
                c0, c1, history + "p", reach0 * (1.0 - bet), reach1, update, weight
            )
            v_bet = self.traverse(c0, c1, history + "b", reach0 * bet, reach1, update, weight)
        else:
            v_pass = self.traverse(
                c0, c1, history + "p", reach0, reach1 * (1.0 - bet), update, weight
            )
            v_bet = self.traverse(c0, c1, history + "b", reach0, reach1 * bet, update, weight)
        value = v_pass + bet * (v_bet - v_pass)
        if update is None or update == player:
            if player == 0:
                cf_reach, own_reach, sign = reach1, reach0, 1.0
            else:
                cf_reach, own_reach, sign = reach0, reach1, -1.0
            self.regret_pass[key] += sign * cf_reach * (v_pass - value)
            self.regret_bet[key] += sign * cf_reach * (v_bet - value)
            self.avg_bet[key] += weight * own_reach * bet
            self.avg_reach[key] += weight * own_reach
        return value

    def iterate(self, update: int | None, weight: float) -> None:
        for c0, c1 in DEALS:
            self.traverse(c0, c1, "", 1.0, 1.0, update, weight)

    def regret_match(self, keys: tuple[str, ...], plus: bool) -> None:
        for key in keys:
            r_pass, r_bet = self.regret_pass[key], self.regret_bet[key]
            if plus:
                r_pass, r_bet = max(r_pass, 0.0), max(r_bet, 0.0)
                self.regret_pass[key], self.regret_bet[key] = r_pass, r_bet
            pos_pass, pos_bet = max(r_pass, 0.0), max(r_bet, 0.0)
            total = pos_pass + pos_bet
            self.strategy[key] = pos_bet / total if total > 0.0 else 0.5

    def average(self) -> Policy:
        return {
            key: self.avg_bet[key] / self.avg_reach[key] if self.avg_reach[key] > 0.0 else 0.5
            for key in INFOSETS
        }


def solve(iterations: int = 2000, *, method: str = "cfr+") -> Policy:
    """Approximate a Nash equilibrium by self-play and return the average policy.

    ``method="cfr+"``: CFR+ -- regret-matching+ (regrets clipped at zero), alternating updates
    (player 0, then player 1 against player 0's new strategy) and linearly weighted averaging
    (iteration ``t`` has weight ``t``).  ``method="cfr"``: vanilla CFR -- simultaneous
    updates, plain regret matching, uniform averaging.  Both traverse the full tree for all six
    deals every iteration and are deterministic.
    """
    if isinstance(iterations, bool) or not isinstance(iterations, int):
        raise ValueError(f"iterations must be an integer >= 1, got {iterations!r}")
    if iterations < 1:
        raise ValueError(f"iterations must be >= 1, got {iterations!r}")
    if method not in ("cfr+", "cfr"):
        raise ValueError(f"unknown method {method!r}; expected 'cfr+' or 'cfr'")
    state = _CFRState()
    for t in range(1, iterations + 1):
        if method == "cfr+":
            for player in (0, 1):
                state.iterate(player, float(t))
                state.regret_match(_PLAYER_INFOSETS[player], plus=True)
        else:
            state.iterate(None, 1.0)
            state.regret_match(INFOSETS, plus=False)
    return state.average()
