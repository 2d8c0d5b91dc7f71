"""The text tool-call format shared by the proposer-solver games.

A model acts in these games by writing tool calls as XML-like tags in its answer::

    I should look this up first.
    <search>founding year of Velmora</search>
    <open>place-velmora</open>

The tools are ``<search>``, ``<open>``, ``<answer>``, ``<question>``, ``<code>``, ``<tests>``,
``<statement>`` and ``<proof>`` (:data:`TOOLS`; games may :func:`register_tool` more). Each game
says which tags a role may use in a turn and how many calls a turn may hold.

Parsing rules (:func:`parse_calls`), chosen to be forgiving of how models write and strict about
what is kept:

- Tag names are case-insensitive and may carry whitespace inside the brackets (``< Search >``,
  ``</ search >``). Only the tags of the ``allowed`` set make calls; any other tag (``<b>``,
  ``<div>``, comparisons such as ``a<b>c`` in code) is plain text. A known tool tag that is not
  allowed in this turn is recorded as an error (the model used a tool it does not have here).
- A call's argument is everything up to the first matching closing tag (so ``<code>`` may hold
  ``<`` and other tags; it cannot hold its own closing tag). Text between calls is ignored.
- The argument is cleaned: common indentation removed (``textwrap.dedent``), leading blank lines
  and trailing whitespace dropped, and a single fenced block (```` ```python ... ``` ````) that
  makes up the whole argument is unwrapped. An empty argument is an error and makes no call.
- An unclosed tag: when no other allowed tag opens after it, its argument runs to the end of the
  text and the call counts (``closed=False``). This is what a model stopped by the stop sequence
  ``</answer>`` produces. When another allowed tag opens before any closing tag, the unclosed
  call is an error and dropped, and parsing resumes at the next tag.
- ``fenced``: a game that wants code may name the tool a fenced code block stands for
  (``fenced="code"``); a ```` ```python ````, ```` ```py ```` or bare ```` ``` ```` block outside
  any tag then makes a call of that name (an unclosed final fence runs to the end of the text).
- Limits: at most ``max_calls`` calls a turn (the extra calls are dropped with an error, never
  an exception); an argument over ``max_chars`` characters is an error and makes no call; only
  the first ``max_text`` characters of the text are read (the rest is reported as an error).

Malformed input never raises: :func:`parse_calls` returns a :class:`ParsedTurn` with the calls it
could read and one message per problem. :meth:`ParsedTurn.raise_for_errors` turns those into a
:class:`ToolCallError` for callers that want an exception; invalid use of the API itself (a bad
``max_calls``) raises :class:`ValueError`.

For prompts, :func:`render_tools` writes the documentation of a set of tools; for chat APIs with
native tool calling, :func:`openai_tools` gives the equivalent OpenAI function schemas and
:func:`from_openai_call` / :meth:`ToolCall.render` convert such a call back to the text format,
so an agent that speaks OpenAI tool calls can play the same games.
"""

from __future__ import annotations

import bisect
import json
import re
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DEFAULT_MAX_CHARS",
    "DEFAULT_MAX_TEXT",
    "TOOLS",
    "ParsedTurn",
    "ToolCall",
    "ToolCallError",
    "ToolSpec",
    "first",
    "from_openai_call",
    "openai_tools",
    "parse_calls",
    "register_tool",
    "render_tools",
]

#: The longest argument a call may have (characters), unless a game sets its own.
DEFAULT_MAX_CHARS = 20_000
#: How much of an answer is read (characters); the rest is reported and ignored.
DEFAULT_MAX_TEXT = 200_000

_NAME_RE = re.compile(r"[a-z][a-z0-9_-]*\Z")
_TAG_RE = re.compile(r"<\s*(/?)\s*([A-Za-z][A-Za-z0-9_-]*)\s*>")
_FENCE_OPEN_RE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n")
_FENCE_CLOSE_RE = re.compile(r"^[ \t]*```[ \t]*$", re.MULTILINE)
_WHOLE_FENCE_RE = re.compile(r"\A```[ \t]*[A-Za-z0-9_+-]*[ \t]*\n(.*?)\n?[ \t]*```\s*\Z", re.DOTALL)
_CODE_LANGS = frozenset({"", "python", "py", "python3"})


