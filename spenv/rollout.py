"""The rollout engine: one game (:func:`play`), many games at once (:class:`Runner`), replay.

The runner keeps up to ``batch_size`` games live. Each tick it gathers every pending decision
and hands all decisions of one agent to a single ``act_batch`` call (falling back to ``act``):
that is how a language model plays hundreds of games per forward pass. Finished games stream out
as :class:`~spenv.episode.Episode` objects (optionally to JSONL) and their env is reused.

Seating: with ``swap_seats`` (the default) game ``i`` rotates the agents by ``i % n_seats``
seats and uses seed ``seed + i // n_seats``, so every seating plays the same deals: the
comparison between agents is paired, which removes most of the luck of the cards.

Determinism: a game's env seed, its seating and the random streams of its agents depend only on
the run seed and the game index. Agents named by spec that draw from their own generator
(scripted agents: a :class:`~spenv.agent.BaseAgent` without its own ``act_batch``) draw, in
each game, from a stream of that game, seeded from (run seed, game index, seat of the spec);
otherwise one generator would serve all games in the order the batches happen to interleave
them. So the batch size, and which games run together (``start`` plays a slice of the game
indices, as a worker of :mod:`spenv.apps.distributed` does), never change an episode. Agent objects
passed in, and agents that batch (language models), keep one object and one stream.

Async agents (a coroutine ``aact(obs)`` or ``aact_batch(list[obs])``, such as a remote model
behind HTTP) run on one event loop per runner, on its own thread: each decision with ``aact``
is its own task, at most ``agent.max_concurrency`` at once (default 64), while the tick loop
goes on with the other agents' batches and steps each game as its answer arrives. Agents that
keep one conversation per game set ``wants_keys = True``: their ``act_batch`` then gets
``keys=[...]`` (one ``run:game:seat`` string per decision) and ``forget(key)`` is called when a
game ends.

Failures never lose games: an agent call that raises is recorded in that game as an invalid
move (error ``agent failed: ...``), and an env that raises ends that game with status ``error``
and the traceback, while the other games go on.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import inspect
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spenv.agent import Agent, AgentResolver, BaseAgent, check_agent, default_resolver
from spenv.env import AgentFailure, TextEnv
from spenv.episode import Episode, EpisodeWriter
from spenv.registry import make
from spenv.streams import GeneratorStream, pcg64_math_ok, pcg64_state, plan_seeds

if TYPE_CHECKING:  # asyncio and concurrent.futures load only when an async agent plays
    import asyncio
    from concurrent.futures import Future


class ReplayMismatch(AssertionError):
    """A replayed episode differs from its record."""


AgentsArg = Sequence["Agent | str"] | Mapping[str, "Agent | str"]


def _resolve_agents(
    env: TextEnv, agents: AgentsArg, seed: int | None, resolve: AgentResolver | None = None
) -> tuple[list[Agent], list[str], list[bool]]:
    seats = env.possible_agents
    if isinstance(agents, Mapping):
        missing = [s for s in seats if s not in agents]
        extra = [a for a in agents if a not in seats]
        if missing or extra:
            raise ValueError(f"{env.env_id} has seats {seats}; got agents for {list(agents)}")
        agents = [agents[s] for s in seats]
    agents = list(agents)
    if len(agents) != len(seats):
        raise ValueError(
            f"{env.env_id} has {len(seats)} seats ({', '.join(seats)}); got {len(agents)} agents"
        )
    built: list[Agent] = []
    labels: list[str] = []
    from_spec: list[bool] = []
    cache: dict[str, Agent] = {}
    for i, a in enumerate(agents):
        if isinstance(a, str):
            # The same spec twice is one agent object (self-play shares one batch).
            if a not in cache:
                agent_seed = None if seed is None else seed * 1_000_003 + i
                if resolve is None:
                    resolve = default_resolver()
                cache[a] = resolve(a, env.env_id, seed=agent_seed)
            built.append(cache[a])
            labels.append(a)
            from_spec.append(True)
        else:
            built.append(check_agent(a))
            labels.append(getattr(a, "name", type(a).__name__))
            from_spec.append(False)
    return built, labels, from_spec


def agent_game_state(seed: int, game: int, slot: int) -> dict[str, Any]:
    """The generator state of a spec-built scripted agent in one game.

    A PCG64 state and increment hashed from (run seed, game index, seat index of the spec), so
    the stream does not depend on what else the process plays. Setting a state is ten times
    cheaper than seeding a new generator, which matters for games that last microseconds.
    """
    return pcg64_state(*_agent_state_ints(seed, game, slot))


def _agent_state_ints(seed: int, game: int, slot: int) -> tuple[int, int]:
    # blake2b of "spenv.agent:{seed}:{game}:{slot}": the run's prefix is hashed once and its
    # hasher copied for each game (the same digest, in two thirds of the time).
    pre = _AGENT_PREFIXES.get(seed)
    if pre is None:
        if len(_AGENT_PREFIXES) >= 64:
            _AGENT_PREFIXES.clear()
        pre = _AGENT_PREFIXES[seed] = hashlib.blake2b(
            f"spenv.agent:{seed}:".encode(), digest_size=32
        )
    h = pre.copy()
    h.update(f"{game}:{slot}".encode())
    v = int.from_bytes(h.digest(), "big")
    return v >> 128, (v & _MASK128) | 1


_AGENT_PREFIXES: dict[Any, Any] = {}
_MASK128 = (1 << 128) - 1


class _Streamed:
    """A scripted agent whose random draws come from one stream per game.

    Before each decision of game ``g`` the runner points the agent's ``rng`` at that game's
    generator, at the state :func:`agent_game_state` gives (run seed, ``g``, ``slot``: the seat
    that built the spec) on the game's first decision: a :class:`~spenv.streams.GeneratorStream`,
    which draws ``random()`` without a numpy generator and makes one only when the agent asks
    for anything else; it is recycled when the game ends. The agent's own generator is put back
    when the run ends. One object per agent, so self-play still answers a tick's decisions in
    one pass.
    """

    __slots__ = ("agent", "name", "own_rng", "seed", "slot")

    def __init__(self, agent: Agent, seed: int, slot: int) -> None:
        self.agent = agent
        self.name = getattr(agent, "name", type(agent).__name__)
        self.own_rng = getattr(agent, "rng", None)
        self.seed, self.slot = seed, slot


def _reseeded_per_game(agent: Agent) -> bool:
    """Scripted agents: the generator of :class:`BaseAgent` (``rng``, set by ``seed``) and its
    plain per-decision ``act_batch`` (no ``aact_batch``), which answers decision by decision."""
    cls = type(agent)
    return (
        isinstance(agent, BaseAgent)
        and cls.act_batch is BaseAgent.act_batch
        and cls.seed is BaseAgent.seed
        and getattr(agent, "aact_batch", None) is None
    )


def unique_labels(labels: Sequence[str]) -> list[str]:
    """Make labels distinct by numbering repeats (``nash``, ``nash#2``)."""
    seen: dict[str, int] = {}
    out = []
    for lab in labels:
        seen[lab] = seen.get(lab, 0) + 1
        out.append(lab if seen[lab] == 1 else f"{lab}#{seen[lab]}")
    if len(set(out)) != len(out):  # a numbered label collided with a given one
        out = [f"{lab}@{i}" for i, lab in enumerate(labels)]
    return out


def _call_batch(agent: Agent, observations: list[Any], keys: list[str] | None = None) -> list[Any]:
    """Ask ``agent`` for every observation at once; isolate failures per decision.

    ``keys`` (one per decision: run, game and seat) go to agents that set ``wants_keys`` (a
    language model keeping one conversation per game); others never see them.
    """
    batch = getattr(agent, "act_batch", None)
    if batch is not None:
        try:
            if keys is not None:
                actions = list(batch(observations, keys=keys))
            else:
                actions = list(batch(observations))
            if len(actions) != len(observations):
                raise ValueError(
                    f"act_batch returned {len(actions)} answers for {len(observations)} prompts"
                )
            return actions
        except Exception:
            pass
    out: list[Any] = []
    for obs in observations:
        try:
            out.append(agent.act(obs))
        except Exception as exc:
            out.append(AgentFailure(f"agent failed: {type(exc).__name__}: {exc}"))
    return out


def is_async_agent(agent: Any) -> bool:
    """True for agents with a coroutine ``aact`` or ``aact_batch`` (the engine awaits them)."""
    return inspect.iscoroutinefunction(getattr(agent, "aact", None)) or inspect.iscoroutinefunction(
        getattr(agent, "aact_batch", None)
    )


class _AsyncDriver:
    """One event loop (on its own thread) per runner, for the decisions of async agents.

    Each decision of an agent with a coroutine ``aact`` is its own task, at most
    ``agent.max_concurrency`` (default :data:`DEFAULT_CONCURRENCY`) in flight per agent; an
    agent with only ``aact_batch`` gets one task per tick's group. The tick loop goes on while
    they run (other agents' batches are computed meanwhile) and steps each game when its answer
    arrives. A failed decision becomes that game's failed move, never the others'.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._sems: dict[int, asyncio.Semaphore] = {}

    def _ensure(self) -> asyncio.AbstractEventLoop:
        import asyncio

        if self._loop is None:
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def run() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            self._thread = threading.Thread(target=run, name="spenv-runner-loop", daemon=True)
            self._thread.start()
            ready.wait()
            self._loop = loop
        return self._loop

    def submit(self, agent: Any, observations: list[Any]) -> list[Future[Any]]:
        """Start the decisions; one future per decision, or one for the group (a list)."""
        import asyncio

        loop = self._ensure()
        if is_per_decision(agent):
            key = id(agent)
            if key not in self._sems:
                limit = getattr(agent, "max_concurrency", None) or DEFAULT_CONCURRENCY
                self._sems[key] = asyncio.Semaphore(int(limit))
            sem = self._sems[key]
            return [
                asyncio.run_coroutine_threadsafe(self._one(agent, sem, o), loop)
                for o in observations
            ]
        return [asyncio.run_coroutine_threadsafe(self._group(agent, observations), loop)]

    @staticmethod
    async def _one(agent: Any, sem: asyncio.Semaphore, obs: Any) -> Any:
        async with sem:
            try:
                return await agent.aact(obs)
            except Exception as exc:
                return AgentFailure(f"agent failed: {type(exc).__name__}: {exc}")

    @staticmethod
    async def _group(agent: Any, observations: list[Any]) -> list[Any]:
        try:
            actions = list(await agent.aact_batch(observations))
            if len(actions) != len(observations):
                raise ValueError(
                    f"aact_batch returned {len(actions)} answers for {len(observations)} prompts"
                )
            return actions
        except Exception as exc:
            return [AgentFailure(f"agent failed: {type(exc).__name__}: {exc}")] * len(observations)

    def close(self) -> None:
        """Cancel what is still in flight and stop the loop's thread."""
        import asyncio

        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        self._sems.clear()
        if loop is None:
            return

        async def _cancel() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(_cancel(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(timeout=10)
        if not loop.is_running():
            loop.close()


#: Decisions in flight per async agent that sets no ``max_concurrency``.
DEFAULT_CONCURRENCY = 64


def play(
    env: str | TextEnv,
    agents: AgentsArg,
    seed: int | None = None,
    *,
    options: Mapping[str, Any] | None = None,
    env_options: Mapping[str, Any] | None = None,
    resolve: AgentResolver | None = None,
) -> Episode:
    """Play one game and return its episode.

    ``env`` is an env id or an env instance; ``agents`` one agent (or agent spec) per seat, in
    seat order or as a ``{seat: agent}`` mapping; ``options`` the game's reset options;
    ``env_options`` its constructor options; ``resolve`` builds agents named by spec (see
    :class:`Runner`).
    """
    runner = Runner(
        env,
        agents,
        games=1,
        seed=seed,
        swap_seats=False,
        reset_options=options,
        env_options=env_options,
        batch_size=1,
        resolve=resolve,
    )
    (episode,) = list(runner)
    return episode


class _Slot:
    """One live game: its env, index, who sits where, and the runner's per-game state."""

    __slots__ = ("buffered", "env", "index", "players", "rngs", "seats", "started", "waiting")

    def __init__(
        self, env: TextEnv, index: int, seats: dict[str, Any], players: dict[str, str]
    ) -> None:
        self.env = env
        self.index = index
        self.seats = seats  # seat -> what plays it (an agent, or a _Streamed agent)
        self.players = players  # seat -> label
        self.started = time.perf_counter()
        self.rngs: dict[int, Any] = {}  # per-game generators of _Streamed agents, by slot
        # seat -> answers drawn ahead for a repeated prompt: [text, answers (last first),
        # the repeat count the next ask must show, elapsed share]
        self.buffered: dict[str, list[Any]] = {}
        self.waiting = False  # a decision of an async agent is in flight


# How the runner asks a player: scripted with per-game streams, a plain (sync) agent, an async
# agent with a coroutine per decision, an async agent with a coroutine per batch.
_STREAMED, _SYNC, _ASYNC_EACH, _ASYNC_GROUP = range(4)


def _kind(player: Any) -> int:
    if type(player) is _Streamed:
        return _STREAMED
    if not is_async_agent(player):
        return _SYNC
    return _ASYNC_EACH if is_per_decision(player) else _ASYNC_GROUP


def _failure(exc: Exception) -> AgentFailure:
    return AgentFailure(f"agent failed: {type(exc).__name__}: {exc}")


class Runner:
    """Plays ``games`` games of one env between the given agents, many at once.

    Iterating the runner yields episodes as games finish (not in game order; each episode's
    ``metadata["game"]`` is its index). ``out`` streams them to a JSONL file as well. ``start``
    offsets the game indices: the runner plays games ``start .. start + games - 1``, exactly as a
    runner from 0 would play them (see the module docstring on determinism).

    Agents are agent objects, or spec strings that ``resolve(spec, env_id, seed=...)`` turns
    into agents (default: :func:`spenv.agent.default_resolver`, the specs of
    :mod:`spenv.agents`).

    Repeated prompts: when a decision's observation has ``repeat`` = k > 1 (the same prompt will
    be asked k times in a row, each answer independent), the runner draws all k answers in the
    same batched call and answers the following asks of that seat in that game from those
    draws, as long as they show the identical text with ``repeat`` counting down; leftovers are
    dropped when the text changes. Agents with a coroutine ``aact`` are asked one decision at a
    time, repeated or not.
    """

    def __init__(
        self,
        env: str | TextEnv,
        agents: AgentsArg,
        *,
        games: int = 1,
        start: int = 0,
        seed: int | None = 0,
        swap_seats: bool = True,
        batch_size: int = 64,
        env_options: Mapping[str, Any] | None = None,
        reset_options: Mapping[str, Any] | None = None,
        out: str | Path | None = None,
        progress: bool = False,
        on_episode: Callable[[Episode], None] | None = None,
        resolve: AgentResolver | None = None,
    ) -> None:
        if not isinstance(games, int) or games < 0:
            raise ValueError(f"games must be a non-negative integer, got {games!r}")
        if not isinstance(start, int) or start < 0:
            raise ValueError(f"start must be a non-negative integer, got {start!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size!r}")
        self.env_options = dict(env_options or {})
        if isinstance(env, str):
            self._make_env: Callable[[], TextEnv] = lambda: make(env, **self.env_options)
            first = self._make_env()
        else:
            if self.env_options:
                raise ValueError("env_options go with an env id, not an env instance")
            first = env
            self._make_env = None  # type: ignore[assignment]
            batch_size = 1  # one instance cannot host two games at once
        self._first_env: TextEnv | None = first
        self.env_id = first.env_id
        self.seats = list(first.possible_agents)
        self.agents, labels, from_spec = _resolve_agents(first, agents, seed, resolve)
        self.labels = unique_labels(labels)
        # What plays: scripted spec agents draw from per-game streams (see the module docstring).
        self._players: list[Any] = list(self.agents)
        if seed is not None:
            wrapped: dict[int, Any] = {}
            for k, (agent, spec) in enumerate(zip(self.agents, from_spec, strict=True)):
                if spec and _reseeded_per_game(agent):
                    if id(agent) not in wrapped:  # the seat that built the spec seeds it
                        wrapped[id(agent)] = _Streamed(agent, seed, k)
                    self._players[k] = wrapped[id(agent)]
        self._kinds = {id(p): _kind(p) for p in self._players}
        self._keyed = {
            id(p) for p in self._players if getattr(p, "wants_keys", False) and hasattr(p, "forget")
        }
        # Who sits where in each rotation (shared by the games of that rotation; read-only).
        n = len(self.seats)
        self._seatings = [
            (
                {s: self._players[(k + r) % n] for k, s in enumerate(self.seats)},
                {s: self.labels[(k + r) % n] for k, s in enumerate(self.seats)},
            )
            for r in range(n)
        ]
        self.games = games
        self.start = start
        self.seed = seed
        self.swap_seats = swap_seats
        self.batch_size = batch_size
        self.reset_options = dict(reset_options or {})
        self.out = Path(out) if out is not None else None
        self.progress = progress
        self.on_episode = on_episode
        self.calls = 0  # number of act/act_batch calls made (one per agent per tick)
        # The run's per-game seeds, announced to spenv.streams (plan_seeds) at the first game:
        # the generator states of those that a game draws from are then derived in bulk.
        self._planned: range | None = None
        self._token = uuid.uuid4().hex[:12]

    def seating(self, index: int) -> tuple[int, int | None]:
        """(rotation, seed) of game ``index``."""
        n = len(self.seats)
        if self.swap_seats:
            rotation, group = index % n, index // n
        else:
            rotation, group = 0, index
        return rotation, None if self.seed is None else self.seed + group

    def _start(self, env: TextEnv, position: int) -> _Slot:
        index = self.start + position
        rotation, seed = self.seating(index)
        if seed is not None and self._planned is None:
            last = self.seating(self.start + self.games - 1)[1]
            self._planned = range(seed, last + 1)  # type: ignore[operator]
            plan_seeds(self._planned)
        seats, players = self._seatings[rotation]
        env.reset(seed=seed, options=self.reset_options or None)
        return _Slot(env, index, seats, players)

    def _episode(self, slot: _Slot, error: str | None = None) -> Episode:
        env = slot.env
        try:
            ep = env.episode(players=slot.players)
        except Exception as exc:
            ep = Episode(
                env_id=self.env_id,
                seed=self.seating(slot.index)[1],
                agents=list(self.seats),
                turns=[],
                rewards=dict.fromkeys(self.seats, 0.0),
                outcomes={},
                players=dict(slot.players),
                error=f"could not build the episode record: {exc!r}",
            )
        if error is not None:
            ep.status = "error"
            ep.error = error
            ep.outcomes = dict.fromkeys(self.seats, "error")
        ep.metadata["game"] = slot.index
        ep.timings["wall"] = time.perf_counter() - slot.started
        return ep

    def __iter__(self) -> Iterator[Episode]:
        writer = EpisodeWriter(self.out) if self.out is not None else None
        bar = ProgressBar(self.games, f"{self.env_id}") if self.progress else None
        driver = _AsyncDriver()
        try:
            yield from self._run(writer, bar, driver)
        finally:
            driver.close()
            for player in self._players:
                if type(player) is _Streamed:
                    player.agent.rng = player.own_rng  # type: ignore[attr-defined]
            if writer is not None:
                writer.close()
            if bar is not None:
                bar.close()

    def _key(self, slot: _Slot, seat: str) -> str:
        """The conversation key of one seat of one game (unique across runners)."""
        return f"{self._token}:{slot.index}:{seat}"

    def _step(
        self,
        slot: _Slot,
        action: Any,
        elapsed: float,
        finished: list[tuple[_Slot, str | None]],
    ) -> None:
        """Play one answer in its game; an env that raises ends that game only."""
        env = slot.env
        try:
            env.step(action)
            meta = None if type(action) is str else getattr(action, "meta", None)
            if meta:
                env.annotate_turn(elapsed=elapsed, **meta)
            elif env._turns:  # annotate_turn(elapsed=...), inlined: one per decision
                env._elapsed[len(env._turns) - 1] = elapsed
        except Exception:
            finished.append((slot, traceback.format_exc(limit=8)))
            return
        if env._outcomes:  # done (inlined): free the slot now, so the next tick's batch is full
            finished.append((slot, None))

    def _deliver(
        self,
        slots: list[_Slot],
        counts: list[int],
        actions: list[Any],
        share: float,
        finished: list[tuple[_Slot, str | None]],
    ) -> None:
        """Step each game with its first answer; keep the rest of a repeated prompt's draws."""
        if len(counts) == len(actions):  # no repeated prompt: one answer each
            for slot, action in zip(slots, actions, strict=True):
                self._step(slot, action, share, finished)
            return
        i = 0
        for slot, n in zip(slots, counts, strict=True):
            if n > 1:
                env = slot.env
                seat = env.agent_selection
                obs = env.infos[seat]["observation"]
                rest = actions[i + 1 : i + n]
                rest.reverse()
                slot.buffered[seat] = [obs.text, rest, obs.repeat - 1, share]
            self._step(slot, actions[i], share, finished)
            i += n

    def _from_buffer(
        self, slot: _Slot, seat: str, finished: list[tuple[_Slot, str | None]]
    ) -> bool:
        """Answer a repeated prompt from the draws made with its first ask (True if it did)."""
        buf = slot.buffered.pop(seat)
        obs = slot.env.infos[seat]["observation"]
        text, rest, expected, share = buf
        if not rest or obs.repeat != expected or obs.text != text:
            return False  # the prompt changed: the leftovers are dropped
        action = rest.pop()
        if rest:
            buf[2] = expected - 1
            slot.buffered[seat] = buf
        self._step(slot, action, share, finished)
        return True

    def _agent_rng(self, seed: int, index: int, k: int) -> Any:
        """The agent's generator for one game: a :class:`~spenv.streams.GeneratorStream` (no
        numpy generator unless the agent asks for more than ``random()``)."""
        state, inc = _agent_state_ints(seed, index, k)
        if pcg64_math_ok():
            return GeneratorStream(state, inc)
        import numpy as np

        rng = np.random.Generator(np.random.PCG64())
        rng.bit_generator.state = pcg64_state(state, inc)
        return rng

    def _ask_streamed(
        self, player: _Streamed, slots: list[_Slot], counts: list[int], obs: list[Any]
    ) -> list[Any]:
        """A scripted agent's decisions, each drawn from its game's own stream."""
        agent, k = player.agent, player.slot
        act = agent.act
        out: list[Any] = []
        for slot, n, o in zip(slots, counts, obs, strict=True):
            rng = slot.rngs.get(k)
            if rng is None:
                rng = slot.rngs[k] = self._agent_rng(player.seed, slot.index, k)
            agent.rng = rng  # type: ignore[attr-defined]
            for _ in range(n):
                try:
                    out.append(act(o))
                except Exception as exc:
                    out.append(_failure(exc))
        return out

    def _forget(self, slot: _Slot) -> None:
        """Tell agents that keep per-game state that the game is over; recycle its streams."""
        for rng in slot.rngs.values():
            if type(rng) is GeneratorStream:
                rng.recycle()
        keyed = self._keyed
        if not keyed:
            return
        for seat, agent in slot.seats.items():
            if id(agent) in keyed:
                with contextlib.suppress(Exception):
                    agent.forget(self._key(slot, seat))

    def _run(
        self, writer: EpisodeWriter | None, bar: ProgressBar | None, driver: _AsyncDriver
    ) -> Iterator[Episode]:
        pool: list[TextEnv] = []
        if self._first_env is not None:
            pool.append(self._first_env)
            self._first_env = None
        live: list[_Slot] = []
        # Decisions of async agents in flight: (future, the slots it answers, start time,
        # whether it answers a group, draws per slot).
        inflight: list[tuple[Future[Any], list[_Slot], float, bool, list[int]]] = []
        kinds = self._kinds
        next_game = 0
        games, batch_size = self.games, self.batch_size
        while live or next_game < games:
            while next_game < games and len(live) < batch_size:
                env = pool.pop() if pool else self._make_env()
                live.append(self._start(env, next_game))  # bad reset options fail loudly
                next_game += 1
            # Gather pending decisions, one group per agent object.
            groups: dict[int, tuple[Any, list[_Slot]]] = {}
            finished: list[tuple[_Slot, str | None]] = []
            for slot in live:
                if slot.waiting:
                    continue
                env = slot.env
                if env._outcomes:  # done (a game can end at reset)
                    finished.append((slot, None))
                    continue
                seat = env.agent_selection
                if (
                    slot.buffered
                    and seat in slot.buffered
                    and self._from_buffer(slot, seat, finished)
                ):
                    continue
                player = slot.seats[seat]
                group = groups.get(id(player))
                if group is None:
                    groups[id(player)] = (player, [slot])
                else:
                    group[1].append(slot)
            sync_asked = False
            for player, slots in groups.values():
                kind = kinds[id(player)]
                obs = [s.env.infos[s.env.agent_selection]["observation"] for s in slots]
                counts = [1 if o.repeat <= 1 or kind == _ASYNC_EACH else o.repeat for o in obs]
                if kind >= _ASYNC_EACH:
                    # Async agents: their requests run while the other agents compute.
                    asked = [o for o, n in zip(obs, counts, strict=True) for _ in range(n)]
                    futures = driver.submit(player, asked)
                    t0 = time.perf_counter()
                    self.calls += 1
                    if kind == _ASYNC_EACH:
                        inflight.extend(
                            (f, [s], t0, False, [1]) for f, s in zip(futures, slots, strict=True)
                        )
                    else:
                        inflight.append((futures[0], slots, t0, True, counts))
                    for s in slots:
                        s.waiting = True
                    continue
                sync_asked = True
                t0 = time.perf_counter()
                if kind == _STREAMED:
                    actions = self._ask_streamed(player, slots, counts, obs)
                else:
                    asked = obs
                    keys = None
                    if getattr(player, "wants_keys", False):
                        keys = [self._key(s, s.env.agent_selection) for s in slots]
                    if len(counts) != sum(counts):
                        asked = [o for o, n in zip(obs, counts, strict=True) for _ in range(n)]
                        if keys is not None:
                            keys = [k for k, n in zip(keys, counts, strict=True) for _ in range(n)]
                    actions = _call_batch(player, asked, keys)
                share = (time.perf_counter() - t0) / len(actions)
                self.calls += 1
                self._deliver(slots, counts, actions, share, finished)
            if inflight:
                # Block only when nothing else can move: no sync work and no game to finish.
                if not sync_asked and not finished:
                    from concurrent.futures import FIRST_COMPLETED, wait

                    wait([entry[0] for entry in inflight], return_when=FIRST_COMPLETED)
                still = []
                now = time.perf_counter()
                for entry in inflight:
                    future, slots, t0, is_group, counts = entry
                    if not future.done():
                        still.append(entry)
                        continue
                    result = _future_result(future, sum(counts), is_group)
                    for s in slots:
                        s.waiting = False
                    self._deliver(slots, counts, result, (now - t0) / len(result), finished)
                inflight = still
            if not finished:
                continue
            done_ids = set()
            for slot, error in finished:
                if id(slot) in done_ids:
                    continue
                done_ids.add(id(slot))
                ep = self._episode(slot, error)
                live.remove(slot)
                self._forget(slot)
                if error is None:
                    pool.append(slot.env)  # reuse healthy envs
                if writer is not None:
                    writer.write(ep)
                if self.on_episode is not None:
                    self.on_episode(ep)
                if bar is not None:
                    bar.advance()
                yield ep


def is_per_decision(agent: Any) -> bool:
    """True when the engine sends an async agent's decisions one by one (it has ``aact``)."""
    return inspect.iscoroutinefunction(getattr(agent, "aact", None))


def _future_result(future: Future[Any], n: int, is_group: bool) -> list[Any]:
    """The answers a finished future holds: a list for a group, one answer for a decision."""
    try:
        result = future.result()
    except BaseException as exc:  # cancelled, or a failure outside the agent's own call
        return [AgentFailure(f"agent failed: {type(exc).__name__}: {exc}")] * n
    return list(result) if is_group else [result]


#: ``run_games`` of scripted agents hands the records it has kept to ``gc.freeze`` this often.
_FREEZE_EVERY = 256


def run_games(env: str | TextEnv, agents: AgentsArg, **kwargs: Any) -> list[Episode]:
    """Run a :class:`Runner` to the end and return the episodes in game order.

    Episode records hold no reference cycles, yet the cycle collector walks every record kept
    so far each time it runs: a third of the time of a Kuhn poker run of scripted agents. When
    every player is scripted (per-game streams, no model), the records kept so far go to the
    collector's permanent generation (``gc.freeze()``) every :data:`_FREEZE_EVERY` games and
    come back (``gc.unfreeze()``) when the run ends, so each is walked about once. Only then:
    with a model or a remote agent the collector's time is small next to theirs, and their
    garbage cycles must not wait for the end of the run. Nothing is frozen when the collector
    is off or something else froze objects already.
    """
    runner = Runner(env, agents, **kwargs)
    episodes: list[Episode] = []
    freeze = (
        gc.isenabled()
        and gc.get_freeze_count() == 0
        and all(kind == _STREAMED for kind in runner._kinds.values())
    )
    try:
        if freeze:
            append = episodes.append
            for n, episode in enumerate(runner, 1):
                append(episode)
                if not n % _FREEZE_EVERY:
                    gc.freeze()
        else:
            episodes.extend(runner)
    finally:
        if freeze:
            gc.unfreeze()
    episodes.sort(key=lambda e: e.metadata["game"])
    return episodes


class ProgressBar:
    """A rich progress bar for long runs (games, evaluation items); quiet off a terminal."""

    def __init__(self, total: int, label: str) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._p = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            transient=False,
        )
        self._task = self._p.add_task(label, total=total)
        self._p.start()

    def advance(self, k: int = 1) -> None:
        self._p.advance(self._task, k)

    def close(self) -> None:
        self._p.stop()


def replay(episode: Episode, *, check: bool = True) -> Episode:
    """Re-run an episode from its seed and recorded actions.

    Returns the re-run episode (same id and players). With ``check`` (the default) it raises
    :class:`ReplayMismatch`, naming the first difference, unless the re-run reproduces the record
    exactly (everything but timings and agent-side metadata).
    """
    if episode.status == "error":
        raise ReplayMismatch(
            f"episode {episode.id} ended in an env error and cannot be replayed: {episode.error}"
        )
    env: TextEnv = make(episode.env_id, **episode.env_options)
    options = dict(episode.reset_options)
    if episode.rng_state is not None:
        options["rng_state"] = episode.rng_state
    env.reset(seed=episode.seed, options=options)
    for turn in episode.turns:
        if env.done:
            raise ReplayMismatch(f"the game ended before turn {turn.index} of the record")
        if env.agent_selection != turn.agent:
            raise ReplayMismatch(
                f"turn {turn.index}: the record has {turn.agent} to move, the replay "
                f"{env.agent_selection}"
            )
        action: Any = turn.action
        if action is None and turn.error is not None:
            # The agent failed, or answered with something that was not text: either way the
            # record holds no action, only the error, and the env recorded exactly that.
            action = AgentFailure(turn.error)
        env.step(action)
    new = env.episode(players=episode.players)
    new.id = episode.id
    new.timings = dict(episode.timings)
    new.metadata = dict(episode.metadata)
    for t_new, t_old in zip(new.turns, episode.turns, strict=False):
        t_new.elapsed, t_new.extra = t_old.elapsed, dict(t_old.extra)
    if check:
        a, b = episode.replay_key(), new.replay_key()
        if a != b:
            raise ReplayMismatch(f"episode {episode.id}: {_first_difference(a, b)}")
    return new


def _first_difference(a: Any, b: Any, path: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                return f"{path}.{k}: present in only one"
            if a[k] != b[k]:
                return _first_difference(a[k], b[k], f"{path}.{k}")
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: length {len(a)} recorded, {len(b)} replayed"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _first_difference(x, y, f"{path}[{i}]")
    return f"{path or 'episode'}: recorded {a!r:.200}, replayed {b!r:.200}"
