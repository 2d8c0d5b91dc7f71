"""The rollout engine with async agents and agents that keep per-game conversations."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

import pytest

from spenv.agents.base import BaseAgent
from spenv.episode import read_episodes
from spenv.observation import Observation
from spenv.rollout import Runner, is_async_agent, run_games

ENV = "KuhnPoker-v1"


class AsyncFirstLegal:
    """Answers the first legal move after a short await; counts how many run at once."""

    name = "async-first"

    def __init__(self, max_concurrency: int = 4, delay: float = 0.01, fail_turn: int = -1) -> None:
        self.max_concurrency = max_concurrency
        self.delay = delay
        self.fail_turn = fail_turn
        self.running = 0
        self.peak = 0
        self.calls = 0
        self.threads: set[int] = set()
        self.lock = threading.Lock()

    def act(self, obs: Observation) -> str:  # never used by the engine for an async agent
        raise AssertionError("the engine awaits aact")

    async def aact(self, obs: Observation) -> str:
        with self.lock:
            self.running += 1
            self.calls += 1
            self.peak = max(self.peak, self.running)
            self.threads.add(threading.get_ident())
        try:
            await asyncio.sleep(self.delay)
            if obs.state.get("card") == "K" and self.fail_turn >= 0:
                raise RuntimeError("boom on a king")
            return obs.legal_actions[0]
        finally:
            with self.lock:
                self.running -= 1


class AsyncBatchOnly:
    """Only ``aact_batch``: the engine sends each tick's group as one call."""

    name = "async-batch"

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def act(self, obs: Observation) -> str:
        raise AssertionError("the engine awaits aact_batch")

    async def aact_batch(self, observations: Sequence[Observation]) -> list[str]:
        self.sizes.append(len(observations))
        await asyncio.sleep(0)
        return [o.legal_actions[-1] for o in observations]


def test_async_agents_are_detected() -> None:
    assert is_async_agent(AsyncFirstLegal())
    assert is_async_agent(AsyncBatchOnly())
    assert not is_async_agent(BaseAgent())


def test_async_agent_runs_concurrently_up_to_its_limit() -> None:
    agent = AsyncFirstLegal(max_concurrency=5, delay=0.02)
    eps = run_games(ENV, [agent, "nash"], games=40, seed=3, batch_size=40)
    assert len(eps) == 40
    assert all(e.status == "completed" for e in eps)
    assert agent.peak == 5  # never more than its limit, and the limit was reached
    assert len(agent.threads) == 1  # one event loop thread per runner
    # The answers were played: the async seat always took the first legal move.
    for e in eps:
        seat = next(s for s, p in e.players.items() if p == "async-first")
        for t in e.turns:
            if t.agent == seat:
                assert t.action == t.observation["legal_actions"][0]


def test_async_games_match_sync_games() -> None:
    """The same moves played by an async agent and a sync one give the same episodes."""

    class SyncFirstLegal(BaseAgent):
        name = "async-first"

        def act(self, obs: Observation) -> str:
            return obs.legal_actions[0]

    a = run_games(ENV, [AsyncFirstLegal(delay=0.0), "nash"], games=24, seed=5)
    b = run_games(ENV, [SyncFirstLegal(), "nash"], games=24, seed=5)
    assert [e.replay_key() for e in a] == [e.replay_key() for e in b]


def test_async_failure_stays_in_its_game(tmp_path) -> None:
    agent = AsyncFirstLegal(fail_turn=0, delay=0.0)
    out = tmp_path / "eps.jsonl"
    eps = list(Runner(ENV, [agent, "random"], games=30, seed=1, out=out))
    assert len(eps) == 30 and len(list(read_episodes(out))) == 30
    failed = [e for e in eps if any("boom on a king" in (t.error or "") for t in e.turns)]
    fine = [e for e in eps if e not in failed]
    assert failed and fine
    for e in failed:
        t = next(t for t in e.turns if "boom" in (t.error or ""))
        assert t.valid is False and t.error.startswith("agent failed: RuntimeError")
    assert all(e.status == "completed" for e in eps)


def test_batch_only_async_agent_gets_one_call_per_tick() -> None:
    agent = AsyncBatchOnly()
    runner = Runner(ENV, [agent, agent], games=16, seed=0, batch_size=16)
    eps = list(runner)
    assert len(eps) == 16 and all(e.status == "completed" for e in eps)
    assert agent.sizes[0] == 16  # the first tick: every game's first decision in one call
    assert sum(agent.sizes) == sum(len(e.turns) for e in eps)


def test_async_and_sync_agents_overlap() -> None:
    """A slow async agent does not hold up the games another agent is playing meanwhile."""
    slow = AsyncFirstLegal(max_concurrency=64, delay=0.2)
    t0 = time.perf_counter()
    eps = run_games(ENV, [slow, "nash"], games=64, seed=0, batch_size=64)
    elapsed = time.perf_counter() - t0
    assert len(eps) == 64
    # 64 games of at most 3 decisions: sequential awaits would take >= 64 * 0.2 s.
    assert elapsed < 64 * 0.2 / 4


class KeyedAgent(BaseAgent):
    """Records the keys the engine passes and the games it is told to forget."""

    name = "keyed"
    wants_keys = True

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []
        self.forgotten: list[str] = []

    def act_batch(self, observations: Sequence[Observation], keys: Sequence[str] | None = None):
        assert keys is not None and len(keys) == len(observations)
        self.seen.extend(keys)
        return [o.legal_actions[0] for o in observations]

    def forget(self, key: str) -> None:
        self.forgotten.append(key)


def test_keys_name_game_and_seat_and_are_forgotten_at_the_end() -> None:
    agent = KeyedAgent()
    eps = run_games(ENV, [agent, agent], games=6, seed=0, batch_size=3)
    assert len(eps) == 6
    # Every game's both seats were forgotten exactly once, and every seen key was forgotten.
    assert len(agent.forgotten) == len(set(agent.forgotten)) == 12
    assert set(agent.seen) <= set(agent.forgotten)
    games = {k.split(":")[1] for k in agent.forgotten}
    assert games == {str(i) for i in range(6)}
    assert {k.split(":")[2] for k in agent.forgotten} == {"player_0", "player_1"}


def test_stopping_early_shuts_the_loop_down() -> None:
    agent = AsyncFirstLegal(delay=0.01)
    runner = Runner(ENV, [agent, "nash"], games=50, seed=0, batch_size=10)
    before = threading.active_count()
    it = iter(runner)
    next(it)
    it.close()
    deadline = time.time() + 5
    while threading.active_count() > before and time.time() < deadline:
        time.sleep(0.01)
    assert threading.active_count() <= before


@pytest.mark.parametrize("batch_size", [1, 7])
def test_async_runs_stream_every_game(batch_size: int) -> None:
    agent = AsyncFirstLegal(delay=0.0)
    eps = run_games(ENV, [agent, "random"], games=9, seed=2, batch_size=batch_size)
    assert [e.metadata["game"] for e in eps] == list(range(9))
