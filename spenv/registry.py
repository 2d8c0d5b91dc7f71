"""The env registry: versioned ids, lazy entry points, third-party plugins.

``register("MyGame-v1", "mypkg.games:MyGameEnv", roles=(...), description=...)`` adds a game;
``make("MyGame-v1", **options)`` builds it, importing its module only then, so ``import spenv``
stays light. Ids are ``Name-vN``; ``make("MyGame")`` picks the highest registered version.

Third-party packages register games through the entry-point group ``spenv.envs``: the entry
point's name is the env id and its value the env class (or any callable returning an env), e.g.
``"MyGame-v1" = "mypkg.games:MyGameEnv"`` in ``[project.entry-points."spenv.envs"]``.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

ENTRY_POINT_GROUP = "spenv.envs"
_ID_RE = re.compile(r"^(?:[\w.]+:)?[A-Za-z][\w.]*-v\d+$")


class UnknownEnvError(KeyError):
    """No env is registered under the requested id."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0])


@dataclass(frozen=True)
class EnvSpec:
    """What the registry knows about an env id without importing the game."""

    id: str
    entry_point: str | Callable[..., Any]
    roles: tuple[str, ...] = ()
    description: str = ""
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    #: Agent specs ``spenv play`` uses when none are given (one per seat).
    default_agents: tuple[str, ...] = ()
    #: Names of the game's scripted reference agents (see :func:`spenv.agents.make_agent`).
    reference_agents: tuple[str, ...] = ()
    #: ``"module:function"`` building a reference agent: ``function(name, seed=..., **params)``.
    agent_factory: str | None = None
    source: str = "spenv"
    #: Programs the game's default configuration needs (``"coqc"``, ``"bwrap"``); the demo, the
    #: docs and the tests check and name them.
    requires: tuple[str, ...] = ()
    #: A sentence or two that prompting styles with a persona place before the game's rules.
    persona: str = ""
    #: The reference agent that plays the game-theoretically optimal strategy, if there is one.
    equilibrium_agent: str | None = None
    #: Measurements of one agent: name -> ``"module:function"``, called as
    #: ``function(agent, *, seed=0)`` and returning a dict with at least ``"value"`` (and
    #: ``"better"``: ``"lower"`` or ``"higher"``, ``"label"``, ``"note"`` for tables).
    agent_metrics: Mapping[str, str] = field(default_factory=dict)
    #: Measurements over a set of played episodes: name -> ``"module:function"``, called as
    #: ``function(episodes, seats)`` (``seats[i]``: the seat the measured agent held in episode
    #: ``i``) and returning a JSON-serializable dict.
    episode_metrics: Mapping[str, str] = field(default_factory=dict)
    #: Labels that group games (``"in-domain"`` and ``"out-of-domain"`` of SPIRAL's evaluation).
    tags: tuple[str, ...] = ()
    #: Constructor options for playing sample games of this game (the games whose text trains
    #: the tiny test tokenizer, :mod:`spenv.agents.testing`): fixed here so that a new default
    #: of the game does not change that text. Empty: the game's defaults.
    sample_options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.id.rpartition("-v")[0]

    @property
    def version(self) -> int:
        return int(self.id.rpartition("-v")[2])

    def load(self) -> Callable[..., Any]:
        """Import and return the env class or factory."""
        return _load(self.entry_point, self.id)

    def load_agent_factory(self) -> Callable[..., Any] | None:
        """Import and return the game's reference-agent factory (``None`` if it has none)."""
        return None if self.agent_factory is None else _load(self.agent_factory, self.id)

    def load_metric(self, name: str) -> Callable[..., Any]:
        """Import one of the game's ``agent_metrics`` or ``episode_metrics`` by name."""
        target = self.agent_metrics.get(name) or self.episode_metrics.get(name)
        if target is None:
            known = sorted({*self.agent_metrics, *self.episode_metrics})
            raise KeyError(f"{self.id} has no metric {name!r}; known: {known}")
        return _load(target, self.id)

    def measure_agent(self, agent: Any, *, seed: int = 0, samples: int = 100) -> dict[str, Any]:
        """Every ``agent_metrics`` report of one agent object: ``{metric: report}``."""
        return {
            key: self.load_metric(key)(agent, seed=seed, samples=samples)
            for key in self.agent_metrics
        }

    def make(self, **options: Any) -> Any:
        kwargs = {**self.kwargs, **options}
        env = self.load()(**kwargs)
        if getattr(env, "env_id", None) != self.id:
            with contextlib.suppress(AttributeError):
                env.env_id = self.id
        return env


def _load(ep: str | Callable[..., Any], id: str) -> Callable[..., Any]:
    if callable(ep):
        return ep
    module, _, attr = ep.partition(":")
    if not attr:
        raise ValueError(f"entry point {ep!r} of {id} must look like 'module:attr'")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


