"""The env registry: versioned ids, lookup, errors, and third-party plugins through the real
``spenv.envs`` entry-point mechanism."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest
from pettingzoo.test import api_test

import spenv
from spenv import registry
from spenv.registry import UnknownEnvError


def test_make_list_and_spec() -> None:
    ids = spenv.list_envs()
    assert ids == sorted(ids)
    assert "KuhnPoker-v1" in ids
    assert [s.id for s in spenv.specs()] == ids
    s = spenv.spec("KuhnPoker-v1")
    assert (s.id, s.name, s.version) == ("KuhnPoker-v1", "KuhnPoker", 1)
    assert s.roles == ("player_0", "player_1")
    assert "nash" in s.reference_agents
    env = spenv.make("KuhnPoker-v1", hands=3, retries=1)
    assert env.env_id == "KuhnPoker-v1"
    assert (env.hands, env.retries) == (3, 1)
    assert env.possible_agents == ["player_0", "player_1"]


def test_unversioned_id_resolves_to_latest(temp_register, tiny_module) -> None:
    assert spenv.spec("KuhnPoker").id == "KuhnPoker-v1"
    assert spenv.make("KuhnPoker").env_id == "KuhnPoker-v1"
    for version in (1, 3, 2):  # registration order must not matter
        temp_register(f"TinyVersions-v{version}", tiny_module.TinyEnv)
    assert spenv.spec("TinyVersions").id == "TinyVersions-v3"
    assert spenv.make("TinyVersions").env_id == "TinyVersions-v3"
    assert spenv.make("TinyVersions-v2").env_id == "TinyVersions-v2"


def test_unknown_id_has_a_hint() -> None:
    with pytest.raises(UnknownEnvError, match=r"Did you mean KuhnPoker-v1\?") as info:
        spenv.make("KuhnPokr-v1")
    assert isinstance(info.value, KeyError)
    assert "'KuhnPokr-v1'" in str(info.value)
    with pytest.raises(UnknownEnvError) as info:
        spenv.spec("CompletelyDifferentThing-v7")
    assert "Did you mean" not in str(info.value)
    assert "list_envs" in str(info.value)


def test_duplicate_registration_raises(temp_register, tiny_module) -> None:
    with pytest.raises(ValueError, match="already registered"):
        registry.register("KuhnPoker-v1", tiny_module.TinyEnv)
    assert spenv.make("KuhnPoker-v1").env_id == "KuhnPoker-v1"
    temp_register("TinyDup-v1", tiny_module.TinyEnv)
    with pytest.raises(ValueError, match="already registered"):
        registry.register("TinyDup-v1", tiny_module.TinyEnv)
    registry.register("TinyDup-v1", "spenv.games.kuhn_poker.env:KuhnPokerEnv", overwrite=True)
    assert type(spenv.make("TinyDup-v1")).__name__ == "KuhnPokerEnv"


@pytest.mark.parametrize(
    "bad_id",
    ["Kuhn", "KuhnPoker-v", "KuhnPoker-1", "Kuhn Poker-v1", "1Kuhn-v1", "", "-v1", "Kuhn-vx"],
)
def test_bad_id_format_raises(bad_id: str) -> None:
    with pytest.raises(ValueError, match="Name-v1"):
        registry.register(bad_id, "spenv.games.kuhn_poker.env:KuhnPokerEnv")
    assert bad_id not in registry._REGISTRY


def test_non_string_id_raises() -> None:
    with pytest.raises(ValueError, match="Name-v1"):
        registry.register(5, "spenv.games.kuhn_poker.env:KuhnPokerEnv")  # type: ignore[arg-type]


def test_registered_kwargs_and_alias_ids(temp_register) -> None:
    temp_register(
        "KuhnMatchAlias-v2", "spenv.games.kuhn_poker.env:KuhnPokerEnv", kwargs={"hands": 3}
    )
    env = spenv.make("KuhnMatchAlias-v2")
    assert (env.env_id, env.hands) == ("KuhnMatchAlias-v2", 3)
    assert spenv.make("KuhnMatchAlias-v2", hands=5).hands == 5
    # episodes carry the alias id, and replay rebuilds the env through it
    ep = spenv.play(env, ["random", "random"], seed=4)
    assert ep.env_id == "KuhnMatchAlias-v2"
    assert ep.turns[0].observation["role"] in env.possible_agents
    spenv.replay(ep)


def test_malformed_entry_point_is_reported(temp_register) -> None:
    temp_register("BrokenEntry-v1", "spenv.games.kuhn_poker.env.KuhnPokerEnv")
    with pytest.raises(ValueError, match="module:attr"):
        spenv.make("BrokenEntry-v1")


# --------------------------------------------------------------------------------------------
# Third-party plugins through entry points
# --------------------------------------------------------------------------------------------

ENTRY_POINTS = """\
[spenv.envs]
Tiny-v1 = fakeplug_mod:TinyEnv
KuhnPoker-v1 = fakeplug_mod:TinyEnv
not an id = fakeplug_mod:TinyEnv
"""


@pytest.fixture
def plugin_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_source: str):
    """An installed-looking distribution ``fakeplug`` declaring envs in ``spenv.envs``."""
    spenv.list_envs()  # the automatic first plugin scan happens before fakeplug is visible
    dist = tmp_path / "fakeplug-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fakeplug\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(ENTRY_POINTS)
    (tmp_path / "fakeplug_mod.py").write_text(tiny_source)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for id in ("Tiny-v1",):
        registry._REGISTRY.pop(id, None)
    sys.modules.pop("fakeplug_mod", None)


def test_plugin_through_entry_points(plugin_path: Path) -> None:
    assert "Tiny-v1" not in spenv.list_envs()
    with pytest.warns(UserWarning, match="not an id"):
        added = registry.load_plugins()
    assert added == ["Tiny-v1"]  # the bad id is skipped, a built-in id is never taken over
    assert "Tiny-v1" in spenv.list_envs()
    assert "not an id" not in spenv.list_envs()
    assert type(spenv.make("KuhnPoker-v1")).__name__ == "KuhnPokerEnv"

    s = spenv.spec("Tiny-v1")
    assert s.source == "fakeplug"
    assert spenv.spec("Tiny").id == "Tiny-v1"
    env = spenv.make("Tiny-v1")
    assert type(env).__module__ == "fakeplug_mod"
    assert env.env_id == "Tiny-v1"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # text is not a numpy array: expected
        api_test(spenv.make("Tiny-v1"), num_cycles=20)

    # the plugin plays, records and replays like a built-in game
    episodes = spenv.run_games("Tiny-v1", ["random", "random"], games=10, seed=0)
    assert all(ep.status == "completed" for ep in episodes)
    assert {tuple(sorted(ep.outcomes.values())) for ep in episodes} == {("loss", "win")}
    for ep in episodes:
        assert sum(ep.rewards.values()) == 0
        spenv.replay(ep)

    # loading again adds nothing
    with pytest.warns(UserWarning):
        assert registry.load_plugins() == []
