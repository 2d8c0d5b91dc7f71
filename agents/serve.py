"""``spenv serve SPEC``: any agent as an OpenAI-compatible chat endpoint.

The server answers ``POST /v1/chat/completions`` (plain JSON or a server-sent-event stream) and
``GET /v1/models`` with the agent a spec names (a scripted agent, ``hf:PATH``, ...), so any
OpenAI client, another machine, or :class:`~spenv.agents.openai_compat.OpenAIAgent` can play
with it. Requests that arrive together (within ``batch_window`` seconds) go to one ``act_batch``
call of the agent: a language model behind the server answers many games per forward pass.

What the agent sees for a request:

- ``spenv_observation`` in the body (a dict from ``Observation.to_dict()``, which
  ``OpenAIAgent`` sends when it talks to a spenv server): exactly that observation, so scripted
  agents get ``legal_actions`` and ``state``;
- otherwise an observation rebuilt from the chat messages (system messages become ``system``,
  the rest ``user``) with no legal moves and no state. The game is named by an ``env`` body
  field, by the model name ``NAME@ENV_ID``, or by ``--env``; agents of one game (``nash``) need
  it, game-independent ones (``hf:PATH``) do not.

Per-request sampling fields are accepted but sampling is the served agent's own configuration;
``stop`` strings cut the answer, ``n`` asks the agent ``n`` times, ``logprobs`` returns the
token log-probabilities the agent reported (``Reply`` meta). Every choice also carries the
agent's reply meta as ``spenv_meta`` (token ids, log-probs), which ``OpenAIAgent`` puts back
into its own ``Reply``.

Bad requests get OpenAI-style error objects, never a crash: malformed JSON or fields 400,
unknown model or path 404, wrong method 405, missing length 411, a body over ``max_body`` bytes
413, an agent that raised 422, a request the agent did not answer in ``request_timeout`` 504.
"""

from __future__ import annotations

import argparse
import json
import queue
import signal
import sys
import threading
import time
import uuid
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from spenv.observation import Observation

#: Largest ``n`` a request may ask for.
MAX_CHOICES = 16


