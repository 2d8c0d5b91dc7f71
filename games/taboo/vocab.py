"""Taboo-v1's word data and text rules: the word list, its train/test split, the hint table,
inflections and the whole-word mention test.

Everything is loaded once per process (module-level caches), never on a reset.

- ``words(split)``: the target words of a split (``"train"``, ``"test"`` or ``"all"``), sorted.
  The split is fixed by a stable hash of each word (BLAKE2b, not Python's salted ``hash``): a
  word is a test word when its hash modulo 100 is below 20, so about 20% of the list.
- ``hints()``: ``{word: Hint(categories, clues)}`` from ``hints.txt`` (a word listed under two
  categories gets both, with their clues merged).
- ``forms(word)``: the word and the inflections that count as saying it (plural, ``-s``,
  ``-es``, ``-ies``, ``-ves``, a few irregular plurals, ``-ing``, ``-ed``, ``-d``, with a final
  ``e`` dropped or a final consonant doubled where English does).
- ``tokens(text)``: the words of a text as the game reads them (NFKC, case-folded, accents and
  invisible format characters removed; a word is a maximal run of letters).
- ``mentions(text, word)``: whether the text says ``word`` or one of its forms as a whole word.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

#: Share of the list that goes to the test split (percent of the hash space).
TEST_PERCENT = 20

_WORD_RE = re.compile(r"[a-z]+")
_LETTERS_RE = re.compile(r"[^\W\d_]+")
_VOWELS = frozenset("aeiou")

#: Irregular plurals (singular -> plural); compounds ending in these inherit them.
IRREGULAR_PLURALS = {
    "child": "children",
    "foot": "feet",
    "goose": "geese",
    "louse": "lice",
    "man": "men",
    "mouse": "mice",
    "ox": "oxen",
    "person": "people",
    "tooth": "teeth",
    "woman": "women",
    "die": "dice",
    "knife": "knives",
    "leaf": "leaves",
    "wolf": "wolves",
    "shelf": "shelves",
    "calf": "calves",
    "scarf": "scarves",
    "thief": "thieves",
    "elf": "elves",
    "half": "halves",
    "loaf": "loaves",
    "wife": "wives",
    "life": "lives",
    "hoof": "hooves",
}


@dataclass(frozen=True, slots=True)
class Hint:
    """What the hint table says about one word: its categories and its clue words."""

    categories: tuple[str, ...]
    clues: tuple[str, ...]


def _read(name: str) -> str:
    return resources.files("spenv.games.taboo").joinpath(name).read_text(encoding="utf-8")


def is_test_word(word: str) -> bool:
    """Whether ``word`` belongs to the test split (a stable hash, the same on every machine)."""
    digest = hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % 100 < TEST_PERCENT


@cache
def all_words() -> tuple[str, ...]:
    """Every word of ``words.txt``, sorted (the file is one lowercase word a line)."""
    out = set()
    for line in _read("words.txt").splitlines():
        w = line.strip()
        if w and not w.startswith("#"):
            out.add(w)
    return tuple(sorted(out))


@cache
def words(split: str = "train") -> tuple[str, ...]:
    """The target words of a split: ``"train"`` (~80%), ``"test"`` (~20%) or ``"all"``."""
    if split == "all":
        return all_words()
    if split == "test":
        return tuple(w for w in all_words() if is_test_word(w))
    if split == "train":
        return tuple(w for w in all_words() if not is_test_word(w))
    raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")


@cache
def hints() -> dict[str, Hint]:
    """The hint table of ``hints.txt``: ``{word: Hint}``."""
    cats: dict[str, list[str]] = {}
    clues: dict[str, list[str]] = {}
    category = None
    for n, raw in enumerate(_read("hints.txt").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("@"):
            category = line[1:].strip()
            continue
        word, sep, rest = line.partition(":")
        word = word.strip()
        if not sep or category is None or not _WORD_RE.fullmatch(word):
            raise ValueError(f"hints.txt line {n}: expected 'word: clue clue ...', got {raw!r}")
        wc = cats.setdefault(word, [])
        if category not in wc:
            wc.append(category)
        cl = clues.setdefault(word, [])
        for clue in rest.split():
            if clue not in cl:
                cl.append(clue)
    return {w: Hint(tuple(cats[w]), tuple(clues[w])) for w in cats}


@cache
def forms(word: str) -> frozenset[str]:
    """``word`` (lowercase letters) and the inflections that count as saying it."""
    w = word.lower()
    out = {w, w + "s", w + "es", w + "ing", w + "ed"}
    for sing, plural in IRREGULAR_PLURALS.items():
        if w == sing or (w.endswith(sing) and len(w) > len(sing) + 2):
            out.add(w[: len(w) - len(sing)] + plural)
    if len(w) > 1 and w[-1] == "y" and w[-2] not in _VOWELS:
        out |= {w[:-1] + "ies", w[:-1] + "ied"}
    if w.endswith("fe"):
        out.add(w[:-2] + "ves")
    elif w.endswith("f"):
        out.add(w[:-1] + "ves")
    if w.endswith("e"):
        out |= {w + "d", w[:-1] + "ing"}
    if (
        len(w) >= 3
        and w[-1] not in _VOWELS
        and w[-1] not in "wxy"
        and w[-2] in _VOWELS
        and w[-3] not in _VOWELS
    ):
        out |= {w + w[-1] + "ing", w + w[-1] + "ed"}
    return frozenset(out)


def clean(text: str) -> str:
    """NFKC text with invisible format characters removed and other control characters turned
    into spaces: what a reader sees. Relayed messages and the mention test both start here, so
    no invisible character can hide a word from the test yet show it to the other player."""
    text = unicodedata.normalize("NFKC", text)
    if text.isascii():
        if text.isprintable():
            return text
        return "".join(ch if ch.isprintable() else " " for ch in text)
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat[0] == "C":
            if cat == "Cc":
                out.append(" ")
            # Cf (zero-width, bidi controls), Cs, Co, Cn: dropped
        else:
            out.append(ch)
    return "".join(out)


def _fold(text: str) -> str:
    """Case-folded, accents removed (``Ápple`` reads as ``apple``)."""
    text = clean(text).casefold()
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokens(text: str) -> list[str]:
    """The words of ``text`` as the game reads them (maximal runs of letters, folded)."""
    return _LETTERS_RE.findall(_fold(text))


def mentions(text: str, word: str) -> bool:
    """Whether ``text`` says ``word`` or one of its :func:`forms` as a whole word."""
    f = forms(word)
    return any(t in f for t in tokens(text))


def normalize_guess(text: str) -> str:
    """A guess as one folded phrase: letters only, a leading article dropped."""
    parts = tokens(text)
    if len(parts) > 1 and parts[0] in ("a", "an", "the"):
        parts = parts[1:]
    return " ".join(parts)


def is_right_guess(guess: str, word: str) -> bool:
    """A guess is right when it is the word or one of its forms (after normalisation)."""
    g = normalize_guess(guess)
    return bool(g) and g in forms(word.lower())
