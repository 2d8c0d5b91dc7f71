"""Reading-comprehension questions over passages the judge never sees (the setting of Khan et
al. 2024, "Debating with more persuasive LLMs leads to more truthful answers", on QuALITY).

- :func:`generate_passage` (the embedded set): a short generated chronicle of a fictional town.
  Each question asks who did something to an object, or how many items someone handled; the
  passage states the correct answer in one sentence, and the wrong answer is another person (or
  number) the passage also mentions, with the same object but another deed, so that both answers
  look plausible to a reader without the passage, and only the passage decides.
- :func:`load_quality` reads QuALITY-format JSON-lines files (one article a line, with its
  ``questions``: ``question``, four ``options``, the 1-based ``gold_label`` and, when present,
  annotators' ``untimed_best_distractor``): each question becomes two answers as in the paper,
  the correct option and the best distractor (the distractor most annotators chose; else the
  first wrong option).
- :func:`verify_quote` says whether a quote is in the passage (spacing, case and typographic
  quotes normalised).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

_SYLLABLES = (
    "an", "bel", "cor", "da", "el", "fen", "gar", "hal", "is", "jor", "ka", "lin", "mar", "nor",
    "os", "per", "quin", "ros", "sel", "tam", "ul", "ver", "wen", "yra", "zel",
)  # fmt: skip
_OBJECTS = (
    "bridge", "lantern", "mill", "ledger", "bell", "clock", "boat", "gate", "banner", "well",
    "loom", "kiln",
)  # fmt: skip
_DEEDS = (
    "repaired", "painted", "guarded", "inspected", "carried", "polished", "designed", "sold",
    "borrowed", "measured", "blessed", "rebuilt",
)  # fmt: skip
_ITEMS = ("barrels", "sacks", "crates", "baskets", "lanterns", "candles")
_COUNT_DEEDS = ("brought", "sold", "counted", "stacked", "loaded", "lost")
_FILLERS = (
    "The winter that year was long and grey.",
    "Travellers often stopped there on the way to the coast.",
    "Most of the houses had red roofs and narrow windows.",
    "A market was held in the square every seventh day.",
    "Nobody remembered when the old road had last been mended.",
    "The river was high after the spring rains.",
    "Children played by the fountain until dusk.",
    "Letters from the capital arrived only twice a season.",
)


def _name(rng: np.random.Generator, used: set[str]) -> str:
    while True:
        parts = [
            _SYLLABLES[int(i)] for i in rng.integers(len(_SYLLABLES), size=2 + int(rng.integers(2)))
        ]
        name = "".join(parts).capitalize()
        if name not in used and len(name) >= 4:
            used.add(name)
            return name


def generate_passage(seed: int) -> dict[str, Any]:
    """One generated reading question: ``{"id", "passage", "question", "correct",
    "incorrect", "meta"}``, the same for the same ``seed``."""
    rng = np.random.Generator(np.random.PCG64(seed))
    used: set[str] = set()
    town = _name(rng, used)
    people = [_name(rng, used) for _ in range(8)]
    sentences: list[str] = [f"This is a chronicle of the town of {town}."]
    kind = "count" if rng.random() < 0.3 else "deed"
    objects = [str(o) for o in rng.choice(_OBJECTS, size=3, replace=False)]
    deeds = [str(d) for d in rng.choice(_DEEDS, size=6, replace=False)]
    facts: list[str] = []
    # Two people act on each object with different deeds (each person once); two counts.
    for k, obj in enumerate(objects):
        for m, season in enumerate(("spring", "autumn")):
            who, deed = people[2 * k + m], deeds[2 * k + m]
            facts.append(f"{who} {deed} the {obj} of {town} in the {season}.")
    items = str(rng.choice(_ITEMS))
    counts = [int(x) for x in rng.choice(np.arange(3, 60), size=2, replace=False)]
    cdeeds = [str(d) for d in rng.choice(_COUNT_DEEDS, size=2, replace=False)]
    facts.append(f"At the fair, {people[6]} {cdeeds[0]} {counts[0]} {items}.")
    facts.append(f"At the fair, {people[7]} {cdeeds[1]} {counts[1]} {items}.")
    order = [int(i) for i in rng.permutation(len(facts))]
    fillers = [str(f) for f in rng.choice(_FILLERS, size=len(facts), replace=False)]
    # Every fact sentence is followed by a filler, so no two facts are adjacent.
    for i, j in enumerate(order):
        sentences.append(facts[j])
        sentences.append(fillers[i])
    passage = " ".join(sentences)
    if kind == "deed":
        k = int(rng.integers(len(objects)))
        first = rng.random() < 0.5
        i = 2 * k + (0 if first else 1)
        question = f"Who {deeds[i]} the {objects[k]}?"
        correct, incorrect = people[i], people[2 * k + (1 if first else 0)]
        meta = {"kind": "deed", "object": objects[k], "deed": deeds[i]}
    else:
        j = int(rng.integers(2))
        question = f"How many {items} were {cdeeds[j]} by {people[6 + j]} at the fair?"
        correct, incorrect = str(counts[j]), str(counts[1 - j])
        meta = {"kind": "count", "items": items, "deed": cdeeds[j]}
    return {
        "id": f"passage-{seed}",
        "passage": passage,
        "question": question,
        "correct": correct,
        "incorrect": incorrect,
        "meta": meta,
    }


# ------------------------------------------------------------------------------ quotes
_QUOTE_CHARS = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "—": "-"})


def _norm(text: str) -> str:
    return " ".join(text.translate(_QUOTE_CHARS).casefold().split())


def verify_quote(quote: str, passage: str) -> bool:
    """Whether ``quote`` (at least one word) appears in ``passage`` (case, spacing and
    typographic quotes aside; surrounding punctuation and ellipses ignored)."""
    q = _norm(quote).strip(" .,;:!?\"'…-")
    return bool(re.search(r"\w", q)) and q in _norm(passage)


# ------------------------------------------------------------------------------ QuALITY
def load_quality(path: str | Path) -> list[dict[str, Any]]:
    """Questions of a QuALITY-format JSON-lines file (see the module docstring). Raises
    ``ValueError`` naming the file and line for malformed records."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read QuALITY file {path}: {exc}") from None
    out = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            art = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
        if not isinstance(art, dict) or not isinstance(art.get("article"), str):
            raise ValueError(f"{path}:{lineno}: an article record needs an 'article' text")
        for q in _questions(art, f"{path}:{lineno}"):
            out.append(q)
    if not out:
        raise ValueError(f"{path}: no questions")
    return out


