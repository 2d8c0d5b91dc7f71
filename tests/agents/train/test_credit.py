"""Per-decision credit: a proposer–solver game whose solver answers one prompt k times, each
attempt scored by its own verdict (``TextEnv.decision_rewards``), trains each attempt on its
own reward; majority-vote pseudo-labels; the filtered and SPAG objectives; RAE as SPIRAL."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from spenv.agents import Reply  # noqa: E402
from spenv.agents.train import algorithms  # noqa: E402
from spenv.agents.train.advantages import RoleBaselines  # noqa: E402
from spenv.agents.train.config import ConfigError  # noqa: E402
from spenv.agents.train.trainer import LEARNER, Trainer  # noqa: E402
from spenv.env import TextEnv  # noqa: E402
from spenv.observation import Observation  # noqa: E402
from spenv.registry import register  # noqa: E402
from spenv.rollout import run_games  # noqa: E402

K = 3


class DoubleIt(TextEnv):
    """The proposer names a number n; the solver is asked "double n" K times, independently
    (``repeat`` K..1, the identical prompt); each attempt is right (1) or wrong (0). The solver's
    episode reward is its success rate, the proposer's 1 minus it; each attempt's own reward is
    its verdict."""

    env_id = "DoubleIt-v1"
    possible_agents: ClassVar[list[str]] = ["proposer", "solver"]
    zero_sum = False

    def _new_game(self, options: dict[str, Any]) -> str:
        self._n: int | None = None
        self._verdicts: dict[int, float] = {}
        self._left = K
        return "proposer"

    def _observe(self, agent: str) -> Observation:
        if agent == "proposer" or self._n is None:
            user, repeat = "Name a number in brackets, like [7].", 1
        else:
            user, repeat = f"What is 2 * {self._n}? Answer in brackets.", max(self._left, 1)
        return Observation(
            system="", user=user, role=agent, env_id=self.env_id, turn=self._turn, repeat=repeat
        )

    def _parse(self, agent: str, action: str) -> tuple[str | None, str | None]:
        text = action.strip()
        if text.startswith("[") and text.endswith("]") and text[1:-1].isdigit():
            return text[1:-1], None
        return None, "write a number in brackets"

    def _apply(self, agent: str, move: str) -> None:
        if agent == "proposer":
            self._n = int(move)
            self._next("solver")
            return
        self._verdicts[len(self._turns) - 1] = 1.0 if int(move) == 2 * self._n else 0.0
        self._left -= 1
        if self._left == 0:
            rate = sum(self._verdicts.values()) / K
            self._give({"solver": rate, "proposer": 1.0 - rate})
            self._finish({"solver": "win" if rate > 0.5 else "loss", "proposer": "done"})

    def decision_rewards(self) -> dict[int, float]:
        return dict(self._verdicts)


@pytest.fixture(autouse=True, scope="module")
def _double_it_registered():
    """The test game is registered while this module's tests run, and only then (other tests
    go over every registered game)."""
    from spenv import registry

    register("DoubleIt-v1", DoubleIt, roles=("proposer", "solver"), overwrite=True)
    yield
    registry._REGISTRY.pop("DoubleIt-v1", None)


class Scripted:
    """Answers with token ids from the model's tokenizer (so its turns become samples): the
    proposer names 4; the solver's answers cycle through ``answers``."""

    def __init__(self, tokenizer, answers: list[str]) -> None:
        self.tok, self.answers, self.i, self.name = tokenizer, answers, 0, LEARNER

    def act(self, obs: Observation) -> Reply:
        if obs.role == "proposer":
            text = "[4]"
        else:
            text = self.answers[self.i % len(self.answers)]
            self.i += 1
        ids = self.tok(obs.text)["input_ids"]
        return Reply(text, prompt_ids=ids, completion_ids=self.tok(text)["input_ids"])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> str:
    from spenv.agents.testing import tiny_model

    return tiny_model(
        tmp_path_factory.mktemp("tiny") / "m", layers=1, hidden_size=32, heads=2, kv_heads=1
    )


_BASE = """
seed: 0
steps: 1
games_per_step: 2
micro_batch_size: 8
envs: [{id: DoubleIt-v1}]
generation: {max_new_tokens: 4, batch_size: 4, prompt_style: plain}
tensorboard: false
threads: 1
"""


def _trainer(tiny: str, out, **over) -> Trainer:
    import yaml

    from spenv.agents.train import load_config

    data = {**yaml.safe_load(_BASE), "model": {"path": tiny}, "out": str(out), **over}
    return Trainer(load_config(data), quiet=True)


def _episodes(trainer: Trainer, answers: list[str], games: int = 1):
    agent = Scripted(trainer.tokenizer, answers)
    return run_games("DoubleIt-v1", [agent, agent], games=games, seed=0)