_REGISTRY: dict[str, EnvSpec] = {}
_loaded_builtin = False
_loaded_plugins = False


def register(
    id: str,
    entry_point: str | Callable[..., Any],
    *,
    roles: tuple[str, ...] | list[str] = (),
    description: str = "",
    kwargs: Mapping[str, Any] | None = None,
    default_agents: tuple[str, ...] | list[str] = (),
    reference_agents: tuple[str, ...] | list[str] = (),
    agent_factory: str | None = None,
    source: str = "spenv",
    requires: tuple[str, ...] | list[str] = (),
    persona: str = "",
    equilibrium_agent: str | None = None,
    agent_metrics: Mapping[str, str] | None = None,
    episode_metrics: Mapping[str, str] | None = None,
    tags: tuple[str, ...] | list[str] = (),
    sample_options: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> EnvSpec:
    """Register an env under a versioned id (``Name-vN``) with what is known of the game: its
    seats, reference agents, the programs it needs, its prompt persona, its optimal agent, its
    measurements and its labels (see :class:`EnvSpec`). Every game fact lives here, so the demo,
    the trainer, the evaluation and the leaderboard loop over entries and name no game (and
    ``sample_options``, the options its sample games are played with)."""
    if not isinstance(id, str) or not _ID_RE.match(id):
        raise ValueError(f"env ids look like 'Name-v1', got {id!r}")
    if id in _REGISTRY and not overwrite:
        raise ValueError(f"{id} is already registered (pass overwrite=True to replace it)")
    spec = EnvSpec(
        id=id,
        entry_point=entry_point,
        roles=tuple(roles),
        description=description,
        kwargs=dict(kwargs or {}),
        default_agents=tuple(default_agents),
        reference_agents=tuple(reference_agents),
        agent_factory=agent_factory,
        source=source,
        requires=tuple(requires),
        persona=persona,
        equilibrium_agent=equilibrium_agent,
        agent_metrics=dict(agent_metrics or {}),
        episode_metrics=dict(episode_metrics or {}),
        tags=tuple(tags),
        sample_options=dict(sample_options or {}),
    )
    _REGISTRY[id] = spec
    return spec


def _ensure_loaded(plugins: bool = True) -> None:
    global _loaded_builtin, _loaded_plugins
    if not _loaded_builtin:
        _loaded_builtin = True
        importlib.import_module("spenv.games")
    if plugins and not _loaded_plugins:
        _loaded_plugins = True
        load_plugins()


def load_plugins() -> list[str]:
    """Register the envs that installed packages declare in the ``spenv.envs`` group."""
    added = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in _REGISTRY:
            continue
        dist = getattr(ep, "dist", None)
        source = dist.name if dist is not None else "plugin"
        try:
            register(ep.name, ep.value, source=source, description=f"plugin from {source}")
        except ValueError as exc:
            import warnings

            warnings.warn(f"ignoring spenv.envs entry point {ep.name!r}: {exc}", stacklevel=2)
            continue
        added.append(ep.name)
    return added


#: Id prefixes resolved by a bridge module rather than the registry: ``"textarena:<Id>"``.
#: Each maps to ``"module:function"``; the function takes the part after the prefix and
#: returns an :class:`EnvSpec`. Bridged ids are not listed by :func:`list_envs`.
PREFIXES: dict[str, str] = {"textarena": "spenv.integrations.textarena:spec_for"}
_BRIDGED: dict[str, EnvSpec] = {}


def spec(id: str) -> EnvSpec:
    """The :class:`EnvSpec` of an id (unversioned ids resolve to the latest version)."""
    _ensure_loaded()
    if id in _REGISTRY:
        return _REGISTRY[id]
    prefix, sep, rest = id.partition(":")
    if sep and prefix in PREFIXES:
        if id not in _BRIDGED:
            _BRIDGED[id] = _load(PREFIXES[prefix], id)(rest)
        return _BRIDGED[id]
    versions = sorted((s for s in _REGISTRY.values() if s.name == id), key=lambda s: s.version)
    if versions:
        return versions[-1]
    close = difflib.get_close_matches(id, list(_REGISTRY), n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise UnknownEnvError(f"no env registered as {id!r}.{hint} See spenv.list_envs().")


def make(id: str, **options: Any) -> Any:
    """Build the env registered as ``id`` with the given constructor options."""
    return spec(id).make(**options)


def list_envs() -> list[str]:
    """All registered env ids, sorted."""
    _ensure_loaded()
    return sorted(_REGISTRY)


def specs() -> list[EnvSpec]:
    """All registered specs, sorted by id."""
    _ensure_loaded()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]
