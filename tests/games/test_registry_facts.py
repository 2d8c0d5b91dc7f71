"""Game facts live in the registry entries: programs needed, persona, optimal agent, metrics and
labels; what the entries declare loads and measures what it says."""

from __future__ import annotations

import shutil

import pytest

import spenv
from spenv.agents import make_agent
from spenv.games.kuhn_poker import exploitability, uniform_policy

SPECS = [spenv.registry.spec(i) for i in spenv.list_envs()]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.id)
def test_declared_facts_are_well_formed(spec) -> None:
    for program in spec.requires:
        assert program and "/" not in program
    if spec.equilibrium_agent is not None:
        assert spec.equilibrium_agent in spec.reference_agents
    for name in [*spec.agent_metrics, *spec.episode_metrics]:
        assert callable(spec.load_metric(name))
    with pytest.raises(KeyError, match="no metric"):
        spec.load_metric("no-such-metric")
    assert all(tag in ("in-domain", "out-of-domain") for tag in spec.tags)


@pytest.mark.parametrize("spec", [s for s in SPECS if s.requires], ids=lambda s: s.id)
def test_required_programs_are_installed_where_the_tests_run(spec) -> None:
    # `make test` installs every program a registered game requires (scripts/system-packages.sh)
    missing = [p for p in spec.requires if shutil.which(p) is None]
    assert not missing, f"{spec.id} needs {missing}: run scripts/system-packages.sh test"


def test_kuhn_exploitability_metric_measures_agents() -> None:
    spec = spenv.registry.spec("KuhnPoker-v1")
    measure = spec.load_metric("exploitability")
    nash = measure(make_agent(spec.equilibrium_agent, spec.id, seed=0))
    assert nash["value"] < 1e-3 and nash["better"] == "lower" and nash["measured"] == "exact"
    rnd = measure(make_agent("random", spec.id, seed=0))
    assert rnd["value"] == pytest.approx(exploitability(uniform_policy()))
    aggressive = measure(make_agent("aggressive", spec.id, seed=0))
    assert aggressive["value"] > 0.2
    # every declared measurement of one agent at once
    reports = spec.measure_agent(make_agent("aggressive", spec.id, seed=0))
    assert set(reports) == set(spec.agent_metrics)
    assert reports["exploitability"]["value"] == aggressive["value"]
    assert spenv.registry.spec("TicTacToe-v1").measure_agent(object()) == {}


def test_tags_split_the_six_spiral_games() -> None:
    tagged = {s.id: s.tags for s in SPECS if s.tags}
    assert sum("in-domain" in t for t in tagged.values()) == 3
    assert sum("out-of-domain" in t for t in tagged.values()) == 3
