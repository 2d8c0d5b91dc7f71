"""OpenAIAgent against real HTTP servers on 127.0.0.1.

A small stdlib server injects faults (rate limits, server errors, slow answers, refused keys,
pages that are not an API) and records what arrives: timestamps, bodies, headers, how many
requests were in flight at once. ``spenv serve`` stands in for a real OpenAI-compatible server.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import spenv
from spenv.agents.openai_compat import (
    AuthenticationError,
    EndpointError,
    ModelNotFoundError,
    OpenAIAgent,
    RemoteAgentError,
    RequestFailedError,
)
from spenv.agents.serve import AgentServer
from spenv.env import AgentFailure
from spenv.observation import Observation

OBS = Observation(
    system="You play a game.",
    user="Your move: [a] or [b].",
    role="player_0",
    env_id="KuhnPoker-v1",
    turn=0,
    legal_actions=("[a]", "[b]"),
    state={"card": "K"},
)


def completion(text: str = "[a]", **choice: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
                **choice,
            }
        ],
        "usage": {"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9},
    }


Behaviour = Callable[[int, dict[str, Any]], tuple[int, Any, dict[str, str]]]


class FaultServer:
    """Answers each request with ``behaviour(n, body) -> (status, body, headers)``.

    A body that is a ``str`` is sent as text/html; ``("sleep", s)`` as status sleeps ``s`` seconds
    first (interrupted at shutdown). Records requests and the peak number in flight.
    """

    def __init__(self, behaviour: Behaviour, delay: float = 0.0) -> None:
        self.behaviour, self.delay = behaviour, delay
        self.requests: list[dict[str, Any]] = []
        self.times: list[float] = []
        self.in_flight = 0
        self.peak = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                n_bytes = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n_bytes) if n_bytes else b""
                body = json.loads(raw) if raw else {}
                with server.lock:
                    n = len(server.requests)
                    server.requests.append(
                        {"path": self.path, "body": body, "headers": dict(self.headers)}
                    )
                    server.times.append(time.monotonic())
                    server.in_flight += 1
                    server.peak = max(server.peak, server.in_flight)
                try:
                    if server.delay:
                        server.stopping.wait(server.delay)
                    status, payload, headers = server.behaviour(n, body)
                finally:
                    with server.lock:
                        server.in_flight -= 1
                if isinstance(payload, str):
                    data, ctype = payload.encode(), "text/html"
                else:
                    data, ctype = json.dumps(payload).encode(), "application/json"
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def chat_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].endswith("/chat/completions")]

    def close(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def fault() -> Iterator[Callable[..., FaultServer]]:
    servers: list[FaultServer] = []

    def start(behaviour: Behaviour, delay: float = 0.0) -> FaultServer:
        s = FaultServer(behaviour, delay)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.close()


def ok(n: int, body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
    if not body:  # GET /models
        return 200, {"object": "list", "data": [{"id": "m", "object": "model"}]}, {}
    return 200, completion(), {}


def agent(url: str, **kw: Any) -> OpenAIAgent:
    kw.setdefault("backoff", 0.01)
    kw.setdefault("api_key", "sk-test-key-123")
    return OpenAIAgent("m", url, **kw)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------- requests and replies
def test_request_body_sampling_and_reply(fault):
    srv = fault(ok)
    with agent(
        srv.url,
        temperature=0.7,
        top_p=0.9,
        max_tokens=32,
        stop="\n",
        seed=5,
        extra_body={"top_k": 20},
        passthrough=False,
        prompt_style="plain",
    ) as a:
        reply = a.act(OBS)
    assert reply == "[a]"
    assert reply.meta == {
        "finish_reason": "stop",
        "usage": {"prompt_tokens": 7, "completion_tokens": 2},
    }
    (req,) = srv.chat_requests()
    body = req["body"]
    assert body["model"] == "m"
    assert body["messages"] == OBS.messages
    assert (body["temperature"], body["top_p"], body["max_tokens"]) == (0.7, 0.9, 32)
    assert (body["stop"], body["seed"], body["top_k"]) == (["\n"], 5, 20)
    assert "logprobs" not in body and "spenv_observation" not in body
    assert req["headers"]["Authorization"] == "Bearer sk-test-key-123"


def test_reasoning_prompt_and_move_extraction(fault):
    from spenv.agents.prompting import build_messages

    answer = "<think>K is the best card, [a] is weak</think> I pick \\boxed{b}"
    srv = fault(lambda n, b: (200, completion(answer), {}))
    with agent(srv.url, passthrough=False, prompt_style="reasoning") as a:
        reply = a.act(OBS)
    assert reply == "[b]"
    assert reply.meta["raw_text"] == answer
    sent = srv.chat_requests()[0]["body"]["messages"]
    assert sent == build_messages(OBS, "reasoning")
    assert sent[0]["content"] != OBS.system and OBS.system in sent[0]["content"]
    with pytest.raises(ValueError, match="prompt_style"):
        OpenAIAgent("m", srv.url, prompt_style="fancy")


def test_native_tool_calls_become_the_games_text_format(fault):
    from spenv.games.toolcalls import parse_calls

    def call(name: str, arguments: str) -> dict[str, Any]:
        return {"id": name, "type": "function", "function": {"name": name, "arguments": arguments}}

    calls = [call("search", '{"query": "Velmora"}'), call("answer", "{}")]
    message = {"role": "assistant", "content": "Let me look.", "tool_calls": calls}
    srv = fault(lambda n, b: (200, completion(message=message), {}))
    obs = Observation(
        system="Tools: <search>query</search> finds documents; <answer>text</answer> answers.",
        user="Find the founding year.",
        role="solver",
        env_id="SearchSelfPlay-v1",
        turn=0,
    )
    with agent(srv.url, passthrough=False, tools="auto", prompt_style="plain") as a:
        reply = a.act(obs)
    sent = srv.chat_requests()[0]["body"]["tools"]
    assert [t["function"]["name"] for t in sent] == ["search", "answer"]
    assert reply == "Let me look.\n<search>Velmora</search>"
    assert reply.meta["tool_calls"] == 2
    assert "missing string argument" in reply.meta["tool_call_errors"][0]
    parsed = parse_calls(reply, {"search", "answer"})
    assert [(c.name, c.argument) for c in parsed.calls] == [("search", "Velmora")]
    with pytest.raises(ValueError, match="unknown tools"):
        OpenAIAgent("m", srv.url, tools=["teleport"])


def test_api_key_from_environment_and_system_prompt(fault, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env-999")
    srv = fault(ok)
    with OpenAIAgent("m", srv.url, passthrough=False, system_prompt="Be brief.") as a:
        a.act(OBS)
    (req,) = srv.chat_requests()
    assert req["headers"]["Authorization"] == "Bearer sk-from-env-999"
    assert req["body"]["messages"][0] == {"role": "system", "content": "Be brief."}
    assert [m["role"] for m in req["body"]["messages"]] == ["system", "user"]


def test_logprobs_map_to_reply_meta(fault):
    lp = {
        "content": [
            {"token": "token_id:11", "logprob": -0.5, "top_logprobs": []},
            {"token": "token_id:42", "logprob": -1.25, "top_logprobs": []},
        ]
    }
    srv = fault(lambda n, b: (200, completion("[b]", logprobs=lp), {}))
    with agent(srv.url, logprobs=True, passthrough=False) as a:
        reply = a.act(OBS)
    assert srv.chat_requests()[0]["body"]["logprobs"] is True
    assert reply.meta["tokens"] == ["token_id:11", "token_id:42"]
    assert reply.meta["logprobs"] == [-0.5, -1.25]
    assert reply.meta["completion_ids"] == [11, 42]


def test_async_entry_points_from_another_event_loop(fault):
    srv = fault(ok)
    a = agent(srv.url, passthrough=False)

    async def main() -> list[Any]:
        one = await a.aact(OBS)
        many = await a.aact_batch([OBS] * 3)
        return [one, *many]

    try:
        assert asyncio.run(main()) == ["[a]"] * 4
        assert a.act(OBS) == "[a]"  # the sync path shares the same client
    finally:
        a.close()


# ---------------------------------------------------------------------- retries
def test_rate_limit_then_success_honours_retry_after(fault):
    def behaviour(n, body):
        if n == 0:
            return 429, {"error": {"message": "slow down"}}, {"Retry-After": "0.4"}
        return 200, completion(), {}

    srv = fault(behaviour)
    with agent(srv.url, passthrough=False) as a:
        assert a.act(OBS) == "[a]"
        assert a.retries == 1
    assert len(srv.times) == 2
    assert srv.times[1] - srv.times[0] >= 0.35  # the backoff alone would wait ~0.01 s


def test_server_errors_are_retried_with_growing_backoff(fault):
    srv = fault(lambda n, b: (503, {"error": {"message": "busy"}}, {}) if n < 3 else ok(n, b))
    with agent(srv.url, backoff=0.08, passthrough=False) as a:
        assert a.act(OBS) == "[a]"
        assert (a.requests, a.retries) == (4, 3)
    gaps = [b - a for a, b in zip(srv.times, srv.times[1:], strict=False)]
    # equal jitter: the k-th wait is between half and all of backoff * 2**k
    for k, gap in enumerate(gaps):
        assert gap >= 0.5 * 0.08 * 2**k * 0.95


def test_persistent_500_gives_up_with_the_reason(fault):
    srv = fault(lambda n, b: (500, {"error": {"message": "kaput"}}, {}))
    with (
        agent(srv.url, max_retries=2, passthrough=False) as a,
        pytest.raises(RequestFailedError, match=r"HTTP 500: kaput.*3 tries"),
    ):
        a.act(OBS)
    assert len(srv.chat_requests()) == 3


def test_per_request_timeout(fault):
    srv = fault(ok, delay=5.0)
    with agent(srv.url, timeout=0.3, max_retries=1, passthrough=False) as a:
        t0 = time.monotonic()
        with pytest.raises(RequestFailedError, match=r"timed out after 0\.3s"):
            a.act(OBS)
        assert time.monotonic() - t0 < 4.0
    assert len(srv.chat_requests()) == 2


def test_concurrency_limit_holds_on_the_server_side(fault):
    srv = fault(ok, delay=0.1)
    with agent(srv.url, max_concurrency=3, passthrough=False) as a:
        replies = a.act_batch([OBS] * 12)
    assert replies == ["[a]"] * 12
    assert srv.peak == 3


def test_batch_isolates_a_failed_decision(fault):
    def behaviour(n, body):
        if body["messages"][-1]["content"] == "bad":
            return 400, {"error": {"message": "context too long"}}, {}
        return 200, completion(), {}

    srv = fault(behaviour)
    bad = Observation(system="", user="bad", role="p", env_id="X", turn=0)
    with agent(srv.url, passthrough=False) as a:
        out = a.act_batch([OBS, bad, OBS])
        assert out[0] == out[2] == "[a]"
        assert isinstance(out[1], AgentFailure) and "context too long" in out[1].message
        with pytest.raises(RemoteAgentError, match="context too long"):
            a.act_batch([bad])


# ---------------------------------------------------------------------- setup errors
def test_bad_key_is_a_clear_error_and_not_retried(fault):
    srv = fault(lambda n, b: (401, {"error": {"message": "Incorrect API key provided"}}, {}))
    with agent(srv.url, passthrough=False) as a:
        with pytest.raises(AuthenticationError) as info:
            a.act(OBS)
        msg = str(info.value)
        assert "HTTP 401" in msg and "Incorrect API key" in msg and "OPENAI_API_KEY" in msg
        assert "sk-test-key-123" not in msg  # the key itself is masked
        with pytest.raises(AuthenticationError):
            a.act(OBS)  # remembered: no second request
    assert len(srv.chat_requests()) == 1


def test_no_key_sent_is_named(fault, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    srv = fault(lambda n, b: (403, {"error": {"message": "forbidden"}}, {}))
    with (
        OpenAIAgent("m", srv.url, passthrough=False) as a,
        pytest.raises(AuthenticationError, match="no API key was sent"),
    ):
        a.act(OBS)
    assert "Authorization" not in srv.chat_requests()[0]["headers"]


def test_connection_refused_names_the_url():
    url = f"http://127.0.0.1:{free_port()}/v1"
    with (
        agent(url, max_retries=1) as a,
        pytest.raises(EndpointError, match=r"cannot connect.*is the server running"),
    ):
        a.act(OBS)


def test_unresolvable_host_fails_fast():
    with agent("http://no-such-host.invalid/v1", passthrough=False) as a:
        t0 = time.monotonic()
        with pytest.raises(EndpointError, match="cannot resolve"):
            a.act(OBS)
        assert a.requests == 1  # not retried
    assert time.monotonic() - t0 < 10


def test_html_page_is_not_an_openai_endpoint(fault):
    srv = fault(lambda n, b: (200, "<html>hello</html>", {}))
    with (
        agent(srv.url, passthrough=False) as a,
        pytest.raises(EndpointError, match=r"not JSON.*not an OpenAI-compatible endpoint"),
    ):
        a.act(OBS)


def test_plain_404_suggests_the_v1_suffix(fault):
    srv = fault(lambda n, b: (404, "Not Found", {}))
    # the /models probe gets a 404 too, which only means "not spenv"
    with (
        agent(srv.url, passthrough=None) as a,
        pytest.raises(EndpointError, match=r"HTTP 404.*end in /v1"),
    ):
        a.act(OBS)


def test_unknown_model_against_spenv_serve_lists_the_served_one():
    with (
        AgentServer("nash") as srv,
        OpenAIAgent("gpt-9", srv.url, backoff=0.01) as a,
        pytest.raises(ModelNotFoundError, match=r"no model 'gpt-9'.*it serves: nash"),
    ):
        a.act(OBS)


# ---------------------------------------------------------------------- spenv serve
def test_observation_passthrough_only_to_spenv_servers(fault):
    plain = fault(ok)
    with agent(plain.url) as a:
        a.act(OBS)
    assert "spenv_observation" not in plain.chat_requests()[0]["body"]
    with AgentServer("nash") as srv:
        for model in ("nash", "nash@KuhnPoker-v1"):
            with OpenAIAgent(model, srv.url) as b:
                ep = spenv.play("KuhnPoker-v1", [b, "random"], seed=4)
            assert ep.status == "completed"
            assert all(t.valid for t in ep.turns)  # nash needed legal_actions and state


def test_remote_scripted_agent_plays_like_the_local_one():
    """Through the server, nash answers exactly as a local nash with the same seed."""
    from spenv.agents import make_agent

    seed = 11
    with (
        AgentServer("nash", seed=seed, batch_window=0) as srv,
        OpenAIAgent("nash", srv.url) as remote,
    ):
        eps_remote = spenv.run_games(
            "KuhnPoker-v1", [remote, "random"], games=20, seed=0, batch_size=1
        )
    local = make_agent("nash", "KuhnPoker-v1", seed=seed)
    eps_local = spenv.run_games("KuhnPoker-v1", [local, "random"], games=20, seed=0, batch_size=1)
    actions = [[t.action for t in e.turns] for e in eps_remote]
    assert actions == [[t.action for t in e.turns] for e in eps_local]
    assert len({tuple(a) for a in actions}) > 3  # the games differ: mixed strategies at work