class RequestError(Exception):
    """A request the server refuses: HTTP status, OpenAI error type, message, optional code."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error", code=None):
        super().__init__(message)
        self.status, self.message, self.kind, self.code = status, message, kind, code


# ---------------------------------------------------------------------- agents
class AgentPool:
    """The served agent: one object for game-independent specs, else one per env id.

    ``hf:PATH`` builds once and answers every game; a game's scripted agent (``nash``) and
    ``random`` (a free-text game has its own) are built per env id, on first use.
    """

    def __init__(self, spec: Any, *, env: str | None = None, seed: int | None = 0) -> None:
        from spenv.agents.specs import AgentSpecError, make_agent, parse_agent_spec

        self.spec, self.env, self.seed = spec, env, seed
        self._per_env: dict[str, Any] = {}
        self.shared: Any = None
        if not isinstance(spec, str):  # an agent object serves every game
            self.shared = make_agent(spec)
            self.spec = getattr(spec, "name", type(spec).__name__)
            return
        name, _ = parse_agent_spec(spec)
        if name != "random":
            try:
                self.shared = make_agent(spec, None, seed=seed)
            except AgentSpecError:
                self.shared = None
        if self.shared is None:
            if env is not None:
                self.get(env)  # fail now on a spec the game does not know
            elif name != "random":
                import spenv

                if not any(name in s.reference_agents for s in spenv.specs()):
                    raise AgentSpecError(f"no registered game has an agent named {spec!r}")

    @property
    def needs_env(self) -> bool:
        return self.shared is None

    def get(self, env_id: str | None) -> Any:
        """The agent for a game (raises :class:`RequestError` when it cannot be built)."""
        if self.shared is not None:
            return self.shared
        env_id = env_id or self.env
        if not env_id:
            raise RequestError(
                400,
                f"the agent {self.spec!r} plays one game at a time: send spenv_observation, an "
                f"'env' field or the model name '{self.spec}@ENV_ID', or start the server with "
                "--env",
                code="env_required",
            )
        agent = self._per_env.get(env_id)
        if agent is None:
            from spenv.agents.specs import AgentSpecError, make_agent

            try:
                agent = make_agent(self.spec, env_id, seed=self.seed)
            except KeyError as exc:
                raise RequestError(
                    404, f"unknown env id {env_id!r}: {exc}", code="unknown_env"
                ) from exc
            except (AgentSpecError, ValueError, TypeError) as exc:
                raise RequestError(400, str(exc), code="invalid_agent") from exc
            self._per_env[env_id] = agent
        return agent


# ---------------------------------------------------------------------- batching
class Batcher:
    """One worker thread that answers queued observations in ``act_batch`` calls.

    It waits for a first request, then gathers whatever else arrives within ``window`` seconds
    (at most ``max_batch``), groups the requests by agent and asks each agent once. Only this
    thread touches the agents, so agents need not be thread-safe.
    """

    def __init__(self, pool: AgentPool, *, window: float = 0.01, max_batch: int = 64) -> None:
        self.pool, self.window, self.max_batch = pool, float(window), max(1, int(max_batch))
        self._queue: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="spenv-serve-batcher", daemon=True)
        self.batches = 0
        self.decisions = 0
        self.largest = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def submit(self, env_id: str | None, obs: Observation) -> Future:
        fut: Future = Future()
        if self._stop.is_set():
            fut.set_exception(RequestError(503, "the server is shutting down", "server_error"))
        else:
            self._queue.put((env_id, obs, fut))
        return fut

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                first = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            items = [first]
            deadline = time.monotonic() + self.window
            while len(items) < self.max_batch:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    items.append(self._queue.get(timeout=left))
                except queue.Empty:
                    break
            try:
                self._answer(items)
            except BaseException as exc:  # the worker lives on, and no request is left waiting
                for _, _, fut in items:
                    if not fut.done():
                        msg = f"internal error: {type(exc).__name__}: {exc}"
                        fut.set_exception(RequestError(500, msg, "server_error"))
        while True:  # refuse what is still queued
            try:
                _, _, fut = self._queue.get_nowait()
            except queue.Empty:
                break
            fut.set_exception(RequestError(503, "the server is shutting down", "server_error"))

    def _answer(self, items: list[tuple[str | None, Observation, Future]]) -> None:
        groups: dict[int, tuple[Any, list[tuple[Observation, Future]]]] = {}
        for env_id, obs, fut in items:
            try:
                agent = self.pool.get(env_id)
            except RequestError as exc:
                fut.set_exception(exc)
                continue
            except Exception as exc:  # building the agent failed
                fut.set_exception(
                    RequestError(500, f"cannot build the agent: {exc}", "server_error")
                )
                continue
            groups.setdefault(id(agent), (agent, []))[1].append((obs, fut))
        self.batches += 1
        self.largest = max(self.largest, len(items))
        self.decisions += len(items)
        for agent, members in groups.values():
            observations = [o for o, _ in members]
            for (_, fut), result in zip(members, _ask(agent, observations), strict=True):
                if isinstance(result, BaseException):
                    fut.set_exception(result)
                else:
                    fut.set_result(result)


def _ask(agent: Any, observations: list[Observation]) -> list[Any]:
    """The agent's answers (or the exception per decision); ``act_batch`` first, then ``act``."""
    from spenv.env import AgentFailure

    def failed(value: Any) -> Any:
        if isinstance(value, AgentFailure):
            return RequestError(422, value.message, "agent_error")
        if not isinstance(value, str):
            return RequestError(422, f"the agent answered {type(value).__name__}", "agent_error")
        return value

    batch = getattr(agent, "act_batch", None)
    if batch is not None:
        try:
            out = list(batch(observations))
            if len(out) == len(observations):
                return [failed(v) for v in out]
        except Exception:  # fall back to one call per decision, isolating the failure
            pass
    results: list[Any] = []
    for obs in observations:
        try:
            results.append(failed(agent.act(obs)))
        except Exception as exc:
            results.append(
                RequestError(422, f"agent failed: {type(exc).__name__}: {exc}", "agent_error")
            )
    return results


