"""Reference agents for Kuhn poker, and ``policy_of`` to read any agent's strategy table."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from spenv.agents.base import Agent, BaseAgent, RandomAgent
from spenv.games.kuhn_poker.env import CARDS, KuhnPokerEnv
from spenv.games.kuhn_poker.theory import (
    DEALS,
    DECISION_HISTORIES,
    INFOSETS,
    PLAYER0_INFOSETS,
    PLAYER1_INFOSETS,
    equilibrium_policy,
    payoff,
    uniform_policy,
    validate_policy,
)
from spenv.observation import Observation

#: Scripted strategy tables (probability of the aggressive move at each information set).
AGGRESSIVE = dict.fromkeys(INFOSETS, 1.0)
PASSIVE = {k: (1.0 if k.endswith("b") else 0.0) for k in INFOSETS}  # check, always call
HONEST = {k: (1.0 if k[0] == "K" or (k[0] == "Q" and k.endswith("b")) else 0.0) for k in INFOSETS}


class PolicyAgent(BaseAgent):
    """Plays a Kuhn poker strategy table: ``policy[card + history]`` is the probability of the
    aggressive move (bet, or call when facing a bet)."""

    name = "policy"

    def __init__(
        self, policy: Mapping[str, float], *, name: str | None = None, seed: int | None = None
    ) -> None:
        super().__init__(name=name, seed=seed)
        self.policy = validate_policy(policy)

    def act(self, obs: Observation) -> str:
        legal = obs.legal_actions
        if not legal:
            raise ValueError("asked to act on an observation with no legal moves")
        p = self.policy[obs.state["infoset"]]
        # legal is (passive, aggressive): ("[check]", "[bet]") or ("[fold]", "[call]")
        return legal[1] if self.rng.random() < p else legal[0]


class NashAgent(PolicyAgent):
    """The equilibrium player of the closed-form family; ``alpha`` in [0, 1/3] sets how often it
    bluffs with J (and value-bets K, 3*alpha) as the first player."""

    def __init__(self, alpha: float = 0.0, *, seed: int | None = None) -> None:
        super().__init__(equilibrium_policy(alpha), name="nash", seed=seed)
        self.alpha = alpha


_FACTORIES: dict[str, Callable[..., Agent]] = {
    "nash": lambda seed=None, alpha=0.0: NashAgent(alpha, seed=seed),
    "aggressive": lambda seed=None: PolicyAgent(AGGRESSIVE, name="aggressive", seed=seed),
    "passive": lambda seed=None: PolicyAgent(PASSIVE, name="passive", seed=seed),
    "honest": lambda seed=None: PolicyAgent(HONEST, name="honest", seed=seed),
    "uniform": lambda seed=None: PolicyAgent(uniform_policy(), name="uniform", seed=seed),
}

#: Names of Kuhn poker's scripted reference agents (agent specs, with ``random``).
REFERENCE_AGENTS = tuple(_FACTORIES)


def reference_agent(name: str, *, seed: int | None = None, **params: Any) -> Agent:
    """Build a scripted reference agent by name (``nash`` takes ``alpha``)."""
    if name == "random":
        return RandomAgent(seed=seed)
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ValueError(f"no Kuhn poker agent named {name!r}; known: {REFERENCE_AGENTS}") from None
    return factory(seed=seed, **params)


class EstimatedPolicy(dict):
    """A strategy table estimated from an agent's answers.

    ``self[key]`` is the fraction of answers at that information set that were the aggressive
    move (bet or call). ``invalid[key]`` counts the answers that were not a legal move; the game
    scores such an answer as a forfeit of the hand (the seat loses its ante, exactly one chip
    at every Kuhn decision point), so ``forfeit[key]`` (their fraction) is kept apart from the
    passive move: facing a bet a forfeit costs what a fold costs, but at an opening or after a
    check it is worse than checking. :meth:`exploitability` scores the table with the forfeits
    as the game does; :func:`~spenv.games.kuhn_poker.exploitability` on ``dict(table)`` reads
    the non-aggressive remainder as the passive move.
    """

    def __init__(self, table: Mapping[str, float], invalid: Mapping[str, int], samples: int):
        super().__init__(table)
        self.invalid = dict(invalid)
        self.samples = samples
        self.forfeit = {k: self.invalid.get(k, 0) / samples for k in table}

    def exploitability(self) -> float:
        """Exact exploitability of the agent as the game scores it (forfeits included)."""
        return forfeit_exploitability(dict(self), self.forfeit)


def _forfeit_value(
    c0: str,
    c1: str,
    history: str,
    bet: Mapping[str, float],
    forfeit: Mapping[str, float],
) -> float:
    """Expected chips of player 0 from ``history`` on; at each decision the actor forfeits
    (loses one chip) with probability ``forfeit[infoset]``, bets or calls with ``bet[infoset]``
    and otherwise checks or folds."""
    player = DECISION_HISTORIES.get(history)
    if player is None:
        return payoff((c0, c1), history)[0]
    key = (c0 if player == 0 else c1) + history
    b, f = bet[key], forfeit.get(key, 0.0)
    value = f * (-1.0 if player == 0 else 1.0)
    if b > 0.0:
        value += b * _forfeit_value(c0, c1, history + "b", bet, forfeit)
    if 1.0 - b - f > 0.0:
        value += (1.0 - b - f) * _forfeit_value(c0, c1, history + "p", bet, forfeit)
    return value


def forfeit_exploitability(bet: Mapping[str, float], forfeit: Mapping[str, float]) -> float:
    """Exploitability of a strategy table with forfeits, ``(BR_0 + BR_1) / 2``: each seat's
    best response (the best of its 64 pure strategies, which never forfeit) against the other
    seat's bets, passes and forfeits. Without forfeits it equals
    :func:`~spenv.games.kuhn_poker.exploitability`."""
    clean = validate_policy(bet)
    for k in INFOSETS:
        f = float(forfeit.get(k, 0.0))
        if not 0.0 <= f <= 1.0 - clean[k] + 1e-9:
            raise ValueError(f"forfeit[{k!r}]={f} is not in [0, 1 - bet]")
    total = 0.0
    for player, own in ((0, PLAYER0_INFOSETS), (1, PLAYER1_INFOSETS)):
        best = -math.inf
        for choice in itertools.product((0.0, 1.0), repeat=len(own)):
            b = {**clean, **dict(zip(own, choice, strict=True))}
            f = {k: (0.0 if k in own else float(forfeit.get(k, 0.0))) for k in INFOSETS}
            v = sum(_forfeit_value(c0, c1, "", b, f) for c0, c1 in DEALS) / len(DEALS)
            best = max(best, v if player == 0 else -v)
        total += best
    return total / 2.0


def infoset_observation(infoset: str, env: KuhnPokerEnv | None = None) -> Observation:
    """The observation an agent sees at a Kuhn poker information set (``"Kpb"``, ``"Jb"``)."""
    if infoset not in INFOSETS:
        raise ValueError(f"unknown information set {infoset!r}; known: {INFOSETS}")
    env = env or KuhnPokerEnv()
    card, history = infoset[0], infoset[1:]
    seat = len(history) % 2  # player_0 acts at "" and "pb", player_1 at "p" and "b"
    other = next(c for c in CARDS if c != card)
    deal = [card, other] if seat == 0 else [other, card]
    env.reset(seed=0, options={"deal": deal})
    for ch in history:
        legal = env.infos[env.agent_selection]["legal_actions"]
        env.step(legal[1] if ch == "b" else legal[0])
    return env.infos[env.agent_selection]["observation"]


def policy_of(agent: Agent, samples: int = 100) -> EstimatedPolicy:
    """Estimate any agent's strategy table by asking it ``samples`` times at each of the 12
    information sets (through ``act_batch`` when the agent has it).

    ``policy_of(agent).exploitability()`` then measures the agent, a language model included,
    with its invalid answers scored as the game scores them (a forfeit of the hand).
    """
    if not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be a positive integer, got {samples!r}")
    env = KuhnPokerEnv()
    table: dict[str, float] = {}
    invalid: dict[str, int] = {}
    batch = getattr(agent, "act_batch", None)
    for key in INFOSETS:
        obs = infoset_observation(key, env)
        observations: Sequence[Observation] = [obs] * samples
        answers = batch(observations) if batch else [agent.act(o) for o in observations]
        aggressive = bad = 0
        for answer in answers:
            move = _parse_answer(env, obs, answer)
            if move is None:
                bad += 1
            elif move in ("bet", "call"):
                aggressive += 1
        table[key] = aggressive / samples
        invalid[key] = bad
    return EstimatedPolicy(table, invalid, samples)


def _parse_answer(env: KuhnPokerEnv, obs: Observation, answer: Any) -> str | None:
    if isinstance(answer, str) and answer in obs.legal_actions:
        return env._moves[answer]
    if not isinstance(answer, str):
        return None
    move, _ = env._parse(obs.role, answer)
    return move
