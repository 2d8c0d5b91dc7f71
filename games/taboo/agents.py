"""Reference agents for Adversarial Taboo (``Taboo-v1``).

- ``hinter`` (attacker): gives a category, then one clue a turn, from the package's hint table
  (``hints.txt``); with probability ``vague`` (default 0.4) a turn after the first gives only a
  vague remark instead of a clue. For a word outside the table it falls back to generic hints
  (length, first letter). It checks every message with the game's own mention test, so it never
  says the word.
- ``guesser`` (defender): keeps the words of the list whose hints contain every hint word it has
  heard; once it has heard at least two hint words (and no more other content words than hint
  words) it guesses one of the candidates at random when at most ``eager`` (default 2) are left,
  or at most ``gamble`` (default 4) at its last turn; otherwise it asks a question. Its
  questions use no word of the list, so it never says the target by accident.
- ``random``: random messages in either seat, built from list words and filler words; as the
  defender it guesses a random list word with probability 0.2 a turn.

Reference agents read only their observation (no memory between calls), so one agent object
can play many games and both seats at once. A ``hinter`` seated as the defender plays the
guesser's strategy and a ``guesser`` seated as the attacker the hinter's, so swapped seatings
(the runner's default) work.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from spenv.agents.base import Agent, BaseAgent
from spenv.games.taboo import vocab as _words
from spenv.games.taboo.vocab import mentions, tokens
from spenv.observation import Observation

#: The hinter's sentence templates ({} is a category or a clue).
CATEGORY_TEMPLATES = ("Here is my first hint. Its category: {}.", "Let me start. Category: {}.")
CLUE_TEMPLATES = (
    "Think of: {}.",
    "It is related to {}.",
    "Another hint: {}.",
    "A word that goes with it: {}.",
)
VAGUE_MESSAGES = (
    "It is something you could see and touch.",
    "Most people have seen one.",
    "You probably know it well enough.",
    "Keep thinking, you are getting there.",
)
FALLBACK_MESSAGES = ("Hmm.", "Think harder.", "?")
#: The guesser's questions (no word of the list, nor a form of one, appears in them).
QUESTIONS = (
    "Interesting. Give me another hint, please.",
    "What is it used for?",
    "Where would I usually find it?",
    "What does it look like?",
    "Hmm, I am not sure yet. Tell me more.",
)
_FUNCTION_WORDS = (
    "a an the and or but if so as of to in on at by for from with about into over under up "
    "down out off than then there here is it its it's this that these those you your yours i "
    "me my mine we us our they them their he him his she her be am are was were been being do "
    "does did have has had will would could should might must may shall can not no yes very "
    "too also just only some any all each every more most much many one two what which who "
    "whom whose when where why how hint clue item thing things something kind sort type "
    "usually often sometimes think guess word secret let like"
)
#: Words of the hinter's templates and common function words: never read as hint words.
_STOPWORDS = frozenset(
    tokens(" ".join(CATEGORY_TEMPLATES + CLUE_TEMPLATES + VAGUE_MESSAGES + FALLBACK_MESSAGES))
) | frozenset(_FUNCTION_WORDS.split())


def _words_said(obs: Observation, speaker: str) -> list[str]:
    return [text for who, text in obs.state.get("history", ()) if who == speaker]


@cache
def _index(split: str) -> tuple[dict[str, frozenset[str]], dict[str, list[str]]]:
    """For the words of ``split`` in the hint table: each word's hint words, and for each hint
    word the words it describes."""
    table = _words.hints()
    keys: dict[str, frozenset[str]] = {}
    by_key: dict[str, list[str]] = {}
    for w in _words.words(split):
        h = table.get(w)
        if h is None:
            continue
        ks = {t for c in h.categories for t in tokens(c)} | set(h.clues)
        ks -= _STOPWORDS
        keys[w] = frozenset(ks)
        for k in ks:
            by_key.setdefault(k, []).append(w)
    return keys, by_key


class TabooAgent(BaseAgent):
    """A role-aware scripted Taboo player: hints as the attacker, guesses as the defender."""

    def __init__(
        self,
        *,
        name: str = "hinter",
        vague: float = 0.4,
        eager: int = 2,
        gamble: int = 4,
        seed: int | None = None,
    ) -> None:
        super().__init__(name=name, seed=seed)
        if not 0.0 <= vague <= 1.0:
            raise ValueError(f"vague must be a probability, got {vague!r}")
        for key, value in (("eager", eager), ("gamble", gamble)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{key} must be a non-negative integer, got {value!r}")
        self.vague = float(vague)
        self.eager = eager
        self.gamble = gamble

    def act(self, obs: Observation) -> str:
        if obs.role == "attacker":
            return self.hint(obs)
        if obs.role == "defender":
            return self.guess(obs)
        raise ValueError(f"not a Taboo seat: {obs.role!r}")

    def _pick(self, items: Sequence[str]) -> str:
        return items[int(self.rng.random() * len(items))]

    # ------------------------------------------------------------------ attacker
    def hint(self, obs: Observation) -> str:
        """The attacker's next message: a category first, then unused clues."""
        word = obs.state["word"]
        mine = _words_said(obs, "attacker")
        used = {t for m in mine for t in tokens(m)}
        h = _words.hints().get(word)
        options: list[str] = []
        if h is None:
            options = [
                f"It has {len(word)} letters.",
                f"It starts with the letter {word[0].upper()}.",
                f"It ends with the letter {word[-1].upper()}.",
            ]
            options = [o for o in options if o not in mine]
        elif not mine:
            options = [self._pick(CATEGORY_TEMPLATES).format(self._pick(h.categories))]
        else:
            fresh = [c for c in h.clues if c not in used]
            if fresh and self.rng.random() >= self.vague:
                options = [self._pick(CLUE_TEMPLATES).format(self._pick(fresh))]
        options += [self._pick(VAGUE_MESSAGES), *FALLBACK_MESSAGES]
        for msg in options:
            if not mentions(msg, word):
                return msg
        return "?"  # no letters: says no word

    # ------------------------------------------------------------------ defender
    def candidates(self, obs: Observation) -> tuple[list[str], int, int]:
        """The list words whose hints contain every hint word the attacker has used, the number
        of such hint words, and the number of other content words heard (noise)."""
        keys, by_key = _index(obs.state.get("split", "train"))
        heard = {t for m in _words_said(obs, "attacker") for t in tokens(m)} - _STOPWORDS
        informative = sorted(t for t in heard if t in by_key)
        if not informative:
            return [], 0, len(heard)
        # intersect, starting from the rarest hint word
        informative.sort(key=lambda t: len(by_key[t]))
        cands = [w for w in by_key[informative[0]] if all(t in keys[w] for t in informative)]
        return sorted(cands), len(informative), len(heard) - len(informative)

    def guess(self, obs: Observation) -> str:
        """The defender's next message: a guess when confident, else a question.

        Confident: at least two hint words heard, at least as many hint words as other content
        words (so random chatter does not trigger a guess), and at most ``eager`` candidates
        left (``gamble`` at the defender's last turn); the guess is one of them at random.
        """
        cands, n_info, noise = self.candidates(obs)
        mine = obs.state.get("my_messages", 0)
        last = mine + 1 >= obs.state.get("max_turns", 5)
        limit = self.gamble if last else self.eager
        if n_info >= 2 and noise <= n_info and 1 <= len(cands) <= limit:
            return f'I know the word! It is "{self._pick(cands)}"'
        return self._pick(QUESTIONS)


