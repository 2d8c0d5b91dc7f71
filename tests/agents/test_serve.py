"""``spenv serve``: agents behind a real OpenAI-compatible HTTP server on 127.0.0.1.

Clients are OpenAIAgent, the ``openai`` Python package and raw ``http.client`` requests (for the
malformed ones no client library would send).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import spenv
from spenv.agents import Reply
from spenv.agents.openai_compat import OpenAIAgent
from spenv.agents.serve import AgentServer
from spenv.observation import Observation
from spenv.registry import list_envs


class EchoAgent:
    """Answers with what it saw, so tests can check the observation the server built."""

    name = "echo"

    def __init__(self) -> None:
        self.seen: list[Observation] = []
        self.batches: list[int] = []
        self.lock = threading.Lock()

    def act(self, obs: Observation) -> str:
        self.seen.append(obs)
        return f"{obs.env_id}|{obs.role}|{obs.system}|{obs.user}"

    def act_batch(self, observations: list[Observation]) -> list[str]:
        self.batches.append(len(observations))
        return [self.act(o) for o in observations]


class MetaAgent:
    """Answers with token ids and log-probs, as a language model agent does."""

    name = "meta"

    def act(self, obs: Observation) -> Reply:
        return Reply(
            "[bet] because",
            prompt_ids=[1, 2, 3],
            completion_ids=[5, 6],
            logprobs=[-0.25, -1.5],
            finish_reason="length",
        )


class BrokenAgent:
    name = "broken"

    def act(self, obs: Observation) -> str:
        raise RuntimeError("the model fell over")


def request(
    server: AgentServer,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, json.loads(data) if data else None
    finally:
        conn.close()


def chat(server: AgentServer, body: Any) -> tuple[int, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return request(
        server, "POST", "/v1/chat/completions", raw, {"Content-Type": "application/json"}
    )


def play_all(agent_for: Any, games: int) -> dict[str, list[Any]]:
    """Every registered game at once (threads), so the servers see concurrent traffic."""

    def one(env_id: str) -> list[Any]:
        return spenv.run_games(env_id, agent_for(env_id), games=games, seed=0)

    envs = list_envs()
    with ThreadPoolExecutor(len(envs)) as pool:
        return dict(zip(envs, pool.map(one, envs), strict=True))


# ---------------------------------------------------------------------- every game
def test_every_game_with_reference_agents_behind_servers():
    """Each game's reference agents play from behind servers (one server per agent name,
    building the agent per game), seeing the full observation through the passthrough."""
    specs = sorted({a for e in list_envs() for a in spenv.spec(e).default_agents})
    servers = {s: AgentServer(s).start() for s in specs}
    clients = {s: OpenAIAgent(s, servers[s].url, max_retries=0) for s in specs}
    try:
        results = play_all(lambda e: [clients[a] for a in spenv.spec(e).default_agents], games=2)
    finally:
        for c in clients.values():
            c.close()
        for srv in servers.values():
            srv.close()
    remote_turns = 0
    for env_id, episodes in results.items():
        assert len(episodes) == 2, env_id
        for ep in episodes:
            assert ep.status == "completed", (env_id, ep.error)
            bad = [(t.agent, t.error) for t in ep.turns if not t.valid]
            assert not bad, (env_id, bad)  # local reference play has no invalid move either
            spenv.replay(ep)
            remote_turns += len(ep.turns)
    assert sum(s.requests for s in servers.values()) == remote_turns


def test_tiny_model_behind_the_server_plays_every_game(tiny_path):
    """``hf:PATH`` behind the server against each game's reference agent: every game completes,
    and the model's token ids and log-probs travel back into the episode."""
    spec = f"hf:{tiny_path},max_new_tokens=6,max_context=192"
    with (
        AgentServer(spec, model_name="tiny", batch_window=0.05) as srv,
        OpenAIAgent("tiny", srv.url, max_retries=0) as remote,
    ):
        results = play_all(lambda e: [remote, spenv.spec(e).default_agents[1]], games=1)
        largest = srv.batcher.largest
    assert largest > 1  # decisions of different games shared a forward pass
    for env_id, (ep,) in results.items():
        assert ep.status == "completed", (env_id, ep.error)
        mine = [t for t in ep.turns if ep.players[t.agent] == remote.name]
        assert mine, env_id
        for t in mine:
            assert t.error is None or "agent failed" not in t.error, (env_id, t.error)
            ids, lps = t.extra["completion_ids"], t.extra["logprobs"]
            assert 1 <= len(ids) <= 6 and len(lps) == len(ids)
            assert all(lp <= 0 for lp in lps)
            assert len(t.extra["prompt_ids"]) <= 192
        spenv.replay(ep)


