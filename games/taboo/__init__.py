"""Adversarial Taboo (``Taboo-v1``): the env, its word data and its reference agents.

- :class:`TabooEnv`: rules in :mod:`.env`'s docstring.
- :mod:`.vocab`: the word list (``words.txt``, split train/test by a stable hash), the hint
  table (``hints.txt``), inflections (``forms``) and the whole-word mention test.
- Agents (:mod:`.agents`): ``hinter`` (attacker), ``guesser`` (defender), ``random``.
"""

from spenv.games.taboo.agents import (
    REFERENCE_AGENTS,
    RandomTabooAgent,
    TabooAgent,
    reference_agent,
)
from spenv.games.taboo.env import GUESS_FORMAT, RELAY_CAP, TabooEnv, find_guess, relay
from spenv.games.taboo.vocab import forms, hints, is_right_guess, mentions, tokens, words

__all__ = [
    "GUESS_FORMAT",
    "REFERENCE_AGENTS",
    "RELAY_CAP",
    "RandomTabooAgent",
    "TabooAgent",
    "TabooEnv",
    "find_guess",
    "forms",
    "hints",
    "is_right_guess",
    "mentions",
    "reference_agent",
    "relay",
    "tokens",
    "words",
]