def test_each_attempt_is_credited_with_its_own_verdict(tiny, tmp_path):
    trainer = _trainer(tiny, tmp_path / "g", advantage={"estimator": "grpo"})
    (ep,) = _episodes(trainer, ["[8]", "[9]", "[8]"])
    assert [t.reward for t in ep.turns] == [None, 1.0, 0.0, 1.0]
    assert [t.observation.get("repeat", 1) for t in ep.turns] == [1, 3, 2, 1]
    samples, _ = trainer.build_samples([ep])
    solver = [s for s in samples if s.role == "solver"]
    assert [s.ret for s in solver] == [1.0, 0.0, 1.0]  # each attempt's verdict, not 2/3
    assert {s.attempt_group for s in solver} == {1}
    right, wrong, _ = solver
    assert right.advantage > 0 > wrong.advantage  # in the same game
    proposer = next(s for s in samples if s.role == "proposer")
    assert proposer.ret == pytest.approx(1 / 3) and not proposer.own_reward
    # The update moves the model toward the right answer and away from the wrong one.
    before = trainer._logps(trainer.model, [right, wrong])[0].sum(-1)
    trainer.update(samples, 0)
    after = trainer._logps(trainer.model, [right, wrong])[0].sum(-1)
    assert after[0] > before[0] and after[1] < before[1]


def test_rae_credits_attempts_one_by_one_reading_the_baseline_first(tiny, tmp_path):
    trainer = _trainer(tiny, tmp_path / "r", advantage={"estimator": "rae", "decay": 0.5})
    (ep,) = _episodes(trainer, ["[8]", "[9]", "[8]"])
    samples, _ = trainer.build_samples([ep])
    solver = [s.advantage for s in samples if s.role == "solver"]
    # baseline 0 -> A = 1, b = 0.5 -> A = -0.5, b = 0.25 -> A = 0.75, b = 0.625
    assert solver == pytest.approx([1.0, -0.5, 0.75])
    assert trainer.baselines.get("DoubleIt-v1", "solver") == pytest.approx(0.625)


def test_games_with_one_outcome_keep_it_for_every_decision(tiny, tmp_path):
    trainer = _trainer(tiny, tmp_path / "k", envs=[{"id": "KuhnPoker-v1"}])
    agent = Scripted(trainer.tokenizer, ["[check]"])
    agent.act = lambda obs: Reply(  # type: ignore[method-assign]
        obs.legal_actions[0],
        prompt_ids=trainer.tokenizer(obs.text)["input_ids"],
        completion_ids=trainer.tokenizer(obs.legal_actions[0])["input_ids"],
    )
    eps = run_games("KuhnPoker-v1", [agent, agent], games=4, seed=1)
    samples, _ = trainer.build_samples(eps)
    for s in samples:
        ep = next(e for e in eps if e.metadata["game"] == s.game)
        assert s.ret == ep.rewards[s.role] and not s.own_reward


def test_rae_matches_spiral_read_then_update_and_decay_is_open():
    b = RoleBaselines(decay=0.9)
    assert b.update("KuhnPoker-v1", "player_0", 2.0) == pytest.approx(2.0)
    assert b.update("KuhnPoker-v1", "player_0", -1.0) == pytest.approx(-1.2)  # b was 0.2
    assert b.get("KuhnPoker-v1", "player_0") == pytest.approx(0.08)
    for bad in (0, 0.0, 1.0, -0.5, True):
        with pytest.raises(ValueError, match="decay"):
            RoleBaselines(decay=bad)
    from spenv.agents.train import load_config

    with pytest.raises(ConfigError, match=r"decay must be in \(0, 1\)"):
        load_config(
            {"envs": [{"id": "KuhnPoker-v1"}], "model": {"tiny": {}}, "advantage": {"decay": 0}}
        )


def test_majority_vote_pseudo_labels_replace_the_verifier(tiny, tmp_path):
    # The verifier says [8] is right; the majority of the attempts says [9]: pseudo-labels
    # reward agreement with the majority, not the verifier.
    trainer = _trainer(
        tiny,
        tmp_path / "p",
        advantage={"estimator": "grpo"},
        algorithm={"pseudo_label_roles": ["solver"]},
    )
    (ep,) = _episodes(trainer, ["[9]", "[8]", "[9]"])
    samples, _ = trainer.build_samples([ep])
    solver = [s for s in samples if s.role == "solver"]
    assert [s.ret for s in solver] == [1.0, 0.0, 1.0]
    assert solver[0].advantage > 0 > solver[1].advantage
    # No majority (all different): no label, every attempt 0, no signal.
    (ep,) = _episodes(trainer, ["[1]", "[2]", "[3]"])
    samples, _ = trainer.build_samples([ep])
    assert [s.ret for s in samples if s.role == "solver"] == [0.0, 0.0, 0.0]
    assert all(s.advantage == 0.0 for s in samples if s.role == "solver")