# ---------------------------------------------------------------------- requests
def _text(content: Any, where: str) -> str:
    """Message content as text (a string, or OpenAI content parts of type text)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for p in content:
            if isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str):
                parts.append(p["text"])
            elif isinstance(p, str):
                parts.append(p)
            else:
                raise RequestError(400, f"{where}: only text content parts are supported")
        return "".join(parts)
    raise RequestError(400, f"{where}: content must be a string or a list of text parts")


def observation_from_request(body: dict[str, Any], env_id: str | None) -> Observation:
    """The observation a chat request stands for (see the module docstring)."""
    raw = body.get("spenv_observation")
    if raw is not None:
        if not isinstance(raw, dict):
            raise RequestError(400, "spenv_observation must be an object (Observation.to_dict())")
        try:
            return Observation.from_dict(raw)
        except (KeyError, TypeError, ValueError) as exc:
            msg = f"invalid spenv_observation: {type(exc).__name__}: {exc}"
            raise RequestError(400, msg) from exc
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError(400, "'messages' must be a non-empty list", code="invalid_messages")
    system, rest = [], []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise RequestError(400, f"messages[{i}] must be an object with a 'role'")
        text = _text(m.get("content"), f"messages[{i}]")
        (system if m["role"] in ("system", "developer") else rest).append((m["role"], text))
    # One message is the prompt; a conversation is read as one transcript.
    user = rest[0][1] if len(rest) == 1 else "\n\n".join(f"[{r}] {t}" for r, t in rest)
    return Observation(
        system="\n\n".join(text for _, text in system),
        user=user,
        role=str(body.get("spenv_role") or "player"),
        env_id=env_id or "",
        turn=0,
    )


def _jsonable_meta(meta: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not isinstance(meta, dict):
        return out
    for k, v in meta.items():
        if hasattr(v, "tolist"):
            v = v.tolist()
        try:
            json.dumps(v)
        except (TypeError, ValueError):
            continue
        out[str(k)] = v
    return out


def _cut(text: str, stop: list[str]) -> tuple[str, bool]:
    cut = min((i for s in stop if s and (i := text.find(s)) >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def _logprobs_block(meta: dict[str, Any]) -> dict[str, Any] | None:
    lps = meta.get("logprobs")
    if not isinstance(lps, list):
        return None
    tokens = meta.get("tokens")
    if not isinstance(tokens, list) or len(tokens) != len(lps):
        ids = meta.get("completion_ids")
        if isinstance(ids, list) and len(ids) == len(lps):
            tokens = [f"token_id:{int(i)}" for i in ids]
        else:
            tokens = [""] * len(lps)
    return {
        "content": [
            {
                "token": str(t),
                "logprob": float(lp),
                "bytes": list(str(t).encode()),
                "top_logprobs": [],
            }
            for t, lp in zip(tokens, lps, strict=True)
        ]
    }


# ---------------------------------------------------------------------- the server
#: Listen backlog asked of the kernel (it caps it at ``net.core.somaxconn``): a burst of this many
#: new connections waits in the queue instead of being reset.
LISTEN_BACKLOG = 4096


class _Server(ThreadingHTTPServer):
    """A threading HTTP server with a deep listen queue that accepts every waiting connection
    each time the socket is ready (the stock loop accepts one per wake-up)."""

    request_queue_size = LISTEN_BACKLOG
    daemon_threads = True

    def _handle_request_noblock(self) -> None:
        self.socket.setblocking(False)
        try:
            for _ in range(256):  # then let serve_forever look at shutdown requests
                try:
                    request, client_address = self.get_request()
                except (BlockingIOError, InterruptedError):
                    return
                except OSError:
                    return
                request.setblocking(True)
                if self.verify_request(request, client_address):
                    try:
                        self.process_request(request, client_address)
                    except Exception:
                        self.handle_error(request, client_address)
                        self.shutdown_request(request)
                else:
                    self.shutdown_request(request)
        finally:
            self.socket.setblocking(True)


class AgentServer:
    """An HTTP server exposing one agent as an OpenAI-compatible endpoint.

    ``spec`` is an agent spec (``nash``, ``hf:PATH``) or an agent object. ``port=0`` picks a
    free port (see :attr:`port` and :attr:`url`). ``model_name`` is the model id clients ask for
    (default: the spec, or the agent's ``name``).
    """

    def __init__(
        self,
        spec: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        env: str | None = None,
        model_name: str | None = None,
        seed: int | None = 0,
        batch_window: float = 0.01,
        max_batch: int = 64,
        max_body: int = 8 * 1024 * 1024,
        request_timeout: float = 600.0,
        verbose: bool = False,
    ) -> None:
        self.pool = AgentPool(spec, env=env, seed=seed)
        self.spec = self.pool.spec
        self.model_name = model_name or self.spec
        self.batcher = Batcher(self.pool, window=batch_window, max_batch=max_batch)
        self.max_body = int(max_body)
        self.request_timeout = float(request_timeout)
        self.verbose = verbose
        self.created = int(time.time())
        self.requests = 0
        self._count_lock = threading.Lock()
        self._active = 0  # chat requests being answered
        self._idle = threading.Condition(self._count_lock)
        handler = type("Handler", (_Handler,), {"app": self})
        self.httpd = _Server((host, port), handler)
        self.host, self.port = self.httpd.server_address[:2]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The API root clients use as ``base_url`` (``http://HOST:PORT/v1``)."""
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> AgentServer:
        """Serve in a background thread."""
        self.batcher.start()
        self._thread = threading.Thread(
            target=self.httpd.serve_forever,
            kwargs={"poll_interval": 0.05},  # how soon close() takes effect
            name="spenv-serve",
            daemon=True,
        )
        self._thread.start()
        return self

    def close(self, grace: float = 30.0) -> None:
        """Stop accepting requests, answer the ones in flight (waiting up to ``grace``
        seconds), then stop the batcher."""
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self.httpd.server_close()
        with self._idle:
            self._idle.wait_for(lambda: self._active == 0, timeout=grace)
        self.batcher.stop()

    def __enter__(self) -> AgentServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -------------------------------------------------------------- endpoints
    def model_object(self) -> dict[str, Any]:
        return {
            "id": self.model_name,
            "object": "model",
            "created": self.created,
            "owned_by": "spenv",
        }

    def resolve_model(self, model: Any) -> str | None:
        """The env id a model name carries (``NAME@ENV``), or None; 404 for another model."""
        if not isinstance(model, str) or not model:
            raise RequestError(400, "'model' must be a non-empty string", code="invalid_model")
        if model == self.model_name:
            return None
        base, at, env = model.rpartition("@")
        if at and base == self.model_name and env:
            return env
        raise RequestError(
            404,
            f"The model `{model}` does not exist; this server serves `{self.model_name}`",
            code="model_not_found",
        )

    def chat(self, body: Any) -> tuple[dict[str, Any], bool]:
        """Answer one chat completions request: (response object, stream?)."""
        if not isinstance(body, dict):
            raise RequestError(400, "the request body must be a JSON object")
        model_env = self.resolve_model(body.get("model"))
        env_field = body.get("env")
        if env_field is not None and not isinstance(env_field, str):
            raise RequestError(400, "'env' must be a string (an env id)")
        n = body.get("n", 1)
        if n is None:
            n = 1
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_CHOICES:
            raise RequestError(400, f"'n' must be an integer from 1 to {MAX_CHOICES}")
        stream = body.get("stream", False)
        if not isinstance(stream, bool | None):
            raise RequestError(400, "'stream' must be a boolean")
        stop = body.get("stop")
        if isinstance(stop, str):
            stop = [stop]
        if stop is not None and not (
            isinstance(stop, list) and all(isinstance(s, str) for s in stop)
        ):
            raise RequestError(400, "'stop' must be a string or a list of strings")
        want_lp = bool(body.get("logprobs"))
        env_id = env_field or model_env or self.pool.env
        obs = observation_from_request(body, env_id)
        futures = [self.batcher.submit(obs.env_id or env_id, obs) for _ in range(n)]
        choices = []
        usage = {"prompt_tokens": 0, "completion_tokens": 0}
        deadline = time.monotonic() + self.request_timeout
        for i, fut in enumerate(futures):
            try:
                reply = fut.result(timeout=max(0.0, deadline - time.monotonic()))
            except FutureTimeout:
                raise RequestError(
                    504, f"the agent did not answer within {self.request_timeout:g}s", "timeout"
                ) from None
            meta = _jsonable_meta(getattr(reply, "meta", None))
            text, was_cut = _cut(str(reply), stop or [])
            choice: dict[str, Any] = {
                "index": i,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop" if was_cut else meta.get("finish_reason", "stop"),
                "logprobs": _logprobs_block(meta) if want_lp else None,
            }
            if meta:
                choice["spenv_meta"] = meta
            choices.append(choice)
            if i == 0 and isinstance(meta.get("prompt_ids"), list):
                usage["prompt_tokens"] = len(meta["prompt_ids"])
            if isinstance(meta.get("completion_ids"), list):
                usage["completion_tokens"] += len(meta["completion_ids"])
        response: dict[str, Any] = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": choices,
        }
        if usage["prompt_tokens"] or usage["completion_tokens"]:  # only counts the agent knows
            total = usage["prompt_tokens"] + usage["completion_tokens"]
            response["usage"] = {**usage, "total_tokens": total}
        return response, bool(stream)


