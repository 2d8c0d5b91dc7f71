"""Reference agents for Kuhn poker, and ``policy_of`` to read any agent's strategy table."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from spenv.agents.base import Agent, BaseAgent, RandomAgent
from spenv.games.kuhn_poker.env import CARDS, KuhnPokerEnv
from spenv.games.kuhn_poker.theory import (
    INFOSETS,
    equilibrium_policy,
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

    ``invalid[key]`` counts the answers at that information set that were not a legal move;
    they are counted as the passive move (check or fold), which is what forfeiting costs.
    """

    def __init__(self, table: Mapping[str, float], invalid: Mapping[str, int], samples: int):
        super().__init__(table)
        self.invalid = dict(invalid)
        self.samples = samples


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

    ``exploitability(policy_of(agent))`` then measures the agent, a language model included.
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
