"""Spread work over a Ray cluster: :func:`run_sharded`, and sharded game play.

:func:`run_sharded` applies one function to a list of shards and yields ``(shard_index,
result)`` pairs as shards finish. Two backends:

- ``local`` runs every shard in this process, in order. No dependency, no start-up cost; it is
  the reference the ``ray`` backend must agree with.
- ``ray`` submits each shard as one Ray task. Ray is imported (and initialised or connected to)
  only when this backend is used, so ``import spenv`` stays light. A task whose worker process
  dies (killed, out of memory, node lost) is re-run by Ray up to ``max_retries`` times; a shard
  yields once however often it ran. With ``retry_exceptions`` an exception raised by ``fn`` is
  retried too (off by default: a deterministic function would only raise again).

Where the cluster comes from (``address``):

- ``None``: the cluster named by the ``RAY_ADDRESS`` environment variable when it is set (as
  ``ray job submit`` does), otherwise a fresh local cluster on this machine (dashboard off);
- ``"auto"``: the cluster already running on this machine (``ray start --head``);
- ``"HOST:PORT"``: the head node's GCS address (port 6379 by default), from a cluster node;
- ``"ray://HOST:PORT"``: a remote cluster through the Ray client server (port 10001).

When Ray is already initialised in this process it is used as it is. An address that cannot be
reached raises :class:`DistributedError` within seconds instead of hanging.

What travels: ``fn`` goes by reference (it must be a module-level function importable on the
workers, so spenv must be installed there, or shipped with ``runtime_env={"py_modules": ...}``);
each shard is pickled and sent to its task; each result is pickled back to the driver.

:func:`play_sharded` is sharded game play on top of it (``spenv play --backend ray``): the games
``0 .. games-1`` are cut into contiguous shards, each worker builds the env and the agents from
their specs and runs a :class:`~spenv.rollout.Runner` (batched as usual) over its shard, and the
driver gets the episodes back in game order. Because the env seed, the seating and the agents'
random streams of a game depend only on the run seed and the game index (see
:class:`~spenv.rollout.Runner`), every sharding, every batch size and both backends give the
same episodes.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from spenv.episode import Episode

S = TypeVar("S")
R = TypeVar("R")

#: The backends :func:`run_sharded` knows.
BACKENDS = ("local", "ray")

#: Seconds to wait for a TCP connection to a cluster address before calling it unreachable.
CONNECT_TIMEOUT = 5.0


class DistributedError(RuntimeError):
    """The backend cannot be used (Ray missing, cluster unreachable) or a shard was lost."""


def run_sharded(
    fn: Callable[[S], R],
    shards: Iterable[S],
    *,
    backend: str = "local",
    address: str | None = None,
    max_retries: int = 3,
    retry_exceptions: bool = False,
    num_cpus_per_task: float = 1,
    num_gpus_per_task: float = 0,
    runtime_env: Mapping[str, Any] | None = None,
    init_kwargs: Mapping[str, Any] | None = None,
) -> Iterator[tuple[int, R]]:
    """Yield ``(i, fn(shards[i]))`` for every shard, as shards finish.

    ``fn`` must be a picklable module-level function. With ``backend="local"`` the shards run in
    this process, in order. With ``backend="ray"`` each shard is one Ray task (reserving
    ``num_cpus_per_task`` CPUs and ``num_gpus_per_task`` GPUs: a model agent needs a GPU) on the
    cluster ``address`` names (see the module docstring); a task whose worker dies is re-run up to
    ``max_retries`` times, and ``retry_exceptions`` re-runs tasks whose ``fn`` raised as well.
    Every shard index is yielded exactly once.

    An exception raised by ``fn`` propagates (after its retries) with a note naming the shard; a
    shard whose worker died more than ``max_retries`` times raises :class:`DistributedError`.
    Closing the iterator early cancels the shards still pending. ``runtime_env`` is Ray's task
    runtime environment (``{"py_modules": [...]}``, ``{"env_vars": {...}}``); ``init_kwargs`` go
    to ``ray.init`` when this call starts a local cluster (``num_cpus``,
    ``object_store_memory``).
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
    if not isinstance(max_retries, int) or max_retries < 0:
        raise ValueError(f"max_retries must be a non-negative integer, got {max_retries!r}")
    if num_cpus_per_task < 0 or num_gpus_per_task < 0:
        raise ValueError(
            f"CPUs and GPUs per task must be non-negative, got {num_cpus_per_task!r} and "
            f"{num_gpus_per_task!r}"
        )
    items = list(shards)
    if backend == "local":
        if address is not None:
            raise ValueError("an address goes with the ray backend, not the local one")
        return _run_local(fn, items)
    ray = ensure_ray(address, init_kwargs=init_kwargs)
    resources = {"num_cpus": num_cpus_per_task, "num_gpus": num_gpus_per_task}
    return _run_ray(ray, fn, items, max_retries, retry_exceptions, resources, runtime_env)


