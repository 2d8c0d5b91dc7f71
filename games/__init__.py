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
    persona=(
        "You are a strong poker player. Play to win chips over many hands: bet strong cards, "
        "bluff sometimes with weak ones, and fold when a bet means you are beaten."
    ),
    equilibrium_agent="nash",
    agent_metrics={"exploitability": "spenv.games.kuhn_poker.metrics:exploitability_report"},
    tags=("in-domain",),
)

register(
    "TicTacToe-v1",
    "spenv.games.tictactoe:TicTacToeEnv",
    roles=("player_0", "player_1"),
    description="TicTacToe on a 3x3 board; player_0 plays X and moves first",
    default_agents=("minimax", "random"),
    reference_agents=("minimax",),
    agent_factory="spenv.games.tictactoe:reference_agent",
    persona=(
        "You are a careful TicTacToe player. Win if you can, block the opponent's lines, and "
        "never pick a taken cell."
    ),
    equilibrium_agent="minimax",
    tags=("in-domain",),
)
register(
    "SimpleNegotiation-v1",
    "spenv.games.simple_negotiation:SimpleNegotiationEnv",
    roles=("player_0", "player_1"),
    description="Zero-sum trading of two resources with opposite private values",
    default_agents=("greedy", "random"),
    reference_agents=("greedy",),
    agent_factory="spenv.games.simple_negotiation:reference_agent",
    persona=(
        "You are a shrewd trader. Make offers that raise the value of your own goods, and accept "
        "only trades that are good for you."
    ),
    tags=("in-domain",),
)
register(
    "Taboo-v1",
    "spenv.games.taboo:TabooEnv",
    roles=("attacker", "defender"),
    description="Adversarial Taboo: the attacker makes the defender say a secret word",
    default_agents=("hinter", "guesser"),
    reference_agents=("hinter", "guesser"),
    agent_factory="spenv.games.taboo:reference_agent",
    persona=(
        "You are playing a word game of hints and traps. Read the rules of your role closely and "
        "keep your messages short."
    ),
    tags=("out-of-domain",),
)
register(
    "DealOrNoDeal-v1",
    "spenv.games.deal_or_no_deal:DealOrNoDealEnv",
    roles=("player_0", "player_1"),
    description="Negotiate a split of books, hats and balls with private values",
    default_agents=("greedy", "greedy"),
    reference_agents=("greedy",),
    agent_factory="spenv.games.deal_or_no_deal:reference_agent",
    persona=(
        "You are a skilled negotiator. Reach a deal that is worth as much as possible to you; a "
        "deal is better than none."
    ),
    tags=("out-of-domain",),
)
register(
    "Debate-v1",
    "spenv.games.debate:DebateEnv",
    roles=("debater_a", "debater_b"),
    description="Two debaters argue assigned answers to a question; a judge decides",
    default_agents=("advocate", "advocate"),
    reference_agents=("advocate",),
    agent_factory="spenv.games.debate:reference_agent",
    persona=(
        "You are a debater. Argue for your assigned answer with clear, checkable reasoning, and "
        "point out the flaws in your opponent's argument."
    ),
    episode_metrics={"judge": "spenv.games.debate.metrics:judge_accuracy"},
    tags=("out-of-domain",),
    # Sample games use the arithmetic questions: the generated passages' invented names would
    # fill the tiny test tokenizer's vocabulary.
    sample_options={"questions": "arithmetic"},
)
register(
    "CodeAndTest-v1",
    "spenv.games.code_and_test:CodeAndTestEnv",
    roles=("coder", "tester"),
    description="A coder writes a solution, a tester writes unit tests; a sandbox scores both",
    default_agents=("oracle", "doctest"),
    reference_agents=("oracle", "doctest"),
    agent_factory="spenv.games.code_and_test:reference_agent",
    requires=("bwrap",),
)
register(
    "SearchSelfPlay-v1",
    "spenv.games.search_self_play:SearchSelfPlayEnv",
    roles=("proposer", "solver"),
    description="A proposer writes a question grounded in searched documents; a solver answers it",
    default_agents=("reader", "reader"),
    reference_agents=("reader",),
    agent_factory="spenv.games.search_self_play:reference_agent",
)
register(
    "ConjectureProve-v1",
    "spenv.games.conjecture_prove:ConjectureProveEnv",
    roles=("conjecturer", "prover"),
    description="A conjecturer states a lemma, a prover proves it; coqc (or Lean) decides",
    default_agents=("conjecturer", "prover"),
    reference_agents=("conjecturer", "prover"),
    agent_factory="spenv.games.conjecture_prove:reference_agent",
    requires=("coqc",),
)
register(
    "SPICE-v1",
    "spenv.games.spice:SpiceEnv",
    roles=("challenger", "reasoner"),
    description="A challenger questions a drawn document; a reasoner answers without it",
    default_agents=("reader", "reader"),
    reference_agents=("reader",),
    agent_factory="spenv.games.spice:reference_agent",
)
