"""The runner and ``Observation.repeat``: k asks of one prompt drawn in one batched call."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pytest

from spenv.agent import BaseAgent
from spenv.env import TextEnv
from spenv.observation import Observation
from spenv.rollout import Runner, agent_game_state, replay, run_games


class Attempts(TextEnv):
    """One seat. Phase 0 asks "Say a number." ``k`` times (repeat k..1); phase 1 asks "Now say
    a word." twice (repeat 2, 1). Answering ``stop`` in phase 0 moves on at once (the text
    changes, so the draws still held for phase 0 must be dropped)."""

    env_id = "Attempts-v0"
    possible_agents: ClassVar[list[str]] = ["solver"]

    def __init__(self, k: int = 3, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.k = k

    def _new_game(self, options: dict[str, Any]) -> str:
        self._phase, self._left = 0, self.k
        return "solver"

    def _observe(self, agent: str) -> Observation:
        if self._outcomes:
            return Observation("", "Over.", agent, self.env_id, self._turn, legal_actions=())
        user = "Say a number." if self._phase == 0 else "Now say a word."
        return Observation("", user, agent, self.env_id, self._turn, repeat=self._left)

    def _parse(self, agent: str, action: str) -> tuple[str | None, str | None]:
        return action, None

    def _apply(self, agent: str, move: str) -> None:
        self._left -= 1
        if self._phase == 0 and (move == "stop" or self._left == 0):
            self._phase, self._left = 1, 2
        elif self._phase == 1 and self._left == 0:
            self._give({"solver": 1.0})
            self._finish({"solver": "win"})


class Numbered:
    """A batching agent that numbers its answers and records each batch it is given."""

    name = "numbered"

    def __init__(self, stop_at: set[int] = frozenset()) -> None:  # type: ignore[assignment]
        self.batches: list[list[tuple[str, int]]] = []
        self.n = 0
        self.stop_at = stop_at

    def act(self, obs: Observation) -> str:
        raise AssertionError("the runner must batch")

    def act_batch(self, observations: list[Observation]) -> list[str]:
        self.batches.append([(o.user, o.repeat) for o in observations])
        out = []
        for _ in observations:
            self.n += 1
            out.append("stop" if self.n in self.stop_at else str(self.n))
        return out


@pytest.fixture
def attempts(temp_register: Any) -> str:
    temp_register("Attempts-v0", Attempts)
    return "Attempts-v0"


def test_all_k_answers_come_from_one_batched_call(attempts: str) -> None:
    agent = Numbered()
    runner = Runner(attempts, [agent], games=4, batch_size=4, seed=0)
    eps = sorted(runner, key=lambda e: e.metadata["game"])
    # One call draws 3 answers for each of the 4 games, one more the 2 of phase 1.
    assert agent.batches == [
        [("Say a number.", 3)] * 12,
        [("Now say a word.", 2)] * 8,
    ]
    assert runner.calls == 2
    for g, ep in enumerate(eps):
        assert ep.status == "completed" and ep.rewards == {"solver": 1.0}
        actions = [t.action for t in ep.turns]
        # Each game's answers are its own draws, in the order they were drawn.
        assert actions == [str(3 * g + i) for i in (1, 2, 3)] + [
            str(13 + 2 * g + i) for i in (0, 1)
        ]
        assert [t.observation.get("repeat", 1) for t in ep.turns] == [3, 2, 1, 2, 1]
        assert all(t.elapsed is not None for t in ep.turns)
        replay(ep)


def test_leftover_draws_are_dropped_when_the_prompt_changes(attempts: str) -> None:
    # Game 0 answers "stop" on its first ask (the 1st draw): its two other phase-0 draws
    # are dropped and phase 1 asks the agent again.
    agent = Numbered(stop_at={1})
    eps = run_games(attempts, [agent], games=2, batch_size=2, seed=0)
    assert [t.action for t in eps[0].turns] == ["stop", "7", "8"]
    assert [t.action for t in eps[1].turns] == ["4", "5", "6", "9", "10"]
    # Game 0 reaches phase 1 while game 1 still answers from its draws: two phase-1 calls.
    assert agent.batches == [
        [("Say a number.", 3)] * 6,
        [("Now say a word.", 2)] * 2,
        [("Now say a word.", 2)] * 2,
    ]


def test_repeated_asks_of_a_scripted_agent_match_asking_one_by_one(attempts: str) -> None:
    """A scripted agent drawing from per-game streams gives the answers a plain loop gets by
    asking each time, with the same per-game stream."""

    class Draw(BaseAgent):
        def act(self, obs: Observation) -> str:
            return str(int(self.rng.integers(1_000_000)))

    def resolve(spec: str, env_id: str, *, seed: int | None = None) -> Draw:
        return Draw(name=spec, seed=seed)

    batched = run_games(attempts, ["draw"], games=3, seed=5, resolve=resolve)
    for g, ep in enumerate(batched):
        agent = Draw(name="draw")
        agent.rng = np.random.Generator(np.random.PCG64())
        agent.rng.bit_generator.state = agent_game_state(5, g, 0)
        env = Attempts()
        env.reset(seed=5 + g)
        actions = []
        while not env.done:
            actions.append(agent.act(env.infos["solver"]["observation"]))
            env.step(actions[-1])
        assert [t.action for t in ep.turns] == actions
    assert len({t.action for e in batched for t in e.turns}) == 15  # independent draws


def test_a_plain_loop_asks_each_time() -> None:
    env = Attempts(k=2)
    env.reset(seed=0)
    seen = []
    while not env.done:
        obs = env.infos[env.agent_selection]["observation"]
        seen.append((obs.user, obs.repeat))
        env.step("x")
    assert seen == [
        ("Say a number.", 2),
        ("Say a number.", 1),
        ("Now say a word.", 2),
        ("Now say a word.", 1),
    ]


def test_an_async_batching_agent_draws_all_k_in_one_call(attempts: str) -> None:
    class AsyncNumbered(Numbered):
        async def aact_batch(self, observations: list[Observation]) -> list[str]:
            return self.act_batch(observations)

    agent = AsyncNumbered()
    eps = run_games(attempts, [agent], games=2, batch_size=2, seed=0)
    assert agent.batches == [[("Say a number.", 3)] * 6, [("Now say a word.", 2)] * 4]
    assert [t.action for t in eps[1].turns] == ["4", "5", "6", "9", "10"]