def _run_local(fn: Callable[[S], R], items: list[S]) -> Iterator[tuple[int, R]]:
    for i, item in enumerate(items):
        yield i, fn(item)


def _run_ray(
    ray: Any,
    fn: Callable[[S], R],
    items: list[S],
    max_retries: int,
    retry_exceptions: bool,
    resources: Mapping[str, float],
    runtime_env: Mapping[str, Any] | None,
) -> Iterator[tuple[int, R]]:
    from ray.exceptions import RayTaskError, WorkerCrashedError

    options: dict[str, Any] = {
        "max_retries": max_retries,
        "retry_exceptions": retry_exceptions,
        **resources,
    }
    if runtime_env:
        options["runtime_env"] = dict(runtime_env)
    task = ray.remote(fn).options(**options)
    pending: dict[Any, int] = {task.remote(item): i for i, item in enumerate(items)}
    done: set[int] = set()
    try:
        while pending:
            refs = list(pending)
            ray.wait(refs, num_returns=1)  # block until one is done, then take all that are
            ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
            for ref in ready:
                i = pending.pop(ref)
                try:
                    result = ray.get(ref)
                except RayTaskError as exc:
                    cause = exc.as_instanceof_cause()
                    cause.add_note(f"raised by shard {i} of {len(items)} on a Ray worker")
                    raise cause from None
                except WorkerCrashedError as exc:
                    raise DistributedError(
                        f"shard {i} of {len(items)}: its worker died {max_retries + 1} times "
                        f"(max_retries={max_retries}): {exc}"
                    ) from exc
                if i in done:  # a shard that somehow came back twice counts once
                    continue
                done.add(i)
                yield i, result
    finally:
        for ref in pending:  # the caller stopped early, or a shard failed: best effort
            with contextlib.suppress(Exception):
                ray.cancel(ref)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise DistributedError(
            "the ray backend needs the `ray` package (pip install 'spenv[ray]'): "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    return ray


def _split_address(address: str) -> tuple[str, int] | None:
    """(host, port) of ``HOST:PORT`` or ``ray://HOST:PORT``; None for ``auto`` / ``local``."""
    if address in ("auto", "local"):
        return None
    rest = address.removeprefix("ray://")
    host, sep, port = rest.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise DistributedError(
            f"cannot read the Ray address {address!r}: expected 'auto', 'HOST:PORT' "
            "(the head node's GCS port, 6379 by default) or 'ray://HOST:PORT' (client port "
            "10001)"
        )
    return host.strip("[]"), int(port)


def _check_reachable(address: str) -> None:
    where = _split_address(address)
    if where is None:
        return
    host, port = where
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT):
            pass
    except OSError as exc:
        raise DistributedError(
            f"cannot reach the Ray cluster at {address!r} ({host}:{port}): {exc}. Start one "
            "with `ray start --head` (then use --address auto, HEAD:6379 or ray://HEAD:10001), "
            "or leave the address out to start a local cluster"
        ) from exc