class ToolCallError(ValueError):
    """A turn's tool calls were malformed; ``errors`` lists each problem."""

    def __init__(self, errors: Iterable[str]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(self.errors) or "malformed tool calls")


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool's name, what it does (for prompts and schemas) and what its argument is."""

    name: str
    description: str
    argument: str = "text"
    argument_doc: str = ""

    def example(self) -> str:
        return f"<{self.name}>{self.argument_doc or self.argument}</{self.name}>"


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One call: the tool's (lower-case) name and its cleaned argument.

    ``start`` and ``end`` locate the call in the parsed text; ``closed`` is False for a final
    call whose closing tag was missing (or an unclosed fenced block).
    """

    name: str
    argument: str
    start: int = field(default=0, compare=False)
    end: int = field(default=0, compare=False)
    closed: bool = field(default=True, compare=False)

    def render(self) -> str:
        """The call in the text format (``<name>argument</name>``); an argument holding its
        own closing tag does not survive the round trip (the parser stops at that tag)."""
        return f"<{self.name}>{self.argument}</{self.name}>"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "argument": self.argument}


@dataclass(frozen=True, slots=True)
class ParsedTurn:
    """The calls read from one answer, in order, and the problems found (never raised)."""

    calls: tuple[ToolCall, ...] = ()
    errors: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the text parsed without any problem (it may still hold no call)."""
        return not self.errors

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.calls)

    def of(self, name: str) -> list[ToolCall]:
        """The calls of tool ``name``, in order."""
        name = name.lower()
        return [c for c in self.calls if c.name == name]

    def first(self, name: str) -> str | None:
        """The argument of the first call of ``name``, or None."""
        name = name.lower()
        for c in self.calls:
            if c.name == name:
                return c.argument
        return None

    def raise_for_errors(self) -> ParsedTurn:
        """Raise :class:`ToolCallError` when there were problems; return self otherwise."""
        if self.errors:
            raise ToolCallError(self.errors)
        return self

    def to_dict(self) -> dict[str, Any]:
        return {"calls": [c.to_dict() for c in self.calls], "errors": list(self.errors)}


TOOLS: dict[str, ToolSpec] = {}


def register_tool(spec: ToolSpec, *, replace: bool = False) -> ToolSpec:
    """Add a tool to :data:`TOOLS` (its name: lower-case letters, digits, ``_``, ``-``)."""
    if not _NAME_RE.match(spec.name):
        raise ValueError(f"tool name {spec.name!r} must match [a-z][a-z0-9_-]*")
    if spec.name in TOOLS and not replace and TOOLS[spec.name] != spec:
        raise ValueError(f"tool {spec.name!r} is already registered")
    TOOLS[spec.name] = spec
    return spec


for _spec in (
    ToolSpec(
        "search",
        "Search the document collection; returns the best matching documents "
        "with their ids, titles and snippets.",
        "query",
        "your search query",
    ),
    ToolSpec(
        "open",
        "Open a document by its id and read its full text.",
        "doc_id",
        "a document id from the search results",
    ),
    ToolSpec("answer", "Give your final answer.", "answer", "your final answer"),
    ToolSpec(
        "question", "Pose a question for another player to answer.", "question", "the question"
    ),
    ToolSpec("code", "Submit a Python program (a complete solution).", "code", "python code"),
    ToolSpec(
        "tests",
        "Submit unit tests: Python code with assert statements.",
        "tests",
        "assert statements",
    ),
    ToolSpec(
        "statement",
        "State a theorem (a conjecture) in the proof language.",
        "statement",
        "the theorem statement",
    ),
    ToolSpec(
        "proof", "Submit a proof of the theorem in the proof language.", "proof", "the proof script"
    ),
):
    register_tool(_spec)
del _spec


def _clean(raw: str) -> str:
    """Dedent, drop leading blank lines and trailing space, unwrap a whole fenced block."""
    text = textwrap.dedent(raw.replace("\r\n", "\n"))
    text = re.sub(r"\A(?:[ \t]*\n)+", "", text).rstrip()
    m = _WHOLE_FENCE_RE.match(text.lstrip())
    if m:
        text = re.sub(r"\A(?:[ \t]*\n)+", "", textwrap.dedent(m.group(1))).rstrip()
    if "\n" not in text:
        text = text.strip()
    return text


def _check_names(allowed: Iterable[str]) -> frozenset[str]:
    if isinstance(allowed, str):
        allowed = (allowed,)
    names = frozenset(n.lower() for n in allowed)
    for n in names:
        if not _NAME_RE.match(n):
            raise ValueError(f"tool name {n!r} must match [a-z][a-z0-9_-]*")
    return names


