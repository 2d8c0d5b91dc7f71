"""Declared game options: one list per game drives construction, checking, error text, records
and docs.

A game lists its constructor options once, as ``OPTIONS``, a tuple of :class:`Option`::

    OPTIONS = (
        Option("max_turns", 10, Int(2, 20), "turns in the whole game"),
        Option("objective", "selfish", OneOf("selfish", "cooperative"), "what a seat scores"),
    )

:class:`~spenv.env.TextEnv` gathers the ``OPTIONS`` of the class and its bases (a subclass may
redeclare a base's option, e.g. to change its default), checks the keyword arguments against
them, sets each as an attribute of the env, and records the values in ``env_options()``: an
option is recorded when its value differs from its default (``record="always"``: always;
``record="own"``: never by the base class, the game records a derived form itself). An unknown
name, or a value its check refuses, raises :class:`ValueError` with one message naming the game,
the option, the value given and what is allowed. The generated page of each game lists its
options from the same declaration.

A check is a callable taking the value and returning it (possibly normalised: ``Number`` gives a
float) or raising ``ValueError``; its ``allowed`` text completes "must be ...".
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

RECORDS = ("changed", "always", "own")


class Check:
    """Base of the option checks: ``allowed`` completes "must be ..." in error messages."""

    allowed = "a valid value"

    def __call__(self, value: Any) -> Any:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.allowed!r})"


class Int(Check):
    """An integer (``True`` and ``False`` are not) from ``lo`` and, when given, up to ``hi``."""

    def __init__(self, lo: int | None = None, hi: int | None = None) -> None:
        self.lo, self.hi = lo, hi
        if lo is None and hi is None:
            self.allowed = "an integer"
        elif hi is None:
            named = {0: "a non-negative integer", 1: "a positive integer"}
            self.allowed = named.get(lo, f"an integer >= {lo}")  # type: ignore[arg-type]
        elif lo is None:
            self.allowed = f"an integer <= {hi}"
        else:
            self.allowed = f"an integer from {lo} to {hi}"

    def __call__(self, value: Any) -> int:
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or (self.lo is not None and value < self.lo)
            or (self.hi is not None and value > self.hi)
        ):
            raise ValueError
        return value


class Number(Check):
    """A finite real number (not a bool), returned as a float (``cast=False``: as given);
    bounds ``gt``/``ge``/``le``."""

    def __init__(
        self,
        *,
        gt: float | None = None,
        ge: float | None = None,
        le: float | None = None,
        allowed: str | None = None,
        cast: bool = True,
    ) -> None:
        self.gt, self.ge, self.le, self.cast = gt, ge, le, cast
        if allowed is not None:
            self.allowed = allowed
        elif gt == 0 and ge is None and le is None:
            self.allowed = "a positive number"
        else:
            parts = [f"> {gt:g}" if gt is not None else "", f">= {ge:g}" if ge is not None else ""]
            parts.append(f"<= {le:g}" if le is not None else "")
            bounds = " and ".join(p for p in parts if p)
            self.allowed = "a finite number" + (f" {bounds}" if bounds else "")

    def __call__(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError
        x = float(value)
        if (
            not math.isfinite(x)
            or (self.gt is not None and not x > self.gt)
            or (self.ge is not None and not x >= self.ge)
            or (self.le is not None and not x <= self.le)
        ):
            raise ValueError
        return x if self.cast else value


class OneOf(Check):
    """One of a few fixed values."""

    def __init__(self, *choices: Any) -> None:
        self.choices = choices
        shown = [repr(c) for c in choices]
        self.allowed = "one of " + (
            shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]
        )

    def __call__(self, value: Any) -> Any:
        # ``True == 1``: a bool matches only a bool choice, and the reverse.
        for c in self.choices:
            if value == c and isinstance(value, bool) == isinstance(c, bool):
                return c
        raise ValueError


class Bool(Check):
    """``True`` or ``False`` (not 0 or 1)."""

    allowed = "True or False"

    def __call__(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError
        return value


class Maybe(Check):
    """``None``, or a value ``inner`` accepts."""

    def __init__(self, inner: Check) -> None:
        self.inner = inner
        self.allowed = f"None or {inner.allowed}"

    def __call__(self, value: Any) -> Any:
        return None if value is None else self.inner(value)


class PathText(Check):
    """A file path (a string or a ``Path``), recorded as a string."""

    allowed = "a path"

    def __call__(self, value: Any) -> str:
        if not isinstance(value, str | Path):
            raise ValueError
        return str(value)


class Custom(Check):
    """A game's own check: ``fn(value)`` returns the value to keep or raises ``ValueError``
    (whose message, when there is one, is added to the error as its reason)."""

    def __init__(self, fn: Callable[[Any], Any], allowed: str) -> None:
        self.fn = fn
        self.allowed = allowed

    def __call__(self, value: Any) -> Any:
        return self.fn(value)


@dataclass(frozen=True, slots=True)
class Option:
    """One constructor option of a game: its name, default, check and a one-line doc.

    ``record`` says how ``env_options()`` records it: ``"changed"`` (the default: when the value
    differs from ``default``), ``"always"``, or ``"own"`` (the game records it itself).
    """

    name: str
    default: Any
    check: Check | None = None
    doc: str = ""
    record: str = "changed"

    def __post_init__(self) -> None:
        if self.record not in RECORDS:
            raise ValueError(f"Option record must be one of {RECORDS}, got {self.record!r}")

    def parse(self, value: Any, owner: str) -> Any:
        """The value to keep, or ``ValueError`` naming ``owner``, the option, the value and
        what is allowed."""
        if self.check is None:
            return value
        try:
            return self.check(value)
        except (ValueError, TypeError) as exc:
            reason = f" ({exc})" if isinstance(exc, ValueError) and str(exc) else ""
            shown = repr(value)
            if len(shown) > 200:
                shown = shown[:200] + "..."
            raise ValueError(
                f"{owner} option {self.name} must be {self.check.allowed}, got {shown}{reason}"
            ) from None


class Declared(dict):
    """The options of a class by name (a ``dict``), with their defaults worked out once."""

    __slots__ = ("copied", "defaults")

    def __init__(self, options: Mapping[str, Option]) -> None:
        super().__init__(options)
        self.defaults = {name: opt.default for name, opt in options.items()}
        #: Options whose default is a mapping or list: each env gets its own copy.
        self.copied = tuple(n for n, d in self.defaults.items() if type(d) in _CONTAINERS)


_DECLARED: dict[type, Declared] = {}


def declared_options(cls: type) -> Declared:
    """Every option of ``cls``: the ``OPTIONS`` of its bases first, then its own (a name
    declared again replaces the base's declaration in place)."""
    found = _DECLARED.get(cls)
    if found is None:
        options: dict[str, Option] = {}
        for klass in reversed(cls.__mro__):
            for opt in klass.__dict__.get("OPTIONS", ()):
                options[opt.name] = opt
        found = _DECLARED[cls] = Declared(options)
    return found


def parse_options(
    declared: Mapping[str, Option], given: Mapping[str, Any], owner: str
) -> dict[str, Any]:
    """Each declared option's value (given, checked, or its default) in declaration order;
    unknown names raise ``ValueError`` listing the known ones."""
    if not isinstance(declared, Declared):
        declared = Declared(declared)
    out = dict(declared.defaults)
    for name in declared.copied:
        out[name] = _copy(out[name])
    if not given:
        return out
    unknown = [k for k in given if k not in declared]
    if unknown:
        name = unknown[0]
        close = difflib.get_close_matches(str(name), list(declared), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ValueError(
            f"{owner} has no option {name!r}{hint}; its options: {', '.join(declared)}"
        )
    for name, value in given.items():
        out[name] = declared[name].parse(value, owner)
    return out


_CONTAINERS = (dict, list, MappingProxyType)


def _copy(value: Any) -> Any:
    """A fresh copy of a mapping or list (an env or a record never shares one)."""
    if isinstance(value, Mapping):
        return dict(value)
    return list(value) if isinstance(value, list) else value


def recorded_options(declared: Mapping[str, Option], values: Any) -> dict[str, Any]:
    """What ``env_options()`` records of ``values`` (an object whose attributes hold them)."""
    out = {}
    for name, opt in declared.items():
        if opt.record == "own":
            continue
        value = getattr(values, name)
        if opt.record == "always" or value != opt.default:
            out[name] = _copy(value)
    return out


def describe(declared: Sequence[Option] | Mapping[str, Option]) -> list[tuple[str, Any, str]]:
    """``(name, default, doc)`` of each option, for docs and help text."""
    opts = declared.values() if isinstance(declared, Mapping) else declared
    return [(o.name, o.default, o.doc) for o in opts]
