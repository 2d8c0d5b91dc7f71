"""``TextEnv``: the PettingZoo AEC base class every spenv game builds on.

A game subclasses :class:`TextEnv` and implements five hooks:

- ``_new_game(options)``: set up a fresh game with ``self.np_random`` (or ``self._uniform()``, a
  cheaper way to draw uniform floats from the same stream), and return the first agent;
- ``_observe(agent)``: the :class:`~spenv.observation.Observation` for ``agent`` now (a decision
  when ``agent`` is to move; a waiting or final view otherwise);
- ``_parse(agent, action)``: turn the raw text into a move, or return an error message;
- ``_apply(agent, move)``: play the move; it calls ``self._next(agent)``, ``self._give(rewards)``
  and, at the end, ``self._finish(outcomes)``;
- ``_forfeit(agent, reason)`` (optional): what an agent's invalid move costs once its retries are
  used up (by default the game ends, the offender gets ``invalid_reward``).

A game that keeps its views whole may also set ``self._views`` to the tuple of every agent's
current view (in ``possible_agents`` order) in ``_new_game`` and ``_apply``; the base class then
takes the views from it instead of calling ``_observe`` once per agent. ``None`` (the default, and
what ``reset`` and ``_finish`` set) means "ask ``_observe``". A game that sets it must keep it
current: set it, or ``None``, whenever a view may change.

The base class owns everything else: the AEC bookkeeping (rewards, cumulative rewards,
terminations, infos, dead-agent steps), the per-instance random generator, the invalid-move
policy (``retries=N``, each attempt recorded), the turn record, and ``episode()``.

``env.last()`` returns the prompt text as the observation; its ``info`` carries
``info["observation"]`` (the full :class:`Observation`) and ``info["legal_actions"]`` (the exact
strings the parser accepts, for games whose moves are finite).

The hot path (``reset``, ``step``, ``last``, ``agent_iter``) is kept lean: LLM self-play and
agent tests play millions of short games, so per-decision overhead matters (see
``benchmarks/perf/``). Games help by caching their immutable observations and setting
``_views``; a game may also inline its own common case (Kuhn poker does).

Randomness and replay: each env owns a PCG64 stream (``np.random.default_rng(seed)``'s), made
on first use from the seed. A game that continues the stream (``reset()`` without a seed) records
the position it starts from, read when it first draws (a game that never draws needs none: the
seed replays it). ``_uniform()`` draws from the stream without a numpy generator until the game
asks for ``np_random`` (see :mod:`spenv.streams`).
"""

from __future__ import annotations

import copy
import dataclasses
import secrets
import sys
import time
from collections.abc import Mapping
from itertools import repeat
from typing import Any, ClassVar

import numpy as np
from pettingzoo import AECEnv
from pettingzoo.utils.env import AECIterable

from spenv.episode import Episode, Turn
from spenv.observation import Observation
from spenv.options import Int, Number, Option, declared_options, parse_options, recorded_options
from spenv.spaces import ACTION_SPACE_LENGTH, OBSERVATION_SPACE_LENGTH, UnicodeText
from spenv.streams import Stream, pcg64_state

# Templates for each env's own spaces: an env copies them (shallowly: the charset tables are
# shared, the sampling generator is not), so seeding one env's space never touches another's.
_OBS_SPACE = UnicodeText(max_length=OBSERVATION_SPACE_LENGTH)
_ACT_SPACE = UnicodeText(max_length=ACTION_SPACE_LENGTH)


class AgentFailure:
    """Stands in for an action when the agent itself failed (raised, timed out, ...).

    Stepping an env with it records an invalid move whose error is ``message`` (the raw action is
    ``None``), so the failure is kept in the episode and follows the env's invalid-move policy.
    """

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message

    def __repr__(self) -> str:
        return f"AgentFailure({self.message!r})"


class _AgentIterable(AECIterable):
    """``agent_iter``'s iterable: PettingZoo's semantics, iterated by a generator.

    It yields ``env.agent_selection`` while ``env.agents`` is non-empty, at most ``max_iter``
    times, exactly like :class:`pettingzoo.utils.env.AECIterator`, but resuming a generator is
    cheaper than calling a Python ``__next__`` once per decision.
    """

    def __init__(self, env: AECEnv, max_iter: int) -> None:  # AECIterable's, without a call
        self.env = env
        self.max_iter = max_iter

    def __iter__(self) -> Any:
        return _agent_generator(self.env, self.max_iter)