def ensure_ray(address: str | None = None, *, init_kwargs: Mapping[str, Any] | None = None) -> Any:
    """Import Ray and make sure this process is connected to a cluster; returns the module.

    Reuses the connection when Ray is already initialised. ``address`` is read as described in
    the module docstring; ``init_kwargs`` go to ``ray.init`` when a local cluster is started.
    Raises :class:`DistributedError` when Ray is missing or the cluster cannot be reached.
    """
    ray = _import_ray()
    if ray.is_initialized():
        return ray
    if address is None:
        address = os.environ.get("RAY_ADDRESS") or None
    kwargs: dict[str, Any] = {}
    if address is None or address == "local":
        kwargs.update(address="local", include_dashboard=False)
        kwargs.update(init_kwargs or {})
    else:
        _check_reachable(address)
        kwargs["address"] = address
    try:
        ray.init(**kwargs)
    except (ConnectionError, TimeoutError, OSError) as exc:
        raise DistributedError(f"cannot connect to the Ray cluster at {address!r}: {exc}") from exc
    return ray


# --------------------------------------------------------------------------- sharded play
@dataclass(frozen=True)
class PlayShard:
    """One worker's share of a run: the games ``start .. start + games - 1``.

    Everything a worker needs to rebuild the run: the env id and options, the agents as specs
    (agent objects are not shipped), and the run seed that fixes every game's env seed,
    seating and agent random streams.
    """

    env_id: str
    agents: tuple[Any, ...] | Mapping[str, Any]
    start: int
    games: int
    seed: int | None = 0
    swap_seats: bool = True
    batch_size: int = 64
    env_options: Mapping[str, Any] = field(default_factory=dict)
    reset_options: Mapping[str, Any] = field(default_factory=dict)


def play_shard(shard: PlayShard) -> list[Episode]:
    """Play one shard's games with a :class:`~spenv.rollout.Runner`; episodes in game order."""
    from spenv.rollout import Runner

    runner = Runner(
        shard.env_id,
        shard.agents,
        games=shard.games,
        start=shard.start,
        seed=shard.seed,
        swap_seats=shard.swap_seats,
        batch_size=shard.batch_size,
        env_options=shard.env_options,
        reset_options=shard.reset_options,
    )
    episodes = list(runner)
    episodes.sort(key=lambda ep: ep.metadata["game"])
    return episodes


def make_play_shards(
    env_id: str,
    agents: Sequence[Any] | Mapping[str, Any],
    *,
    games: int,
    shard_size: int,
    seed: int | None = 0,
    swap_seats: bool = True,
    batch_size: int = 64,
    env_options: Mapping[str, Any] | None = None,
    reset_options: Mapping[str, Any] | None = None,
) -> list[PlayShard]:
    """Cut the games ``0 .. games-1`` into contiguous shards of at most ``shard_size`` games."""
    if not isinstance(shard_size, int) or shard_size < 1:
        raise ValueError(f"shard_size must be a positive integer, got {shard_size!r}")
    if not isinstance(games, int) or games < 0:
        raise ValueError(f"games must be a non-negative integer, got {games!r}")
    agents_arg = dict(agents) if isinstance(agents, Mapping) else tuple(agents)
    return [
        PlayShard(
            env_id=env_id,
            agents=agents_arg,
            start=start,
            games=min(shard_size, games - start),
            seed=seed,
            swap_seats=swap_seats,
            batch_size=batch_size,
            env_options=dict(env_options or {}),
            reset_options=dict(reset_options or {}),
        )
        for start in range(0, games, shard_size)
    ]


