"""``TextEnv``: the PettingZoo AEC base class every spenv game builds on.

A game subclasses :class:`TextEnv` and implements five hooks:

- ``_new_game(options)``: set up a fresh game with ``self.np_random``, and return the first agent;
- ``_observe(agent)``: the :class:`~spenv.observation.Observation` for ``agent`` now (a decision
  when ``agent`` is to move; a waiting or final view otherwise);
- ``_parse(agent, action)``: turn the raw text into a move, or return an error message;
- ``_apply(agent, move)``: play the move; it calls ``self._next(agent)``, ``self._give(rewards)``
  and, at the end, ``self._finish(outcomes)``;
- ``_forfeit(agent, reason)`` (optional): what an agent's invalid move costs once its retries are
  used up (by default the game ends, the offender gets ``invalid_reward``).

The base class owns everything else: the AEC bookkeeping (rewards, cumulative rewards,
terminations, infos, dead-agent steps), the per-instance random generator, the invalid-move
policy (``retries=N``, each attempt recorded), the turn record, and ``episode()``.

``env.last()`` returns the prompt text as the observation; its ``info`` carries
``info["observation"]`` (the full :class:`Observation`) and ``info["legal_actions"]`` (the exact
strings the parser accepts, for games whose moves are finite).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from pettingzoo import AECEnv

from spenv.episode import Episode, Turn
from spenv.observation import Observation
from spenv.spaces import ACTION_SPACE_LENGTH, OBSERVATION_SPACE_LENGTH, UnicodeText

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


#: Reset options that spenv itself reads; games never see them.
RESERVED_RESET_OPTIONS = ("rng_state",)


class TextEnv(AECEnv):
    """Base class for turn-based text games (a PettingZoo ``AECEnv``).

    Constructor options common to every game:

    - ``retries`` (int, default 0): how many invalid moves an agent may make in one game before
      it forfeits. Every invalid attempt is recorded in the episode; while retries remain, the
      agent is asked again with the error shown in its prompt.
    - ``invalid_reward`` (float, default -1.0): the offender's reward on forfeit, for games that
      use the default ``_forfeit`` (others define their own; see each game's docstring).
    - ``render_mode``: ``"human"`` prints the acting agent's prompt, ``"ansi"`` returns it.
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

    def __init__(
        self,
        *,
        retries: int = 0,
        invalid_reward: float = -1.0,
        render_mode: str | None = None,
        env_id: str | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
            raise ValueError(f"retries must be a non-negative integer, got {retries!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}"
            )
        if env_id is not None:
            self.env_id = env_id
        self.possible_agents = list(type(self).possible_agents)
        self._zeros = dict.fromkeys(self.possible_agents, 0.0)
        self._falses = dict.fromkeys(self.possible_agents, False)
        self.retries = retries
        self.invalid_reward = float(invalid_reward)
        self.render_mode = render_mode
        self.agents: list[str] = []
        self.rewards: dict[str, float] = {}
        self._cumulative_rewards: dict[str, float] = {}
        self.terminations: dict[str, bool] = {}
        self.truncations: dict[str, bool] = {}
        self.infos: dict[str, dict[str, Any]] = {}
        self.agent_selection: str = ""
        self._rng: np.random.Generator | None = None
        self._seed: int | None = None
        self._rng_state: dict[str, Any] | None = None
        self._reset_options: dict[str, Any] = {}
        self._turns: list[tuple] = []
        self._turn = 0
        self._strikes: dict[str, int] = {}
        self._feedback: str | None = None
        self._outcomes: dict[str, str] = {}
        self._totals: dict[str, float] = {}
        self._rewards_dirty = False
        self._started = 0.0
        self._finished: float | None = None

    # ----------------------------------------------------------------- spaces and properties
    def observation_space(self, agent: str) -> UnicodeText:
        return _OBS_SPACE

    def action_space(self, agent: str) -> UnicodeText:
        return _ACT_SPACE

    @property
    def np_random(self) -> np.random.Generator:
        """This env's own generator (seeded by ``reset(seed=...)``); no global RNG is used."""
        if self._rng is None:
            self._seed_rng(None)
        assert self._rng is not None
        return self._rng

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

    def env_options(self) -> dict[str, Any]:
        """The constructor options, as recorded in episodes (override to add a game's own)."""
        opts: dict[str, Any] = {}
        if self.retries:
            opts["retries"] = self.retries
        if self.invalid_reward != -1.0:
            opts["invalid_reward"] = self.invalid_reward
        return opts

    # ----------------------------------------------------------------- the AEC API
    def reset(self, seed: int | None = None, options: Mapping[str, Any] | None = None) -> None:
        """Start a new game.

        ``seed`` re-seeds this env's generator; without it the generator continues its stream
        (first reset without any seed draws one from the OS). ``options`` are the game's reset
        options (each game documents its own) plus ``rng_state``, which restores the generator
        to a recorded state (used by :func:`spenv.replay`).
        """
        if options:
            opts = dict(options)
            rng_state = opts.pop("rng_state", None)
        else:
            opts, rng_state = {}, None
        if seed is not None or self._rng is None:
            self._seed_rng(seed)
            self._rng_state = None
        else:
            self._rng_state = self._rng.bit_generator.state
        if rng_state is not None:
            assert self._rng is not None
            try:
                self._rng.bit_generator.state = rng_state
            except (TypeError, ValueError, KeyError) as exc:
                raise ValueError(f"reset option rng_state is not a valid state: {exc}") from exc
            self._rng_state = rng_state
        self._reset_options = opts
        agents = self.possible_agents
        self.agents = agents[:]
        zeros = self._zeros
        self.rewards = zeros.copy()
        self._cumulative_rewards = zeros.copy()
        self._totals = zeros.copy()
        self.terminations = self._falses.copy()
        self.truncations = self._falses.copy()
        self._strikes = {}
        self._turns = []
        self._turn = 0
        self._feedback = None
        self._outcomes = {}
        self._rewards_dirty = False
        self._started = time.time()
        self._finished = None
        self._game_options = self._check_options(opts) if opts else opts
        self.agent_selection = self._new_game(self._game_options)
        infos = self.infos = {}
        for a in agents:
            obs = self._observe(a)
            infos[a] = {"observation": obs, "legal_actions": obs.legal_actions}

    def observe(self, agent: str) -> str:
        info = self.infos.get(agent)
        if info is not None and "observation" in info:
            return info["observation"].text
        return self._observe(agent).text

    def step(self, action: Any) -> None:
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._dead_step(action)
            return
        if self._rewards_dirty:
            rewards = self.rewards
            for a in rewards:
                rewards[a] = 0.0
            self._rewards_dirty = False
        self._cumulative_rewards[agent] = 0.0
        obs: Observation = self.infos[agent]["observation"]
        error = None
        if type(action) is str and action in obs.legal_actions:  # fast path: an exact legal move
            move = self._moves[action]
        elif isinstance(action, AgentFailure):
            error = action.message
            action = None
        elif not isinstance(action, str):
            error = f"an action must be a string, got {type(action).__name__}"
        else:
            move, error = self._parse(agent, action)
        raw = action if isinstance(action, str) or action is None else repr(action)
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
                self._refresh(agent)
        else:
            self._turns.append((agent, obs, raw, move, True, None))
            self._feedback = None
            self._turn += 1
            self._apply(agent, move)
            if not self._outcomes:
                infos = self.infos
                obs = self._observe(agent)
                info = infos[agent]
                info["observation"] = obs
                info["legal_actions"] = obs.legal_actions
                nxt = self.agent_selection
                if nxt != agent:
                    obs = self._observe(nxt)
                    info = infos[nxt]
                    info["observation"] = obs
                    info["legal_actions"] = obs.legal_actions
        if self._rewards_dirty:
            cumulative = self._cumulative_rewards
            for a, r in self.rewards.items():
                cumulative[a] += r
        if self.render_mode is not None and self.render_mode == "human":
            self.render()

    def _dead_step(self, action: Any) -> None:
        if action is not None:
            raise ValueError("the game is over for this agent: the only valid action is None")
        agent = self.agent_selection
        del self.terminations[agent]
        del self.truncations[agent]
        del self.rewards[agent]
        del self._cumulative_rewards[agent]
        del self.infos[agent]
        self.agents.remove(agent)
        rewards = self.rewards
        for a in rewards:
            rewards[a] = 0.0
        if self.agents:
            self.agent_selection = self.agents[0]

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
        for a, r in rewards.items():
            self.rewards[a] += r
            self._totals[a] += r
        self._rewards_dirty = True

    def _next(self, agent: str) -> None:
        """Hand the turn to ``agent``."""
        self.agent_selection = agent

    def _finish(self, outcomes: Mapping[str, str], *, truncated: bool = False) -> None:
        """End the game: every agent is terminated (or truncated) with its outcome."""
        self._outcomes = outcomes = dict(outcomes)
        self._finished = time.time()
        flags = self.truncations if truncated else self.terminations
        infos = self.infos
        for a in self.agents:
            flags[a] = True
            obs = self._observe(a)
            info = infos[a]
            info["observation"] = obs
            info["legal_actions"] = obs.legal_actions
            info["outcome"] = outcomes.get(a)

    def _refresh(self, agent: str) -> None:
        obs = self._observe(agent)
        info = self.infos[agent]
        info["observation"] = obs
        info["legal_actions"] = obs.legal_actions

    @property
    def feedback(self) -> str | None:
        """The error shown to an agent that is being asked again after an invalid move."""
        return self._feedback

    def _seed_rng(self, seed: int | None) -> None:
        if seed is None:
            seed = secrets.randbits(63)
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self._seed = int(seed)
        self._rng = np.random.default_rng(self._seed)

    # ----------------------------------------------------------------- the record
    def episode_info(self) -> dict[str, Any]:
        """Game-specific facts for the episode record (the whole game, not one agent's view)."""
        return {}

    def system_prompts(self) -> dict[str, str]:
        """Each agent's system prompt (stored once per episode, not once per turn)."""
        return {}

    def episode(self, players: Mapping[str, str] | None = None) -> Episode:
        """The record of the current game (complete once the game has ended)."""
        system = self.system_prompts()
        turns = []
        for i, rec in enumerate(self._turns):
            agent, obs, raw, move, valid, error = rec[:6]
            meta = dict(rec[6]) if len(rec) > 6 else {}
            elapsed = meta.pop("elapsed", None)
            od = obs.to_dict()
            od.pop("env_id")
            if od.get("system") == system.get(agent):
                od.pop("system")
            turns.append(Turn(i, agent, obs.turn, od, raw, move, valid, error, elapsed, meta))
        end = self._finished if self._finished is not None else time.time()
        return Episode(
            env_id=self.env_id,
            seed=self._seed,
            rng_state=self._rng_state,
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
            timings={"started": self._started, "duration": end - self._started},
        )

    def total_rewards(self) -> dict[str, float]:
        """Each agent's reward summed over the game so far."""
        return dict(self._totals)

    def annotate_turn(self, *, elapsed: float | None = None, **extra: Any) -> None:
        """Attach agent-side facts (timing, token ids, log-probs) to the latest turn."""
        if not self._turns:
            raise ValueError("no turn to annotate")
        rec = self._turns[-1]
        meta = rec[6] if len(rec) > 6 else {}
        if elapsed is not None:
            meta["elapsed"] = elapsed
        meta.update(extra)
        self._turns[-1] = (*rec[:6], meta)
