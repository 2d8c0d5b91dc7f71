"""The rollout engine: batching across games, failure isolation, seating, JSONL output and
reading it back, and the Observation's chat form."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import spenv
import spenv.episode
from spenv.agents import BaseAgent, FixedAgent
from spenv.episode import EpisodeFormatError

ENV_ID = "KuhnPoker-v1"
SEATS = ("player_0", "player_1")


class CountingAgent(BaseAgent):
    """Random legal moves; records the size of every ``act_batch`` call."""

    name = "counting"

    def __init__(self, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.batches: list[int] = []

    def act(self, obs):
        return obs.legal_actions[int(self.rng.integers(len(obs.legal_actions)))]

    def act_batch(self, observations):
        assert all(isinstance(o, spenv.Observation) for o in observations)
        self.batches.append(len(observations))
        return [self.act(o) for o in observations]


class ActOnly:
    """An agent with ``act`` only (no ``act_batch``), not derived from BaseAgent."""

    name = "act-only"

    def __init__(self, seed: int = 0, fail_on: str | None = None) -> None:
        self.rng = np.random.default_rng(seed)
        self.fail_on = fail_on
        self.calls = 0

    def act(self, obs):
        self.calls += 1
        if obs.state["card"] == self.fail_on:
            raise ValueError(f"cannot play the {self.fail_on}")
        return obs.legal_actions[int(self.rng.integers(2))]


class BrokenBatch(ActOnly):
    """``act_batch`` raises (or answers the wrong number): the engine must fall back to act."""

    def __init__(self, seed: int = 0, mode: str = "raise") -> None:
        super().__init__(seed)
        self.mode = mode

    def act_batch(self, observations):
        if self.mode == "raise":
            raise RuntimeError("batch backend down")
        return ["[check]"] * (len(observations) + 1)


def _decisions(episodes) -> int:
    return sum(len(ep.turns) for ep in episodes)


def test_self_play_batches_every_pending_decision() -> None:
    agent = CountingAgent()
    runner = spenv.Runner(ENV_ID, [agent, agent], games=100, seed=0, batch_size=32)
    episodes = list(runner)
    assert len(episodes) == 100
    assert sorted(ep.metadata["game"] for ep in episodes) == list(range(100))
    decisions = _decisions(episodes)
    assert sum(agent.batches) == decisions  # every decision went through act_batch
    assert len(agent.batches) == runner.calls
    assert agent.batches[0] == 32 and max(agent.batches) == 32
    assert runner.calls <= decisions / 10  # far fewer calls than decisions


def test_batches_stay_full_while_games_remain() -> None:
    agent = CountingAgent()
    list(spenv.Runner(ENV_ID, [agent, agent], games=100, seed=0, batch_size=32))
    assert agent.batches == sorted(agent.batches, reverse=True), agent.batches


def test_two_agents_get_one_call_each_per_tick() -> None:
    a, b = CountingAgent(seed=1), CountingAgent(seed=2)
    runner = spenv.Runner(ENV_ID, [a, b], games=40, seed=0, batch_size=16)
    episodes = list(runner)
    assert len(episodes) == 40
    assert runner.calls == len(a.batches) + len(b.batches)
    assert sum(a.batches) + sum(b.batches) == _decisions(episodes)
    assert max(a.batches) > 1 and max(b.batches) > 1


def test_agent_without_act_batch() -> None:
    agent = ActOnly(seed=3)
    episodes = spenv.run_games(ENV_ID, [agent, "random"], games=30, seed=1, batch_size=8)
    assert len(episodes) == 30
    assert all(ep.status == "completed" for ep in episodes)
    mine = sum(1 for ep in episodes for t in ep.turns if ep.players[t.agent] == "act-only")
    assert agent.calls == mine > 0
    assert all(t.valid for ep in episodes for t in ep.turns)


def test_failing_agent_is_recorded_not_lost() -> None:
    games = 60
    agent = ActOnly(seed=4, fail_on="K")
    episodes = spenv.run_games(ENV_ID, [agent, "nash"], games=games, seed=2, batch_size=16)
    assert len(episodes) == games
    failed, clean = [], []
    for ep in episodes:
        assert ep.status == "completed"
        bad = [t for t in ep.turns if not t.valid]
        (failed if bad else clean).append(ep)
        for t in bad:
            assert t.error.startswith("agent failed")
            assert "ValueError" in t.error and "cannot play the K" in t.error
            assert t.action is None
            assert t.observation["state"]["card"] == "K"
            assert ep.players[t.agent] == "act-only"
            assert ep.outcomes[t.agent] == "invalid"
            assert ep.rewards[t.agent] == -1.0
    assert failed and clean
    for ep in clean:
        assert set(ep.outcomes.values()) == {"win", "loss"}
    for ep in failed[:10]:
        spenv.replay(ep)  # an agent failure is part of the record and replays


@pytest.mark.parametrize("mode", ["raise", "wrong-length"])
def test_failing_act_batch_falls_back_to_act(mode: str) -> None:
    broken = BrokenBatch(seed=5, mode=mode)
    plain = ActOnly(seed=5)
    a = spenv.run_games(ENV_ID, [broken, "random"], games=30, seed=6, batch_size=8)
    b = spenv.run_games(ENV_ID, [plain, "random"], games=30, seed=6, batch_size=8)
    assert broken.calls == plain.calls > 0
    assert all(t.valid for ep in a for t in ep.turns)
    assert [e.replay_key() for e in a] == [e.replay_key() for e in b]


def test_swap_seats_pairs_games_on_one_seed() -> None:
    episodes = spenv.run_games(ENV_ID, ["nash", "random"], games=20, seed=10)
    for i in range(0, 20, 2):
        first, second = episodes[i], episodes[i + 1]
        assert first.seed == second.seed == 10 + i // 2
        assert first.players == {"player_0": "nash", "player_1": "random"}
        assert second.players == {"player_0": "random", "player_1": "nash"}
        assert first.info["deals"] == second.info["deals"]
    episodes = spenv.run_games(ENV_ID, ["nash", "random"], games=6, seed=10, swap_seats=False)
    assert [ep.seed for ep in episodes] == list(range(10, 16))
    assert all(ep.players == {"player_0": "nash", "player_1": "random"} for ep in episodes)


def test_self_play_labels_are_distinct() -> None:
    (ep,) = spenv.run_games(ENV_ID, ["nash", "nash"], games=1, seed=0)
    assert ep.players == {"player_0": "nash", "player_1": "nash#2"}


def test_agents_by_seat_and_bad_arguments() -> None:
    ep = spenv.play(ENV_ID, {"player_1": "nash", "player_0": "random"}, seed=0)
    assert ep.players == {"player_0": "random", "player_1": "nash"}
    with pytest.raises(ValueError, match="2 seats"):
        spenv.play(ENV_ID, ["nash"], seed=0)
    with pytest.raises(ValueError, match="seats"):
        spenv.play(ENV_ID, {"player_0": "nash", "dealer": "random"}, seed=0)
    with pytest.raises(ValueError, match="games"):
        spenv.Runner(ENV_ID, ["nash", "random"], games=-1)
    with pytest.raises(ValueError, match="batch_size"):
        spenv.Runner(ENV_ID, ["nash", "random"], batch_size=0)
    with pytest.raises(ValueError, match="unknown agent spec"):
        spenv.play(ENV_ID, ["nash", "grandmaster"], seed=0)


def test_env_error_ends_only_that_game(tiny_module, temp_register) -> None:
    class BrokenTiny(tiny_module.TinyEnv):
        def _apply(self, agent, move):
            if move == "low":
                raise RuntimeError("the table collapsed")
            super()._apply(agent, move)

    temp_register("BrokenTiny-v1", BrokenTiny)
    seen = []
    episodes = spenv.run_games(
        "BrokenTiny-v1",
        ["random", "random"],
        games=30,
        seed=0,
        batch_size=8,
        on_episode=seen.append,
    )
    assert len(episodes) == len(seen) == 30
    errors = [ep for ep in episodes if ep.status == "error"]
    completed = [ep for ep in episodes if ep.status == "completed"]
    assert errors and completed and len(errors) + len(completed) == 30
    for ep in errors:
        assert "RuntimeError: the table collapsed" in ep.error
        assert ep.outcomes == dict.fromkeys(SEATS, "error")
        with pytest.raises(spenv.ReplayMismatch, match="env error"):
            spenv.replay(ep)
    for ep in completed:
        assert all(t.move == "high" for t in ep.turns)
        spenv.replay(ep)


# --------------------------------------------------------------------------------------------
# JSONL output and reading it back
# --------------------------------------------------------------------------------------------


def test_out_writes_readable_jsonl(tmp_path: Path) -> None:
    out = tmp_path / "runs" / "kuhn.jsonl"
    episodes = spenv.run_games(ENV_ID, ["nash", "random"], games=25, seed=0, out=out)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 25
    assert all(json.loads(line)["schema"] == "spenv.episode/1" for line in lines)
    back = list(spenv.read_episodes(out))
    assert len(back) == 25
    by_id = {ep.id: ep for ep in episodes}
    assert set(by_id) == {ep.id for ep in back}
    for ep in back:
        assert ep.replay_key() == by_id[ep.id].replay_key()
        spenv.replay(ep)
    assert spenv.write_episodes(tmp_path / "copy.jsonl", back) == 25
    assert len(list(spenv.read_episodes(tmp_path / "copy.jsonl"))) == 25


@pytest.fixture
def jsonl(tmp_path: Path) -> Path:
    path = tmp_path / "episodes.jsonl"
    spenv.run_games(ENV_ID, ["nash", "random"], games=5, seed=0, out=path)
    return path


def test_torn_last_line(jsonl: Path) -> None:
    text = jsonl.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    jsonl.write_text("".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2], encoding="utf-8")
    # By default the torn line is skipped and reported; the good episodes are read.
    errors: list[str] = []
    good = list(spenv.read_episodes(jsonl, errors=errors))
    assert len(good) == 4
    assert len(errors) == 1 and f"{jsonl.name}:5: torn last line skipped" in errors[0]
    with pytest.warns(spenv.episode.TornLineWarning, match=":5: torn last line"):
        assert len(list(spenv.read_episodes(jsonl))) == 4
    with pytest.raises(EpisodeFormatError, match=rf"{jsonl.name}:5: not valid JSON"):
        list(spenv.read_episodes(jsonl, strict=True))
    # Cut inside a multi-byte character: still a torn line.
    data = "".join(lines[:-1]).encode() + "é".encode()[:1]
    jsonl.write_bytes(data)
    errors.clear()
    assert len(list(spenv.read_episodes(jsonl, errors=errors))) == 4
    assert "not UTF-8 text" in errors[0]
    # Bytes that are not UTF-8 in a middle line: that line is malformed, named, not misread.
    jsonl.write_bytes(lines[0].encode() + b"\xff\xfe" + lines[1].encode() + lines[2].encode())
    with pytest.raises(EpisodeFormatError, match=rf"{jsonl.name}:2: not UTF-8 text"):
        list(spenv.read_episodes(jsonl))
    # A malformed last line that was written whole (newline included) is not torn: it raises.
    jsonl.write_text("".join(lines[:-1]) + "{not json\n\n", encoding="utf-8")
    with pytest.raises(EpisodeFormatError, match=rf"{jsonl.name}:5: not valid JSON"):
        list(spenv.read_episodes(jsonl))


def test_bad_line_in_the_middle_is_named(jsonl: Path) -> None:
    lines = jsonl.read_text(encoding="utf-8").splitlines()
    lines[1] = "[1, 2, 3]"
    lines.insert(3, "")  # blank lines are skipped but still counted
    jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(EpisodeFormatError, match=r":2: an episode must be a JSON object"):
        list(spenv.read_episodes(jsonl))
    assert len(list(spenv.read_episodes(jsonl, skip_bad=True))) == 4


def test_unknown_schema_raises(jsonl: Path) -> None:
    lines = jsonl.read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[0])
    record["schema"] = "spenv.episode/99"
    lines[0] = json.dumps(record)
    jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(EpisodeFormatError, match=r":1: unknown episode schema 'spenv.episode/99'"):
        list(spenv.read_episodes(jsonl))


def test_missing_field_is_a_format_error(jsonl: Path) -> None:
    lines = jsonl.read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[2])
    del record["turns"]
    lines[2] = json.dumps(record)
    jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(EpisodeFormatError, match=r":3: malformed episode"):
        list(spenv.read_episodes(jsonl))


def test_any_answer_can_be_written(tmp_path: Path) -> None:
    out = tmp_path / "odd.jsonl"
    agent = FixedAgent("[bet] \udcff")
    episodes = spenv.run_games(ENV_ID, [agent, "random"], games=4, seed=0, out=out)
    assert len(list(spenv.read_episodes(out))) == len(episodes) == 4


# --------------------------------------------------------------------------------------------
# Observation
# --------------------------------------------------------------------------------------------


def test_observation_messages_and_dict() -> None:
    env = spenv.make(ENV_ID)
    env.reset(seed=0)
    obs = env.infos["player_0"]["observation"]
    assert obs.messages == [
        {"role": "system", "content": obs.system},
        {"role": "user", "content": obs.user},
    ]
    assert obs.text == f"{obs.system}\n\n{obs.user}"
    assert str(obs) == obs.text
    assert obs.is_decision
    back = spenv.Observation.from_dict(json.loads(json.dumps(obs.to_dict())))
    assert back == obs and back.text == obs.text
    with pytest.raises(TypeError):
        obs.state["card"] = "K"  # the state view is read-only
    bare = spenv.Observation(system="", user="hi", role="r", env_id="X-v1", turn=0)
    assert bare.messages == [{"role": "user", "content": "hi"}]
    assert bare.text == "hi"
    assert bare.legal_actions is None and bare.is_decision


def test_reply_meta_is_recorded_in_the_turn_and_survives_jsonl(tmp_path):
    import pickle

    from spenv.agents import FixedAgent, Reply
    from spenv.episode import read_episodes
    from spenv.rollout import Runner

    reply = Reply("[check]", completion_ids=[7, 8], logprobs=[-0.5, -0.25])
    assert pickle.loads(pickle.dumps(reply)).meta == reply.meta
    agent = FixedAgent(reply)
    out = tmp_path / "eps.jsonl"
    episodes = list(Runner("KuhnPoker-v1", [agent, agent], games=4, seed=3, out=out))
    assert all(t.extra["logprobs"] == [-0.5, -0.25] for e in episodes for t in e.turns)
    stored = list(read_episodes(out))
    assert stored[0].turns[0].extra == {"completion_ids": [7, 8], "logprobs": [-0.5, -0.25]}
    assert stored[0].turns[0].action == "[check]"


def test_run_games_of_scripted_agents_freezes_its_records_and_gives_them_back() -> None:
    """``run_games`` hands kept records to ``gc.freeze`` during a scripted run, and unfreezes
    at the end, also when the run fails; a run with an agent object of its own, or one started
    while something else holds frozen objects, leaves the collector alone."""
    import gc

    import spenv.rollout as rollout

    seen: list[int] = []

    class Watching(BaseAgent):  # an agent object: the runner asks it as-is (no per-game stream)
        def act(self, obs):
            seen.append(gc.get_freeze_count())
            return obs.legal_actions[0]

    assert gc.get_freeze_count() == 0
    frozen_during: list[int] = []
    real_freeze = gc.freeze

    def counting_freeze() -> None:
        real_freeze()
        frozen_during.append(gc.get_freeze_count())

    gc.freeze = counting_freeze
    try:
        games = 3 * rollout._FREEZE_EVERY
        eps = spenv.run_games("KuhnPoker-v1", ["random", "random"], games=games, seed=1)
        assert [e.metadata["game"] for e in eps] == list(range(games))
        assert len(frozen_during) == 3 and all(n > 0 for n in frozen_during)
        assert gc.get_freeze_count() == 0  # given back
        frozen_during.clear()
        spenv.run_games("KuhnPoker-v1", [Watching(), "random"], games=600, seed=1)
        assert frozen_during == [] and set(seen) == {0}

        def failing_freeze() -> None:  # the run fails after records were frozen
            real_freeze()
            frozen_during.append(gc.get_freeze_count())
            if len(frozen_during) == 2:
                raise RuntimeError("stop")

        gc.freeze = failing_freeze
        with pytest.raises(RuntimeError, match="stop"):
            spenv.run_games("KuhnPoker-v1", ["random", "random"], games=games, seed=1)
        assert len(frozen_during) == 2 and frozen_during[0] > 0
        assert gc.get_freeze_count() == 0  # given back all the same
        gc.freeze = counting_freeze
        frozen_during.clear()
        real_freeze()  # something else froze objects: run_games neither freezes nor unfreezes
        held = gc.get_freeze_count()
        spenv.run_games("KuhnPoker-v1", ["random", "random"], games=600, seed=1)
        # not unfrozen (a few frozen objects may have been freed meanwhile)
        assert frozen_during == [] and gc.get_freeze_count() > held // 2 > 0
    finally:
        gc.freeze = real_freeze
        gc.unfreeze()
