"""Math answer grading: answer extraction, then equivalence through ``math-verify``.

:func:`grade` takes a model's response and a gold answer and returns a
:class:`~spenv.verifiers.Verdict`: ``ok`` (score 1.0) when the extracted answer is equivalent to
the gold, ``wrong`` (0.0) when it is not, ``format_error`` when no answer can be read from the
response, ``timeout`` when the check ran past its wall-clock limit, ``error`` when the check
itself failed (the reason in ``detail``). ``data`` holds the extracted answer, the gold answer,
the mode and which method decided (``string``, ``numeric``, ``choice``, ``math_verify``).

Extraction (:func:`extract_answer`), by mode:

- ``math``: the last complete ``\\boxed{...}`` / ``\\fbox{...}`` (balanced braces, nested boxes
  unwrapped), else the text after the last "answer is" / "answer:" (a ``$...$`` span or the rest
  of the sentence), else a bare short answer (the whole response is one short expression).
- ``gsm8k``: ``#### X``, then the ``math`` rules, then the last number in the response (the
  usual "flexible" GSM8K extraction); answers are reduced to their number.
- ``choice`` (multiple choice, needs ``choices``): a letter from ``\\boxed{B}``, "Answer: B",
  "the answer is (B)", a response that is only "(B)", or a final line naming one "(B)"; a boxed
  or stated answer equal to one option's text also counts as that option's letter.
- ``auto``: ``choice`` when ``choices`` are given, ``gsm8k`` when the gold holds ``####``,
  otherwise ``math`` (which also reads ``#### X``).

For ``choice``, the gold is an option index (an ``int``, as in MMLU), a letter, an option's
text, or a digit string read as an index; ``choices`` is a list of option texts (lettered A, B,
...), a letter->text mapping, or just the letters (``"ABCD"``).

Equivalence is decided in the calling process when that is cheap and certain: the same answer
after LaTeX spacing normalisation (``\\dfrac``/``\\frac``, ``\\left(``, ``\\!``), both plain
numbers (compared exactly by their digits: ``1,600.00`` = ``1600``, ``3.8e35``), or numbers in
a base (``52_8`` = ``42_{10}``; math-verify drops base subscripts). Everything else goes to
``math_verify.parse`` and ``math_verify.verify`` in worker processes. Each answer is parsed as
one whole LaTeX expression: math-verify's defaults fall back to any piece of the text that parses
(``\\frac{1}{3}E_{1}+\\frac{2}{3}E_{2}`` becomes ``2/3``), a source of false positives; an
answer that does not parse is ``format_error`` and a gold that does not parse is ``error``
(only the identical answer is accepted). Scientific notation is rewritten for math-verify, which
reads the ``e`` of ``3.8e35`` as Euler's number.

Before math-verify, answers are read as a careful human would: units compared when both sides
carry one (``7 km`` is not ``7 m``; same-dimension plain numbers are converted exactly),
repeating decimals (``0.\\overline{3}``) as fractions, a variable's range (``2\\le x\\le 5``) as
an interval, and (inside the workers) a symbol ``i`` as the imaginary unit (``e^{i\\pi}`` = -1).
Plain and scientific numbers are compared by their digits, exactly and without size limits.
No input raises: a bad item of a batch gets an ``error`` (or ``format_error``) verdict with the
reason, and the rest is graded.

Time limits: math-verify's own timeouts use ``signal.alarm`` (main thread only, whole seconds,
and a timeout silently reads as "not equal"), so the workers switch them off and apply two
limits of ours per item, ``timeout`` seconds counted from the moment a worker receives the item:
a soft one at ``max(timeout - 0.25, timeout / 2)`` (an alarm inside the worker, which interrupts
sympy's Python-level loops and keeps the worker) and a hard one at ``timeout``, where the parent
kills a worker that has not answered (a hang inside C code, runaway memory) and starts a
replacement while the other workers keep grading. Either way the verdict is ``timeout``; the
pool never wedges. Workers also run under an address-space limit (``memory_limit_mb``).

The module imports nothing heavy: math-verify and sympy are imported inside the workers only.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as _mp_wait
from typing import Any

from spenv.verifiers.verdict import Verdict

__all__ = [
    "DEFAULT_TIMEOUT",
    "MODES",
    "MathGrader",
    "extract_answer",
    "grade",
    "grade_batch",
    "last_boxed",
    "shutdown",
]

MODES = ("auto", "math", "gsm8k", "choice")
#: Wall-clock limit per item, seconds.
DEFAULT_TIMEOUT = 5.0
#: Address-space limit of a worker process, MiB (``None`` to disable).
DEFAULT_MEMORY_LIMIT_MB = 2048
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_MAX_DETAIL = 500

# --------------------------------------------------------------------------------- extraction

_BOX_RE = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")
_ANSWER_RE = re.compile(r"(?i)\banswer\b\s*+(?:(?:\*\*|__)\s*+)?(?:is\b\s*+[:：]?|[:：])")
_NUMBER_RE = re.compile(r"(?<![\w.])[-−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w])|[-−]?\.\d+")
_PLAIN_NUMBER_RE = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[+-]?\.\d+")
_SENTENCE_END_RE = re.compile(r"\.(?=\s|$)|\n")
_LATEX_SPACING_RE = re.compile(r"\\[!,;: ]|\\(?:q?quad|displaystyle)(?![A-Za-z])|~")
_LEFT_RIGHT_RE = re.compile(r"\\(?:left|right|bigl|bigr|Bigl|Bigr|big|Big)(?![A-Za-z])\.?")
_TEXT_WRAP_RE = re.compile(r"^\\(?:text|textbf|mathrm|mathbf|mbox|textrm)\s*\{(.*)\}$", re.S)
_WORDS_RE = re.compile(r"[A-Za-z]{2,}[\s,]+[A-Za-z]{2,}")
_LATEX_CMD_RE = re.compile(r"\\[A-Za-z]+")
_LONE_SPACE_RE = re.compile(r"(?<!\w) | (?!\w)")
_TOKEN_RE = re.compile(r"[^\s$]+")


def _brace_pairs(text: str) -> dict[int, int]:
    """Index of each ``{`` -> index of its matching ``}`` (one pass; ``\\{`` is skipped)."""
    pairs: dict[int, int] = {}
    stack: list[int] = []
    j, n = 0, len(text)
    while j < n:
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c == "{":
            stack.append(j)
        elif c == "}" and stack:
            pairs[stack.pop()] = j
        j += 1
    return pairs


def _boxed_spans(text: str) -> list[tuple[int, int, int, int]]:
    """Every complete ``\\boxed``/``\\fbox`` in ``text`` as (start, end, content start, content
    end): indices only, so nested boxes cost linear memory, not a copy of each content."""
    spans: list[tuple[int, int, int, int]] = []
    pairs: dict[int, int] | None = None
    for m in _BOX_RE.finditer(text):
        i = m.end()
        while i < len(text) and text[i] in " \t":
            i += 1
        if i < len(text) and text[i] == "{":
            if pairs is None:
                pairs = _brace_pairs(text)
            close = pairs.get(i)
            if close is not None:
                spans.append((m.start(), close + 1, i + 1, close))
        elif i > m.end():  # "\boxed 5": one token after a space
            tok = _TOKEN_RE.match(text, i)
            if tok:
                spans.append((m.start(), tok.end(), tok.start(), tok.end()))
    return spans


def last_boxed(text: str) -> str | None:
    """The content of the last complete ``\\boxed{...}``/``\\fbox{...}`` (None when there is none).

    "Last" is the one that ends last, so ``\\boxed{\\boxed{5}}`` gives ``5`` after unwrapping; an
    unterminated box (a truncated response) is skipped.
    """
    spans = _boxed_spans(text)
    if not spans:
        return None
    _, _, a, b = max(spans, key=lambda s: (s[1], -s[0]))
    content = text[a:b].strip()
    while True:  # unwrap \boxed{\boxed{x}}
        inner = _boxed_spans(content)
        if len(inner) == 1 and inner[0][0] == 0 and inner[0][1] == len(content):
            content = content[inner[0][2] : inner[0][3]].strip()
        else:
            return content


def _answer_after_anchor(text: str) -> str | None:
    """The answer stated after the last "answer is" / "answer:" anchor."""
    last = None
    for m in _ANSWER_RE.finditer(text):
        last = m
    if last is None:
        return None
    rest = text[last.end() :].lstrip(" \t*_")
    span = _delimited_math(rest)
    if span is None:
        end = _SENTENCE_END_RE.search(rest)
        span = rest[: end.start()] if end else rest
    return _clean_span(span) or None


def _delimited_math(rest: str) -> str | None:
    for open_, close in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if rest.startswith(open_):
            end = rest.find(close, len(open_))
            if end > len(open_):
                return rest[len(open_) : end]
            return None
    return None


def _clean_span(span: str) -> str:
    span = span.strip()
    # Strip wrapping markdown and trailing sentence punctuation.
    span = span.strip("*_ \t")
    span = span.rstrip(".,;:!")
    if span.startswith("$") and span.endswith("$") and len(span) > 1:
        span = span.strip("$")
    span = span.strip()
    if span.startswith("\\(") and span.endswith("\\)"):
        span = span[2:-2].strip()
    if span.startswith("\\[") and span.endswith("\\]"):
        span = span[2:-2].strip()
    return span.rstrip(".,;").strip()


def _gsm_answer(text: str) -> str | None:
    idx = text.rfind("####")
    if idx < 0:
        return None
    line = text[idx + 4 :].strip().split("\n", 1)[0]
    return _clean_span(line) or None


def _bare_answer(text: str) -> str | None:
    """The whole response when it is one short expression rather than prose."""
    s = text.strip()
    if not s or "\n" in s or len(s) > 80:
        return None
    s = _clean_span(s)
    if not s:
        return None
    plain = _LATEX_CMD_RE.sub(" ", s)
    if _WORDS_RE.search(plain) or re.search(r"[A-Za-z]'[A-Za-z]", plain):
        return None
    return s


def _last_number(text: str) -> str | None:
    found = None
    for m in _NUMBER_RE.finditer(text):
        found = m.group(0)
    return found.replace("−", "-") if found else None


def _to_number_span(span: str) -> str:
    """GSM8K: reduce an answer span (``\\$1,600.00 dollars``) to its number."""
    s = span.strip()
    if any(t in s for t in ("\\frac", "/", "^", "\\sqrt")):
        return s
    if _PLAIN_NUMBER_RE.fullmatch(_strip_money(s)):
        return _strip_money(s)
    num = _last_number(s)
    return num if num is not None else s


def _strip_money(s: str) -> str:
    s = s.replace("\\$", "").replace("$", "").replace("\\!", "").replace("{,}", ",")
    return s.replace("−", "-").strip()


# ----------------------------------------------------------------------------- multiple choice


def _choice_letters(choices: Sequence[str] | Mapping[str, str] | str) -> dict[str, str | None]:
    """Letter -> option text (None when only letters are given)."""
    if isinstance(choices, str):
        letters = [c for c in choices.upper() if c.isalpha()]
        if not letters:
            raise ValueError(f"choices {choices!r} names no letters")
        return dict.fromkeys(letters)
    if isinstance(choices, Mapping):
        out: dict[str, str | None] = {}
        for k, v in choices.items():
            key = str(k).strip().upper()
            if len(key) != 1 or not key.isalpha():
                raise ValueError(f"choice keys must be single letters, got {k!r}")
            out[key] = None if v is None else str(v)
        return out
    opts = list(choices)
    if not opts or len(opts) > len(_LETTERS):
        raise ValueError(f"choices must list 1 to 26 options, got {len(opts)}")
    return {_LETTERS[i]: str(o) for i, o in enumerate(opts)}


def _unwrap_text(s: str) -> str:
    s = s.strip()
    while True:
        m = _TEXT_WRAP_RE.match(s)
        if not m:
            return s
        s = m.group(1).strip()


_LETTER_SPAN_RE = re.compile(r"^\s*[\(\[]?\s*([A-Za-z])\s*[\)\]]?(?=$|[\s.:,;)\]])")


def _letter_from_span(span: str, letters: dict[str, str | None]) -> str | None:
    s = _unwrap_text(_clean_span(span))
    s = s.replace("\\text{", "").replace("}", "") if "\\text{" in s else s
    m = _LETTER_SPAN_RE.match(s)
    if m:
        letter = m.group(1)
        # A lone lowercase word-letter ("a") only counts when the span is just that letter.
        if letter.upper() in letters and (letter.isupper() or s.strip("()[] .") == letter):
            return letter.upper()
    norm = _norm(s)
    hits = [k for k, v in letters.items() if v is not None and _norm(v) == norm]
    return hits[0] if len(hits) == 1 else None


def _extract_choice(text: str, letters: dict[str, str | None]) -> str | None:
    boxed = last_boxed(text)
    if boxed is not None:
        got = _letter_from_span(boxed, letters)
        if got:
            return got
    stated = _answer_after_anchor(text)
    if stated is not None:
        got = _letter_from_span(stated, letters)
        if got:
            return got
    stripped = text.strip()
    if stripped and len(stripped) <= 40 and "\n" not in stripped:
        got = _letter_from_span(stripped, letters)
        if got:
            return got
    lines = [ln for ln in stripped.splitlines() if ln.strip()]
    if lines:
        named = set(re.findall(r"\(([A-Z])\)", lines[-1])) & set(letters)
        if len(named) == 1:
            return named.pop()
    return None


def _gold_letter(gold: Any, letters: dict[str, str | None]) -> str:
    if isinstance(gold, bool):
        raise ValueError(f"gold answer {gold!r} is not a choice")
    if isinstance(gold, int):
        keys = list(letters)
        if not 0 <= gold < len(keys):
            raise ValueError(f"gold index {gold} is outside the {len(keys)} choices")
        return keys[gold]
    g = str(gold).strip()
    got = _letter_from_span(g, letters)
    if got:
        return got
    if g.isdecimal() and len(g) <= 3 and int(g) < len(letters):
        return list(letters)[int(g)]
    raise ValueError(f"gold answer {gold!r} names none of the choices {list(letters)}")


# ------------------------------------------------------------------------------ normalisation


def _norm(s: str) -> str:
    """Spacing-insensitive LaTeX form: equal normal forms mean equal answers."""
    s = s.strip().strip("$").strip()
    s = _LEFT_RIGHT_RE.sub("", s)
    s = _LATEX_SPACING_RE.sub("", s)
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    # Drop spaces except between two word characters ("1 2" is not "12").
    s = _LONE_SPACE_RE.sub("", " ".join(s.split()))
    return s.rstrip(".")


def _number_key(s: str) -> tuple[int, str, int] | None:
    """An exact key of a plain or scientific number: equal keys mean equal values.

    ``(sign, significant digits, exponent)`` from the digits as written, never through ``int``
    or ``Fraction`` (no digit limit, no work that grows with an exponent): ``1,600.00``,
    ``1600`` and ``1.6e3`` all give ``(1, "16", 2)``. None when ``s`` is not such a number.
    """
    t = _strip_money(s).replace(" ", "")
    m = _SCI_RE.fullmatch(t)
    if m:
        mantissa, exp_text = m.group(1), m.group(2)
        if len(exp_text.lstrip("+-").lstrip("0")) > 18:
            return None  # an exponent beyond any real answer: left to math-verify's limits
        exp = int(exp_text)
    elif _PLAIN_NUMBER_RE.fullmatch(t):
        mantissa, exp = t.replace(",", ""), 0
    else:
        return None
    sign = -1 if mantissa.startswith("-") else 1
    whole, _, frac = mantissa.lstrip("+-").partition(".")
    digits = (whole + frac).lstrip("0")
    exp -= len(frac)
    stripped = digits.rstrip("0")
    exp += len(digits) - len(stripped)
    if not stripped:
        return (0, "0", 0)
    return (sign, stripped, exp)


_SCI_RE = re.compile(r"([+-]?(?:\d+(?:\.\d*)?|\.\d+))[eE]([+-]?\d+)")
_BASE_RE = re.compile(r"([0-9A-Z]+)_\{?(\d+)\}?")


def _sci_to_latex(s: str) -> str:
    """``3.8e35`` -> ``3.8\\times10^{35}`` (math-verify reads ``e`` as Euler's number)."""
    m = _SCI_RE.fullmatch(s.strip())
    if not m:
        return s
    exp = m.group(2).lstrip("+")
    return f"{m.group(1)}\\times10^{{{exp}}}"


def _base_number(s: str) -> tuple[str, int | None] | None:
    """``2516_8`` -> ("2516", value in base 8); a plain integer -> (digits, None)."""
    t = s.strip().replace(" ", "")
    if t.isdigit():
        return t.lstrip("0") or "0", None
    m = _BASE_RE.fullmatch(t)
    if not m:
        return None
    digits, base_text = m.group(1), m.group(2)
    if len(base_text) > 2 or not 2 <= (base := int(base_text)) <= 36:
        return None
    try:
        value = int(digits, base)
    except ValueError:
        return None
    return digits.lstrip("0") or "0", value


def _compare_bases(pred: str, gold: str) -> bool | None:
    """Answers in a base (``52_8``), which math-verify reads without the subscript: equal values
    when both name a base, equal digits when one does; None when this rule does not apply."""
    bp, bg = _base_number(pred), _base_number(gold)
    if bp is None or bg is None or (bp[1] is None and bg[1] is None):
        return None
    if bp[1] is not None and bg[1] is not None:
        return bp[1] == bg[1]
    return bp[0] == bg[0]


# ------------------------------------------------------------- units, repeating decimals, ranges

#: Unit spellings -> (canonical unit, dimension, size in the dimension's base unit). A unit is
#: only read at the end of an answer whose value is a number-like expression.
_UNITS: dict[str, tuple[str, str, Fraction]] = {}


def _add_units(dim: str, canon: str, size: Fraction, *names: str) -> None:
    for n in (canon, *names):
        _UNITS[n] = (canon, dim, size)


_add_units("length", "m", Fraction(1), "meter", "meters", "metre", "metres")
_add_units("length", "km", Fraction(1000), "kilometer", "kilometers", "kilometre", "kilometres")
_add_units("length", "cm", Fraction(1, 100), "centimeter", "centimeters", "centimetre")
_add_units("length", "mm", Fraction(1, 1000), "millimeter", "millimeters", "millimetre")
_add_units("length", "in", Fraction(254, 10000), "inch", "inches")
_add_units("length", "ft", Fraction(3048, 10000), "foot", "feet")
_add_units("length", "yd", Fraction(9144, 10000), "yard", "yards")
_add_units("length", "mi", Fraction(1609344, 1000), "mile", "miles")
_add_units("mass", "g", Fraction(1), "gram", "grams")
_add_units("mass", "kg", Fraction(1000), "kilogram", "kilograms")
_add_units("mass", "mg", Fraction(1, 1000), "milligram", "milligrams")
_add_units("mass", "lb", Fraction(45359237, 100000), "lbs", "pound", "pounds")
_add_units("mass", "oz", Fraction(45359237, 1600000), "ounce", "ounces")
_add_units("time", "s", Fraction(1), "sec", "secs", "second", "seconds")
_add_units("time", "min", Fraction(60), "mins", "minute", "minutes")
_add_units("time", "h", Fraction(3600), "hr", "hrs", "hour", "hours")
_add_units("time", "day", Fraction(86400), "days")
_add_units("time", "week", Fraction(604800), "weeks")
_add_units("volume", "L", Fraction(1), "l", "liter", "liters", "litre", "litres")
_add_units("volume", "mL", Fraction(1, 1000), "ml", "milliliter", "milliliters", "millilitre")
_add_units("angle", "deg", Fraction(1), "degree", "degrees", "°", "\\circ", "^\\circ")
_add_units("money", "dollar", Fraction(1), "dollars")
_add_units("money", "cent", Fraction(1, 100), "cents")
_add_units("speed", "m/s", Fraction(1))
_add_units("speed", "km/h", Fraction(5, 18), "kph", "km/hr")
_add_units("speed", "mph", Fraction(1609344, 3600000), "mi/h", "miles per hour")

_UNIT_WRAP_RE = re.compile(
    r"^(?P<value>.*?)\s*(?:\\[,;:! ]\s*|~)*"
    r"(?:\\(?:text|mathrm|textrm|mbox|operatorname)\s*\{\s*(?P<wrapped>[^{}]*?)\s*\}"
    r"|(?P<bare>(?<![A-Za-z\\])[A-Za-z°][A-Za-z/ ]*?|\^\s*\{?\\circ\}?|°))"
    r"\s*(?:\^\s*\{?(?P<power>[23])\}?)?\s*$",
    re.S,
)
_UNIT_VALUE_RE = re.compile(r"[-+]?[\d.,{}\\a-z ]*\d[\d.,{}\\a-z ()+/-]*")


def _split_unit(ans: str) -> tuple[str, str, int] | None:
    """``7\\text{ km}`` -> ("7", "km", 1); ``5 cm^2`` -> ("5", "cm", 2); None without a known
    unit after a number-like value."""
    if len(ans) > 200:
        return None
    m = _UNIT_WRAP_RE.match(ans.strip())
    if not m:
        return None
    value = m.group("value").strip()
    unit = (m.group("wrapped") if m.group("wrapped") is not None else m.group("bare")) or ""
    unit = " ".join(unit.replace("\\ ", " ").split())
    if unit.startswith("^"):
        unit = "^\\circ"
    if not value or unit not in _UNITS or not _UNIT_VALUE_RE.fullmatch(value):
        return None
    # Only numbers and number-like LaTeX (\frac, \sqrt, \pi) may carry a unit: "2x m" is algebra.
    if re.search(r"(?<!\\)\b[a-zA-Z]\b", _LATEX_CMD_RE.sub(" ", value)):
        return None
    return value, unit, int(m.group("power") or 1)


def _compare_units(pred: str, gold: str) -> tuple[str, str, str] | bool | None:
    """Both answers carry units: (pred value, gold value, unit) to compare when the units are the
    same, True/False when the values are plain numbers in units of one dimension (converted
    exactly), False for units that differ otherwise; None when not both carry a unit."""
    up, ug = _split_unit(pred), _split_unit(gold)
    if up is None or ug is None:
        return None
    (vp, np_, pp), (vg, ng, pg) = up, ug
    cp, dp, sp = _UNITS[np_]
    cg, dg, sg = _UNITS[ng]
    if pp != pg or dp != dg:
        return False
    if cp == cg:
        return vp, vg, cp
    kp, kg = _number_key(vp), _number_key(vg)
    if kp is None or kg is None or max(len(kp[1]) + abs(kp[2]), len(kg[1]) + abs(kg[2])) > 60:
        return False
    return _key_fraction(kp) * sp**pp == _key_fraction(kg) * sg**pg


def _key_fraction(key: tuple[int, str, int]) -> Fraction:
    sign, digits, exp = key
    q = Fraction(int(digits)) * (Fraction(10) ** exp)
    return -q if sign < 0 else q


_REPEAT_RE = re.compile(
    r"^(?P<sign>[-+]?)(?P<whole>\d*)\.(?P<fixed>\d*)"
    r"(?:\\overline\s*\{(?P<rep>\d+)\}|\\overline\s*(?P<rep1>\d)|\\dot\s*\{(?P<dot>\d)\}"
    r"|\((?P<paren>\d+)\))$"
)


def _repeating_decimal(ans: str) -> str | None:
    """``0.1\\overline{6}`` (also ``\\dot{6}`` and ``0.1(6)``) -> ``\\frac{1}{6}``; None for
    anything else."""
    t = _norm(ans).replace("{,}", "")
    if len(t) > 120:
        return None
    m = _REPEAT_RE.match(t)
    if not m:
        return None
    rep = m.group("rep") or m.group("rep1") or m.group("dot") or m.group("paren")
    whole, fixed = m.group("whole") or "0", m.group("fixed")
    num = int(whole + fixed + rep) - int(whole + fixed)
    den = (10 ** len(rep) - 1) * 10 ** len(fixed)
    q = Fraction(num, den) * (-1 if m.group("sign") == "-" else 1)
    if q.denominator == 1:
        return str(q.numerator)
    sign = "-" if q < 0 else ""
    return f"{sign}\\frac{{{abs(q.numerator)}}}{{{q.denominator}}}"


_REL_RE = re.compile(r"\\leqslant|\\geqslant|\\leq|\\geq|\\le|\\ge|\\lt|\\gt|<=|>=|[<>≤≥]")
_REL = {
    "\\leqslant": "<=", "\\leq": "<=", "\\le": "<=", "<=": "<=", "≤": "<=",
    "\\geqslant": ">=", "\\geq": ">=", "\\ge": ">=", ">=": ">=", "≥": ">=",
    "\\lt": "<", "<": "<", "\\gt": ">", ">": ">",
}  # fmt: skip
_VARIABLE_RE = re.compile(r"[A-Za-z]|\\(?:alpha|beta|gamma|theta|phi|lambda|mu|omega|tau)")


def _inequality_interval(ans: str) -> str | None:
    """A range of one variable as an interval: ``2\\le x\\le 5`` -> ``[2,5]``, ``x>3`` ->
    ``(3,\\infty)``, ``5\\ge x>1`` -> ``(1,5]``; None for anything else."""
    t = _norm(ans)
    if len(t) > 400 or "," in t or "\\text" in t:
        return None
    ops = [m.group(0) for m in _REL_RE.finditer(t)]
    if not 1 <= len(ops) <= 2:
        return None
    parts = [p.strip() for p in _REL_RE.split(t)]
    if any(not p for p in parts):
        return None
    rels = [_REL[o] for o in ops]
    if len(parts) == 3:
        lo_rel, hi_rel = rels
        if not _VARIABLE_RE.fullmatch(parts[1]):
            return None
        if all(r.startswith("<") for r in rels):
            lo, hi = parts[0], parts[2]
        elif all(r.startswith(">") for r in rels):
            lo, hi = parts[2], parts[0]
            lo_rel, hi_rel = hi_rel, lo_rel
        else:
            return None
        return (
            f"{'[' if lo_rel.endswith('=') else '('}{lo},{hi}{']' if hi_rel.endswith('=') else ')'}"
        )
    left, right = parts
    rel = rels[0]
    if _VARIABLE_RE.fullmatch(left) and not _VARIABLE_RE.fullmatch(right):
        bound, var_left = right, True
    elif _VARIABLE_RE.fullmatch(right) and not _VARIABLE_RE.fullmatch(left):
        bound, var_left = left, False
    else:
        return None
    upper = rel.startswith("<") == var_left  # x < b, or b > x: b is an upper bound
    closed = rel.endswith("=")
    if upper:
        return f"(-\\infty,{bound}{']' if closed else ')'}"
    return f"{'[' if closed else '('}{bound},\\infty)"


def _canonical_form(ans: str) -> str:
    """Rewrites a careful reader makes before comparing: repeating decimals as fractions, a
    variable's range as an interval."""
    return _repeating_decimal(ans) or _inequality_interval(ans) or ans


def _gold_text(gold: Any) -> str:
    if isinstance(gold, bool) or not isinstance(gold, str | int | float | Fraction):
        raise TypeError(f"gold answer must be a string or a number, got {type(gold).__name__}")
    if isinstance(gold, float):
        return repr(int(gold)) if gold.is_integer() else repr(gold)
    return str(gold)


def _extract_gold(gold: str) -> str | None:
    if "####" in gold:
        return _gsm_answer(gold)
    if "\\boxed" in gold or "\\fbox" in gold:
        return last_boxed(gold)
    g = gold.strip().strip("$").strip()
    return g or None


def extract_answer(
    text: str,
    mode: str = "auto",
    *,
    choices: Sequence[str] | Mapping[str, str] | str | None = None,
) -> str | None:
    """The final answer a response states, or ``None`` when none can be read.

    ``mode`` is one of :data:`MODES` (see the module docstring for the rules); ``choice`` (and
    ``auto`` with ``choices``) returns the chosen letter.
    """
    if not isinstance(text, str):
        raise TypeError(f"response must be a string, got {type(text).__name__}")
    mode = _check_mode(mode, choices)
    if mode == "choice":
        return _extract_choice(text, _choice_letters(choices))  # type: ignore[arg-type]
    return _extract(text, mode)[0]


def _extract(text: str, mode: str) -> tuple[str | None, str]:
    """(answer, how) for the math/gsm8k/auto modes."""
    if mode == "gsm8k":
        got = _gsm_answer(text)
        if got is not None:
            return _to_number_span(got), "gsm8k_marker"
    boxed = last_boxed(text)
    if boxed:
        return (_to_number_span(boxed) if mode == "gsm8k" else boxed), "boxed"
    if mode == "auto":
        got = _gsm_answer(text)
        if got is not None:
            return got, "gsm8k_marker"
    stated = _answer_after_anchor(text)
    if stated:
        return (_to_number_span(stated) if mode == "gsm8k" else stated), "answer_is"
    bare = _bare_answer(text)
    if bare:
        return (_to_number_span(bare) if mode == "gsm8k" else bare), "bare"
    if mode == "gsm8k":
        num = _last_number(text)
        if num is not None:
            return num, "last_number"
    return None, "none"


def _check_mode(mode: str, choices: Any) -> str:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if mode == "choice" and choices is None:
        raise ValueError("mode='choice' needs choices (option texts, a letter->text map or 'ABCD')")
    if mode == "auto" and choices is not None:
        return "choice"
    return mode


# ---------------------------------------------------------------------------- item preparation


@dataclass(slots=True)
class _Job:
    """One item that needs math-verify: extracted answer, gold answer, and the verdict data."""

    index: int
    pred: str
    gold: str
    data: dict[str, Any] = field(default_factory=dict)
    prep_elapsed: float = 0.0


def _prepare(index: int, response: Any, gold: Any, mode: str, choices: Any) -> Verdict | _Job:
    """Extract and try the cheap checks; a Verdict when they decide, else a job for the pool."""
    t0 = time.perf_counter()
    if not isinstance(response, str):
        raise _BadResponse(
            f"item {index}: response must be a string, got {type(response).__name__}"
        )
    mode = _check_mode(mode, choices)
    if mode == "choice":
        letters = _choice_letters(choices)
        gold_letter = _gold_letter(gold, letters)
        got = _extract_choice(response, letters)
        data = {"extracted": got, "gold": gold_letter, "mode": mode, "method": "choice"}
        if got is None:
            return Verdict(
                "format_error",
                0.0,
                f"no choice among {''.join(letters)} found in the response",
                time.perf_counter() - t0,
                data,
            )
        ok = got == gold_letter
        return Verdict(
            "ok" if ok else "wrong",
            1.0 if ok else 0.0,
            f"chose {got}, gold {gold_letter}",
            time.perf_counter() - t0,
            data,
        )

    gold_raw = _gold_text(gold)
    if mode == "auto" and "####" in gold_raw:
        mode = "gsm8k"
    gold_ans = _extract_gold(gold_raw)
    if gold_ans is None:
        raise ValueError(f"item {index}: the gold answer {gold_raw!r} holds no answer")
    if mode == "gsm8k":
        gold_ans = _to_number_span(gold_ans)
    pred, how = _extract(response, mode)
    data: dict[str, Any] = {"extracted": pred, "gold": gold_ans, "mode": mode, "extraction": how}

    def done(status: str, method: str, detail: str) -> Verdict:
        data["method"] = method
        score = 1.0 if status == "ok" else 0.0
        return Verdict(status, score, detail[:_MAX_DETAIL], time.perf_counter() - t0, data)

    if pred is None:
        return done("format_error", "none", "no final answer found in the response")
    if _norm(pred) == _norm(gold_ans):
        return done("ok", "string", "same answer as the gold (after LaTeX spacing normalisation)")
    units = _compare_units(pred, gold_ans)
    if units is True:
        return done(
            "ok", "units", f"{pred[:200]} equals the gold {gold_ans[:200]} (units converted)"
        )
    if units is False:
        return done(
            "wrong", "units", f"the units of {pred[:200]} differ from the gold {gold_ans[:200]}"
        )
    if units is not None:  # the same unit on both sides: compare the values
        pred, gold_ans, _unit = units
        data["unit"] = _unit
        if _norm(pred) == _norm(gold_ans):
            return done("ok", "string", f"same value in the same unit ({_unit})")
    pred, gold_ans = _canonical_form(pred), _canonical_form(gold_ans)
    fp, fg = _number_key(pred), _number_key(gold_ans)
    if fp is not None and fg is not None:
        if fp == fg:
            return done("ok", "numeric", f"{pred} equals the gold {gold_ans}")
        return done("wrong", "numeric", f"{pred} differs from the gold {gold_ans}")
    same_base = _compare_bases(pred, gold_ans)
    if same_base is not None:
        if same_base:
            return done("ok", "base", f"{pred} is the gold {gold_ans} (base subscripts)")
        return done("wrong", "base", f"{pred} differs from the gold {gold_ans} (base subscripts)")
    data["method"] = "math_verify"
    job_pred, job_gold = _sci_to_latex(pred), _sci_to_latex(gold_ans)
    return _Job(index, job_pred, job_gold, data, time.perf_counter() - t0)


def _prepare_item(i: int, item: Any, mode: str, choices: Any) -> Verdict | _Job:
    """:func:`_prepare` for one batch item; a bad item becomes its own verdict, never an
    exception, so the rest of the batch is graded."""
    t0 = time.perf_counter()
    try:
        response, gold, item_mode, item_choices = _unpack(i, item, mode, choices)
        return _prepare(i, response, gold, item_mode, item_choices)
    except _BadResponse as exc:
        return Verdict("format_error", 0.0, str(exc)[:_MAX_DETAIL], time.perf_counter() - t0, {})
    except Exception as exc:  # a bad gold, mode or item, or input no rule foresaw
        reason = str(exc) if isinstance(exc, ValueError | TypeError) else repr(exc)
        return Verdict(
            "error",
            0.0,
            f"cannot grade item {i}: {type(exc).__name__}: {reason}"[:_MAX_DETAIL],
            time.perf_counter() - t0,
            {},
        )


class _BadResponse(TypeError):
    """The response is not text."""


# ----------------------------------------------------------------------------------- the worker


class _SoftTimeout(BaseException):
    """Raised inside a worker by its own alarm (BaseException: math-verify's handlers skip it)."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise _SoftTimeout()


#: Private test hook: a gold answer ``_DEBUG + "sleep S"`` makes the worker sleep S seconds with
#: its soft alarm off (a hang in C code that ignores signals), ``"exit N"`` makes it exit with
#: code N, ``"alloc M"`` allocates M MiB. Real answers never start with a NUL byte.
_DEBUG = "\x00spenv-debug:"


def _debug_command(command: str) -> tuple[str, str]:
    verb, _, arg = command.partition(" ")
    if verb == "sleep":
        time.sleep(float(arg))
    elif verb == "exit":
        os._exit(int(arg))
    elif verb == "alloc":
        block = bytearray(int(arg) * 1024 * 1024)
        del block
    return "error", f"debug command {command!r} done"


def _equivalent(pred: str, gold: str) -> tuple[str, str]:
    """(status, detail) from math-verify; runs in a worker.

    Both answers are parsed as one whole LaTeX expression: math-verify's defaults fall back to
    any piece of the text that parses when the whole does not, which would turn
    ``\\frac{1}{3}E_{1}+\\frac{2}{3}E_{2}`` into ``2/3``.
    """
    from math_verify import verify

    gold_parsed = _parse_gold(gold)
    if not gold_parsed:
        return "error", f"math-verify could not parse the gold answer {gold[:200]!r}"
    pred_parsed = _parse_latex(pred)
    if not pred_parsed:
        return "format_error", f"math-verify could not parse the answer {pred[:200]!r}"
    gold_parsed, pred_parsed = _imaginary_unit(gold_parsed, pred_parsed)
    errors = []
    for g in gold_parsed:
        for p in pred_parsed:
            if isinstance(g, str) != isinstance(p, str):
                continue  # math-verify never equates text with an expression
            try:
                if verify(g, p, timeout_seconds=None, raise_on_error=True):
                    return "ok", "equivalent to the gold (math-verify)"
            except Exception as e:
                errors.append(type(e).__name__)
    if all(isinstance(g, str) for g in gold_parsed):
        return "error", (
            f"math-verify could not read the gold answer {gold[:200]!r} as math, "
            "and the answer is not the same text"
        )
    if all(isinstance(p, str) for p in pred_parsed):
        return "format_error", f"the answer {pred[:200]!r} could not be read as math"
    if errors and len(errors) == sum(
        not isinstance(g, str) and not isinstance(p, str) for g in gold_parsed for p in pred_parsed
    ):
        return "error", f"math-verify failed on every comparison ({', '.join(errors)})"
    return "wrong", "not equivalent to the gold (math-verify)"


def _imaginary_unit(gold: list[Any], pred: list[Any]) -> tuple[list[Any], list[Any]]:
    """Read the symbol ``i`` as the imaginary unit, as a reader of a final answer does
    (``e^{i\\pi}`` is -1, ``(1+i)^2`` is ``2i``), on both sides when either side has it."""
    import sympy

    def has_i(x: Any) -> bool:
        return isinstance(x, sympy.Basic) and any(str(v) == "i" for v in x.free_symbols)

    if not any(has_i(x) for x in (*gold, *pred)):
        return gold, pred

    def sub(items: list[Any]) -> list[Any]:
        out = []
        for x in items:
            if has_i(x):
                with contextlib.suppress(Exception):
                    x = x.subs({v: sympy.I for v in x.free_symbols if str(v) == "i"})
            out.append(x)
        return out

    return sub(gold), sub(pred)


def _parse_latex(answer: str) -> list[Any]:
    from math_verify import LatexExtractionConfig, parse

    return parse(
        "\\boxed{" + answer + "}",
        [LatexExtractionConfig(boxed_match_priority=0)],
        extraction_mode="first_match",  # the whole box or nothing, never a piece of it
        parsing_timeout=None,
    )


@lru_cache(maxsize=4096)
def _parse_gold(gold: str) -> list[Any]:
    return _parse_latex(gold)


def _worker_entry(fd: int, memory_limit_mb: int | None) -> None:
    """Entry point of a worker interpreter: ``fd`` is its end of the socket pair."""
    _worker_main(Connection(fd), memory_limit_mb)


def _worker_main(conn: Any, memory_limit_mb: int | None) -> None:
    """Worker loop: answer ``(job_id, pred, gold, soft_timeout)`` messages until EOF/None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        if memory_limit_mb:
            import resource

            limit = int(memory_limit_mb) * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        import math_verify.grader
        import math_verify.parser

        # We run without math-verify's own alarms (see the module docstring); silence the
        # one-time warning it logs about that.
        math_verify.grader.TIMEOUT_WARNING_SHOWN = True
        math_verify.parser.TIMEOUT_WARNING_SHOWN = True
        signal.signal(signal.SIGALRM, _on_alarm)
    except BaseException as e:
        with contextlib.suppress(Exception):
            conn.send(("fatal", f"{type(e).__name__}: {e}"))
        return
    conn.send(("ready", os.getpid()))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        job_id, pred, gold, soft = msg
        t0 = time.perf_counter()
        try:
            if gold.startswith(_DEBUG):
                status, detail = _debug_command(gold[len(_DEBUG) :])
            else:
                signal.setitimer(signal.ITIMER_REAL, soft)
                try:
                    status, detail = _equivalent(pred, gold)
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
        except _SoftTimeout:
            status, detail = "timeout", f"math-verify ran past the {soft:.2f}s soft limit"
        except MemoryError:
            status, detail = "error", f"math-verify ran out of memory ({memory_limit_mb} MiB)"
        except Exception as e:
            status, detail = "error", f"math-verify failed: {type(e).__name__}"
        except BaseException as e:  # e.g. a late _SoftTimeout raised inside a handler
            status, detail = "error", f"math-verify aborted: {type(e).__name__}"
        try:
            conn.send((job_id, status, detail[:_MAX_DETAIL], time.perf_counter() - t0))
        except (EOFError, OSError):
            return


# -------------------------------------------------------------------------------------- the pool


class _Worker:
    """A worker process (``subprocess.Popen``), its connection, and the item it is grading."""

    __slots__ = ("conn", "deadline", "msg_id", "pos", "proc", "ready", "sent")

    def __init__(self, proc: Any, conn: Any, start_deadline: float) -> None:
        self.proc = proc
        self.conn = conn
        self.ready = False
        self.deadline = start_deadline  # start-up deadline until ready, then the item's
        self.pos: int | None = None  # position of the item in the running batch
        self.msg_id = 0
        self.sent = 0.0


def _kill(w: _Worker) -> None:
    with contextlib.suppress(Exception):
        if w.proc.poll() is None:
            w.proc.kill()
        w.proc.wait(5)
    with contextlib.suppress(Exception):
        w.conn.close()


def _close_workers(workers: list[_Worker]) -> None:
    for w in workers:
        with contextlib.suppress(Exception):
            w.conn.send(None)
    deadline = time.monotonic() + 0.5  # workers hold no state: a short grace, then SIGKILL
    for w in workers:
        with contextlib.suppress(Exception):
            w.proc.wait(max(0.01, deadline - time.monotonic()))
        _kill(w)
    workers.clear()


def _check_timeout(timeout: Any) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    return float(timeout)


def _unpack(i: int, item: Any, mode: str, choices: Any) -> tuple[Any, Any, str, Any]:
    if isinstance(item, Mapping):
        if "response" not in item or "gold" not in item:
            raise ValueError(f"item {i}: a mapping item needs 'response' and 'gold' keys")
        return item["response"], item["gold"], item.get("mode", mode), item.get("choices", choices)
    if isinstance(item, tuple | list) and len(item) in (2, 3):
        return item[0], item[1], mode, item[2] if len(item) == 3 else choices
    raise ValueError(
        f"item {i}: expected (response, gold), (response, gold, choices) or a mapping, "
        f"got {type(item).__name__}"
    )


class MathGrader:
    """Grades math answers in a pool of worker processes with a wall-clock limit per item.

    ``workers`` processes (default: the CPU count, at most 8) are started on demand and kept
    between calls; use the grader as a context manager or call :meth:`close`. ``timeout`` is the
    default per-item limit in seconds, counted from the moment a worker receives the item; an item
    that runs past it is killed with its worker, a replacement starts at once, and the verdict is
    ``timeout``. ``memory_limit_mb`` caps each worker's address space (``None``: no cap).

    Workers are fresh interpreters (``python``, default ``sys.executable``, with this process's
    ``sys.path``) started with :mod:`subprocess`, so they are safe to start from processes that
    run threads, never re-import the caller's ``__main__``, and leave the caller's
    multiprocessing settings alone; each loads math-verify once (about half a second).

    One batch runs at a time per grader (calls from several threads take turns).
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        memory_limit_mb: int | None = DEFAULT_MEMORY_LIMIT_MB,
        python: str | None = None,
        startup_timeout: float = 120.0,
    ) -> None:
        if workers is None:
            workers = min(os.cpu_count() or 1, 8)
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be a positive integer, got {workers!r}")
        self.workers = workers
        self.timeout = _check_timeout(timeout)
        self.memory_limit_mb = memory_limit_mb
        self.python = python or sys.executable
        self.startup_timeout = _check_timeout(startup_timeout)
        self._pool: list[_Worker] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._msg_ids = 0
        #: Counters: workers started, killed at the hard limit, and died on their own.
        self.stats = {"started": 0, "killed": 0, "died": 0}
        self._finalizer = weakref.finalize(self, _close_workers, self._pool)

    # ------------------------------------------------------------------ public
    def grade(
        self,
        response: str,
        gold: Any,
        *,
        mode: str = "auto",
        choices: Sequence[str] | Mapping[str, str] | str | None = None,
        timeout: float | None = None,
    ) -> Verdict:
        """Grade one response against one gold answer (see the module docstring)."""
        return self.grade_batch([(response, gold)], mode=mode, choices=choices, timeout=timeout)[0]

    def grade_batch(
        self,
        items: Iterable[Any],
        *,
        mode: str = "auto",
        choices: Sequence[str] | Mapping[str, str] | str | None = None,
        timeout: float | None = None,
    ) -> list[Verdict]:
        """Grade many items; the verdicts come back in input order.

        An item is a ``(response, gold)`` pair, a ``(response, gold, choices)`` triple, or a
        mapping with ``response`` and ``gold`` and optionally ``mode`` and ``choices``; the
        ``mode`` and ``choices`` given here are the defaults for items that set none. A bad item
        never stops the batch: a response that is not a string is ``format_error``; an unknown
        mode, a gold naming no choice or holding no answer, a malformed item is ``error``, each
        with the reason (naming the item) in ``detail``. Only a bad ``timeout`` raises.
        """
        limit = self.timeout if timeout is None else _check_timeout(timeout)
        results: list[Verdict | None] = []
        jobs: list[_Job] = []
        for i, item in enumerate(items):
            got = _prepare_item(i, item, mode, choices)
            results.append(got if isinstance(got, Verdict) else None)
            if isinstance(got, _Job):
                jobs.append(got)
        if jobs:
            for job, (status, detail, elapsed) in zip(jobs, self._run(jobs, limit), strict=True):
                score = 1.0 if status == "ok" else 0.0
                verdict = Verdict(status, score, detail, job.prep_elapsed + elapsed, job.data)
                results[job.index] = verdict
        return results  # type: ignore[return-value]

    def close(self) -> None:
        """Stop the workers (the grader stays usable: a later call starts new ones)."""
        with self._lock:
            if os.getpid() == self._pid:
                _close_workers(self._pool)
            else:
                self._pool.clear()

    @property
    def running(self) -> int:
        """How many worker processes are alive now."""
        return len(self._pool)

    def worker_pids(self) -> list[int]:
        """Process ids of the current workers (for monitoring and tests)."""
        return [w.proc.pid for w in self._pool]

    def __enter__(self) -> MathGrader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"MathGrader(workers={self.workers}, timeout={self.timeout}, "
            f"memory_limit_mb={self.memory_limit_mb}, running={len(self._pool)})"
        )

    # ------------------------------------------------------------------ the pool
    def _start_worker(self) -> None:
        parent, child = socket.socketpair()
        code = (
            f"import sys; sys.path[:] = {json.dumps(sys.path)}; "
            "from spenv.verifiers.math import _worker_entry; "
            f"_worker_entry({child.fileno()}, {self.memory_limit_mb!r})"
        )
        try:
            proc = subprocess.Popen(
                [self.python, "-c", code],
                pass_fds=(child.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                close_fds=True,
            )
        finally:
            child.close()
        self.stats["started"] += 1
        conn = Connection(parent.detach())
        self._pool.append(_Worker(proc, conn, time.monotonic() + self.startup_timeout))

    def _drop(self, w: _Worker) -> None:
        _kill(w)
        with contextlib.suppress(ValueError):
            self._pool.remove(w)

    def _run(self, jobs: list[_Job], limit: float) -> list[tuple[str, str, float]]:
        with self._lock:
            if os.getpid() != self._pid:  # we were forked: those workers belong to the parent
                self._pool.clear()
                self._pid = os.getpid()
            try:
                return self._run_locked(jobs, limit)
            except BaseException:
                # Interrupted (KeyboardInterrupt) or failed: workers may hold stale items.
                _close_workers(self._pool)
                raise

    def _run_locked(self, jobs: list[_Job], limit: float) -> list[tuple[str, str, float]]:
        soft = max(limit - 0.25, limit * 0.5)
        pending = deque(range(len(jobs)))
        out: dict[int, tuple[str, str, float]] = {}
        failures: list[str] = []
        while pending or any(w.pos is not None for w in self._pool):
            busy = sum(w.pos is not None for w in self._pool)
            while len(self._pool) < min(self.workers, busy + len(pending)):
                self._start_worker()
            for w in list(self._pool):
                if w.ready and w.pos is None and pending:
                    self._send(w, pending, jobs, limit, soft)
            now = time.monotonic()
            wait_for = max(0.0, min(w.deadline for w in self._pool) - now)
            _mp_wait([w.conn for w in self._pool], timeout=wait_for)
            for w in list(self._pool):
                self._service(w, out, failures)
            now = time.monotonic()
            for w in list(self._pool):
                if now < w.deadline:
                    continue
                if w.pos is not None:
                    self.stats["killed"] += 1
                    out[w.pos] = (
                        "timeout",
                        f"no answer within the {limit:g}s limit; the worker was killed",
                        now - w.sent,
                    )
                    self._drop(w)
                elif not w.ready:
                    failures.append(f"a worker was not ready within {self.startup_timeout:g}s")
                    self._drop(w)
            if len(failures) >= 3:
                raise RuntimeError(
                    "math grading workers failed to start: " + "; ".join(failures[-3:])
                )
        return [out[i] for i in range(len(jobs))]

    def _send(
        self, w: _Worker, pending: deque[int], jobs: list[_Job], limit: float, soft: float
    ) -> None:
        pos = pending.popleft()
        self._msg_ids += 1
        try:
            w.conn.send((self._msg_ids, jobs[pos].pred, jobs[pos].gold, soft))
        except (OSError, ValueError):
            pending.appendleft(pos)  # the worker is gone; the item goes to another one
            self.stats["died"] += 1
            self._drop(w)
            return
        w.pos, w.msg_id = pos, self._msg_ids
        w.sent = time.monotonic()
        w.deadline = w.sent + limit

    def _service(self, w: _Worker, out: dict[int, tuple[str, str, float]], failures: list[str]):
        """Read what ``w`` sent; drop it if it died."""
        try:
            while w.conn.poll():
                msg = w.conn.recv()
                if msg[0] == "ready":
                    w.ready = True
                    w.deadline = float("inf")
                    failures.clear()
                elif msg[0] == "fatal":
                    failures.append(str(msg[1]))
                    self._drop(w)
                    return
                elif w.pos is not None and msg[0] == w.msg_id:
                    _, status, detail, _elapsed = msg
                    out[w.pos] = (status, detail, time.monotonic() - w.sent)
                    w.pos = None
                    w.deadline = float("inf")
        except (EOFError, OSError):
            with contextlib.suppress(subprocess.TimeoutExpired):
                w.proc.wait(1.0)  # the connection closed: the worker is exiting
        if w.proc.poll() is None:
            return
        code = w.proc.returncode
        if w.pos is not None:
            self.stats["died"] += 1
            out[w.pos] = (
                "error",
                f"the grading worker died on this item (exit code {code})",
                time.monotonic() - w.sent,
            )
        elif not w.ready:
            failures.append(f"a worker exited during start-up (exit code {code})")
        self._drop(w)


# ------------------------------------------------------------------------------ module level

_SHARED: MathGrader | None = None
_SHARED_LOCK = threading.Lock()


def _shared(workers: int | None = None) -> MathGrader:
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is not None and workers is not None and _SHARED.workers != workers:
            _SHARED.close()
            _SHARED = None
        if _SHARED is None:
            first = not _SHARED_REGISTERED
            _SHARED = MathGrader(workers)
            if first:
                _register_atexit()
        return _SHARED


_SHARED_REGISTERED = False


def _register_atexit() -> None:
    global _SHARED_REGISTERED
    _SHARED_REGISTERED = True
    atexit.register(shutdown)


def shutdown() -> None:
    """Stop the shared grader's workers (a later :func:`grade` starts them again)."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is not None:
            _SHARED.close()
            _SHARED = None


def grade(
    response: str,
    gold: Any,
    *,
    mode: str = "auto",
    choices: Sequence[str] | Mapping[str, str] | str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Verdict:
    """Grade one response against a gold answer; see the module docstring.

    Cheap cases (same answer, plain numbers, multiple choice, no answer) are decided in this
    process; the rest go to a shared :class:`MathGrader` started on first use.
    """
    return grade_batch([(response, gold)], mode=mode, choices=choices, timeout=timeout)[0]


def grade_batch(
    pairs: Iterable[Any],
    *,
    workers: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    mode: str = "auto",
    choices: Sequence[str] | Mapping[str, str] | str | None = None,
) -> list[Verdict]:
    """Grade many ``(response, gold)`` items (see :meth:`MathGrader.grade_batch`) on the shared
    grader; ``workers`` resizes it."""
    items = list(pairs)
    _check_timeout(timeout)
    return _shared(workers).grade_batch(items, mode=mode, choices=choices, timeout=timeout)