def parse_calls(
    text: str,
    allowed: Iterable[str],
    max_calls: int = 8,
    *,
    fenced: str | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
    max_text: int = DEFAULT_MAX_TEXT,
) -> ParsedTurn:
    """Read the tool calls of ``allowed`` tools from ``text`` (see the module docstring).

    ``max_calls`` bounds the calls kept (later ones are errors); ``fenced`` names the tool a
    fenced code block outside any tag stands for (it must be in ``allowed``). Never raises on
    any ``text``; raises ``ValueError`` for invalid arguments of its own.
    """
    names = _check_names(allowed)
    if isinstance(max_calls, bool) or not isinstance(max_calls, int) or max_calls < 0:
        raise ValueError(f"max_calls must be a non-negative integer, got {max_calls!r}")
    if max_chars < 1 or max_text < 1:
        raise ValueError("max_chars and max_text must be positive")
    if fenced is not None:
        fenced = fenced.lower()
        if fenced not in names:
            raise ValueError(f"fenced tool {fenced!r} is not among the allowed tools")
    errors: list[str] = []
    if not isinstance(text, str):
        return ParsedTurn((), (f"expected text, got {type(text).__name__}",))
    if len(text) > max_text:
        errors.append(
            f"the answer is {len(text)} characters long; only the first {max_text} were read"
        )
        text = text[:max_text]

    # One pass over the tags, then bisection: linear in the text even with many unclosed tags.
    opens: list[tuple[int, int, str]] = []  # allowed opening tags: (start, end, name)
    closes: dict[str, list[tuple[int, int]]] = {}  # closing tags of allowed tools
    foreign: list[tuple[int, str]] = []  # opening tags of known tools not allowed here
    for m in _TAG_RE.finditer(text):
        name = m.group(2).lower()
        if name in names:
            if m.group(1):
                closes.setdefault(name, []).append((m.start(), m.end()))
            else:
                opens.append((m.start(), m.end(), name))
        elif not m.group(1) and name in TOOLS:
            foreign.append((m.start(), name))
    open_starts = [o[0] for o in opens]
    close_starts = {k: [c[0] for c in v] for k, v in closes.items()}

    found: list[ToolCall] = []
    spans: list[tuple[int, int]] = []
    n = len(text)
    i = 0
    while i < len(opens):
        start, tag_end, name = opens[i]
        cs = close_starts.get(name, [])
        j = bisect.bisect_left(cs, tag_end)
        if j < len(cs):
            close_start, close_end = closes[name][j]
            raw, end, closed = text[tag_end:close_start], close_end, True
        else:
            k = bisect.bisect_left(open_starts, tag_end)
            if k < len(opens):
                _note(
                    errors,
                    f"<{name}> at character {start} is not closed before <{opens[k][2]}>; "
                    "that call was ignored",
                )
                i = k
                continue
            raw, end, closed = text[tag_end:], n, False
        spans.append((start, end))
        _add(found, errors, name, raw, start, end, closed, max_chars)
        i = bisect.bisect_left(open_starts, end, lo=i + 1)
    span_starts = [sp[0] for sp in spans]
    allowed_list = ", ".join(sorted(names)) or "none"
    for pos, name in foreign:
        if _inside(spans, span_starts, pos) is None:
            _note(errors, f"<{name}> is not available here (allowed: {allowed_list})")

    if fenced is not None:
        for start, end, raw, closed in _fences(text, spans):
            _add(found, errors, fenced, raw, start, end, closed, max_chars)
        found.sort(key=lambda c: c.start)

    if len(found) > max_calls:
        errors.append(
            f"{len(found)} tool calls in one turn; at most {max_calls} are allowed "
            f"(the last {len(found) - max_calls} were ignored)"
        )
        found = found[:max_calls]
    return ParsedTurn(tuple(found), tuple(errors))


def _inside(spans: list[tuple[int, int]], starts: list[int], pos: int) -> int | None:
    """The end of the span (sorted, disjoint) that holds ``pos``, or None."""
    k = bisect.bisect_right(starts, pos) - 1
    if k >= 0 and pos < spans[k][1]:
        return spans[k][1]
    return None


#: At most this many problems are listed per turn (the rest are counted in one line).
MAX_ERRORS = 20


def _note(errors: list[str], message: str) -> None:
    if len(errors) < MAX_ERRORS:
        errors.append(message)
    elif len(errors) == MAX_ERRORS:
        errors.append("more problems were found; only the first ones are listed")


