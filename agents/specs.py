"""Agent specs: strings that name agents on the command line and in configs.

Grammar (parameters are ``key=value``, values read as JSON where they parse, else strings):

- ``NAME`` or ``NAME:key=value,key=value``: ``random`` or a game's scripted agent (``nash``,
  ``nash:alpha=0.2``); ``human`` / ``human:show_state=true`` (a person at the terminal).
- ``hf:PATH`` / ``hf:PATH,key=value,...``: a local Hugging Face model (:class:`HFAgent`);
  ``vllm:PATH,...`` the same model through vLLM (:class:`VLLMAgent`). ``PATH`` is everything
  after ``hf:`` up to the first ``,key=`` and may hold ``/`` and ``:`` (hub ids, absolute paths,
  ``C:/models/x``).
- ``openai:MODEL@URL,key=value,...``: a model behind an OpenAI-compatible server
  (``OpenAIAgent(model=MODEL, base_url=URL, ...)``); the URL starts at the first ``@http://`` or
  ``@https://`` (else at the last ``@``); without ``@URL`` the agent's default base URL is used.

Commas inside brackets, braces or quotes do not split (``stop=["\\n\\n", "END"]``). A list of
specs (``--agents hf:PATH,temperature=0.7,nash``) splits with :func:`split_agent_specs`: a
``key=value`` piece belongs to the spec before it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from spenv.agents.base import Agent, RandomAgent


class AgentSpecError(ValueError):
    """An agent spec names no known agent, or has malformed parameters."""


#: Spec kinds whose first field is a model (path or name) rather than a parameter.
MODEL_KINDS = ("hf", "vllm", "openai")

_PARAM_RE = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_]*\s*=")
_URL_AT_RE = re.compile(r"@(?=https?://)")


def _split_top(text: str) -> list[str]:
    """Split on commas outside brackets, braces, parentheses and quotes."""
    parts: list[str] = []
    depth = 0
    quote: str | None = None
    start = 0
    escaped = False
    for i, ch in enumerate(text):
        if quote is not None:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _value(raw: str) -> Any:
    raw = raw.strip()
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        if len(raw) >= 2 and raw[0] == raw[-1] == "'":
            return raw[1:-1]
        return raw


def _params(spec: str, pieces: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for part in pieces:
        key, eq, value = part.partition("=")
        key = key.strip()
        if not eq or not key.isidentifier():
            raise AgentSpecError(
                f"agent spec {spec!r}: parameters look like key=value, got {part.strip()!r}"
            )
        if key in params:
            raise AgentSpecError(f"agent spec {spec!r}: parameter {key!r} given twice")
        params[key] = _value(value)
    return params


def split_agent_specs(text: str) -> list[str]:
    """Split a comma-separated list of specs, keeping each spec's ``key=value`` parameters.

    ``"hf:m,temperature=0.7,nash:alpha=0.2,random"`` gives ``["hf:m,temperature=0.7",
    "nash:alpha=0.2", "random"]``.
    """
    specs: list[str] = []
    for piece in _split_top(text):
        if not piece.strip():
            raise AgentSpecError(f"empty agent spec in {text!r}")
        if specs and _PARAM_RE.match(piece):
            specs[-1] += "," + piece.strip()
        else:
            specs.append(piece.strip())
    return specs


def parse_agent_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """Split a spec into its kind and parameters (see the module docstring).

    ``hf:PATH`` and ``vllm:PATH`` give ``("hf", {"path": PATH, ...})``; ``openai:MODEL@URL``
    gives ``("openai", {"model": MODEL, "base_url": URL, ...})``; any other spec gives its
    lower-cased name and parameters.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise AgentSpecError(f"an agent spec is a non-empty string, got {spec!r}")
    text = spec.strip()
    head, colon, rest = text.partition(":")
    name = head.strip().lower()
    if name in MODEL_KINDS:
        pieces = _split_top(rest) if colon else [""]
        # The model field runs up to the first piece that looks like key=value.
        k = 1
        while k < len(pieces) and not _PARAM_RE.match(pieces[k]):
            k += 1
        target = ",".join(pieces[:k]).strip()
        params = _params(spec, pieces[k:])
        if not target:
            form = "openai:MODEL@URL" if name == "openai" else f"{name}:PATH"
            raise AgentSpecError(f"agent spec {spec!r}: write it as {form}")
        if name == "openai":
            at = list(_URL_AT_RE.finditer(target))
            cut = at[0].start() if at else target.rfind("@")
            model, url = (target[:cut], target[cut + 1 :]) if cut >= 0 else (target, "")
            if not model.strip():
                raise AgentSpecError(f"agent spec {spec!r}: the model name is missing")
            fields: dict[str, Any] = {"model": model.strip()}
            if url.strip():
                fields["base_url"] = url.strip()
            elif cut >= 0:
                raise AgentSpecError(f"agent spec {spec!r}: the URL after '@' is missing")
        else:
            fields = {"path": target}
        clash = set(fields) & set(params)
        if clash:
            raise AgentSpecError(f"agent spec {spec!r}: {sorted(clash)} set twice")
        return name, {**fields, **params}
    params = _params(spec, _split_top(rest)) if rest.strip() else {}
    return name, params


