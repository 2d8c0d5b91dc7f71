"""Remote agents: OpenAIAgent and the official ``openai`` client, both against ``spenv serve``.

One round is 256 decisions (Kuhn poker observations from real games) sent to the same
in-process ``spenv serve`` on 127.0.0.1, at most 16 requests in flight. The served agent answers
``[check]`` at once (``FixedAgent``), so the rounds time the HTTP path: the client, the
server's parsing and batching, and the way back.

- ``OpenAIAgent``: ``act_batch`` of the 256 observations (chat messages only, like the peer);
- ``OpenAIAgent (observation passthrough)``: the same with the full observation in each body,
  as it sends to a spenv server by default;
- ``openai AsyncOpenAI`` (the peer): one ``AsyncOpenAI`` client on one event loop,
  ``asyncio.gather`` of ``chat.completions.create`` under a semaphore of 16, the same messages.

Both clients keep their connections open across rounds (one warm-up round first).

    .venv/bin/python -m pytest benchmarks/perf/test_remote_agent.py --benchmark-only
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from typing import Any

import pytest
from perfkit import NOTES, RESULTS, run_throughput

ROUNDS = int(os.environ.get("SPENV_PERF_REMOTE_ROUNDS", "5"))
DECISIONS = 256
CONCURRENCY = 16


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    from spenv.agents.base import FixedAgent
    from spenv.agents.serve import AgentServer

    with AgentServer(FixedAgent("[check]", name="fixed"), batch_window=0.002) as srv:
        yield srv


@pytest.fixture(scope="module")
def observations() -> list[Any]:
    import spenv

    obs: list[Any] = []
    env = spenv.make("KuhnPoker-v1")
    seed = 0
    while len(obs) < DECISIONS:
        env.reset(seed=seed)
        seed += 1
        for _ in env.agent_iter():
            _, _, term, trunc, info = env.last()
            if term or trunc:
                env.step(None)
                continue
            obs.append(info["observation"])
            env.step(info["legal_actions"][0])
    return obs[:DECISIONS]


def _openai_agent_loop(benchmark: Any, server: Any, observations: list[Any], name: str, **kw):
    from spenv.agents.openai_compat import OpenAIAgent

    agent = OpenAIAgent(
        "fixed", server.url, api_key="unused", max_concurrency=CONCURRENCY, prompt_style="plain",
        **kw,
    )  # fmt: skip

    def play() -> int:
        answers = agent.act_batch(observations)
        assert answers == ["[check]"] * len(observations)
        return len(answers)

    try:
        run_throughput(benchmark, name, play, games=len(observations), rounds=ROUNDS)
    finally:
        agent.close()


def test_openai_agent(benchmark: Any, server: Any, observations: list[Any]) -> None:
    _openai_agent_loop(benchmark, server, observations, "OpenAIAgent", passthrough=False)


def test_openai_agent_passthrough(benchmark: Any, server: Any, observations: list[Any]) -> None:
    _openai_agent_loop(
        benchmark, server, observations, "OpenAIAgent (observation passthrough)", passthrough=True
    )


def test_openai_client_peer(benchmark: Any, server: Any, observations: list[Any]) -> None:
    openai = pytest.importorskip("openai", reason="the peer is the openai package")
    loop = asyncio.new_event_loop()
    client = openai.AsyncOpenAI(base_url=server.url, api_key="unused", max_retries=0)
    messages = [o.messages for o in observations]

    async def round_() -> int:
        sem = asyncio.Semaphore(CONCURRENCY)

        async def one(msgs: list[dict[str, str]]) -> str:
            async with sem:
                out = await client.chat.completions.create(model="fixed", messages=msgs)
                return out.choices[0].message.content

        answers = await asyncio.gather(*(one(m) for m in messages))
        assert answers == ["[check]"] * len(messages)
        return len(answers)

    try:
        run_throughput(
            benchmark,
            "openai AsyncOpenAI",
            lambda: loop.run_until_complete(round_()),
            games=len(observations),
            rounds=ROUNDS,
        )
    finally:
        loop.run_until_complete(client.close())
        loop.close()
    for name in ("OpenAIAgent", "OpenAIAgent (observation passthrough)"):
        if name in RESULTS and "openai AsyncOpenAI" in RESULTS:
            best = RESULTS[name]["best"] / RESULTS["openai AsyncOpenAI"]["best"]
            mean = RESULTS[name]["mean"] / RESULTS["openai AsyncOpenAI"]["mean"]
            NOTES.append(
                f"{name} / openai AsyncOpenAI (same spenv serve): {best:.2f}x (best rounds), "
                f"{mean:.2f}x (means)"
            )
