"""Builds ``math_corpus.jsonl``: real benchmark gold answers, each with answers a careful grader
must accept (``expect: ok``, the same value written another way) and near misses it must refuse
(``expect: wrong``, one small change of value, unit, bracket or sign).

Run from the repository root: ``python tests/verifiers/data/make_math_corpus.py``. The output is
deterministic (rules applied in file order; no randomness).
"""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path

from spenv.datafiles import benchmark_root

OUT = Path(__file__).with_name("math_corpus.jsonl")
_INT = re.compile(r"-?\d+")
_DEC = re.compile(r"-?\d+\.\d+")
_FRAC = re.compile(r"(-?)\\[dt]?frac\s*\{?(\d+)\}?\s*\{?(\d+)\}?")
_INTERVAL = re.compile(
    r"(?:\\left)?\s*([\[(])\s*([^,\[\]()]+?)\s*,\s*([^,\[\]()]+?)\s*(?:\\right)?\s*([\])])"
)
_COMPLEX = re.compile(r"(-?\d+)\s*([+-])\s*(\d*)i")
_UNIT = re.compile(r"(\d+(?:\.\d+)?)\s*\\(?:text|mbox|mathrm)\{\s*([a-z]+)\s*\}(\^2)?")
_SQRT = re.compile(r"(\d*)\\sqrt\{(\d+)\}")
_OTHER_UNIT = {
    "cm": "m", "m": "km", "km": "m", "inches": "feet", "feet": "inches", "cents": "dollars",
    "dollars": "cents", "minutes": "hours", "hours": "minutes", "meters": "centimeters",
    "degrees": "minutes", "units": "meters", "min": "h", "minute": "hour", "km/h": "m/s",
}  # fmt: skip


_CONVERT = {
    "min": (60, "seconds"), "minutes": (60, "seconds"), "hours": (60, "minutes"),
    "km": (1000, "m"), "cm": (10, "mm"), "m": (100, "cm"), "feet": (12, "inches"),
}  # fmt: skip


