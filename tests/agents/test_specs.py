"""Agent specs: parsing every form, splitting spec lists, building agents lazily."""

from __future__ import annotations

import pytest

from spenv.agents import RandomAgent, make_agent
from spenv.agents.specs import AgentSpecError, parse_agent_spec, split_agent_specs


@pytest.mark.parametrize(
    ("spec", "name", "params"),
    [
        ("random", "random", {}),
        ("  Nash ", "nash", {}),
        ("nash:alpha=0.2", "nash", {"alpha": 0.2}),
        ("greedy:reservation=2,floor=4", "greedy", {"reservation": 2, "floor": 4}),
        ("human", "human", {}),
        ("human:show_state=true,name=Ada", "human", {"show_state": True, "name": "Ada"}),
        ("hf:Qwen/Qwen2.5-0.5B-Instruct", "hf", {"path": "Qwen/Qwen2.5-0.5B-Instruct"}),
        ("HF:/models/run:3/ckpt", "hf", {"path": "/models/run:3/ckpt"}),
        ("hf:C:/models/x,temperature=0.7", "hf", {"path": "C:/models/x", "temperature": 0.7}),
        (
            "hf:/m,temperature=0.7,top_p=0.9,greedy=false,prompt_style=reasoning",
            "hf",
            {
                "path": "/m",
                "temperature": 0.7,
                "top_p": 0.9,
                "greedy": False,
                "prompt_style": "reasoning",
            },
        ),
        (
            'hf:/m,stop=["\\n\\n", "END, really"]',
            "hf",
            {"path": "/m", "stop": ["\n\n", "END, really"]},
        ),
        ("hf:/models/a,b/c,seed=1", "hf", {"path": "/models/a,b/c", "seed": 1}),
        ("hf:/models/run=3", "hf", {"path": "/models/run=3"}),
        ("vllm:meta/llama,max_new_tokens=64", "vllm", {"path": "meta/llama", "max_new_tokens": 64}),
        (
            "openai:gpt-4o-mini@http://127.0.0.1:8000/v1",
            "openai",
            {"model": "gpt-4o-mini", "base_url": "http://127.0.0.1:8000/v1"},
        ),
        (
            "openai:org/model:latest@https://u:p@host:9/v1,temperature=0,max_tokens=32",
            "openai",
            {
                "model": "org/model:latest",
                "base_url": "https://u:p@host:9/v1",
                "temperature": 0,
                "max_tokens": 32,
            },
        ),
        (
            "openai:my@model@localhost:8000",
            "openai",
            {"model": "my@model", "base_url": "localhost:8000"},
        ),
        ("openai:gpt-4o", "openai", {"model": "gpt-4o"}),
        (
            "openai:m@http://h/v1,api_key='k,1'",
            "openai",
            {"model": "m", "base_url": "http://h/v1", "api_key": "k,1"},
        ),
    ],
)
def test_parse(spec: str, name: str, params: dict) -> None:
    assert parse_agent_spec(spec) == (name, params)


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "   ",
        "hf:",
        "hf",
        "vllm:,temperature=1",
        "openai:@http://x",
        "openai:m@",
        "nash:alpha",
        "nash:=3",
        "hf:/m,temperature=1,temperature=2",
        "hf:/m,path=/other",
        "openai:m@http://x,base_url=http://y",
    ],
)
def test_malformed_specs_are_refused(spec: str) -> None:
    with pytest.raises(AgentSpecError):
        parse_agent_spec(spec)


def test_non_string_spec_is_refused() -> None:
    with pytest.raises(AgentSpecError):
        parse_agent_spec(3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "specs"),
    [
        ("nash,random", ["nash", "random"]),
        ("hf:/m,nash", ["hf:/m", "nash"]),
        ("hf:/m,temperature=0.7,nash", ["hf:/m,temperature=0.7", "nash"]),
        (
            "nash:alpha=0.2,random,hf:a/b,top_k=5,seed=2",
            ["nash:alpha=0.2", "random", "hf:a/b,top_k=5,seed=2"],
        ),
        (
            'hf:/m,stop=["a,b"],openai:x@http://h:1/v1',
            ['hf:/m,stop=["a,b"]', "openai:x@http://h:1/v1"],
        ),
        ("greedy:reservation=2,floor=4,greedy", ["greedy:reservation=2,floor=4", "greedy"]),
    ],
)
def test_split_agent_specs(text: str, specs: list[str]) -> None:
    assert split_agent_specs(text) == specs


def test_split_refuses_empty_pieces() -> None:
    with pytest.raises(AgentSpecError):
        split_agent_specs("nash,,random")


def test_scripted_and_random_agents_still_build() -> None:
    assert isinstance(make_agent("random", seed=0), RandomAgent)
    nash = make_agent("nash:alpha=0.1", "KuhnPoker-v1", seed=0)
    assert nash.name.startswith("nash")
    with pytest.raises(AgentSpecError, match="unknown agent spec"):
        make_agent("nosuch", "KuhnPoker-v1")
    with pytest.raises(AgentSpecError, match="hf:"):
        make_agent("nosuch")


def test_model_specs_report_missing_backends_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "spenv.agents.openai_compat", None)  # as if not installed
    with pytest.raises(AgentSpecError, match="could not be imported"):
        make_agent("openai:m@http://127.0.0.1:1/v1")


def test_bad_parameters_name_the_spec(tiny_path: str) -> None:
    with pytest.raises(AgentSpecError, match="no_such_option"):
        make_agent(f"hf:{tiny_path},no_such_option=1")
