"""Adversarial Taboo as a text environment (``Taboo-v1``), after SPAG (Cheng et al. 2024).

Seats: ``attacker`` and ``defender``. Only the attacker knows the target word, a common English
concrete noun drawn from the package's word list.

Rules:

- The attacker speaks first; then they alternate, at most ``max_turns`` messages each (default
  5). Every message is free text.
- The defender may guess at any of its turns by writing ``I know the word! It is "apple"``
  (case, spacing and the kind of quotes do not matter; ``It's`` works; without quotes one word,
  an article before it dropped) or ``\\boxed{apple}``. A message with a guess is judged by the
  guess alone (the last one when there are several): a right guess (the word or one of its
  forms, see below) wins for the defender, a wrong guess wins for the attacker. The game ends.
- A defender's message without a guess that says the target word or one of its forms, as a
  whole word, loses for the defender (the attacker's goal is to make that happen).
- The attacker must never say the word or one of its forms: such a message is an invalid move
  (the core's invalid-move policy: with ``retries=0``, the default, the attacker forfeits).
- If the defender has neither guessed nor said the word after its ``max_turns``-th message,
  the game ends in a draw.
- Rewards: +1 for the winner, -1 for the loser. A draw pays each seat its ``draw_rewards``
  entry: by default -1 to the attacker (a draw is a failed attack, as bad as a loss) and 0 to
  the defender. A forfeit costs the offender ``invalid_reward`` (default -1) and pays the other
  the opposite.

Why a draw is not 0 for the attacker: SPAG pays the attacker only for a won game (its
self-play trains on the winners' messages; drawn and lost games give no signal). With a draw at
0, stalling pays: an attacker that says nothing useful ("Hmm.") draws every game, which beats
giving real hints to a defender who usually finds the word (0 against -0.76 for the ``hinter``
against the ``guesser``, measured in ``tests/exploits/test_classic_games.py``). The defender's
draw stays at 0, between a win and a loss: a defender who does not trust the hints may decline
to guess, so an attacker who lies (hints for another word) earns a win only from a defender who
guesses wrong, never from one who waits. (A draw at -1 for both would make lying pay against
every defender: waiting would cost as much as a wrong guess.) ``draw_rewards=0`` gives the
plain zero-sum game (±1, draw 0 each).

The forms of a word (:func:`spenv.games.taboo.vocab.forms`): the word, ``+s``, ``+es``,
``y -> ies``, ``f/fe -> ves``, irregular plurals (mouse/mice, foot/feet, compounds like
snowman/snowmen), ``+ing``, ``+ed``, ``+d``, with a final ``e`` dropped (``baking``) or a
final consonant doubled (``drumming``) where English does. Text is read case-insensitively after
NFKC normalisation, with accents and invisible format characters (zero-width spaces, bidi
controls) removed; a word is a maximal run of letters, so ``pineapple`` does not say ``apple``
but ``apple-pie`` and ``apple's`` do. Spelling a word out (``a-p-p-l-e``) or homoglyphs from
other scripts are not detected.

An empty message (nothing visible) is an invalid move for either seat, and so is a guess that
names no word (``\\boxed{}``).

Messages are relayed to the other seat on one line, as ``attacker said: "..."`` (JSON-quoted),
with control characters and line breaks turned into spaces and invisible characters removed, cut
to ``RELAY_CAP`` (1,000) characters; the raw action stays in the episode record. Injected text
(``[GAME] defender wins``, a fake guess in the attacker's message) is only ever the speaker's
quoted message.

Hidden information: the defender's view (text and state) never holds the target word before
the game ends; the final views reveal it to both seats.

Constructor options: ``max_turns`` (messages per seat, default 5), ``draw_rewards`` (a
number from -1 to 0 for both seats, or ``{"attacker": a, "defender": d}``; default attacker -1,
defender 0), ``split`` (``"train"``, the
default, ``"test"`` or ``"all"``: which part of the word list targets come from; the split is a
stable hash of each word, about 80/20). Reset option: ``word`` (any non-empty alphabetic string,
case-insensitive) fixes the target; other reset options are ignored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

from spenv.env import TextEnv
from spenv.games.taboo import vocab as _words
from spenv.games.taboo.vocab import clean, mentions, normalize_guess
from spenv.observation import Observation
from spenv.options import Custom, Int, OneOf, Option

SEATS = ("attacker", "defender")
#: The longest relayed message, in characters (longer ones are cut and marked).
RELAY_CAP = 1000
#: Each seat's reward for a draw, unless the ``draw_rewards`` option says otherwise.
DEFAULT_DRAW_REWARDS: Mapping[str, float] = MappingProxyType({"attacker": -1.0, "defender": 0.0})
#: The largest ``max_turns`` accepted.
MAX_TURNS_LIMIT = 100

GUESS_FORMAT = 'I know the word! It is "..."'

_GUESS_RE = re.compile(
    r"\bi\s+know\s+the\s+word\s*[!.,:;]*\s*it(?:\s+is|\s*['’]\s*s)\s*:?\s*(?:"
    r"\"([^\"\n]{0,200})\"|“([^”\n]{0,200})”|'([^'\n]{0,200})'|‘([^’\n]{0,200})’"
    r"|«([^»\n]{0,200})»|(?:(?:an?|the)\s+)?([^\W\d_]+))"
    r"|\\boxed\s*\{\s*(?:\\text(?:bf|tt|rm)?\s*\{\s*)?([^{}\n]{0,200}?)\s*\}",
    re.IGNORECASE,
)

_SYSTEM_ATTACKER = """You are playing Adversarial Taboo as the attacker, against a defender.
Rules:
- There is a secret word, a common English noun. Only you know it: it is shown in each of your \
prompts. The defender tries to find it.
- You speak first; then you and the defender take turns, at most {n} messages each.
- Your goal: make the defender say the secret word without realising it.
- You must never say the secret word yourself, nor any form of it (plural, -s, -es, -ies, -ves, \
-ing, -ed, in any case, as a whole word): such a message is invalid and {penalty}.
- The defender may guess once, at any turn, by writing: {fmt}. A right guess makes the \
defender win; a wrong guess makes you win.
- If the defender says the secret word or a form of it anywhere outside a guess, you win.
- If none of this happens within {n} messages each, the game is a draw.
- Scores: a win is +1, a loss -1, a draw {draw_a:+g} for you ({draw_d:+g} for the defender).
How to answer: write only your message to the defender, as plain text. Messages longer than \
{cap} characters are cut when shown to the defender."""

_SYSTEM_DEFENDER = """You are playing Adversarial Taboo as the defender, against an attacker.
Rules:
- The attacker knows a secret word, a common English noun; you do not. The attacker speaks \
first; then you and the attacker take turns, at most {n} messages each.
- The attacker wants you to say the secret word without realising it: if any of your messages \
says the secret word or a form of it (plural, -s, -es, -ies, -ves, -ing, -ed, in any case, as a \
whole word) outside a guess, you lose.
- You may guess once, at any of your turns, by writing: {fmt} with your guess between the \
quotes (or \\boxed{{your guess}}). A right guess (the word or a form of it) wins; a wrong guess \
loses. The game ends at a guess.
- If none of this happens within {n} messages each, the game is a draw.
- Scores: a win is +1, a loss -1, a draw {draw_d:+g} for you ({draw_a:+g} for the attacker).
How to answer: write your message to the attacker as plain text. If your message contains a \
guess, only the guess counts (the last one if there are several). An empty message is invalid \
and {penalty}."""

_END_TEXT = {
    "right_guess": "the defender guessed the word",
    "wrong_guess": "the defender guessed wrong",
    "defender_said_word": "the defender said the word outside a guess",
    "turn_limit": "the turn limit was reached",
    "attacker_forfeit": "the attacker forfeited (invalid move)",
    "defender_forfeit": "the defender forfeited (invalid move)",
}


def relay(text: str, cap: int = RELAY_CAP) -> str:
    """A message as shown to the other seat: one line, visible characters, at most ``cap``."""
    if len(text) > 8 * cap:  # bound the work on huge messages; the cap cuts far below this
        text = text[: 8 * cap]
    one_line = " ".join(clean(text).split())
    if len(one_line) > cap:
        one_line = one_line[:cap].rstrip() + " [cut]"
    return one_line


def find_guess(text: str) -> str | None:
    """The last guess in a defender's message (as written, unnormalised), or ``None``."""
    last = None
    for last in _GUESS_RE.finditer(clean(text)):  # noqa: B007
        pass
    if last is None:
        return None
    return next((g for g in last.groups() if g is not None), "")


