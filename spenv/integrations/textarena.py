"""TextArena bridge: any TextArena game as a spenv env (``spenv.make("textarena:<Id>")``).

``spenv.make("textarena:TicTacToe-v0")`` wraps TextArena's ``TicTacToe-v0`` as a
:class:`TextArenaEnv`, a :class:`~spenv.env.TextEnv` (a PettingZoo AEC env), so TextArena's
games run through spenv's agents, rollouts, episodes and replay. TextArena is imported only when
a bridged env is made or listed (``pip install textarena``).

Seats are ``player_0``, ``player_1``, ... for TextArena's player ids 0, 1, ...; the number of
players is the smallest TextArena documents for the game (``num_players=N`` picks another).

Observations: the acting agent's prompt is TextArena's own observation for it, through the
game's default wrappers (usually ``LLMObservationWrapper``: the whole message history as
``[GAME] ...`` / ``[Player 1] ...`` lines); ``-raw`` ids give message tuples, formatted here the
same way. A fresh TextArena env is made on every ``reset`` (cheap), so no history leaks from one
game into the next (TextArena's ``LLMObservationWrapper`` never clears it across resets). Agents
that are not to move see their last prompt and whose turn it is. Moves are free text
(``legal_actions`` is ``None``); TextArena's parsers decide.

Invalid moves: TextArena's own error allowance is switched off (set very high), and every move
TextArena rejects (its ``state.set_invalid_move``) is recorded by spenv as an invalid turn with
TextArena's reason, following spenv's ``retries`` policy: the agent is asked again (TextArena's
"invalid move" message is in its history) until its retries are used up, then it forfeits
(spenv's default: the offender gets ``invalid_reward``, zero-sum). When TextArena ends the game
its ``rewards`` are the rewards, and outcomes follow their sign (win / loss / draw), ``invalid``
for a player TextArena marked as having made an invalid move.

Randomness: TextArena draws from Python's global ``random`` module (``State`` calls
``random.seed(seed)``; a few games use numpy's global ``np.random``). Each game here gets a
TextArena seed drawn from the env's own ``np_random``, and every call into TextArena (make,
reset, step, get_observation; also the first import) runs with the global ``random`` state, and
``np.random``'s for games whose source uses it (swapping it costs ~0.2 ms), swapped for the
game's private ones (seeded from that seed) and swapped back afterwards. So the caller's states
are untouched, interleaved games do not disturb each other, and the same spenv seed with the
same actions gives the same game, which is what makes ``spenv.replay`` work. Caveats: the swap
is not thread-safe (run bridged envs in one thread, or in separate processes); randomness from
anywhere else (a ``random.Random`` or numpy ``Generator`` made at import time, ``secrets``,
iteration order of sets of strings under hash randomisation) is not isolated, and such a game
may not replay across processes.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import importlib.util
import random
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from spenv.env import TextEnv
from spenv.observation import Observation
from spenv.registry import EnvSpec, UnknownEnvError
from spenv.spaces import OBSERVATION_SPACE_LENGTH

PREFIX = "textarena:"
#: TextArena's error allowance while spenv's ``retries`` policy rules invalid moves.
_NO_ALLOWANCE_LIMIT = 10**9
_CLIP_HEAD = 20_000
_HEADER_RE = re.compile(
    r"^#\s*[^#\[(]*?[\[(]\s*(\d+)(?:\s*-\s*(\d+))?\s*Players?\s*[\])]", re.IGNORECASE
)
_ENTRY_RE = re.compile(r"entry_point\s*=\s*[\"']([\w.]+:\w+)[\"']")


def _textarena() -> Any:
    """Import TextArena (lazily), with a clear error when it is missing.

    Importing it (and the libraries it loads) draws from the global ``random`` module, so the
    caller's ``random`` and ``np.random`` states are put back afterwards.
    """
    module = sys.modules.get("textarena")
    if module is not None:
        return module
    outer, outer_np = random.getstate(), np.random.get_state()
    try:
        return importlib.import_module("textarena")
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the TextArena bridge needs the textarena package: pip install textarena "
            f"({type(exc).__name__}: {exc})"
        ) from exc
    finally:
        random.setstate(outer)
        np.random.set_state(outer_np)


def _registry() -> dict[str, Any]:
    _textarena()
    return importlib.import_module("textarena.envs.registration").ENV_REGISTRY


def list_textarena_envs() -> list[str]:
    """Every TextArena env id, sorted (use them as ``"textarena:<id>"``)."""
    return sorted(_registry())


@functools.lru_cache(maxsize=1)
def _player_counts_by_entry_point() -> dict[str, tuple[int, int]]:
    """Player counts TextArena documents, read from the section comments of its registry
    module (``# KuhnPoker [2 Player]``, ``# Poker [2-15 Players]``), by entry point."""
    _textarena()
    path = importlib.import_module("textarena.envs").__file__
    counts: dict[str, tuple[int, int]] = {}
    if not path:
        return counts
    current: tuple[int, int] | None = None
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            stripped = line.strip()
            m = _HEADER_RE.match(stripped)
            if m:
                lo = int(m.group(1))
                current = (lo, int(m.group(2)) if m.group(2) else lo)
                continue
            if stripped.startswith("#") and "player" in stripped.lower():
                current = None  # a section whose count is not a number ("Multiple Players")
                continue
            if stripped.startswith("#") or current is None:
                continue
            e = _ENTRY_RE.search(stripped)
            if e:
                counts.setdefault(e.group(1), current)
    return counts


def textarena_num_players(ta_id: str) -> tuple[int, int] | None:
    """The (fewest, most) players TextArena documents for ``ta_id``; ``None`` when unknown."""
    spec = _registry().get(ta_id)
    if spec is None:
        raise _unknown(ta_id)
    ep = spec.entry_point
    if not isinstance(ep, str):
        ep = f"{getattr(ep, '__module__', '')}:{getattr(ep, '__name__', '')}"
    return _player_counts_by_entry_point().get(ep)


def _unknown(ta_id: str) -> UnknownEnvError:
    close = difflib.get_close_matches(ta_id, list(_registry()), n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(PREFIX + c for c in close)}?" if close else ""
    return UnknownEnvError(
        f"no TextArena env registered as {ta_id!r}.{hint} "
        "See spenv.integrations.textarena.list_textarena_envs()."
    )


def _default_players(ta_id: str) -> int:
    counts = textarena_num_players(ta_id)
    return counts[0] if counts else 2


def textarena_player_counts() -> dict[str, tuple[int, int] | None]:
    """Every TextArena id with its (fewest, most) players (``None`` where TextArena's registry
    does not say), for listings such as ``spenv list --textarena``."""
    return {ta_id: textarena_num_players(ta_id) for ta_id in list_textarena_envs()}


def seats(n: int) -> tuple[str, ...]:
    """The seat names of an ``n``-player game: ``player_0`` ... ``player_{n-1}``."""
    return tuple(f"player_{i}" for i in range(n))


def spec_for(ta_id: str) -> EnvSpec:
    """The :class:`EnvSpec` of ``"textarena:<ta_id>"`` (the registry calls this)."""
    if ta_id not in _registry():
        raise _unknown(ta_id)
    n = _default_players(ta_id)
    counts = textarena_num_players(ta_id)
    players = f"{counts[0]}-{counts[1]}" if counts and counts[0] != counts[1] else str(n)
    return EnvSpec(
        id=PREFIX + ta_id,
        entry_point=TextArenaEnv,
        roles=seats(n),
        description=f"TextArena's {ta_id} ({players} players), bridged",
        kwargs={"ta_id": ta_id},
        default_agents=("random",) * n,
        reference_agents=("random",),
        agent_factory="spenv.integrations.textarena:reference_agent",
        source="textarena",
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


_NP_RANDOM_RE = re.compile(r"\b(?:np|numpy)\.random\b")


@functools.cache
def _uses_numpy_random(ta_id: str) -> bool:
    """Whether the source of a TextArena game's package mentions numpy's global generator
    (``np.random``); unreadable source counts as yes."""
    ep = _registry()[ta_id].entry_point
    module = ep.partition(":")[0] if isinstance(ep, str) else getattr(ep, "__module__", "")
    spec = importlib.util.find_spec(module) if module else None
    if spec is None or not spec.origin:
        return True
    folder = Path(spec.origin).parent
    # A module straight in textarena/envs: only that file; else the game's whole package.
    files = [Path(spec.origin)] if folder.name == "envs" else sorted(folder.rglob("*.py"))
    try:
        return any(_NP_RANDOM_RE.search(f.read_text(encoding="utf-8")) for f in files)
    except OSError:
        return True


def _clip(text: str) -> str:
    """Keep a prompt within the observation space: its start (the rules) and its latest part."""
    if len(text) <= OBSERVATION_SPACE_LENGTH:
        return text
    head = text[:_CLIP_HEAD]
    marker = "\n[... {} characters left out ...]\n"
    room = OBSERVATION_SPACE_LENGTH - len(head) - len(marker) - 20
    tail = text[-room:]
    return head + marker.format(len(text) - len(head) - len(tail)) + tail


class TextArenaEnv(TextEnv):
    """A TextArena game as a spenv env; see the module docstring.

    Options: ``ta_id`` (the TextArena id), ``num_players`` (default: the fewest the game
    takes), ``ta_kwargs`` (keyword arguments for TextArena's ``make``, JSON values), plus
    :class:`TextEnv`'s ``retries``, ``invalid_reward``, ``render_mode``.
    """

    metadata: ClassVar[dict[str, Any]] = {**TextEnv.metadata, "name": "textarena"}
    zero_sum: ClassVar[bool] = True

    def __init__(
        self,
        ta_id: str,
        *,
        num_players: int | None = None,
        ta_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if ta_id not in _registry():
            raise _unknown(ta_id)
        default_n = _default_players(ta_id)
        n = default_n if num_players is None else num_players
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"num_players must be a positive integer, got {num_players!r}")
        kwargs.setdefault("env_id", PREFIX + ta_id)
        super().__init__(**kwargs)
        self.ta_id = ta_id
        self.num_players = n
        self._default_n = default_n
        self.ta_kwargs = dict(ta_kwargs or {})
        self.metadata = {**type(self).metadata, "name": f"textarena_{ta_id}"}
        self.possible_agents = list(seats(n))
        self._zeros = dict.fromkeys(self.possible_agents, 0.0)
        self._falses = dict.fromkeys(self.possible_agents, False)
        self._ta: Any = None
        self._ta_seed: int | None = None
        self._ta_random: Any = None
        self._ta_np_random: Any = None
        # Swapping numpy's global state costs ~0.2 ms a call: only for games whose code uses it.
        self._uses_numpy = _uses_numpy_random(ta_id)
        self._ta_pid = 0
        self._ta_done = False
        self._ta_invalid: list[str] = []
        self._raw_history: dict[int, list[tuple[int, str, Any]]] = {}
        self._texts: dict[int, str] = {}

    def env_options(self) -> dict[str, Any]:
        opts = super().env_options()
        if self.num_players != self._default_n:
            opts["num_players"] = self.num_players
        if self.ta_kwargs:
            opts["ta_kwargs"] = dict(self.ta_kwargs)
        return opts

    # ----------------------------------------------------------------- TextArena calls
    @contextmanager
    def _isolated(self) -> Iterator[None]:
        """Run TextArena with this game's private ``random`` and ``np.random`` states (the
        caller's are put back afterwards, even when TextArena raises)."""
        outer = random.getstate()
        random.setstate(self._ta_random)
        if self._uses_numpy:
            outer_np = np.random.get_state()
            np.random.set_state(self._ta_np_random)
        try:
            yield
        finally:
            self._ta_random = random.getstate()
            random.setstate(outer)
            if self._uses_numpy:
                self._ta_np_random = np.random.get_state()
                np.random.set_state(outer_np)

    def _state(self) -> Any:
        return self._ta.state

    def _take_observation(self, pid: Any, obs: Any) -> None:
        """Keep the acting player's observation from TextArena's ``get_observation()`` (which
        pops that player's pending messages, so it is called once per decision)."""
        self._ta_pid = int(pid)
        if isinstance(obs, str):
            text = obs
        else:  # message tuples (a -raw id): kept and formatted as LLMObservationWrapper does
            hist = self._raw_history.setdefault(self._ta_pid, [])
            hist.extend(obs or [])
            roles = getattr(self._state(), "role_mapping", {}) or {}
            lines = []
            for sender, message, *_ in hist:
                name = "GAME" if sender == -1 else roles.get(sender, f"Player {sender}")
                lines.append(f"[{name}] {message}")
            text = "\n".join(lines)
        self._texts[self._ta_pid] = text.strip("\n")

    def _hook_state(self) -> None:
        """Record TextArena's invalid-move reasons, and leave the allowance to spenv."""
        state = self._state()
        original = state.set_invalid_move
        log = self._ta_invalid

        def set_invalid_move(*args: Any, **kwargs: Any) -> Any:
            reason = kwargs.get("reason", args[0] if args else None)
            log.append(str(reason) if reason is not None else "invalid move")
            return original(*args, **kwargs)

        state.set_invalid_move = set_invalid_move
        if hasattr(state, "error_allowance"):
            state.error_allowance = _NO_ALLOWANCE_LIMIT

    # ----------------------------------------------------------------- hooks
    def _new_game(self, options: dict[str, Any]) -> str:
        ta = _textarena()
        seed = self._ta_seed = int(self.np_random.integers(2**31))
        self._ta_random = random.Random(seed).getstate()
        self._ta_np_random = np.random.RandomState(seed).get_state()
        self._ta_done = False
        self._ta_invalid = []
        self._raw_history = {}
        self._texts = {}
        with self._isolated():  # one swap of the global generators per reset and per step
            env = self._ta = ta.make(self.ta_id, **self.ta_kwargs)
            env.reset(num_players=self.num_players, seed=seed)
            self._hook_state()
            pid, obs = env.get_observation()
        self._take_observation(pid, obs)
        return self.possible_agents[self._ta_pid]

    def _observe(self, agent: str) -> Observation:
        pid = int(agent.rpartition("_")[2])
        text = self._texts.get(pid, "")
        state: dict[str, Any] = {"textarena_id": self.ta_id, "player_id": pid}
        legal: tuple[str, ...] | None = ()
        if self._outcomes:
            outcome = self._outcomes.get(agent)
            reward = self._totals.get(agent, 0.0)
            lines = [text] if text else []
            reason = self._reason()
            lines.append(f"The game is over: {outcome}. Your reward: {reward:+g}.")
            if reason:
                lines.append(f"Reason: {reason}")
            user = "\n\n".join(lines)
            state["outcome"] = outcome
        elif agent == self.agent_selection:
            user = text
            if self._feedback:
                user = f"{user}\n\n{self._feedback}" if user else self._feedback
            legal = None
        else:
            waiting = f"You are {agent}. Waiting for {self.agent_selection} to move."
            user = f"{text}\n\n{waiting}" if text else waiting
        state["to_move"] = None if self._outcomes else self.agent_selection
        return Observation(
            system="",
            user=_clip(user),
            role=agent,
            env_id=self.env_id,
            turn=self._turn,
            legal_actions=legal,
            state=state,
        )

    def _parse(self, agent: str, action: str) -> tuple[str | None, str | None]:
        # TextArena validates a move by playing it: the step is taken here, and ``_apply``
        # (valid) or the retry / forfeit path (invalid) follows from its result.
        del self._ta_invalid[:]
        with self._isolated():
            done, _info = self._ta.step(action=action)
            if not done:  # the next decision's view (after an invalid move: TextArena's message)
                pid, obs = self._ta.get_observation()
        self._ta_done = bool(done)
        if not done:
            self._take_observation(pid, obs)
        if self._ta_invalid:
            return None, self._ta_invalid[-1]
        return action, None

    def _apply(self, agent: str, move: str) -> None:
        if self._ta_done:
            self._end_from_textarena()
            return
        self.agent_selection = self.possible_agents[self._ta_pid]

    def _step_other(self, agent: str, obs: Observation, action: Any) -> None:
        super()._step_other(agent, obs, action)
        if self._outcomes:
            return
        if self._ta_done:  # TextArena ended the game on an invalid move
            self._end_from_textarena()
            return
        current = self.possible_agents[self._ta_pid]
        if current != self.agent_selection:  # TextArena moved on despite the invalid move
            self.agent_selection = current
            self._refresh_all()

    def _forfeit(self, agent: str, reason: str) -> None:
        if self._ta_done:
            self._end_from_textarena()
        else:
            super()._forfeit(agent, reason)

    def _end_from_textarena(self) -> None:
        state = self._state()
        ta_rewards = getattr(state, "rewards", None) or {}
        game_info = getattr(state, "game_info", None) or {}
        rewards: dict[str, float] = {}
        outcomes: dict[str, str] = {}
        for i, a in enumerate(self.possible_agents):
            r = float(ta_rewards.get(i, 0.0))
            rewards[a] = r
            info = game_info.get(i) or {}
            if isinstance(info, dict) and info.get("invalid_move"):
                outcomes[a] = "invalid"
            else:
                outcomes[a] = "win" if r > 0 else "loss" if r < 0 else "draw"
        self._give(rewards)
        self._finish(outcomes)

    def _reason(self) -> str | None:
        game_info = getattr(self._state(), "game_info", None) or {}
        for info in game_info.values():
            if isinstance(info, dict) and info.get("reason"):
                return str(info["reason"])
        return None

    def episode_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {"textarena_id": self.ta_id, "textarena_seed": self._ta_seed}
        if self._ta is not None and self._ta_done:
            state = self._state()
            info["textarena_rewards"] = _jsonable(getattr(state, "rewards", None))
            info["textarena_game_info"] = _jsonable(getattr(state, "game_info", None))
        return info


# ---------------------------------------------------------------------------------- agents
_CANDIDATE_RE = re.compile(r"\[[^\[\]\n]{1,24}\]")


def _random_agent(seed: int | None = None) -> Any:
    from spenv.agents.base import BaseAgent

    class BracketRandomAgent(BaseAgent):
        """Answers a random bracketed token from the latest part of its prompt (``[bet]``,
        ``[4]``, ``[e2e4]``...): a free-text random player for any TextArena game."""

        name = "random"

        def act(self, obs: Observation) -> str:
            tail = obs.user[-1500:]
            found = [m for m in _CANDIDATE_RE.findall(tail) if not m.startswith("[GAME")]
            found = [m for m in found if not m.startswith("[Player")]
            if not found:
                return "[pass]"
            return found[int(self.rng.random() * len(found))]

    return BracketRandomAgent(seed=seed)


def reference_agent(name: str, *, seed: int | None = None, **params: Any) -> Any:
    """Agents for every bridged game: ``random`` (a bracketed token from the prompt)."""
    if params:
        raise TypeError(f"unexpected parameters {sorted(params)}")
    if name != "random":
        raise ValueError(f"no TextArena reference agent {name!r}; known: random")
    return _random_agent(seed)