def default_shard_size(games: int, workers: int) -> int:
    """About four shards per worker (so a slow or restarted one does not hold up the rest)."""
    return max(1, -(-games // max(1, 4 * workers)))


#: Spec kinds that load a model or open a connection: checked on the workers only, where they run.
_HEAVY_KINDS = ("hf", "vllm", "openai")


def check_play_args(
    env_id: str,
    agents: Sequence[Any] | Mapping[str, Any],
    *,
    env_options: Mapping[str, Any] | None = None,
    backend: str = "ray",
) -> None:
    """Fail in the driver, with the local error messages, on what every shard would fail on.

    Builds the env (a bad id or constructor option raises) and the scripted agents (an unknown
    name or parameter raises); model specs (``hf:``, ``vllm:``, ``openai:``) are only parsed,
    so no model is loaded in the driver. The ray backend takes agent specs only, and no
    ``human`` (a worker has no terminal).
    """
    from spenv.agents.specs import make_agent, parse_agent_spec
    from spenv.registry import make

    env = make(env_id, **dict(env_options or {}))
    seats = list(env.possible_agents)
    if isinstance(agents, Mapping):
        if set(agents) != set(seats):
            raise ValueError(f"{env.env_id} has seats {seats}; got agents for {list(agents)}")
        items = [agents[s] for s in seats]
    else:
        items = list(agents)
        if len(items) != len(seats):
            raise ValueError(
                f"{env.env_id} has {len(seats)} seats ({', '.join(seats)}); got {len(items)} agents"
            )
    for a in items:
        if not isinstance(a, str):
            if backend == "ray":
                raise TypeError(
                    "the ray backend builds the agents on its workers from their specs; pass "
                    f"agent specs (strings such as 'random' or 'nash'), not agent objects ({a!r})"
                )
            continue
        name, _ = parse_agent_spec(a)
        if backend == "ray" and name == "human":
            raise ValueError("a human agent cannot play on Ray workers (they have no terminal)")
        if name not in _HEAVY_KINDS and name != "human":
            make_agent(a, env.env_id, seed=0)


def play_sharded(
    env_id: str,
    agents: Sequence[Any] | Mapping[str, Any],
    *,
    games: int,
    seed: int | None = 0,
    swap_seats: bool = True,
    batch_size: int = 64,
    env_options: Mapping[str, Any] | None = None,
    reset_options: Mapping[str, Any] | None = None,
    shard_size: int | None = None,
    backend: str = "ray",
    address: str | None = None,
    max_retries: int = 3,
    play: Callable[[PlayShard], list[Episode]] = play_shard,
    num_gpus_per_task: float = 0,
    init_kwargs: Mapping[str, Any] | None = None,
) -> Iterator[Episode]:
    """Play ``games`` games spread over shards; yield the episodes in game order.

    The same arguments give the same episodes as ``Runner(env_id, agents, games=games,
    seed=seed, ...)`` in this process, whatever ``shard_size`` (default: about four shards per
    CPU of the cluster) and backend. With the ``ray`` backend the agents must be specs
    (strings): workers build them. Episodes stream out as soon as every earlier game is in;
    a game index never appears twice, and a missing one raises :class:`DistributedError`.
    ``play`` is the shard function (a module-level function, :func:`play_shard` by default);
    ``num_gpus_per_task`` reserves GPUs for each shard (for ``hf:`` or ``vllm:`` agents).
    """
    check_play_args(env_id, agents, env_options=env_options, backend=backend)
    if shard_size is None:
        workers = 1
        if backend == "ray":
            ray = ensure_ray(address, init_kwargs=init_kwargs)
            workers = int(ray.cluster_resources().get("CPU", 1))
        shard_size = default_shard_size(games, workers)
    shards = make_play_shards(
        env_id,
        agents,
        games=games,
        shard_size=shard_size,
        seed=seed,
        swap_seats=swap_seats,
        batch_size=batch_size,
        env_options=env_options,
        reset_options=reset_options,
    )
    waiting: dict[int, list[Episode]] = {}
    seen: set[int] = set()
    next_shard = 0
    for i, episodes in run_sharded(
        play,
        shards,
        backend=backend,
        address=address,
        max_retries=max_retries,
        num_gpus_per_task=num_gpus_per_task,
        init_kwargs=init_kwargs,
    ):
        waiting[i] = episodes
        while next_shard in waiting:
            shard = shards[next_shard]
            for ep in waiting.pop(next_shard):
                game = ep.metadata.get("game")
                if game in seen:
                    continue
                if not isinstance(game, int) or not shard.start <= game < shard.start + shard.games:
                    raise DistributedError(
                        f"shard {next_shard} (games {shard.start}..{shard.start + shard.games - 1}"
                        f") returned an episode of game {game!r}"
                    )
                seen.add(game)
                yield ep
            next_shard += 1
    missing = sorted(set(range(games)) - seen)
    if missing:
        raise DistributedError(
            f"{len(missing)} of {games} games came back without an episode: {missing[:10]}"
        )