def _check_draw_rewards(value: Any) -> dict[str, float]:
    """The ``draw_rewards`` option as ``{seat: reward}``, each a number from -1 to 0."""
    if value is None:
        return dict(DEFAULT_DRAW_REWARDS)
    if isinstance(value, Mapping):
        if set(value) != set(SEATS):
            raise ValueError(f"draw_rewards maps both {SEATS} to a reward, got {value!r}")
        items = {s: value[s] for s in SEATS}
    else:
        items = dict.fromkeys(SEATS, value)
    for seat, x in items.items():
        if isinstance(x, bool) or not isinstance(x, int | float) or not -1.0 <= x <= 0.0:
            raise ValueError(  # the comparison also rejects NaN
                f"draw_rewards: the {seat}'s reward must be a number from -1 to 0, got {x!r}"
            )
    return {s: float(x) for s, x in items.items()}


def _check_word(word: Any) -> str:
    if not isinstance(word, str) or not re.fullmatch(r"[A-Za-z]+", word.strip()):
        raise ValueError(f"reset option word must be a non-empty alphabetic string, got {word!r}")
    return word.strip().lower()


class TabooEnv(TextEnv):
    """Adversarial Taboo; see the module docstring for the rules and options."""

    metadata: ClassVar[dict[str, Any]] = {**TextEnv.metadata, "name": "taboo_v1"}
    env_id = "Taboo-v1"
    possible_agents: ClassVar[list[str]] = list(SEATS)
    # Decided games and forfeits are zero-sum (a forfeit pays the other seat the opposite of
    # invalid_reward); a draw pays each seat its draw_rewards entry.
    zero_sum = True
    _moves: ClassVar[dict[str, str]] = {}

    OPTIONS: ClassVar[tuple[Option, ...]] = (
        Option("max_turns", 5, Int(1, MAX_TURNS_LIMIT), "messages each seat may send"),
        Option(
            "draw_rewards",
            MappingProxyType(DEFAULT_DRAW_REWARDS),
            Custom(
                _check_draw_rewards,
                "a number from -1 to 0, or a mapping of both seats to one (None: the default)",
            ),
            "each seat's reward when the game ends undecided",
        ),
        Option("split", "train", OneOf("train", "test", "all"), "which secret words are drawn"),
    )

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        max_turns, draws, split = self.max_turns, self.draw_rewards, self.split
        self._word_list = _words.words(split)  # cached per process
        penalty = (
            "you forfeit: you lose the game"
            if self.retries == 0
            else f"you are asked again; after {self.retries} invalid answers you forfeit"
        )
        fmt = dict(
            n=max_turns,
            penalty=penalty,
            fmt=GUESS_FORMAT,
            cap=RELAY_CAP,
            draw_a=draws["attacker"],
            draw_d=draws["defender"],
        )
        self._system = {
            "attacker": _SYSTEM_ATTACKER.format(**fmt),
            "defender": _SYSTEM_DEFENDER.format(**fmt),
        }
        self._word = ""
        self._history: list[tuple[str, str]] = []
        self._end: str | None = None
        self._guess: str | None = None
        self._pending: tuple[str, str, bool] = ("say", "", False)

    # ------------------------------------------------------------------ game state
    def _check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        # Other keys are kept and ignored, like every spenv game (PettingZoo's api_test passes
        # an unknown option).
        if "word" in options:
            return {**options, "word": _check_word(options["word"])}
        return options

    def _new_game(self, options: dict[str, Any]) -> str:
        word = options.get("word")
        if word is None:
            wl = self._word_list
            word = wl[int(self.np_random.integers(len(wl)))]
        self._word = word
        self._history = []
        self._end = None
        self._guess = None
        return "attacker"

    @property
    def word(self) -> str:
        """The target word of the current game (for tests and analysis; not an agent's view)."""
        return self._word

    def _count(self, agent: str) -> int:
        return sum(1 for s, _ in self._history if s == agent)

    # ------------------------------------------------------------------ observations
    def _observe(self, agent: str) -> Observation:
        finished = bool(self._outcomes)
        acting = not finished and agent == self.agent_selection
        attacker = agent == "attacker"
        other = "defender" if attacker else "attacker"
        n = self.max_turns
        mine = self._count(agent)
        lines = []
        if attacker:
            lines.append(f'You are the attacker. The secret word is "{self._word}".')
        else:
            lines.append("You are the defender. You do not know the secret word.")
        if self._history:
            lines.append("Conversation so far:")
            for speaker, text in self._history:
                lines.append(f"{speaker} said: {json.dumps(text, ensure_ascii=False)}")
        else:
            lines.append("No messages yet.")
        state: dict[str, Any] = {
            "role": agent,
            "max_turns": n,
            "split": self.split,
            "history": tuple(self._history),
            "my_messages": mine,
            "their_messages": self._count(other),
        }
        if attacker or finished:
            state["word"] = self._word
        if finished:
            outcome = self._outcomes.get(agent)
            reason = _END_TEXT.get(self._end or "", self._end or "")
            if not attacker:
                lines.append(f'The secret word was "{self._word}".')
            lines.append(
                f"The game is over ({reason}): {outcome}. "
                f"Your score: {self._totals.get(agent, 0.0):+g}."
            )
            state["outcome"] = outcome
            state["end"] = self._end
        elif acting:
            if attacker:
                lines.append(
                    f"Your turn: write your message {mine + 1} of {n} to the defender. "
                    "Never say the secret word."
                )
            else:
                lines.append(
                    f"Your turn: write your message {mine + 1} of {n} to the attacker, or guess "
                    f"with: {GUESS_FORMAT}"
                )
        else:
            lines.append(f"Waiting for the {other}.")
        return Observation(
            system=self._system[agent],
            user="\n".join(lines),
            role=agent,
            env_id=self.env_id,
            turn=self._turn,
            legal_actions=None if acting else (),
            state=state,
        )

    # ------------------------------------------------------------------ moves
    def _parse(self, agent: str, action: str) -> tuple[str | None, str | None]:
        shown = relay(action)
        if not shown:
            return None, "the message is empty; write something"
        if agent == "attacker":
            if mentions(action, self._word):
                return None, (
                    "your message says the secret word or a form of it, which the attacker "
                    "must never do"
                )
            self._pending = ("say", shown, False)
            return "say", None
        guess = find_guess(action)
        if guess is not None:
            g = normalize_guess(guess)
            if not g:
                return None, f"your guess names no word; guess with: {GUESS_FORMAT}"
            self._pending = ("guess", shown, False)
            self._guess = g
            return f"guess:{g}", None
        self._pending = ("say", shown, mentions(action, self._word))
        return "say", None

    def _apply(self, agent: str, move: str) -> None:
        kind, shown, said_word = self._pending
        self._history.append((agent, shown))
        if agent == "attacker":
            self.agent_selection = "defender"
            return
        if kind == "guess":
            if _words.is_right_guess(move[len("guess:") :], self._word):
                self._end_game("right_guess", winner="defender")
            else:
                self._end_game("wrong_guess", winner="attacker")
        elif said_word:
            self._end_game("defender_said_word", winner="attacker")
        elif self._count("defender") >= self.max_turns:
            self._end = "turn_limit"
            self._give(self.draw_rewards)
            self._finish({"attacker": "draw", "defender": "draw"})
        else:
            self.agent_selection = "attacker"

    def _end_game(self, end: str, winner: str) -> None:
        loser = "defender" if winner == "attacker" else "attacker"
        self._end = end
        self._give({winner: 1.0, loser: -1.0})
        self._finish({winner: "win", loser: "loss"})

    def _forfeit(self, agent: str, reason: str) -> None:
        self._end = f"{agent}_forfeit"
        super()._forfeit(agent, reason)

    def episode_info(self) -> dict[str, Any]:
        return {
            "word": self._word,
            "split": self.split,
            "end": self._end,
            "guess": self._guess,
            "messages": {a: self._count(a) for a in SEATS},
        }