def _rows(suite: str) -> list[dict]:
    root = benchmark_root()
    with open(root / suite / "test.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _frac(q: Fraction) -> str:
    if q.denominator == 1:
        return str(q.numerator)
    sign = "-" if q < 0 else ""
    return f"{sign}\\frac{{{abs(q.numerator)}}}{{{q.denominator}}}"


def _decimal(q: Fraction) -> tuple[str, str, str, str]:
    """(sign, whole part, fixed digits, repeating digits) of ``q``'s decimal expansion."""
    sign = "-" if q < 0 else ""
    q = abs(q)
    whole, rem = divmod(q.numerator, q.denominator)
    digits: list[str] = []
    seen: dict[int, int] = {}
    while rem and rem not in seen:
        seen[rem] = len(digits)
        rem *= 10
        digits.append(str(rem // q.denominator))
        rem %= q.denominator
    start = seen[rem] if rem else len(digits)
    return sign, str(whole), "".join(digits[:start]), "".join(digits[start:])


def _repeating(q: Fraction) -> str | None:
    """``1/6`` -> ``0.1\\overline{6}``; None for terminating decimals or long periods."""
    sign, whole, fixed, rep = _decimal(q)
    if not rep or len(rep) > 6:
        return None
    return f"{sign}{whole}.{fixed}\\overline{{{rep}}}"


def _terminating(q: Fraction) -> str | None:
    """``3/8`` -> ``0.375``; None when the expansion repeats or is long."""
    sign, whole, fixed, rep = _decimal(q)
    if rep or len(fixed) > 10:
        return None
    return f"{sign}{whole}.{fixed}" if fixed else f"{sign}{whole}"


def forms(gold: str, problem: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(equivalent answers, near misses) of one gold, each as (answer, rule)."""
    g = gold.strip()
    ok: list[tuple[str, str]] = []
    bad: list[tuple[str, str]] = []
    if _INT.fullmatch(g):
        n = int(g)
        ok += [(f"{n}.0", "trailing zero"), (f"\\frac{{{2 * n}}}{{2}}", "unreduced fraction")]
        if abs(n) >= 1000:
            ok.append((f"{n:,}".replace(",", "{,}"), "thousands separator"))
        if n:
            ok.append((f"{n}.\\overline{{0}}", "repeating zero"))
            bad.append((str(-n), "sign"))
        bad += [(str(n + 1), "off by one"), (str(10 * n + 1), "extra digit")]
        if n >= 2:
            bad.append((f"{n - 1}.\\overline{{8}}", "repeating decimal just below"))
        return ok, bad
    m = _FRAC.fullmatch(g)
    if m and int(m.group(3)) != 0:
        q = Fraction(int(m.group(2)), int(m.group(3))) * (-1 if m.group(1) else 1)
        ok.append((f"{'-' if q < 0 else ''}{abs(q.numerator)}/{q.denominator}", "slash"))
        rep = _repeating(q)
        if rep:
            ok.append((rep, "repeating decimal"))
            other = _repeating(q + Fraction(1, q.denominator)) or _frac(
                q + Fraction(1, q.denominator)
            )
            bad.append((other, "repeating decimal of another fraction"))
            bad.append(
                (rep.split("\\overline")[0] + rep.split("{")[1].rstrip("}")[:1], "cut decimal")
            )
        dec = _terminating(q)
        if dec:
            ok.append((dec, "decimal"))
        if q.numerator != q.denominator and q.numerator:
            bad.append((_frac(1 / q), "reciprocal"))
        bad.append((_frac(q + Fraction(1, q.denominator)), "numerator plus one"))
        return ok, bad
    if _DEC.fullmatch(g):
        q = Fraction(g)
        ok += [(_frac(q), "fraction"), (g + "00", "trailing zeros")]
        last = g[-1]
        bad.append((g[:-1] + str((int(last) + 1) % 10), "last digit"))
        return ok, bad
    m = _UNIT.fullmatch(g)
    if m:
        value, unit, power = m.group(1), m.group(2), m.group(3) or ""
        ok.append((f"{value}\\,\\mathrm{{{unit}}}{power}", "unit spelled with mathrm"))
        ok.append((f"{value} {unit}{power}", "bare unit"))
        conv = _CONVERT.get(unit)
        if conv:
            factor, to = conv
            ok.append(
                (f"{Fraction(value) * factor ** (2 if power else 1)} {to}{power}", "unit converted")
            )
        other = _OTHER_UNIT.get(unit)
        if other:
            bad.append((f"{value}\\text{{ {other}}}{power}", "another unit"))
        if not power:
            bad.append((f"{value}\\text{{ {unit}}}^2", "unit squared"))
        return ok, bad
    m = _INTERVAL.fullmatch(g)
    is_range = m is not None and ("interval" in problem or "[" in g or "]" in g or "infty" in g)
    if is_range and "\\infty" not in m.group(2) + m.group(3):
        lo_b, lo, hi, hi_b = m.groups()
        lo_rel = "\\le" if lo_b == "[" else "<"
        hi_rel = "\\le" if hi_b == "]" else "<"
        ok.append((f"{lo} {lo_rel} x {hi_rel} {hi}", "chained inequality"))
        gt_lo = "\\ge" if lo_b == "[" else ">"
        gt_hi = "\\ge" if hi_b == "]" else ">"
        ok.append((f"{hi} {gt_hi} x {gt_lo} {lo}", "reversed chained inequality"))
        flip = "<" if lo_rel == "\\le" else "\\le"
        bad.append((f"{lo} {flip} x {hi_rel} {hi}", "other endpoint type"))
        bad.append((f"{lo} {lo_rel} x {hi_rel} {hi} + 1", "other endpoint"))
        return ok, bad
    if is_range:  # a half-line
        lo_b, lo, hi, hi_b = m.groups()
        if "\\infty" in hi and "\\infty" not in lo:
            rel, other = ("\\ge", ">") if lo_b == "[" else (">", "\\ge")
            ok.append((f"x {rel} {lo}", "one-sided inequality"))
            bad.append((f"x {other} {lo}", "other endpoint type"))
        elif "\\infty" in lo and "\\infty" not in hi:
            rel, other = ("\\le", "<") if hi_b == "]" else ("<", "\\le")
            ok.append((f"x {rel} {hi}", "one-sided inequality"))
            bad.append((f"x {other} {hi}", "other endpoint type"))
        return ok, bad
    m = _COMPLEX.fullmatch(g)
    if m:
        a, sign, b = m.group(1), m.group(2), m.group(3) or "1"
        ok.append((f"{sign}{b}i + {a}".lstrip("+"), "terms reordered"))
        ok.append((f"{a} {sign} {b} \\cdot i", "explicit product"))
        other = "-" if sign == "+" else "+"
        bad.append((f"{a} {other} {b}i", "conjugate"))
        bad.append((f"{b} {sign} {a}i".replace("--", "+").replace("+-", "-"), "parts swapped"))
        return ok, bad
    m = _SQRT.fullmatch(g)
    if m:
        k = int(m.group(1) or 1)
        r = int(m.group(2))
        ok.append((f"\\sqrt{{{k * k * r}}}", "coefficient under the root"))
        bad.append((f"{k}\\sqrt{{{r + 1}}}", "radicand plus one"))
        bad.append((f"{k + 1}\\sqrt{{{r}}}", "coefficient plus one"))
        return ok, bad
    if "^\\circ" in g and _INT.fullmatch(g.replace("^\\circ", "").strip()):
        n = int(g.replace("^\\circ", ""))
        ok += [(f"{n}^{{\\circ}}", "braced degree sign"), (f"{n} degrees", "degrees in words")]
        bad += [(f"{n + 1}^\\circ", "off by one"), (f"{n} minutes", "another unit")]
        return ok, bad
    return ok, bad


def golds() -> list[tuple[str, str, str, str]]:
    """(suite, item id, gold, problem text) of the real benchmark answers used."""
    out = []
    for i, r in enumerate(_rows("math500")):
        out.append(("math500", r.get("unique_id", str(i)), r["answer"], r["problem"]))
    for suite in ("aime24", "aime25", "amc23"):
        for r in _rows(suite):
            ans = r["answer"]
            if isinstance(ans, float) and ans.is_integer():
                ans = int(ans)
            out.append((suite, str(r["id"]), str(ans), r["problem"]))
    for i, r in enumerate(_rows("gsm8k")[::10]):
        out.append(("gsm8k", str(i * 10), r["answer"].split("####")[-1].strip(), r["question"]))
    for r in _rows("olympiadbench"):
        if len(r["final_answer"]) == 1 and r["unit"] in ("km", "minutes", "km/h", "min"):
            value = r["final_answer"][0].strip("$")
            out.append(
                ("olympiadbench", str(r["id"]), f"{value}\\text{{ {r['unit']}}}", r["question"])
            )
    return out


def main() -> None:
    rows = []
    integers = 0
    for suite, item, gold, problem in golds():
        if _INT.fullmatch(gold.strip()):
            integers += 1
            if integers % 4:
                continue  # every fourth integer gold: integers are most golds, not most rules
        ok, bad = forms(gold, problem)
        for answer, rule in ok:
            rows.append({"suite": suite, "id": item, "gold": gold, "answer": answer,
                         "expect": "ok", "rule": rule})  # fmt: skip
        for answer, rule in bad:
            rows.append({"suite": suite, "id": item, "gold": gold, "answer": answer,
                         "expect": "wrong", "rule": rule})  # fmt: skip
    with open(OUT, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    n_ok = sum(r["expect"] == "ok" for r in rows)
    print(f"{OUT}: {n_ok} equivalent forms, {len(rows) - n_ok} near misses")


if __name__ == "__main__":
    main()