def _error_body(message: str, kind: str, code: Any = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive; every path answers JSON (or an event stream)."""

    protocol_version = "HTTP/1.1"
    server_version = "spenv-serve"
    timeout = 300  # seconds a connection may sit idle or stall mid-request before it is closed
    app: AgentServer

    def log_message(self, format: str, *args: Any) -> None:
        if self.app.verbose:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def _send_json(self, status: int, obj: Any, *, close: bool = False) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, exc: RequestError, *, close: bool = False) -> None:
        self._send_json(exc.status, _error_body(exc.message, exc.kind, exc.code), close=close)

    def _route(self) -> str:
        path = self.path.split("?", 1)[0].rstrip("/")
        return path[3:] if path.startswith("/v1/") or path == "/v1" else path

    def do_GET(self) -> None:
        try:
            route = self._route()
            if route == "/models":
                self._send_json(200, {"object": "list", "data": [self.app.model_object()]})
            elif route.startswith("/models/"):
                self.app.resolve_model(route[len("/models/") :])
                self._send_json(200, self.app.model_object())
            elif route in ("/health", "/healthz"):
                self._send_json(200, {"status": "ok"})
            elif route == "/chat/completions":
                self._send_error(RequestError(405, "use POST for /v1/chat/completions"))
            else:
                self._send_error(RequestError(404, f"unknown path {self.path!r}", code="not_found"))
        except RequestError as exc:
            self._send_error(exc)
        except Exception as exc:  # the server never dies on a request
            self._internal(exc)

    def do_POST(self) -> None:
        try:
            if self._route() != "/chat/completions":
                self._drain_or_close()
                self._send_error(RequestError(404, f"unknown path {self.path!r}", code="not_found"))
                return
            body = self._read_json()
            if body is None:
                return
            with self.app._count_lock:
                self.app.requests += 1
                self.app._active += 1
            try:  # counted until the answer is written: shutdown waits for it
                response, stream = self.app.chat(body)
                if stream:
                    self._stream(response)
                else:
                    self._send_json(200, response)
            except RequestError as exc:
                self._send_error(exc)
            finally:
                with self.app._idle:
                    self.app._active -= 1
                    self.app._idle.notify_all()
        except RequestError as exc:
            self._send_error(exc)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:
            self._internal(exc)

    def do_PUT(self) -> None:
        self._drain_or_close()
        self._send_error(RequestError(405, f"{self.command} is not supported here"))

    do_DELETE = do_PATCH = do_PUT

    def _internal(self, exc: Exception) -> None:
        try:
            self._send_json(
                500,
                _error_body(f"internal error: {type(exc).__name__}: {exc}", "server_error"),
                close=True,
            )
        except OSError:
            self.close_connection = True

    def _drain_or_close(self) -> None:
        """Read a small body we will not use (keeps the connection usable), else close."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if 0 <= length <= self.app.max_body:
            self.rfile.read(length)
        else:
            self.close_connection = True

    def _read_json(self) -> Any:
        """The parsed body, or None after an error answer was sent."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self._send_error(RequestError(411, "send the body with a Content-Length"), close=True)
            return None
        raw_len = self.headers.get("Content-Length")
        if raw_len is None:
            self._send_error(RequestError(411, "a Content-Length header is required"), close=True)
            return None
        try:
            length = int(raw_len)
            if length < 0:
                raise ValueError
        except ValueError:
            self._send_error(RequestError(400, f"bad Content-Length {raw_len!r}"), close=True)
            return None
        if length > self.app.max_body:
            self._send_error(
                RequestError(
                    413,
                    f"the request body has {length} bytes; the limit is {self.app.max_body}",
                    code="request_too_large",
                ),
                close=True,
            )
            return None
        data = self.rfile.read(length)
        if len(data) < length:
            self.close_connection = True
            return None
        try:
            return json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            self._send_error(RequestError(400, f"the body is not valid JSON: {exc}"))
            return None

    def _stream(self, response: dict[str, Any]) -> None:
        """Server-sent events: a role chunk, a content chunk and a finish chunk per choice."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.close_connection = True
        self.end_headers()
        head = {k: response[k] for k in ("id", "created", "model")}
        head["object"] = "chat.completion.chunk"

        def event(choice: dict[str, Any]) -> None:
            payload = json.dumps({**head, "choices": [choice]})
            self.wfile.write(f"data: {payload}\n\n".encode())

        for c in response["choices"]:
            i = c["index"]
            event(
                {"index": i, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
            )
            event(
                {
                    "index": i,
                    "delta": {"content": c["message"]["content"]},
                    "logprobs": c["logprobs"],
                    "finish_reason": None,
                }
            )
            event({"index": i, "delta": {}, "finish_reason": c["finish_reason"]})
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


# ---------------------------------------------------------------------- command line
def add_parser(sub: Any) -> None:
    """``spenv serve``."""
    p = sub.add_parser(
        "serve",
        help="serve an agent as an OpenAI-compatible endpoint",
        description="Expose an agent spec (nash, hf:PATH, ...) as /v1/chat/completions.",
    )
    p.add_argument("spec", help="agent spec, e.g. nash, minimax, hf:PATH")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks one)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--env", help="the game of text-only requests (agents of one game need it)")
    p.add_argument("--model-name", help="model id clients ask for (default: the spec)")
    p.add_argument("--seed", type=int, default=0, help="the agent's seed (default 0)")
    p.add_argument(
        "--batch-window-ms", type=float, default=10.0, help="wait this long to batch (default 10)"
    )
    p.add_argument("--max-batch", type=int, default=64, help="largest act_batch call (default 64)")
    p.add_argument(
        "--max-body-mb", type=float, default=8.0, help="largest request body (default 8 MiB)"
    )
    p.add_argument("--verbose", action="store_true", help="log every request to stderr")
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from spenv.agents.specs import AgentSpecError

    try:
        server = AgentServer(
            args.spec,
            host=args.host,
            port=args.port,
            env=args.env,
            model_name=args.model_name,
            seed=args.seed,
            batch_window=args.batch_window_ms / 1000,
            max_batch=args.max_batch,
            max_body=int(args.max_body_mb * 1024 * 1024),
            verbose=args.verbose,
        )
    except (AgentSpecError, KeyError, ValueError, OSError) as exc:
        print(f"spenv serve: {exc}", file=sys.stderr)
        return 2
    return serve_until_signal(server)


def serve_until_signal(server: AgentServer) -> int:
    """Serve until SIGINT or SIGTERM, then shut down cleanly (a second signal exits at once)."""
    stop = threading.Event()
    previous = {}

    def handle(signum: int, frame: Any) -> None:
        stop.set()
        for sig, old in previous.items():  # a second signal uses the default action
            signal.signal(sig, old)

    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.getsignal(sig)
        signal.signal(sig, handle)
    server.start()
    print(
        f"spenv serve: {server.spec!r} as model {server.model_name!r} at {server.url} "
        "(Ctrl-C stops)",
        flush=True,
    )
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.close()
        for sig, old in previous.items():
            signal.signal(sig, old)
    print(
        f"spenv serve: stopped after {server.requests} requests in {server.batcher.batches} "
        "batches",
        flush=True,
    )
    return 0