def _add(
    found: list[ToolCall],
    errors: list[str],
    name: str,
    raw: str,
    start: int,
    end: int,
    closed: bool,
    max_chars: int,
) -> None:
    if len(raw) > max_chars:
        _note(
            errors,
            f"<{name}> argument is {len(raw)} characters long; the limit is "
            f"{max_chars}; that call was ignored",
        )
        return
    arg = _clean(raw)
    if not arg:
        _note(errors, f"<{name}> is empty; that call was ignored")
        return
    found.append(ToolCall(name, arg, start, end, closed))


def _fences(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int, str, bool]]:
    """Python (or bare) fenced blocks of ``text`` outside the tag ``spans`` (sorted)."""
    span_starts = [sp[0] for sp in spans]
    out = []
    pos = 0
    n = len(text)
    while pos < n:
        m = _FENCE_OPEN_RE.search(text, pos)
        if m is None:
            break
        inside = _inside(spans, span_starts, m.start())
        if inside is not None:
            pos = inside
            continue
        close = _FENCE_CLOSE_RE.search(text, m.end())
        if close is None:
            raw, end, closed = text[m.end() :], n, False
        else:
            raw, end, closed = text[m.end() : close.start()], close.end(), True
        if m.group(1).lower() in _CODE_LANGS:
            out.append((m.start(), end, raw, closed))
        pos = end
    return out


def first(text: str, tag: str, *, max_chars: int = DEFAULT_MAX_CHARS) -> str | None:
    """The argument of the first ``<tag>`` call in ``text`` (same rules as parse_calls), or None.

    Other tags are plain text here (so a ``<search>`` before the ``<answer>`` does not matter).
    """
    if not isinstance(text, str):
        return None
    parsed = parse_calls(text, {tag}, max_calls=1_000_000, max_chars=max_chars)
    return parsed.first(tag)


def _spec(name: str) -> ToolSpec:
    try:
        return TOOLS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown tool {name!r}; known: {', '.join(sorted(TOOLS))}") from None


def render_tools(
    names: Iterable[str],
    *,
    max_calls: int | None = None,
    descriptions: Mapping[str, str] | None = None,
    fenced: str | None = None,
) -> str:
    """The tool documentation for a prompt: each tool's tag, what it does, and the rules.

    ``descriptions`` overrides a tool's description for this game (e.g. what ``<answer>`` must
    hold); ``max_calls`` and ``fenced`` add the matching rule lines.
    """
    descriptions = descriptions or {}
    lines = ["Use tools by writing tags in your answer, for example:"]
    for name in names:
        spec = _spec(name)
        desc = descriptions.get(spec.name, spec.description)
        lines.append(f"  {spec.example()}  : {desc}")
    lines.append("Text outside the tags is ignored.")
    if max_calls is not None:
        lines.append(f"At most {max_calls} tool call{'s' if max_calls != 1 else ''} per turn.")
    if fenced is not None:
        lines.append(f"A ```python fenced block counts as <{fenced}>.")
    return "\n".join(lines)


def openai_tools(
    names: Iterable[str], *, descriptions: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """OpenAI function-calling schemas for the tools ``names`` (one string parameter each)."""
    descriptions = descriptions or {}
    out = []
    for name in names:
        spec = _spec(name)
        out.append(
            {
                "type": "function",
                "function": {
                    "name": spec.name,
                    "description": descriptions.get(spec.name, spec.description),
                    "parameters": {
                        "type": "object",
                        "properties": {
                            spec.argument: {
                                "type": "string",
                                "description": spec.argument_doc or spec.argument,
                            }
                        },
                        "required": [spec.argument],
                        "additionalProperties": False,
                    },
                },
            }
        )
    return out


def from_openai_call(call: Mapping[str, Any]) -> ToolCall:
    """A :class:`ToolCall` from an OpenAI tool call (``{"function": {"name", "arguments"}}``,
    or the inner ``{"name", "arguments"}``); ``arguments`` is a JSON string or a dict.

    Raises :class:`ToolCallError` when the call names an unknown tool or lacks its argument.
    """
    fn = call.get("function", call)
    name = str(fn.get("name", "")).lower()
    if name not in TOOLS:
        raise ToolCallError([f"unknown tool {name!r}"])
    args = fn.get("arguments", {})
    if isinstance(args, str):
        try:
            args = json.loads(args) if args.strip() else {}
        except json.JSONDecodeError as exc:
            raise ToolCallError([f"{name}: arguments are not valid JSON ({exc})"]) from None
    if not isinstance(args, Mapping):
        raise ToolCallError([f"{name}: arguments must be a JSON object"])
    key = TOOLS[name].argument
    value = args.get(key)
    if not isinstance(value, str):
        raise ToolCallError([f"{name}: missing string argument {key!r}"])
    return ToolCall(name, value)
