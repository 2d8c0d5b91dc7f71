"""Per-decision rewards and repeated prompts survive the episode record and its JSON form."""

from __future__ import annotations

import spenv
from spenv.episode import Episode
from spenv.games.kuhn_poker.env import KuhnPokerEnv
from spenv.observation import Observation


class _ScoredKuhn(KuhnPokerEnv):
    """Kuhn poker whose first decision carries its own reward (a stand-in for a scored attempt)."""

    def decision_rewards(self) -> dict[int, float]:
        return {0: 0.25}


def test_decision_rewards_reach_the_turns_and_round_trip() -> None:
    env = _ScoredKuhn()
    env.reset(seed=1)
    for _agent in env.agent_iter():
        _, _, term, trunc, info = env.last()
        env.step(None if term or trunc else info["legal_actions"][0])
    ep = env.episode()
    assert ep.turns[0].reward == 0.25
    assert all(t.reward is None for t in ep.turns[1:])
    back = Episode.from_json(ep.to_json())
    assert [t.reward for t in back.turns] == [t.reward for t in ep.turns]


def test_plain_games_record_no_decision_reward() -> None:
    ep = spenv.play("KuhnPoker-v1", ["random", "random"], seed=0)
    assert all(t.reward is None for t in ep.turns)
    assert all("reward" not in t.to_dict() for t in ep.turns)


def test_observation_repeat_round_trips_and_defaults_to_one() -> None:
    obs = Observation(system="s", user="u", role="prover", env_id="X-v1", turn=3, repeat=4)
    back = Observation.from_dict({**obs.to_dict(), "env_id": "X-v1"})
    assert back.repeat == 4 and back == obs
    plain = Observation(system="s", user="u", role="p", env_id="X-v1", turn=0)
    assert plain.repeat == 1 and "repeat" not in plain.to_dict()