_MAX_REPEAT = sys.maxsize  # itertools.repeat's limit; 2**63 - 1 steps is as good as 2**63


def _agent_generator(env: AECEnv, max_iter: int) -> Any:
    for _ in repeat(None, max_iter if max_iter < _MAX_REPEAT else _MAX_REPEAT):
        if not env.agents:
            return
        yield env.agent_selection


class TextEnv(AECEnv):
    """Base class for turn-based text games (a PettingZoo ``AECEnv``).

    Constructor options are declared, not written as keyword parameters: each game lists its
    own in ``OPTIONS`` (see :mod:`spenv.options`), and this constructor checks every keyword
    argument against the declarations of the class and its bases, sets each option as an
    attribute and records the non-default ones in :meth:`env_options`. Options common to every
    game (declared here):

    - ``retries`` (int, default 0): how many invalid moves an agent may make in one game before
      it forfeits. Every invalid attempt is recorded in the episode; while retries remain, the
      agent is asked again with the error shown in its prompt.
    - ``invalid_reward`` (float, default -1.0): the offender's reward on forfeit, for games that
      use the default ``_forfeit`` (others define their own; see each game's docstring).

    Two keyword arguments are not options (never recorded): ``render_mode`` (``"human"`` prints
    the acting agent's prompt, ``"ansi"`` returns it) and ``env_id`` (the registered id).

    System prompts: a game stores each seat's system prompt in ``self._system`` (seat -> text,
    usually built in its constructor from its options); :meth:`system_prompts` returns them.

    The retry message: when an agent is asked again after an invalid move, the base class adds
    one line to the prompt the game's ``_observe`` builds, just before its last line (the
    game's instruction for the move): "Your previous answer was not a valid move: <error>. Try
    again (<n> attempts left)." Games need not handle it; one that places the line itself (its
    ``_observe`` puts ``self.feedback`` in the prompt, e.g. to keep its other views cached) keeps
    its placement. ``self.feedback`` is that line while the agent is being asked again
    (``None`` otherwise).
    """

    metadata: ClassVar[dict[str, Any]] = {
        "render_modes": ["human", "ansi"],
        "name": "spenv_text_env",
        "is_parallelizable": False,
    }
    #: The registered id; the registry sets it on instances made under another id.
    env_id: str = "TextEnv-v0"
    #: Seats of the game, in seat order.
    possible_agents: ClassVar[list[str]] = []
    #: Whether rewards of a game sum to zero (used by the default forfeit).
    zero_sum: ClassVar[bool] = True
    #: For games with finite moves: each exact legal-action string and the move it stands for.
    #: An action equal to one of the current ``legal_actions`` skips the parser.
    _moves: ClassVar[Mapping[str, str]] = {}
    #: Whether the game reuses its (immutable) observation objects across games (cached
    #: views); the episode record then builds each observation's stored form once.
    _shared_views: ClassVar[bool] = False
    #: The constructor options this class declares (its bases' are added; see spenv.options).
    OPTIONS: ClassVar[tuple[Option, ...]] = (
        Option(
            "retries",
            0,
            Int(0),
            "invalid moves an agent may make in one game before it forfeits (each is recorded; "
            "until then it is asked again with the error)",
        ),
        Option(
            "invalid_reward",
            -1.0,
            Number(),
            "the offender's reward on forfeit (games with the default forfeit)",
        ),
    )

    def __init__(
        self, *, render_mode: str | None = None, env_id: str | None = None, **options: Any
    ) -> None:
        super().__init__()
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}"
            )
        if env_id is not None:
            self.env_id = env_id
        # The declared options (see spenv.options): checked, then set as attributes.
        self.__dict__.update(parse_options(self._declared(), options, self.env_id))
        self._system: dict[str, str] = {}
        self.possible_agents = list(type(self).possible_agents)
        self._zeros = dict.fromkeys(self.possible_agents, 0.0)
        self._falses = dict.fromkeys(self.possible_agents, False)
        self.render_mode = render_mode
        self.agents: list[str] = []
        self.rewards: dict[str, float] = {}
        self._cumulative_rewards: dict[str, float] = {}
        self.terminations: dict[str, bool] = {}
        self.truncations: dict[str, bool] = {}
        self.infos: dict[str, dict[str, Any]] = {}
        self.agent_selection: str = ""
        self._obs_spaces: dict[str, UnicodeText] = {}
        self._act_spaces: dict[str, UnicodeText] = {}
        # The random stream is made on first use (many games never draw); see spenv.streams.
        # ``_seed`` is the seed of the current stream, ``_rng_state`` where the current game
        # started in it when it continued that stream (``None``: fresh from ``_seed``; a
        # (state, inc) tuple stands for numpy's state dict, built when the record is made),
        # ``_capture_rng`` whether that is still to be recorded, at the game's first draw.
        self._stream: Stream | None = None
        self._seed: int | None = None
        self._rng_state: dict[str, Any] | tuple[int, int] | None = None
        self._capture_rng = False
        self._spare_rng: np.random.Generator | None = None  # a generator to reuse on reseed
        self._reset_options: dict[str, Any] = {}
        # One (agent, observation, raw action, move, valid, error) per decision; the runner's
        # annotations by turn index: elapsed seconds, and agent-side facts (``annotate_turn``).
        self._turns: list[tuple] = []
        self._elapsed: dict[int, float] = {}
        self._extras: dict[int, dict[str, Any]] = {}
        self._turn = 0
        self._strikes: dict[str, int] = {}
        self._feedback: str | None = None
        self._outcomes: dict[str, str] = {}
        self._totals: dict[str, float] = {}
        self._rewards_dirty = False
        self._started = 0.0
        self._finished: float | None = None
        self._views: tuple[Observation, ...] | None = None

    # ----------------------------------------------------------------- spaces and properties
    def observation_space(self, agent: str) -> UnicodeText:
        """Text of at most ``OBSERVATION_SPACE_LENGTH`` characters; one space per env and agent."""
        space = self._obs_spaces.get(agent)
        if space is None:
            space = self._obs_spaces[agent] = copy.copy(_OBS_SPACE)
        return space

    def action_space(self, agent: str) -> UnicodeText:
        """Text of at most ``ACTION_SPACE_LENGTH`` characters; one space per env and agent."""
        space = self._act_spaces.get(agent)
        if space is None:
            space = self._act_spaces[agent] = copy.copy(_ACT_SPACE)
        return space

    @property
    def np_random(self) -> np.random.Generator:
        """This env's own generator (seeded by ``reset(seed=...)``); no global RNG is used.

        A game's first use of it records the generator state the game starts from (when the
        game continues an earlier stream), which is what makes the episode replayable.
        """
        stream = self._stream
        if stream is None:
            stream = self._make_stream()
        if self._capture_rng:
            self._capture_rng = False
            self._rng_state = stream.position()
        gen = stream.gen
        if gen is None:
            gen = stream.generator(self._spare_rng)
            self._spare_rng = None
        return gen

    def _make_stream(self) -> Stream:
        if self._seed is None:
            self._seed = secrets.randbits(63)
        stream = self._stream = Stream.from_seed(self._seed)
        return stream

    def _uniform(self) -> float:
        """A float in [0, 1): the next value of ``self.np_random.random()``, drawn cheaply.

        Games whose randomness is only such draws (Kuhn poker's deals) should use this: until a
        game asks for ``np_random`` itself, the stream is computed without making a numpy
        generator (see :mod:`spenv.streams`). It is the same stream: mixing the two is fine.
        """
        stream = self._stream
        if stream is None:
            stream = self._make_stream()
        if self._capture_rng:
            self._capture_rng = False
            self._rng_state = stream.position()
        return stream.random()

    @property
    def turn(self) -> int:
        """The number of accepted moves so far in this game."""
        return self._turn

    @property
    def outcomes(self) -> dict[str, str]:
        """Each agent's outcome once the game has ended (empty before)."""
        return dict(self._outcomes)

    @property
    def done(self) -> bool:
        """True once the game has ended (all agents terminated or truncated)."""
        return bool(self._outcomes)

    @classmethod
    def _declared(cls) -> dict[str, Option]:
        """Every option this class declares or inherits, by name (see :mod:`spenv.options`)."""
        return declared_options(cls)

    def env_options(self) -> dict[str, Any]:
        """The constructor options, as recorded in episodes: each declared option whose value
        differs from its default (or declared ``record="always"``), in declaration order.

        A game overrides this only to add a value it derives (then it declares that option
        ``record="own"``)."""
        return recorded_options(self._declared(), self)

    # ----------------------------------------------------------------- the AEC API
    def reset(self, seed: int | None = None, options: Mapping[str, Any] | None = None) -> None:
        """Start a new game.

        ``seed`` re-seeds this env's generator; without it the generator continues its stream
        (first reset without any seed draws one from the OS). ``options`` are the game's reset
        options (each game documents its own) plus ``rng_state``, which restores the generator
        to a recorded state (used by :func:`spenv.replay`). Bad options or seeds raise
        ``ValueError`` before the current game is touched.

        The episode records how to reproduce the game's randomness: the seed, plus the
        generator state the game started from when it continued a stream and drew from it.
        """
        if options:
            opts = dict(options)
            rng_state = opts.pop("rng_state", None)
            game_options = self._check_options(opts) if opts else opts
        else:
            opts = game_options = {}
            rng_state = None
        if seed is None and rng_state is None and self._stream is not None:
            self._rng_state = None  # continuing the stream (the common case, inlined)
            self._capture_rng = True
        else:
            self._start_rng(seed, rng_state)
        self._clear_game(opts, game_options)
        agents = self.possible_agents
        self.agent_selection = self._new_game(game_options)
        views = self._views
        if views is not None:
            if len(views) == 2:  # two seats (most games): no loop
                a, b = agents
                va, vb = views
                self.infos = {
                    a: {"observation": va, "legal_actions": va.legal_actions},
                    b: {"observation": vb, "legal_actions": vb.legal_actions},
                }
                return
            infos = self.infos = {}
            for a, obs in zip(agents, views, strict=True):
                infos[a] = {"observation": obs, "legal_actions": obs.legal_actions}
        else:
            infos = self.infos = {}
            observe = self._observe
            for a in agents:
                obs = observe(a)
                infos[a] = {"observation": obs, "legal_actions": obs.legal_actions}

    def _start_rng(self, seed: int | None, rng_state: Any = None) -> None:
        """Set up the generator for a new game (``reset``'s ``seed`` and ``rng_state``)."""
        if seed is not None:
            self._check_seed(seed)
        if rng_state is not None:
            self._restore_rng(seed, rng_state)
        elif seed is not None:
            self._seed = int(seed)
            self._drop_stream()  # made from the seed on first use
            self._rng_state = None
            self._capture_rng = False
        elif self._stream is None:
            # The stream has not started: this game gets a fresh stream from the seed (drawn
            # from the OS if there is none yet), so the seed alone reproduces it.
            if self._seed is None:
                self._seed = secrets.randbits(63)
            self._rng_state = None
            self._capture_rng = False
        else:
            # Continuing the stream: the position is recorded at the game's first draw (reading
            # a numpy generator's state costs more than many games' whole reset, and some games
            # never draw).
            self._rng_state = None
            self._capture_rng = True

    def _drop_stream(self) -> None:
        stream = self._stream
        if stream is not None:
            if stream.gen is not None:
                self._spare_rng = stream.gen
            self._stream = None

    def _clear_game(self, options: dict[str, Any], game_options: dict[str, Any]) -> None:
        """Reset the per-game bookkeeping (``reset``, before ``_new_game``)."""
        self._reset_options = options
        self._game_options = game_options
        self.agents = self.possible_agents[:]
        zeros = self._zeros
        self.rewards = zeros.copy()
        self._cumulative_rewards = zeros.copy()
        self._totals = zeros.copy()
        falses = self._falses
        self.terminations = falses.copy()
        self.truncations = falses.copy()
        if self._strikes:
            self._strikes = {}
        self._turns = []
        if self._elapsed:
            self._elapsed = {}
        if self._extras:
            self._extras = {}
        self._turn = 0
        self._feedback = None
        self._outcomes = {}
        self._rewards_dirty = False
        self._started = time.time()
        self._finished = None
        self._views = None

    def _restore_rng(self, seed: int | None, state: Any) -> None:
        """Set the generator to a recorded state (checked before anything changes)."""
        if seed is not None:
            new_seed = int(seed)
        elif self._seed is not None:
            new_seed = self._seed
        else:
            new_seed = secrets.randbits(63)
        try:
            stream = Stream.from_state(state)
        except ValueError as exc:
            raise ValueError(f"reset option rng_state is not a valid state: {exc}") from exc
        self._seed = new_seed
        self._drop_stream()
        self._stream = stream
        self._rng_state = state
        self._capture_rng = False

    def observe(self, agent: str) -> str:
        info = self.infos.get(agent)
        if info is not None and "observation" in info:
            return info["observation"].text
        return self._observe(agent).text

    def last(self, observe: bool = True) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """PettingZoo's ``last()``: the prompt text, cumulative reward, termination, truncation
        and info of the agent to act (the text is that of ``info["observation"]``)."""
        agent = self.agent_selection
        info = self.infos[agent]
        return (
            info["observation"].text if observe else None,
            self._cumulative_rewards[agent],
            self.terminations[agent],
            self.truncations[agent],
            info,
        )

    def agent_iter(self, max_iter: int = 2**63) -> AECIterable:
        """Yields the agent to act until every agent is done (or ``max_iter`` times)."""
        return _AgentIterable(self, max_iter)

    def step(self, action: Any) -> None:
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            # A dead step (inlined: every game has one per agent): the agent leaves the game.
            if action is not None:
                raise ValueError("the game is over for this agent: the only valid action is None")
            del self.terminations[agent]
            del self.truncations[agent]
            del self.infos[agent]
            del self._cumulative_rewards[agent]
            rewards = self.rewards
            del rewards[agent]
            for a in rewards:
                rewards[a] = 0.0
            agents = self.agents
            agents.remove(agent)
            if agents:
                self.agent_selection = agents[0]
            return
        if self._rewards_dirty:
            rewards = self.rewards
            for a in rewards:
                rewards[a] = 0.0
            self._rewards_dirty = False
        self._cumulative_rewards[agent] = 0.0
        obs: Observation = self.infos[agent]["observation"]
        legal = obs.legal_actions
        if legal and type(action) is str and action in legal:  # fast path: an exact legal move
            self._accept(agent, obs, action, self._moves[action])
        else:
            self._step_other(agent, obs, action)
        if self._rewards_dirty:
            cumulative = self._cumulative_rewards
            for a, r in self.rewards.items():
                cumulative[a] += r
        if self.render_mode == "human":
            self.render()

    def _step_other(self, agent: str, obs: Observation, action: Any) -> None:
        """Any action but an exact legal-action string: parsed, or recorded as invalid."""
        error = None
        move = None
        if isinstance(action, AgentFailure):
            error = action.message
            action = None
        elif not isinstance(action, str):
            # Not text: nothing of it is kept as an action (its repr could parse as a move on
            # replay); the error names what it was, and replay feeds the error back.
            error = f"an action must be a string, got {type(action).__name__}: {action!r:.200}"
            action = None
        elif len(action) > ACTION_SPACE_LENGTH:
            error = (
                f"the answer is {len(action)} characters long; the limit is {ACTION_SPACE_LENGTH}"
            )
        else:
            move, error = self._parse(agent, action)
        raw = action
        if error is not None:
            self._turns.append((agent, obs, raw, None, False, error))
            strikes = self._strikes[agent] = self._strikes.get(agent, 0) + 1
            if strikes > self.retries:
                self._feedback = None
                self._forfeit(agent, error)
                if not self._outcomes:
                    raise RuntimeError(f"{type(self).__name__}._forfeit did not end the game")
            else:
                left = self.retries - strikes + 1
                self._feedback = (
                    f"Your previous answer was not a valid move: {error}. "
                    f"Try again ({left} attempt{'s' if left != 1 else ''} left)."
                )
                self._reask(agent)
        else:
            self._accept(agent, obs, raw, move)  # type: ignore[arg-type]

    def _accept(self, agent: str, obs: Observation, raw: str, move: str) -> None:
        """Record an accepted move, play it, and refresh every view."""
        self._turns.append((agent, obs, raw, move, True, None))
        self._feedback = None
        self._turn += 1
        self._apply(agent, move)
        if not self._outcomes:
            self._refresh_all()

    def render(self) -> str | None:
        if self.render_mode is None:
            return None
        agent = self.agent_selection
        text = self.observe(agent) if agent in self.infos else ""
        if self.render_mode == "ansi":
            return str(text)
        print(text)
        return None

    def close(self) -> None:
        pass

    def __str__(self) -> str:
        return self.env_id

    # ----------------------------------------------------------------- hooks for games
    def _check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """Validate reset options; games override to accept their own (unknown ones are kept)."""
        return options

    def _new_game(self, options: dict[str, Any]) -> str:
        raise NotImplementedError

    def _observe(self, agent: str) -> Observation:
        raise NotImplementedError

    def _parse(self, agent: str, action: str) -> tuple[str | None, str | None]:
        raise NotImplementedError

    def _apply(self, agent: str, move: str) -> None:
        raise NotImplementedError

    def _forfeit(self, agent: str, reason: str) -> None:
        """Default forfeit: the game ends; the offender gets ``invalid_reward``.

        In a zero-sum game the others share the opposite amount; otherwise they get 0.
        """
        others = [a for a in self.possible_agents if a != agent]
        rewards = {agent: self.invalid_reward}
        for a in others:
            rewards[a] = -self.invalid_reward / len(others) if self.zero_sum else 0.0
        self._give(rewards)
        self._finish({agent: "invalid", **dict.fromkeys(others, "win")})

    # ----------------------------------------------------------------- helpers for games
    def _give(self, rewards: Mapping[str, float]) -> None:
        """Add step rewards (they reach ``_cumulative_rewards`` at the end of the step)."""
        own, totals = self.rewards, self._totals
        for a, r in rewards.items():
            own[a] += r
            totals[a] += r
        self._rewards_dirty = True

    def _next(self, agent: str) -> None:
        """Hand the turn to ``agent``."""
        self.agent_selection = agent

    def _finish(self, outcomes: Mapping[str, str], *, truncated: bool = False) -> None:
        """End the game: every agent is terminated (or truncated) with its outcome."""
        self._outcomes = outcomes = dict(outcomes)
        self._finished = time.time()
        self._views = None
        flags = self.truncations if truncated else self.terminations
        for a in self.agents:
            flags[a] = True
            self._refresh(a)
            self.infos[a]["outcome"] = outcomes.get(a)

    def _refresh_all(self) -> None:
        """Refresh every agent's info from ``_views`` (or ``_observe``) after a move.

        Every agent's view, not only the mover's and the next agent's: a move can change what a
        waiting agent sees (a new hand), and no info may be left stale. All agents play until
        the game ends, so ``agents`` is every seat here.
        """
        views = self._views
        if views is None:
            for a in self.agents:
                self._refresh(a)
            return
        infos = self.infos
        agents = self.agents
        if len(agents) == 2 and len(views) == 2:  # two seats (most games): no loop
            show_two(infos, agents[0], views[0], agents[1], views[1])
            return
        for a, obs in zip(agents, views, strict=True):
            info = infos[a]
            info["observation"] = obs
            info["legal_actions"] = obs.legal_actions

    def _reask(self, agent: str) -> None:
        """Refresh ``agent``'s view to ask it again: the game's prompt with the retry line
        (``self._feedback``) inserted before its last line (the instruction for the move)."""
        obs = self._observe(agent)
        if self._feedback not in obs.user:  # a game may place the line itself
            head, sep, last = obs.user.rpartition("\n")
            user = f"{head}{sep}{self._feedback}\n{last}"
            obs = dataclasses.replace(obs, user=user)
        info = self.infos[agent]
        info["observation"] = obs
        info["legal_actions"] = obs.legal_actions

    def _refresh(self, agent: str) -> None:
        obs = self._observe(agent)
        info = self.infos[agent]
        info["observation"] = obs
        info["legal_actions"] = obs.legal_actions

    @property
    def feedback(self) -> str | None:
        """The error shown to an agent that is being asked again after an invalid move."""
        return self._feedback

    @staticmethod
    def _check_seed(seed: Any) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")

    # ----------------------------------------------------------------- the record
    def episode_info(self) -> dict[str, Any]:
        """Game-specific facts for the episode record (the whole game, not one agent's view)."""
        return {}

    def episode_verdicts(self) -> list[dict[str, Any]]:
        """Every verifier verdict of the current game, for the episode's ``verdicts`` field.

        Games scored by a verifier (a proof checker, the code sandbox, a judge) return one
        JSON-serializable dict per verdict; the default is none.
        """
        return []

    def decision_rewards(self) -> dict[int, float]:
        """Each decision's own reward, keyed by the turn's index in the episode record.

        Games that score decisions one by one (each of k independent attempts by its verdict, each
        proposal by its own score) return them here, and the episode stores each as
        :attr:`Turn.reward <spenv.episode.Turn.reward>`; a trainer then credits that decision
        with it instead of the seat's total. Decisions not listed keep the seat's episode reward.
        The default is none: the game has one outcome per seat.
        """
        return {}

    def system_prompts(self) -> dict[str, str]:
        """Each agent's system prompt (stored once per episode, not once per turn): a copy of
        ``self._system``, which a game fills in its constructor."""
        return dict(self._system)

    def episode(self, players: Mapping[str, str] | None = None) -> Episode:
        """The record of the current game (complete once the game has ended)."""
        system = self.system_prompts()
        per_decision = self.decision_rewards()
        elapsed, extras = self._elapsed, self._extras
        shared = self._shared_views
        seat_system = system.get
        turns = []
        for i, (agent, obs, raw, move, valid, error) in enumerate(self._turns):
            if shared:
                od = _shared_record(obs, seat_system(agent))
            else:
                od = _fresh_record(obs)
                if od.get("system") == seat_system(agent):
                    del od["system"]
            turn = Turn(
                i,
                agent,
                obs.turn,
                od,
                raw,
                move,
                valid,
                error,
                elapsed.get(i) if elapsed else None,
                dict(extras[i]) if extras and i in extras else {},
            )
            if per_decision and i in per_decision:
                turn.reward = float(per_decision[i])
            turns.append(turn)
        end = self._finished if self._finished is not None else time.time()
        return Episode(
            env_id=self.env_id,
            seed=self._seed,
            rng_state=self._recorded_rng_state(),
            env_options=self.env_options(),
            reset_options=dict(self._reset_options),
            agents=list(self.possible_agents),
            players=dict(players or {}),
            system=system,
            turns=turns,
            rewards=self.total_rewards(),
            outcomes=dict(self._outcomes),
            status="completed" if self._outcomes else "running",
            info=self.episode_info(),
            verdicts=self.episode_verdicts(),
            timings={"started": self._started, "duration": end - self._started},
        )

    def _recorded_rng_state(self) -> dict[str, Any] | None:
        """The generator state the current game started from (None: fresh from the seed)."""
        recorded = self._rng_state
        if type(recorded) is tuple:
            recorded = self._rng_state = pcg64_state(*recorded)
        return recorded  # type: ignore[return-value]

    def total_rewards(self) -> dict[str, float]:
        """Each agent's reward summed over the game so far."""
        return dict(self._totals)

    def annotate_turn(self, *, elapsed: float | None = None, **extra: Any) -> None:
        """Attach agent-side facts (timing, token ids, log-probs) to the latest turn."""
        n = len(self._turns) - 1
        if n < 0:
            raise ValueError("no turn to annotate")
        if elapsed is not None:
            self._elapsed[n] = elapsed
        if extra:
            got = self._extras.get(n)
            if got is None:
                self._extras[n] = dict(extra)
            else:
                got.update(extra)


