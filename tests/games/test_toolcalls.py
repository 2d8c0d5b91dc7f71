"""The shared text tool-call format: parsing rules, limits, errors, prompt docs, OpenAI schemas."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spenv.games.toolcalls import (
    TOOLS,
    ParsedTurn,
    ToolCall,
    ToolCallError,
    ToolSpec,
    first,
    from_openai_call,
    openai_tools,
    parse_calls,
    register_tool,
    render_tools,
)

ALL = {"search", "open", "answer", "question", "code", "tests", "statement", "proof"}


def test_basic_calls_in_order_with_stray_text_ignored() -> None:
    text = "Let me think. <search>Velmora founded</search> then <open>place-velmora</open> done"
    p = parse_calls(text, {"search", "open"})
    assert p.ok
    assert p.calls == (ToolCall("search", "Velmora founded"), ToolCall("open", "place-velmora"))
    assert p.names == ("search", "open")
    assert text[p.calls[0].start : p.calls[0].end] == "<search>Velmora founded</search>"


def test_case_and_whitespace_tolerance() -> None:
    p = parse_calls("<SEARCH >  a b  </ Search>< open>x</OPEN >", {"search", "open"})
    assert [(c.name, c.argument) for c in p.calls] == [("search", "a b"), ("open", "x")]
    assert p.ok


def test_unknown_tags_are_text_and_disallowed_tools_are_errors() -> None:
    p = parse_calls("<b>bold</b> <div><answer>7</answer></div> <proof>x</proof>", {"answer"})
    assert p.calls == (ToolCall("answer", "7"),)
    assert len(p.errors) == 1 and "<proof> is not available here" in p.errors[0]


def test_unclosed_final_tag_runs_to_end() -> None:
    p = parse_calls("<search>q</search> <answer>the Nile river\n", {"search", "answer"})
    assert p.ok
    assert p.calls[-1] == ToolCall("answer", "the Nile river")
    assert p.calls[-1].closed is False and p.calls[0].closed is True


def test_unclosed_tag_before_another_is_an_error_and_dropped() -> None:
    p = parse_calls("<search>foo <open>d1</open>", {"search", "open"})
    assert p.calls == (ToolCall("open", "d1"),)
    assert len(p.errors) == 1 and "not closed" in p.errors[0]


def test_argument_holds_other_markup_up_to_its_own_close() -> None:
    code = "def f(a, b):\n    return a<b and '<open>' != '</x>'"
    p = parse_calls(f"<code>\n{code}\n</code>", {"code", "open"})
    assert p.calls == (ToolCall("code", code),)
    assert p.ok


def test_dedent_and_whole_fence_unwrapped() -> None:
    text = "<code>\n    ```python\n    def f():\n        return 1\n    ```\n</code>"
    assert first(text, "code") == "def f():\n    return 1"
    # A fence that is only part of the argument is kept as written.
    assert first("<tests>x = 1\n```\ny\n```</tests>", "tests") == "x = 1\n```\ny\n```"


def test_fenced_block_counts_as_code_only_when_asked() -> None:
    text = "Solution:\n```python\ndef f():\n    return 2\n```\nand prose"
    assert parse_calls(text, {"code"}).calls == ()
    p = parse_calls(text, {"code"}, fenced="code")
    assert p.calls == (ToolCall("code", "def f():\n    return 2"),)
    # Non-python fences are not code; an unclosed final fence runs to the end.
    assert parse_calls("```bash\nrm -rf /\n```", {"code"}, fenced="code").calls == ()
    p = parse_calls("```\nx = 1\n", {"code"}, fenced="code")
    assert p.calls == (ToolCall("code", "x = 1"),) and not p.calls[0].closed


def test_fence_inside_a_tag_is_not_a_second_call() -> None:
    text = "<code>```python\nx = 1\n```</code>\n```python\ny = 2\n```"
    p = parse_calls(text, {"code"}, fenced="code")
    assert [c.argument for c in p.calls] == ["x = 1", "y = 2"]


def test_empty_and_oversized_arguments_are_errors() -> None:
    p = parse_calls("<search>   </search><search>ok</search>", {"search"})
    assert p.calls == (ToolCall("search", "ok"),)
    assert "empty" in p.errors[0]
    p = parse_calls("<search>" + "x" * 50 + "</search>", {"search"}, max_chars=10)
    assert p.calls == () and "limit is 10" in p.errors[0]


def test_call_limit_records_an_error_not_a_crash() -> None:
    text = "".join(f"<search>q{i}</search>" for i in range(5))
    p = parse_calls(text, {"search"}, max_calls=2)
    assert [c.argument for c in p.calls] == ["q0", "q1"]
    assert len(p.errors) == 1 and "at most 2" in p.errors[0]
    with pytest.raises(ToolCallError) as info:
        p.raise_for_errors()
    assert info.value.errors == p.errors
    assert parse_calls(text, {"search"}, max_calls=0).calls == ()


def test_text_limit() -> None:
    p = parse_calls("<answer>a</answer>" + "z" * 100, {"answer"}, max_text=30)
    assert p.calls == (ToolCall("answer", "a"),)
    assert "only the first 30" in p.errors[0]


def test_non_text_input_is_an_error() -> None:
    p = parse_calls(None, {"answer"})  # type: ignore[arg-type]
    assert p.calls == () and "expected text" in p.errors[0]
    assert first(123, "answer") is None  # type: ignore[arg-type]


def test_bad_api_arguments_raise_value_error() -> None:
    with pytest.raises(ValueError, match="max_calls"):
        parse_calls("x", {"answer"}, max_calls=-1)
    with pytest.raises(ValueError, match="fenced"):
        parse_calls("x", {"answer"}, fenced="code")
    with pytest.raises(ValueError, match="tool name"):
        parse_calls("x", {"no spaces"})


def test_first_and_parsed_turn_helpers() -> None:
    text = "<search>a</search><answer>b</answer><search>c</search>"
    assert first(text, "answer") == "b"
    assert first(text, "search") == "a"
    assert first(text, "proof") is None
    p = parse_calls(text, {"search", "answer"})
    assert [c.argument for c in p.of("SEARCH")] == ["a", "c"]
    assert p.first("answer") == "b" and p.first("open") is None
    assert p.to_dict() == {
        "calls": [
            {"name": "search", "argument": "a"},
            {"name": "answer", "argument": "b"},
            {"name": "search", "argument": "c"},
        ],
        "errors": [],
    }
    assert isinstance(p, ParsedTurn) and p.raise_for_errors() is p


def test_render_tools_documents_each_tool_and_rules() -> None:
    doc = render_tools(["search", "answer"], max_calls=3, descriptions={"answer": "ONLY A NAME"})
    assert "<search>" in doc and "</answer>" in doc and "ONLY A NAME" in doc
    assert "At most 3 tool calls per turn" in doc
    assert "<code>" not in doc
    assert "```python" in render_tools(["code"], fenced="code")
    with pytest.raises(ValueError, match="unknown tool"):
        render_tools(["nope"])


def test_openai_schemas_and_round_trip() -> None:
    tools = openai_tools(sorted(ALL))
    assert {t["function"]["name"] for t in tools} == ALL
    for t in tools:
        params = t["function"]["parameters"]
        assert params["type"] == "object" and len(params["required"]) == 1
        assert params["properties"][params["required"][0]]["type"] == "string"
    json.dumps(tools)
    call = from_openai_call(
        {"type": "function", "function": {"name": "search", "arguments": '{"query": "x y"}'}}
    )
    assert call == ToolCall("search", "x y")
    assert parse_calls(call.render(), {"search"}).calls == (call,)
    assert from_openai_call({"name": "open", "arguments": {"doc_id": "d"}}) == ToolCall("open", "d")
    for bad in (
        {"name": "nope", "arguments": "{}"},
        {"name": "search", "arguments": "{not json"},
        {"name": "search", "arguments": "{}"},
        {"name": "search", "arguments": "[1]"},
    ):
        with pytest.raises(ToolCallError):
            from_openai_call(bad)


def test_register_tool() -> None:
    spec = ToolSpec("lookup-x", "look something up", "key")
    assert register_tool(spec) is spec and TOOLS["lookup-x"] is spec
    try:
        assert parse_calls("<lookup-x>k</lookup-x>", {"lookup-x"}).calls == (
            ToolCall("lookup-x", "k"),
        )
        with pytest.raises(ValueError, match="already registered"):
            register_tool(ToolSpec("lookup-x", "other"))
        with pytest.raises(ValueError, match="must match"):
            register_tool(ToolSpec("Bad Name", "x"))
    finally:
        del TOOLS["lookup-x"]


# ----------------------------------------------------------------- properties
_arg = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="<>`\r"),
    min_size=1,
    max_size=40,
).filter(lambda s: s.strip())


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.integers(0, 5))
def test_never_raises_and_respects_the_limit(text: str, max_calls: int) -> None:
    p = parse_calls(text, ALL, max_calls=max_calls, fenced="code")
    assert len(p.calls) <= max_calls
    assert all(c.name in ALL and c.argument for c in p.calls)
    assert all(isinstance(e, str) and e for e in p.errors)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(sorted(ALL)), _arg), max_size=6),
    st.lists(st.text(alphabet="abc xyz.,!\n", max_size=10), min_size=7, max_size=7),
)
def test_rendered_calls_parse_back(calls: list[tuple[str, str]], fillers: list[str]) -> None:
    text = fillers[0] + "".join(
        ToolCall(n, a).render() + fillers[i + 1] for i, (n, a) in enumerate(calls)
    )
    p = parse_calls(text, ALL, max_calls=10)
    assert p.ok, p.errors
    assert [c.name for c in p.calls] == [n for n, _ in calls]
    for c, (_, a) in zip(p.calls, calls, strict=True):
        # The argument comes back cleaned: dedented, outer blank lines and spaces removed.
        assert " ".join(c.argument.split()) == " ".join(a.split())
        assert c.argument == c.argument.rstrip() and not c.argument.startswith("\n")


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(sorted(ALL)), _arg)
def test_case_of_tags_does_not_matter(name: str, arg: str) -> None:
    upper = f"<{name.upper()}>{arg}</{name.title()}>"
    assert parse_calls(upper, {name}).calls == parse_calls(f"<{name}>{arg}</{name}>", {name}).calls


def test_pathological_input_stays_bounded() -> None:
    from spenv.games.toolcalls import MAX_ERRORS

    p = parse_calls("<search>" * 20_000, {"search"})
    assert p.calls == ()
    assert len(p.errors) == MAX_ERRORS + 1 and "only the first ones" in p.errors[-1]
    p = parse_calls("<proof>x" * 5_000 + "<search>q</search>", {"search"})
    assert p.calls == (ToolCall("search", "q"),) and len(p.errors) == MAX_ERRORS + 1
    p = parse_calls("```python\nx\n```\n" * 5_000, {"code"}, fenced="code", max_calls=3)
    assert [c.argument for c in p.calls] == ["x"] * 3 and "5000 tool calls" in p.errors[-1]
