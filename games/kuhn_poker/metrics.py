"""Kuhn poker's measurement of one agent, declared in the game's registry entry
(``agent_metrics={"exploitability": ...}``) so the demo, the trainer and ``spenv eval games``
report it without naming the game."""

from __future__ import annotations

from typing import Any

from spenv.agents.base import Agent, RandomAgent
from spenv.games.kuhn_poker.agents import policy_of
from spenv.games.kuhn_poker.theory import exploitability, uniform_policy


def exploitability_report(agent: Agent, *, seed: int = 0, samples: int = 100) -> dict[str, Any]:
    """The agent's strategy table and its exact exploitability (chips per hand a best response
    wins against it; 0 for an equilibrium).

    An agent that carries its table (``policy``: the scripted and equilibrium agents) is
    measured exactly; a uniformly random agent is the uniform table; any other agent, a language
    model included, is asked ``samples`` times at each of the 12 information sets through the
    game's real prompts (:func:`~spenv.games.kuhn_poker.agents.policy_of`), its invalid answers
    scored as the game scores them (a forfeit of the hand).
    """
    invalid: dict[str, int] = {}
    estimated = None
    table = getattr(agent, "policy", None)
    if isinstance(agent, RandomAgent):
        policy, how = uniform_policy(), "uniform"
    elif isinstance(table, dict):
        policy, how = dict(table), "exact"
    else:
        estimated = policy_of(agent, samples=samples)
        policy, how = dict(estimated), f"{samples} samples per information set"
        invalid = dict(estimated.invalid)
    # invalid answers scored as the game scores them: a forfeit of the hand
    value = estimated.exploitability() if invalid else exploitability(policy)
    return {
        "value": value,
        "better": "lower",
        "label": "Exploitability",
        "note": "chips a best response wins per hand against the agent (exact)",
        "policy": policy,
        "invalid_answers": invalid,
        "measured": how,
        "seed": seed,
    }