def test_observation_passthrough_is_exact():
    echo = EchoAgent()
    with AgentServer(echo) as srv, OpenAIAgent("echo", srv.url) as remote:
        ep = spenv.play("TicTacToe-v1", [remote, "minimax"], seed=2)
    mine = [t for t in ep.turns if t.agent == "player_0"]
    seen = [o.to_dict() for o in echo.seen]
    assert [{k: o[k] for k in t.observation} for o, t in zip(seen, mine, strict=True)] == [
        t.observation for t in mine
    ]
    env = spenv.make("TicTacToe-v1")
    env.reset(seed=2)
    first = env.infos["player_0"]["observation"]
    assert echo.seen[0].to_dict() == first.to_dict()  # system text and env id too
    assert first.legal_actions and first.state


# ---------------------------------------------------------------------- OpenAI clients
def test_openai_python_client():
    openai = pytest.importorskip("openai", reason="the openai package is a dev dependency")
    echo = EchoAgent()
    with AgentServer(echo, env="KuhnPoker-v1") as srv:
        client = openai.OpenAI(base_url=srv.url, api_key="unused", max_retries=0)
        assert [m.id for m in client.models.list()] == ["echo"]
        messages = [
            {"role": "system", "content": "Rules."},
            {"role": "user", "content": "Your move?"},
        ]
        out = client.chat.completions.create(model="echo", messages=messages)
        assert out.choices[0].message.content == "KuhnPoker-v1|player|Rules.|Your move?"
        assert out.choices[0].finish_reason == "stop"

        stream = client.chat.completions.create(model="echo", messages=messages, stream=True)
        text = "".join(chunk.choices[0].delta.content or "" for chunk in stream)
        assert text == "KuhnPoker-v1|player|Rules.|Your move?"

        two = client.chat.completions.create(model="echo", messages=messages, n=2, stop=["|R"])
        assert [c.message.content for c in two.choices] == ["KuhnPoker-v1|player"] * 2

        with pytest.raises(openai.NotFoundError, match="does not exist"):
            client.chat.completions.create(model="gpt-4o", messages=messages)
        with pytest.raises(openai.BadRequestError, match="messages"):
            client.chat.completions.create(model="echo", messages=[])


def test_logprobs_and_reply_meta_round_trip():
    openai = pytest.importorskip("openai", reason="the openai package is a dev dependency")
    with AgentServer(MetaAgent()) as srv:
        client = openai.OpenAI(base_url=srv.url, api_key="unused", max_retries=0)
        out = client.chat.completions.create(
            model="meta", messages=[{"role": "user", "content": "go"}], logprobs=True
        )
        content = out.choices[0].logprobs.content
        assert [(c.token, c.logprob) for c in content] == [
            ("token_id:5", -0.25),
            ("token_id:6", -1.5),
        ]
        assert out.choices[0].finish_reason == "length"
        assert (out.usage.prompt_tokens, out.usage.completion_tokens) == (3, 2)

        with OpenAIAgent("meta", srv.url, logprobs=True) as remote:
            ep = spenv.play("KuhnPoker-v1", [remote, "nash"], seed=0)
    extra = ep.turns[0].extra
    assert extra["completion_ids"] == [5, 6] and extra["logprobs"] == [-0.25, -1.5]
    assert extra["prompt_ids"] == [1, 2, 3] and extra["tokens"] == ["token_id:5", "token_id:6"]
    assert ep.turns[0].action == "[bet] because" and ep.turns[0].valid


