"""The games. Importing this package registers every built-in env id (the game modules
themselves are imported only when an env is made)."""

from spenv.registry import register

register(
    "KuhnPoker-v1",
    "spenv.games.kuhn_poker.env:KuhnPokerEnv",
    roles=("player_0", "player_1"),
    description="Kuhn poker (J/Q/K, ante 1, bet 1); option hands=N for a match",
    default_agents=("nash", "random"),
    reference_agents=("nash", "aggressive", "passive", "honest", "uniform"),
    agent_factory="spenv.games.kuhn_poker.agents:reference_agent",
)
