"""An agent behind an OpenAI-compatible chat endpoint (vLLM's server, hosted APIs, ``spenv serve``).

:class:`OpenAIAgent` sends each observation as ``POST {base_url}/chat/completions`` and returns
the first choice's text as a :class:`~spenv.agents.Reply`. It is built for playing many games at
once against a remote server:

- requests run concurrently on one shared ``httpx.AsyncClient`` in a background event loop, at
  most ``max_concurrency`` at a time; ``act``/``act_batch`` are synchronous wrappers and
  ``aact``/``aact_batch`` the asynchronous entry points (usable from any event loop);
- each request has its own timeout; 408/409/429/5xx answers, timeouts and connection errors are
  retried with exponential backoff and jitter, honouring ``Retry-After``;
- mistakes in the setup fail fast with a specific error and are not retried: a bad key
  (:class:`AuthenticationError`), an unknown model (:class:`ModelNotFoundError`, listing the
  models the server has), a URL that is no OpenAI endpoint (:class:`EndpointError`). After such
  an error the agent refuses further calls at once with the same error, so a long run does not
  hammer a misconfigured server;
- with ``logprobs=True`` the reply's ``meta`` carries the sampled ``tokens`` and their
  ``logprobs`` (and ``completion_ids`` when the server names tokens as ``token_id:N``, as vLLM
  does with ``return_tokens_as_token_ids``).

Talking to ``spenv serve``, the agent also sends the full observation (``spenv_observation``), so
a scripted agent behind the server sees ``legal_actions`` and ``state`` exactly as a local one
would. By default (``passthrough=None``) it asks ``GET {base_url}/models`` once and sends the
observation only when the server says it is spenv (``owned_by: "spenv"``); hosted APIs reject
unknown request fields, so they never get it.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import os
import random
import threading
import time
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

from spenv.agents.base import Reply
from spenv.observation import Observation

T = TypeVar("T")

#: HTTP statuses worth retrying: request timeout, conflict (lock timeouts), rate limit, 5xx.
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})


class RemoteAgentError(RuntimeError):
    """A remote agent could not answer; the message says why and what to check."""


class AuthenticationError(RemoteAgentError):
    """The server refused the API key (HTTP 401/403)."""


class ModelNotFoundError(RemoteAgentError):
    """The server has no model of that name (HTTP 404 naming the model)."""


class EndpointError(RemoteAgentError):
    """The URL is unreachable or does not speak the OpenAI chat API."""


class RequestFailedError(RemoteAgentError):
    """A request still failed after every retry (rate limits, server errors, timeouts)."""


_FATAL = (AuthenticationError, ModelNotFoundError, EndpointError)


class OpenAIAgent:
    """Plays through an OpenAI-compatible chat completions endpoint.

    ``model`` is the served model's name and ``base_url`` the API root (``http://host:8000/v1``;
    default ``OPENAI_BASE_URL`` or OpenAI's own). ``api_key`` defaults to ``OPENAI_API_KEY``
    (sent as a bearer token; servers without auth ignore it). Sampling: ``temperature``,
    ``top_p``, ``max_tokens``, ``stop``, ``seed``; ``extra_body`` adds any other fields the
    server understands (e.g. vLLM's ``top_k``). ``timeout`` is per request in seconds,
    ``max_retries`` the retries after the first try, ``backoff`` the first retry's delay (doubled
    each retry, up to ``max_backoff``, with jitter). ``prompt_style`` (``plain``, ``system``,
    ``reasoning``) builds the messages as :mod:`spenv.agents.prompting` does for every language
    model agent; ``system_prompt`` replaces the system message altogether. ``extract`` applies
    :func:`~spenv.agents.prompting.extract_move` to answers (default: with ``reasoning`` only;
    the full answer is then kept in ``meta["raw_text"]``).

    ``tools`` offers the games' text tools (``<search>``, ``<code>``, ...; see
    :mod:`spenv.games.toolcalls`) as native OpenAI function tools: a list of tool names, or
    ``"auto"`` for the tools whose tags the observation's prompt names. The model's tool calls
    come back as the text format the games parse (``<search>query</search>``), after any text.
    """

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        name: str | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        max_tokens: int | None = None,
        stop: str | Sequence[str] | None = None,
        seed: int | None = None,
        logprobs: bool = False,
        top_logprobs: int | None = None,
        max_concurrency: int = 16,
        timeout: float = 120.0,
        connect_timeout: float = 10.0,
        max_retries: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        passthrough: bool | None = None,
        prompt_style: str = "system",
        system_prompt: str | None = None,
        extract: bool | None = None,
        tools: str | Sequence[str] | None = None,
        extra_body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        if not isinstance(model, str) or not model:
            raise ValueError(f"model is a non-empty string, got {model!r}")
        base_url = base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
        if not base_url.startswith(("http://", "https://")):
            base_url = "http://" + base_url
        if int(max_concurrency) < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency!r}")
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout!r}")
        if max_retries < 0:
            raise ValueError(f"max_retries must be non-negative, got {max_retries!r}")
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.name = name or f"openai:{model}"
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.sampling: dict[str, Any] = {
            k: v
            for k, v in {
                "temperature": temperature,
                "top_p": top_p,
                "max_tokens": max_tokens,
                "stop": [stop] if isinstance(stop, str) else (list(stop) if stop else None),
                "seed": seed,
            }.items()
            if v is not None
        }
        self.logprobs = bool(logprobs or top_logprobs)
        self.top_logprobs = top_logprobs
        self.max_concurrency = int(max_concurrency)
        self.timeout = float(timeout)
        self.connect_timeout = float(min(connect_timeout, timeout))
        self.max_retries = int(max_retries)
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        from spenv.agents.prompting import check_style

        check_style(prompt_style, "transcript")
        self.passthrough = passthrough
        self.prompt_style = prompt_style
        self.system_prompt = system_prompt
        self.extract = prompt_style == "reasoning" if extract is None else bool(extract)
        if tools is not None and tools != "auto":
            from spenv.games.toolcalls import TOOLS

            tools = [tools] if isinstance(tools, str) else list(tools)
            unknown = [t for t in tools if t not in TOOLS]
            if unknown:
                raise ValueError(f"unknown tools {unknown}; known: {', '.join(sorted(TOOLS))}")
        self.tools = tools
        self.extra_body = dict(extra_body or {})
        self.headers = dict(headers or {})
        self.requests = 0  # HTTP requests sent (retries included)
        self.retries = 0  # of which retries
        self._rng = random.Random(seed)
        self._fatal: RemoteAgentError | None = None
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._client: Any = None
        self._sem: asyncio.Semaphore | None = None
        self._probe: asyncio.Future | None = None

    # ------------------------------------------------------------------ public API
    def act(self, obs: Observation) -> Reply:
        """One decision (blocks until the server answers)."""
        return self._submit(self._complete(obs)).result()

    def act_batch(self, observations: Sequence[Observation]) -> list[Any]:
        """Many decisions, sent concurrently (at most ``max_concurrency`` in flight).

        A decision that fails comes back as an :class:`~spenv.env.AgentFailure`, which the
        rollout engine records as that game's failed move while the others go on; when every
        decision fails the error is raised.
        """
        return self._submit(self._complete_many(list(observations))).result()

    async def aact(self, obs: Observation) -> Reply:
        """One decision, awaited from any event loop."""
        return await asyncio.wrap_future(self._submit(self._complete(obs)))

    async def aact_batch(self, observations: Sequence[Observation]) -> list[Any]:
        """:meth:`act_batch`, awaited from any event loop."""
        return await asyncio.wrap_future(self._submit(self._complete_many(list(observations))))

    def messages(self, obs: Observation) -> list[dict[str, str]]:
        """The chat messages sent for ``obs``."""
        from spenv.agents.prompting import build_messages

        msgs = build_messages(obs, self.prompt_style)
        if self.system_prompt is not None:
            msgs = [m for m in msgs if m["role"] != "system"]
            msgs.insert(0, {"role": "system", "content": self.system_prompt})
        return msgs

    def request_body(self, obs: Observation, *, passthrough: bool = False) -> dict[str, Any]:
        """The JSON body of the chat completions request for ``obs``."""
        body: dict[str, Any] = {"model": self.model, "messages": self.messages(obs)}
        body.update(self.sampling)
        if self.logprobs:
            body["logprobs"] = True
            if self.top_logprobs:
                body["top_logprobs"] = int(self.top_logprobs)
        names = self.tool_names(obs)
        if names:
            from spenv.games.toolcalls import openai_tools

            body["tools"] = openai_tools(names)
        body.update(self.extra_body)
        if passthrough:
            body["spenv_observation"] = obs.to_dict()
        return body

    def tool_names(self, obs: Observation) -> list[str]:
        """The tools offered for ``obs`` (see ``tools``)."""
        if self.tools is None:
            return []
        if self.tools != "auto":
            return list(self.tools)
        from spenv.games.toolcalls import TOOLS

        text = str(obs.text)
        return [name for name in TOOLS if f"<{name}>" in text]

    def list_models(self) -> list[str]:
        """The model ids ``GET {base_url}/models`` lists."""
        return self._submit(self._list_models()).result()

    def close(self) -> None:
        """Close the HTTP client and stop the background loop (the agent may be used again)."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None:
            return
        client = self._client

        async def _shutdown() -> None:
            if client is not None:
                await client.aclose()

        with contextlib.suppress(Exception):  # closing is best effort
            asyncio.run_coroutine_threadsafe(_shutdown(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(timeout=5)
        loop.close()
        self._client = self._sem = self._probe = None

    def __enter__(self) -> OpenAIAgent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # pragma: no cover - interpreter shutdown order varies
        try:
            if self._loop is not None:
                self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        return f"OpenAIAgent(model={self.model!r}, base_url={self.base_url!r})"

    # ------------------------------------------------------------------ event loop
    def _submit(self, coro: Coroutine[Any, Any, T]) -> Any:
        """Run ``coro`` on the agent's own event loop thread; returns a concurrent future."""
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                thread = threading.Thread(target=run, name=f"{self.name}-http", daemon=True)
                thread.start()
                ready.wait()
                self._loop, self._thread = loop, thread
            return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def _ensure_client(self) -> Any:
        if self._client is None:
            import httpx

            headers = {"Content-Type": "application/json", **self.headers}
            if self.api_key:
                headers["Authorization"] = f"Bearer {self.api_key}"
            self._client = httpx.AsyncClient(
                headers=headers,
                timeout=httpx.Timeout(self.timeout, connect=self.connect_timeout),
                limits=httpx.Limits(
                    max_connections=self.max_concurrency,
                    max_keepalive_connections=self.max_concurrency,
                ),
            )
            self._sem = asyncio.Semaphore(self.max_concurrency)
        return self._client

    # ------------------------------------------------------------------ requests
    async def _complete_many(self, observations: list[Observation]) -> list[Any]:
        from spenv.env import AgentFailure

        results = await asyncio.gather(
            *(self._complete(o) for o in observations), return_exceptions=True
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors and len(errors) == len(results):
            raise errors[0]
        return [
            AgentFailure(f"agent failed: {type(r).__name__}: {r}")
            if isinstance(r, BaseException)
            else r
            for r in results
        ]

    async def _complete(self, obs: Observation) -> Reply:
        if self._fatal is not None:
            raise self._fatal
        passthrough = await self._wants_passthrough()
        body = self.request_body(obs, passthrough=passthrough)
        data = await self._request("POST", "/chat/completions", body)
        return self._reply(data, obs)

    async def _wants_passthrough(self) -> bool:
        if self.passthrough is not None:
            return self.passthrough
        if self._probe is None:
            self._probe = asyncio.ensure_future(self._probe_spenv())
        return await asyncio.shield(self._probe)

    async def _probe_spenv(self) -> bool:
        """Is the server ``spenv serve``? (One ``GET /models``; a server without it is not.)"""
        try:
            data = await self._request("GET", "/models", None)
        except AuthenticationError:
            raise
        except (EndpointError, RequestFailedError) as exc:
            if isinstance(exc, EndpointError) and "cannot connect" not in str(exc):
                return False  # no /models there: not spenv, and chat may still work
            self._probe = None  # the server is down: ask again next time
            raise
        except RemoteAgentError:
            return False
        models = data.get("data") if isinstance(data, dict) else None
        if not isinstance(models, list):
            return False
        names = {self.model, self.model.rpartition("@")[0]}  # NAME@ENV_ID names NAME
        return any(
            isinstance(m, dict) and m.get("owned_by") == "spenv" and m.get("id") in names
            for m in models
        )

    async def _list_models(self) -> list[str]:
        data = await self._request("GET", "/models", None)
        models = data.get("data") if isinstance(data, dict) else None
        if not isinstance(models, list):
            raise EndpointError(f"GET {self.base_url}/models did not return a model list")
        return [str(m.get("id")) for m in models if isinstance(m, dict)]

    async def _request(
        self, method: str, path: str, body: dict[str, Any] | None, *, retries: int | None = None
    ) -> Any:
        """Send one request with retries; return the parsed JSON or raise a specific error."""
        import httpx

        client = self._ensure_client()
        assert self._sem is not None
        url = self.base_url + path
        retries = self.max_retries if retries is None else retries
        last = ""
        for attempt in range(retries + 1):
            if attempt:
                self.retries += 1
            wait: float | None = None
            async with self._sem:
                self.requests += 1
                try:
                    if body is None:
                        resp = await client.request(method, url)
                    else:
                        resp = await client.request(method, url, content=json.dumps(body))
                except httpx.TimeoutException as exc:
                    last = f"timed out after {self.timeout:g}s ({type(exc).__name__})"
                except httpx.ConnectError as exc:
                    if _is_dns_error(exc):
                        raise self._fail(
                            EndpointError(
                                f"cannot resolve the host of {url}: {exc}; check base_url"
                            )
                        ) from exc
                    last = f"cannot connect ({exc})"
                except httpx.TransportError as exc:
                    last = f"connection error ({type(exc).__name__}: {exc})"
                except httpx.InvalidURL as exc:
                    raise self._fail(EndpointError(f"invalid base_url {url!r}: {exc}")) from exc
                else:
                    if resp.status_code < 400:
                        return self._parse_ok(resp, method, url)
                    if resp.status_code not in RETRY_STATUSES:
                        hint = ""
                        if resp.status_code == 404 and method == "POST":
                            hint = await self._known_models_hint(client)
                        raise self._http_error(resp, method, url, hint)
                    last = f"HTTP {resp.status_code}: {_error_message(resp)}"
                    wait = _retry_after(resp)
            if attempt < retries:
                delay = min(self.max_backoff, self.backoff * 2**attempt)
                delay = delay / 2 + self._rng.uniform(0, delay / 2)
                if wait is not None:
                    delay = min(max(delay, wait), max(self.max_backoff, 1.0))
                await asyncio.sleep(delay)
        if last.startswith("cannot connect"):
            raise EndpointError(
                f"{method} {url}: {last} after {retries + 1} tries; is the server running "
                "and is base_url right?"
            )
        raise RequestFailedError(f"{method} {url}: {last} (gave up after {retries + 1} tries)")

    def _fail(self, exc: RemoteAgentError, method: str = "POST") -> RemoteAgentError:
        """Remember a setup error: later calls raise it at once without a request.

        Only errors of the chat endpoint itself (or a refused key) are remembered; a server
        without ``GET /models`` may still serve chat completions.
        """
        if method == "POST" or isinstance(exc, AuthenticationError):
            self._fatal = exc
        return exc

    def _parse_ok(self, resp: Any, method: str, url: str) -> Any:
        try:
            data = resp.json()
        except ValueError:
            ctype = resp.headers.get("content-type", "?")
            raise self._fail(
                EndpointError(
                    f"{method} {url} answered {resp.status_code} with {ctype}, not JSON: "
                    f"{resp.text[:200]!r}; this is not an OpenAI-compatible endpoint (does "
                    "base_url end in /v1?)"
                ),
                method,
            ) from None
        if method == "POST" and not (
            isinstance(data, dict) and isinstance(data.get("choices"), list)
        ):
            raise self._fail(
                EndpointError(
                    f"POST {url} answered JSON without 'choices': {str(data)[:200]}; this is not "
                    "an OpenAI-compatible chat completions endpoint"
                )
            )
        return data

    def _http_error(self, resp: Any, method: str, url: str, hint: str = "") -> RemoteAgentError:
        status = resp.status_code
        msg = _error_message(resp)
        if status in (401, 403):
            key = "no API key was sent" if not self.api_key else f"key {_mask(self.api_key)}"
            return self._fail(
                AuthenticationError(
                    f"{method} {url}: HTTP {status}, the server refused the credentials "
                    f"({key}): {msg}. Pass api_key= or set OPENAI_API_KEY."
                )
            )
        if status == 404:
            if _is_openai_error(resp) and "model" in msg.lower():
                return self._fail(
                    ModelNotFoundError(
                        f"the server at {self.base_url} has no model {self.model!r}: {msg}{hint}"
                    )
                )
            return self._fail(
                EndpointError(
                    f"{method} {url}: HTTP 404 ({msg}); no OpenAI-compatible endpoint there. "
                    "Does base_url end in /v1?"
                ),
                method,
            )
        return RemoteAgentError(f"{method} {url}: HTTP {status}: {msg}")

    async def _known_models_hint(self, client: Any) -> str:
        """The server's model list for an unknown-model error (empty when it has none)."""
        try:
            r = await client.get(self.base_url + "/models", timeout=5.0)
            ids = [str(m.get("id")) for m in r.json().get("data", []) if isinstance(m, dict)]
        except Exception:  # only a hint
            return ""
        return f"; it serves: {', '.join(ids)}" if ids else ""

    def _reply(self, data: dict[str, Any], obs: Observation) -> Reply:
        choices = data.get("choices") or []
        if not choices or not isinstance(choices[0], dict):
            raise RemoteAgentError(f"the server answered without a choice: {str(data)[:200]}")
        choice = choices[0]
        message = choice.get("message") or {}
        text = message.get("content") or ""
        if not isinstance(text, str):  # content parts
            text = "".join(p.get("text", "") for p in text if isinstance(p, dict))
        meta: dict[str, Any] = {}
        calls = message.get("tool_calls")
        if isinstance(calls, list) and calls:
            text = self._append_tool_calls(text, calls, meta)
        if choice.get("finish_reason") is not None:
            meta["finish_reason"] = choice["finish_reason"]
        usage = data.get("usage")
        if isinstance(usage, dict):
            meta["usage"] = {
                k: usage[k]
                for k in ("prompt_tokens", "completion_tokens")
                if isinstance(usage.get(k), int)
            }
        extra = choice.get("spenv_meta")
        if isinstance(extra, dict):
            meta.update(extra)
        lp = choice.get("logprobs")
        if self.logprobs and isinstance(lp, dict) and isinstance(lp.get("content"), list):
            tokens = [str(t.get("token", "")) for t in lp["content"]]
            meta["tokens"] = tokens
            meta["logprobs"] = [float(t.get("logprob", 0.0)) for t in lp["content"]]
            if tokens and all(t.startswith("token_id:") for t in tokens):
                with contextlib.suppress(ValueError):
                    meta["completion_ids"] = [int(t[9:]) for t in tokens]
            if self.top_logprobs:
                meta["top_logprobs"] = [
                    {str(a.get("token")): float(a.get("logprob", 0.0)) for a in t["top_logprobs"]}
                    for t in lp["content"]
                    if isinstance(t.get("top_logprobs"), list)
                ]
        if self.extract:
            from spenv.agents.prompting import extract_move

            answer = extract_move(text, obs)
            if answer != text:
                meta["raw_text"] = text
                text = answer
        return Reply(text, **meta)

    @staticmethod
    def _append_tool_calls(text: str, calls: list[Any], meta: dict[str, Any]) -> str:
        """Native tool calls as the games' text format, after the message text."""
        from spenv.games.toolcalls import ToolCallError, from_openai_call

        parts = [text] if text else []
        errors = []
        for call in calls:
            try:
                parts.append(from_openai_call(call if isinstance(call, dict) else {}).render())
            except ToolCallError as exc:
                errors.append(str(exc))
        meta["tool_calls"] = len(calls)
        if errors:
            meta["tool_call_errors"] = errors
        return "\n".join(parts)


# ---------------------------------------------------------------------- helpers
def _error_message(resp: Any) -> str:
    """The ``error.message`` of an OpenAI-style error body, else the start of the body."""
    try:
        data = resp.json()
    except ValueError:
        return (resp.text or resp.reason_phrase or "").strip()[:200]
    if isinstance(data, dict):
        err = data.get("error", data.get("detail", data.get("message")))
        if isinstance(err, dict):
            return str(err.get("message") or err)[:500]
        if err is not None:
            return str(err)[:500]
    return str(data)[:200]


def _is_openai_error(resp: Any) -> bool:
    try:
        data = resp.json()
    except ValueError:
        return False
    return isinstance(data, dict) and isinstance(data.get("error"), dict | str)


def _retry_after(resp: Any) -> float | None:
    """Seconds the server asks to wait (``retry-after-ms``, ``Retry-After`` seconds or date)."""
    ms = resp.headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = resp.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _is_dns_error(exc: Exception) -> bool:
    import socket

    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, socket.gaierror):
            return True
        e = e.__cause__ or e.__context__
    text = str(exc).lower()
    return (
        "name or service not known" in text
        or "nodename nor servname" in text
        or ("temporary failure in name resolution" in text)
    )


def _mask(key: str) -> str:
    return key[:3] + "..." + key[-2:] if len(key) > 8 else "***"