def test_agent_failure_is_reported_not_retried():
    with AgentServer(BrokenAgent()) as srv:
        status, body = chat(
            srv, {"model": "broken", "messages": [{"role": "user", "content": "x"}]}
        )
        assert status == 422
        assert body["error"]["type"] == "agent_error"
        assert "the model fell over" in body["error"]["message"]
        with OpenAIAgent("broken", srv.url, backoff=0.01) as remote:
            ep = spenv.play("KuhnPoker-v1", [remote, "nash"], seed=0)
            assert remote.retries == 0
    assert "the model fell over" in ep.turns[0].error
    assert ep.outcomes[ep.turns[0].agent] in ("invalid", "loss")


class ExitingAgent:
    """Raises SystemExit once (as a careless library might), then answers."""

    name = "exiting"

    def __init__(self) -> None:
        self.calls = 0

    def act(self, obs: Observation) -> str:
        self.calls += 1
        if self.calls == 1:
            raise SystemExit(3)
        return "fine"


def test_an_agent_raising_system_exit_does_not_stop_the_server():
    with AgentServer(ExitingAgent()) as srv:
        msg = {"model": "exiting", "messages": [{"role": "user", "content": "x"}]}
        status, body = chat(srv, msg)
        assert status == 500 and "SystemExit" in body["error"]["message"]
        status, body = chat(srv, msg)
        assert status == 200 and body["choices"][0]["message"]["content"] == "fine"