_FILLER_TEXT = (
    "hello the is it a of maybe perhaps very big small think about where what why how yes no "
    "thing something nice"
)


class RandomTabooAgent(BaseAgent):
    """Random messages in either seat (free text has no legal-move list to pick from)."""

    name = "random"
    FILLER: tuple[str, ...] = tuple(_FILLER_TEXT.split())

    def __init__(self, *, guess_rate: float = 0.2, seed: int | None = None) -> None:
        super().__init__(seed=seed)
        if not 0.0 <= guess_rate <= 1.0:
            raise ValueError(f"guess_rate must be a probability, got {guess_rate!r}")
        self.guess_rate = float(guess_rate)

    def act(self, obs: Observation) -> str:
        vocab = _words.all_words()
        rng = self.rng
        if obs.role == "defender" and rng.random() < self.guess_rate:
            return f'I know the word! It is "{vocab[int(rng.integers(len(vocab)))]}"'
        n = int(rng.integers(3, 12))
        out = []
        for _ in range(n):
            if rng.random() < 0.3:
                out.append(vocab[int(rng.integers(len(vocab)))])
            else:
                out.append(self.FILLER[int(rng.integers(len(self.FILLER)))])
        return " ".join(out).capitalize() + "."


_FACTORIES: dict[str, Callable[..., Agent]] = {
    "hinter": lambda seed=None, **kw: TabooAgent(name="hinter", seed=seed, **kw),
    "guesser": lambda seed=None, **kw: TabooAgent(name="guesser", seed=seed, **kw),
    "random": lambda seed=None, **kw: RandomTabooAgent(seed=seed, **kw),
}

#: Names of Taboo's reference agents (``random`` included: a role-aware random talker).
REFERENCE_AGENTS = tuple(_FACTORIES)


def reference_agent(name: str, *, seed: int | None = None, **params: Any) -> Agent:
    """Build a Taboo reference agent: ``hinter``, ``guesser`` (both take ``vague`` and
    ``gamble``) or ``random`` (takes ``guess_rate``)."""
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ValueError(f"no Taboo agent named {name!r}; known: {REFERENCE_AGENTS}") from None
    return factory(seed=seed, **params)