def _questions(art: dict[str, Any], where: str) -> Iterator[dict[str, Any]]:
    for n, q in enumerate(art.get("questions") or ()):
        options = q.get("options") if isinstance(q, dict) else None
        gold = q.get("gold_label") if isinstance(q, dict) else None
        if (
            not isinstance(options, list)
            or len(options) < 2
            or not all(isinstance(o, str) and o.strip() for o in options)
            or isinstance(gold, bool)
            or not isinstance(gold, int)
            or not 1 <= gold <= len(options)
            or not isinstance(q.get("question"), str)
        ):
            raise ValueError(
                f"{where}: question {n} needs 'question', 'options' and a 1-based 'gold_label'"
            )
        votes = Counter(
            v.get("untimed_best_distractor")
            for v in q.get("validation") or ()
            if isinstance(v, dict) and v.get("untimed_best_distractor") != gold
        )
        wrong = [i for i in range(1, len(options) + 1) if i != gold]
        ranked = [d for d, _ in votes.most_common() if isinstance(d, int) and d in wrong]
        distractor = ranked[0] if ranked else wrong[0]
        if options[gold - 1].strip() == options[distractor - 1].strip():
            continue
        qid = q.get("question_unique_id") or f"{art.get('article_id', 'article')}-{n}"
        yield {
            "id": str(qid),
            "passage": art["article"],
            "question": q["question"].strip(),
            "correct": options[gold - 1].strip(),
            "incorrect": options[distractor - 1].strip(),
            "meta": {"title": art.get("title"), "source": "quality"},
        }