def test_expert_iteration_and_filtered_bc_keep_decisions_above_the_threshold(tiny, tmp_path):
    eps_answers = ["[8]", "[9]", "[8]"]
    ei = _trainer(tiny, tmp_path / "e", algorithm={"name": "expert_iteration", "threshold": 1.0})
    samples, _ = ei.build_samples(_episodes(ei, eps_answers))
    # STP-style: the distinct verified attempts only ([8] twice on one prompt: kept once)
    assert [(s.role, s.ret) for s in samples] == [("solver", 1.0)]
    bc = _trainer(tiny, tmp_path / "b", algorithm={"name": "filtered_bc", "threshold": 1.0})
    samples, _ = bc.build_samples(_episodes(bc, eps_answers))
    assert [(s.role, s.ret, s.advantage) for s in samples] == [("solver", 1.0, 1.0)] * 2
    # The update is supervised: the kept answer's likelihood rises.
    before = bc._logps(bc.model, samples[:1])[0].sum()
    bc.update(samples, 0)
    assert bc._logps(bc.model, samples[:1])[0].sum() > before


def test_spag_keeps_the_winners_decisions_discounted(tiny, tmp_path):
    trainer = _trainer(tiny, tmp_path / "s", algorithm={"name": "spag", "gamma": 0.5})
    samples, _ = trainer.build_samples(_episodes(trainer, ["[8]", "[9]", "[8]"]))
    # the solver's right attempts (own rewards 1) are its winning decisions; the proposer
    # (return 1/3 > 0) keeps its one decision; the wrong attempt (0) is dropped
    got = sorted((s.role, s.turn, s.advantage) for s in samples)
    assert got == [("proposer", 0, pytest.approx(1 / 3)), ("solver", 1, 0.5), ("solver", 3, 1.0)]


def test_algorithm_config_is_checked():
    from spenv.agents.train import load_config

    base = {"envs": [{"id": "KuhnPoker-v1"}], "model": {"tiny": {}}}
    with pytest.raises(ConfigError, match=r"algorithm\.name"):
        load_config({**base, "algorithm": {"name": "ppo"}})
    with pytest.raises(ConfigError, match=r"algorithm\.gamma"):
        load_config({**base, "algorithm": {"name": "spag", "gamma": 0}})
    with pytest.raises(ConfigError, match="group_by"):
        load_config({**base, "advantage": {"group_by": "game"}})


def test_pseudo_label_helper_ignores_other_roles():
    class S:
        def __init__(self, role, move, group):
            self.env_id, self.opponent, self.game, self.seed = "X-v1", "", 0, 0
            self.role, self.move, self.attempt_group, self.valid = role, move, group, True
            self.ret, self.own_reward = 0.5, False

    ss = [S("solver", "a", 1), S("solver", "a", 1), S("solver", "b", 1), S("proposer", "q", None)]
    assert algorithms.pseudo_label(ss, ["solver"]) == 3
    assert [s.ret for s in ss] == [1.0, 1.0, 0.0, 0.5]


def test_a_judge_role_rates_proposals_and_learns_to_predict_their_return(tiny, tmp_path):
    trainer = _trainer(
        tiny,
        tmp_path / "j",
        advantage={"estimator": "grpo"},
        algorithm={"judge": {"roles": ["proposer"], "weight": 0.5}},
    )
    eps = _episodes(trainer, ["[8]", "[9]", "[8]"], games=2)
    samples, _ = trainer.build_samples(eps)
    judged = [s for s in samples if s.role == "judge"]
    proposals = [s for s in samples if s.role == "proposer"]
    assert len(judged) == len(proposals) == 2
    # the judge saw the proposal: its prompt holds the proposer's answer
    text = trainer.tokenizer.decode(judged[0].prompt_ids)
    assert "[4]" in text and "Rate this proposal" in text
    for j, p in zip(judged, proposals, strict=True):
        if j.valid:  # a parsable rating: mixed into the proposal's return
            assert p.own_reward and 0.0 <= j.ret <= 1.0
        else:  # the random-init judge wrote no rating: return untouched, judge reward 0
            assert p.ret == pytest.approx(1 / 3) and j.ret == 0.0
    trainer.update(samples, 0)


def test_judge_ratings_mix_into_returns_and_reward_accuracy():
    class S:
        def __init__(self, ret):
            self.ret, self.own_reward = ret, False

    rated = [S(1.0), S(0.0), S(0.4)]
    rewards = algorithms.apply_ratings(rated, [0.8, None, 0.4], weight=0.5)
    assert rewards == pytest.approx([0.8, 0.0, 1.0])
    assert [s.ret for s in rated] == pytest.approx([0.9, 0.0, 0.4])
    assert algorithms.parse_rating("I think [3]... no, [7]") == 0.7
    assert algorithms.parse_rating("[11]") is None and algorithms.parse_rating("seven") is None