def show_two(
    infos: dict[str, dict[str, Any]], a: str, va: Observation, b: str, vb: Observation
) -> None:
    """Put two seats' current views into their infos (``observation`` and ``legal_actions``):
    the two-seat refresh of :meth:`TextEnv._refresh_all`, shared with games' speed paths."""
    info = infos[a]
    info["observation"] = va
    info["legal_actions"] = va.legal_actions
    info = infos[b]
    info["observation"] = vb
    info["legal_actions"] = vb.legal_actions


# Episode records of observations that games share across games (``_shared_views``): each
# observation's stored dict is built once, with and without its system prompt (left out when it
# is the seat's, stored once per episode), and turns share it: records are read, not edited in
# place (one dict less per turn to build, and for the garbage collector to walk).
_RECORDS: dict[int, list[Any]] = {}
_RECORDS_LIMIT = 16384


def _fresh_record(obs: Observation) -> dict[str, Any]:
    od = obs.to_dict()
    del od["env_id"]
    return od


def _shared_record(obs: Observation, system: str | None) -> dict[str, Any]:
    hit = _RECORDS.get(id(obs))
    if hit is None or hit[0] is not obs:
        if len(_RECORDS) >= _RECORDS_LIMIT:
            _RECORDS.clear()
        hit = _RECORDS[id(obs)] = [obs, _fresh_record(obs), None]
    if obs.system != system:
        return hit[1]
    bare = hit[2]
    if bare is None:
        bare = hit[2] = dict(hit[1])
        del bare["system"]
    return bare