def _build(kind: str, cls_path: str, spec: str, params: dict[str, Any], seed: int | None) -> Agent:
    module, _, cls_name = cls_path.rpartition(".")
    import importlib

    try:
        cls = getattr(importlib.import_module(module), cls_name)
    except ImportError as exc:
        raise AgentSpecError(
            f"agent spec {spec!r} needs {module}, which could not be imported: {exc}"
        ) from exc
    kwargs = dict(params)
    if seed is not None and kind != "human":
        kwargs.setdefault("seed", seed)
    if kind in ("hf", "vllm"):
        kwargs.setdefault("name", spec)
    try:
        return cls(**kwargs)
    except (TypeError, ImportError) as exc:  # a bad parameter, or a backend not installed
        raise AgentSpecError(f"agent spec {spec!r}: {exc}") from exc


_FACTORIES = {
    "hf": "spenv.agents.hf.HFAgent",
    "vllm": "spenv.agents.vllm.VLLMAgent",
    "openai": "spenv.agents.openai_compat.OpenAIAgent",
    "human": "spenv.agents.human.HumanAgent",
}


def make_agent(spec: str | Agent, env_id: str | None = None, *, seed: int | None = None) -> Agent:
    """Build the agent a spec names; ``env_id`` resolves a game's scripted agents.

    Model and human specs need no ``env_id``; their classes are imported only when such a spec
    is built. An :class:`Agent` instance is returned as it is.
    """
    if not isinstance(spec, str):
        if not callable(getattr(spec, "act", None)):
            raise AgentSpecError(f"{spec!r} is neither an agent spec nor an agent")
        return spec
    name, params = parse_agent_spec(spec)
    if name in _FACTORIES:
        return _build(name, _FACTORIES[name], spec.strip(), params, seed)
    known = ["random", *(f"{k}:..." for k in MODEL_KINDS), "human"]
    if env_id is not None:
        from spenv.registry import spec as env_spec

        es = env_spec(env_id)
        known += list(es.reference_agents)
        factory = es.load_agent_factory()
        if factory is not None and name == "random":
            # A game whose moves are free text has its own random agent; games with finite
            # moves may fall back to the generic one.
            try:
                return factory("random", seed=seed, **params)
            except (ValueError, KeyError):
                pass
            except TypeError as exc:
                raise AgentSpecError(f"agent spec {spec!r}: {exc}") from exc
        elif name in es.reference_agents and factory is not None:
            try:
                return factory(name, seed=seed, **params)
            except TypeError as exc:
                raise AgentSpecError(f"agent spec {spec!r}: {exc}") from exc
    if name == "random":
        if params:
            raise AgentSpecError(f"the random agent takes no parameters, got {params}")
        return RandomAgent(seed=seed)
    where = f" for {env_id}" if env_id else ""
    raise AgentSpecError(f"unknown agent spec {spec!r}{where}; known: {', '.join(known)}")