# ---------------------------------------------------------------------- requests
def test_text_only_requests_name_their_game():
    echo = EchoAgent()
    with AgentServer(echo) as srv:
        msg = [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
        assert chat(srv, {"model": "echo@Taboo-v1", "messages": msg})[1]["choices"][0]["message"][
            "content"
        ] == ("Taboo-v1|player||hi")
        body = {"model": "echo", "env": "Debate-v1", "spenv_role": "judge", "messages": msg}
        assert chat(srv, body)[1]["choices"][0]["message"]["content"] == "Debate-v1|judge||hi"
        convo = [
            {"role": "system", "content": "S"},
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": "b"},
            {"role": "user", "content": "c"},
        ]
        status, out = chat(srv, {"model": "echo", "messages": convo})
        assert status == 200
        assert (
            out["choices"][0]["message"]["content"]
            == "|player|S|[user] a\n\n[assistant] b\n\n[user] c"
        )


def test_scripted_agent_needs_a_game():
    with AgentServer("nash") as srv:
        msg = [{"role": "user", "content": "move?"}]
        status, body = chat(srv, {"model": "nash", "messages": msg})
        assert status == 400 and body["error"]["code"] == "env_required"
        status, body = chat(srv, {"model": "nash@NoSuchGame-v9", "messages": msg})
        assert status == 404 and body["error"]["code"] == "unknown_env"
        # a text-only observation has no legal moves: the agent's own error comes back
        status, body = chat(srv, {"model": "nash@KuhnPoker-v1", "messages": msg})
        assert status == 422 and body["error"]["type"] == "agent_error"
    with pytest.raises(ValueError, match="no registered game has an agent named"):
        AgentServer("no-such-agent")


def test_malformed_requests_get_openai_errors_and_the_server_lives_on():
    with AgentServer(EchoAgent(), max_body=2000) as srv:
        cases = [
            (b"{not json", 400),
            (b"[1, 2]", 400),
            (json.dumps({"messages": [{"role": "user", "content": "x"}]}).encode(), 400),
            (json.dumps({"model": "echo", "messages": "hello"}).encode(), 400),
            (json.dumps({"model": "echo", "messages": [{"content": "x"}]}).encode(), 400),
            (
                json.dumps(
                    {"model": "echo", "messages": [{"role": "user", "content": 5}]}
                ).encode(),
                400,
            ),
            (json.dumps({"model": "echo", "n": 0, "messages": [{"role": "user"}]}).encode(), 400),
            (
                json.dumps({"model": "echo", "stop": 3, "messages": [{"role": "user"}]}).encode(),
                400,
            ),
            (json.dumps({"model": "echo", "spenv_observation": {"user": "x"}}).encode(), 400),
            (json.dumps({"model": "nope", "messages": [{"role": "user"}]}).encode(), 404),
            (b'{"model": "echo", "pad": "' + b"x" * 5000 + b'"}', 413),
            (b"\xff\xfe\x00garbage", 400),
        ]
        for raw, expected in cases:
            status, body = chat(srv, raw)
            assert status == expected, (raw[:60], body)
            err = body["error"]
            assert isinstance(err["message"], str) and err["message"] and "type" in err
        assert request(srv, "GET", "/v1/nothing")[0] == 404
        assert request(srv, "GET", "/v1/chat/completions")[0] == 405
        assert request(srv, "DELETE", "/v1/models")[0] == 405
        assert request(srv, "GET", "/v1/models/nope")[0] == 404
        assert request(srv, "GET", "/v1/models/echo")[1]["owned_by"] == "spenv"
        conn = http.client.HTTPConnection(srv.host, srv.port, timeout=10)
        conn.putrequest("POST", "/v1/chat/completions")
        conn.endheaders()  # no Content-Length
        assert conn.getresponse().status == 411
        conn.close()
        ok = chat(srv, {"model": "echo", "messages": [{"role": "user", "content": "still up?"}]})
        assert ok[0] == 200 and ok[1]["choices"][0]["message"]["content"].endswith("still up?")


class GatedEcho(EchoAgent):
    """Holds its first batch until the server has received ``expected`` requests, so the rest
    are queued by then however slowly they arrive."""

    def __init__(self, expected: int) -> None:
        super().__init__()
        self.expected = expected
        self.server: AgentServer | None = None

    def act_batch(self, observations: list[Observation]) -> list[str]:
        if not self.batches:
            deadline = time.monotonic() + 20
            rest = self.expected - len(observations)
            while time.monotonic() < deadline and (
                self.server.requests < self.expected or self.server.batcher._queue.qsize() < rest
            ):  # counted and queued: a request is counted a moment before it is queued
                time.sleep(0.01)
        return super().act_batch(observations)


def test_concurrent_requests_share_act_batch_calls():
    echo = GatedEcho(expected=12)
    with (
        AgentServer(echo, batch_window=0.05) as srv,
        OpenAIAgent("echo", srv.url, max_concurrency=12) as remote,
    ):
        echo.server = srv
        observations = [
            Observation(system="", user=f"q{i}", role="p", env_id="KuhnPoker-v1", turn=i)
            for i in range(12)
        ]
        answers = remote.act_batch(observations)
    assert [a.rsplit("|", 1)[1] for a in answers] == [f"q{i}" for i in range(12)]
    # what arrived while the first call ran went into one second call
    assert sum(echo.batches) == 12 and len(echo.batches) <= 2
    assert srv.batcher.largest == max(echo.batches)


class SlowAgent:
    name = "slow"

    def __init__(self) -> None:
        self.started = threading.Event()

    def act(self, obs: Observation) -> str:
        self.started.set()
        time.sleep(0.5)
        return "done"


def test_close_answers_the_requests_in_flight():
    slow = SlowAgent()
    srv = AgentServer(slow).start()
    result: list[Any] = []
    msg = {"model": "slow", "messages": [{"role": "user", "content": "x"}]}
    t = threading.Thread(target=lambda: result.append(chat(srv, msg)))
    t.start()
    assert slow.started.wait(10)
    srv.close()  # while the agent is still thinking
    t.join(10)
    assert result and result[0][0] == 200
    assert result[0][1]["choices"][0]["message"]["content"] == "done"
    with pytest.raises(OSError):
        chat(srv, msg)  # no longer listening


# ---------------------------------------------------------------------- command line
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_serves_until_a_signal(sig, tmp_path):
    from spenv.apps.cli import main

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "spenv", "serve", "nash", "--port", "0", "--env", "KuhnPoker-v1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        first = proc.stdout.readline()
        url = re.search(r"(http://127\.0\.0\.1:\d+/v1)", first)
        assert url, first + proc.stderr.read()
        out_file = tmp_path / "remote.jsonl"
        # the agent spec openai:MODEL@URL, from the play command
        spec = f"openai:nash@{url.group(1)},max_concurrency=4"
        assert main(["play", "KuhnPoker-v1", "--agents", f"{spec},random", "--games", "4",
                     "-q", "--out", str(out_file)]) == 0  # fmt: skip
        episodes = list(spenv.read_episodes(out_file))
        assert len(episodes) == 4
        assert all(e.status == "completed" and all(t.valid for t in e.turns) for e in episodes)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "stopped after" in out and "Traceback" not in err


def test_cli_rejects_a_bad_spec(capsys):
    from spenv.apps.cli import main

    assert main(["serve", "no-such-agent", "--port", "0"]) == 2
    assert "no-such-agent" in capsys.readouterr().err


def _burst(host: str, port: int, count: int, limit: float) -> dict[str, int]:
    """Open ``count`` connections to the server at once (non-blocking connects, all started
    before any is served), send one ``GET /v1/models`` on each and read every answer. Returns
    how many were answered 200, reset, refused or left unanswered within ``limit`` seconds."""
    import errno
    import selectors
    import socket

    sel = selectors.DefaultSelector()
    request = f"GET /v1/models HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
    tally = {"ok": 0, "reset": 0, "refused": 0, "other": 0, "unanswered": 0}
    socks = []
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        code = s.connect_ex((host, port))
        if code not in (0, errno.EINPROGRESS):
            tally["refused" if code == errno.ECONNREFUSED else "other"] += 1
            s.close()
            continue
        socks.append(s)
        sel.register(s, selectors.EVENT_WRITE, bytearray())
    deadline = time.monotonic() + limit
    while sel.get_map() and time.monotonic() < deadline:
        for key, events in sel.select(timeout=0.5):
            s, buf = key.fileobj, key.data
            try:
                if events & selectors.EVENT_WRITE:
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        raise OSError(err, os.strerror(err))
                    s.sendall(request)
                    sel.modify(s, selectors.EVENT_READ, buf)
                    continue
                chunk = s.recv(65536)
                if chunk:
                    buf.extend(chunk)
                    continue
                tally["ok" if buf.split(b"\r\n", 1)[0].endswith(b" 200 OK") else "other"] += 1
            except OSError as exc:
                if exc.errno == errno.ECONNRESET:
                    tally["reset"] += 1
                elif exc.errno == errno.ECONNREFUSED:
                    tally["refused"] += 1
                else:
                    tally["other"] += 1
            sel.unregister(s)
            s.close()
    tally["unanswered"] = len(sel.get_map())
    for s in socks:
        s.close()
    sel.close()
    return tally


def test_a_burst_of_1000_new_connections_gets_no_resets():
    """Bounded loopback load test: 1,000 connections opened at once, 60 s at most."""
    with AgentServer(EchoAgent()) as srv:
        for _ in range(2):
            got = _burst(srv.host, srv.port, 1000, limit=60.0)
            assert got == {"ok": 1000, "reset": 0, "refused": 0, "other": 0, "unanswered": 0}
