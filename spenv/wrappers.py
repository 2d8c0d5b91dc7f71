"""Wrappers that give spenv games other shapes.

:class:`SingleAgentEnv` fixes every other seat of a game to given agents and exposes one seat as
a ``gymnasium.Env`` with text spaces, for single-agent RL libraries::

    env = SingleAgentEnv("KuhnPoker-v1", "player_0", {"player_1": "nash"})
    obs, info = env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step("[bet]")
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym

from spenv.agent import Agent, AgentResolver, check_agent, default_resolver
from spenv.env import AgentFailure, TextEnv
from spenv.registry import make
from spenv.spaces import ACTION_SPACE_LENGTH, OBSERVATION_SPACE_LENGTH, UnicodeText


class SingleAgentEnv(gym.Env):
    """One seat of a spenv game as a Gymnasium env; the other seats are played by ``opponents``.

    - ``env_id``: a registered id (or a :class:`TextEnv` instance); ``env_options`` its options.
    - ``agent``: the seat this env exposes (``"player_0"``, ``"defender"``, ...).
    - ``opponents``: an agent or agent spec for each other seat, as ``{seat: agent}`` or in seat
      order (one entry per other seat). Opponents that have ``seed()`` are re-seeded from the
      reset seed, so ``reset(seed=s)`` makes the whole episode reproducible.
    - ``resolve``: builds the opponents given as spec strings, ``resolve(spec, env_id, seed=...)``
      (default: :func:`spenv.agent.default_resolver`, the specs of :mod:`spenv.agents`).

    Observations are the prompt text; ``info`` carries ``observation`` (the full
    :class:`~spenv.observation.Observation`), ``legal_actions`` and, at the end, ``outcome``;
    :meth:`episode` gives the game's record. The reward of a step is what the seat earned since its
    previous step (PettingZoo's cumulative reward). An opponent that raises is recorded in the
    episode as that opponent's invalid move, like in the rollout engine.
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi"]}  # noqa: RUF012

    def __init__(
        self,
        env_id: str | TextEnv,
        agent: str,
        opponents: Mapping[str, Agent | str] | Sequence[Agent | str] | Agent | str,
        *,
        env_options: Mapping[str, Any] | None = None,
        render_mode: str | None = None,
        resolve: AgentResolver | None = None,
    ) -> None:
        self.env: TextEnv = (
            make(env_id, **dict(env_options or {})) if isinstance(env_id, str) else env_id
        )
        seats = list(self.env.possible_agents)
        if agent not in seats:
            raise ValueError(f"{self.env.env_id} has seats {seats}; got agent {agent!r}")
        others = [s for s in seats if s != agent]
        if isinstance(opponents, Mapping):
            if set(opponents) != set(others):
                raise ValueError(f"opponents must cover exactly the seats {others}")
            table = dict(opponents)
        else:
            if isinstance(opponents, str) or not isinstance(opponents, Sequence):
                opponents = [opponents]
            if len(opponents) != len(others):
                raise ValueError(f"{len(others)} other seats ({others}); got {len(opponents)}")
            table = dict(zip(others, opponents, strict=True))
        self.agent = agent
        if resolve is None and any(isinstance(a, str) for a in table.values()):
            resolve = default_resolver()
        self.opponents: dict[str, Agent] = {
            s: resolve(a, self.env.env_id, seed=None) if isinstance(a, str) else check_agent(a)
            for s, a in table.items()
        }
        self.observation_space = UnicodeText(max_length=OBSERVATION_SPACE_LENGTH)
        self.action_space = UnicodeText(max_length=ACTION_SPACE_LENGTH)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}")
        self.render_mode = render_mode
        self._last_text = ""

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None:
            for i, opp in enumerate(self.opponents.values()):
                reseed = getattr(opp, "seed", None)
                if callable(reseed):
                    reseed(seed * 1_000_003 + i + 1)
        self.env.reset(seed=seed, options=options)
        return self._advance()

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if self.env.done or self.env.agent_selection != self.agent:
            raise RuntimeError("step() called after the episode ended; call reset()")
        self.env.step(action)
        obs, info = self._advance()
        reward = float(self.env._cumulative_rewards.get(self.agent, 0.0))
        self.env._cumulative_rewards[self.agent] = 0.0
        done = self.env.done
        truncated = done and bool(self.env.truncations.get(self.agent, False))
        return obs, reward, done and not truncated, truncated, info

    def _advance(self) -> tuple[str, dict[str, Any]]:
        """Let the opponents move until it is this seat's turn or the game ends."""
        env = self.env
        while not env.done and env.agent_selection != self.agent:
            seat = env.agent_selection
            obs = env.infos[seat]["observation"]
            try:
                action: Any = self.opponents[seat].act(obs)
            except Exception as exc:
                action = AgentFailure(f"agent failed: {type(exc).__name__}: {exc}")
            env.step(action)
        info = env.infos[self.agent]
        out = {
            "observation": info["observation"],
            "legal_actions": info["legal_actions"],
        }
        if env.done:
            out["outcome"] = env.outcomes.get(self.agent)
        self._last_text = str(info["observation"].text)
        return info["observation"].text, out

    def episode(self) -> Any:
        """The record of the current game (:class:`~spenv.episode.Episode`).

        Not put in ``info``: an episode carries a fresh id and timings, and Gymnasium expects
        the same seed and actions to give equal infos."""
        players = {self.agent: "gym"}
        players.update({s: getattr(a, "name", s) for s, a in self.opponents.items()})
        return self.env.episode(players=players)

    def render(self) -> str | None:
        return self._last_text if self.render_mode == "ansi" else None
