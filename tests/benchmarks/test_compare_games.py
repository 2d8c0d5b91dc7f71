"""Run comparison (paired bootstrap, report, chart) and game evaluations against opponents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from evalkit import LookupAgent, in_subset, items_of

from spenv.apps.cli import main
from spenv.benchmarks.compare import write_comparison
from spenv.benchmarks.games import opponent_for_seat, resolve_envs, run_game_eval
from spenv.benchmarks.transfer import run_transfer

SUITES = ["aime24", "amc23", "gsm8k"]


@pytest.fixture(scope="module")
def two_runs(benchmarks_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("runs")
    items = items_of(SUITES, 40, benchmarks_dir)
    gold = LookupAgent(items, lambda it: True, name="gold")
    part = LookupAgent(items, lambda it: in_subset(it.id), name="part")
    run_transfer(gold, SUITES, out=base / "a", data_dir=benchmarks_dir, limit=40)
    # B covers fewer gsm8k items: only shared items are paired
    run_transfer(part, SUITES[:2], out=base / "b", data_dir=benchmarks_dir, limit=40)
    run_transfer(part, ["gsm8k"], out=base / "b", data_dir=benchmarks_dir, limit=25)
    return base / "a", base / "b"


def test_compare_paired_difference(two_runs: tuple[Path, Path], tmp_path: Path) -> None:
    a, b = two_runs
    cmp = write_comparison(a, b, tmp_path)
    for suite, n in (("aime24", 30), ("amc23", 40), ("gsm8k", 25)):
        d = cmp["suites"][suite]
        assert d["items"] == n
        ids = [f"{suite}/{i}" for i in range(n)] if suite == "gsm8k" else None
        if ids is not None:
            expected = 1 - sum(in_subset(i) for i in ids) / n
            assert d["diff"] == pytest.approx(expected)
        assert d["a"] == 1.0 and d["low"] <= d["diff"] <= d["high"]
        assert d["significant"] and d["low"] > 0
    md = (tmp_path / "compare.md").read_text()
    assert "| gsm8k | 25 |" in md and "significant" in md
    png = (tmp_path / "compare.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000
    same = write_comparison(a, a, tmp_path / "same")
    assert all(not d["significant"] and d["diff"] == 0 for d in same["suites"].values())


def test_compare_cli(two_runs: tuple[Path, Path], tmp_path: Path, capsys) -> None:
    a, b = two_runs
    assert main(["eval", "compare", str(a), str(b), "--out", str(tmp_path)]) == 0
    assert "Transfer comparison" in capsys.readouterr().out
    assert (tmp_path / "compare.json").exists()
    assert main(["eval", "compare", str(tmp_path / "nope"), str(b)]) == 2


def test_env_groups_and_opponents() -> None:
    # groups come from the registry entries' tags
    assert resolve_envs("in-domain") == ["KuhnPoker-v1", "SimpleNegotiation-v1", "TicTacToe-v1"]
    assert set(resolve_envs("all")) == {*resolve_envs("in-domain"), *resolve_envs("out-of-domain")}
    assert set(resolve_envs("out-of-domain")) == {"DealOrNoDeal-v1", "Debate-v1", "Taboo-v1"}
    assert resolve_envs("KuhnPoker-v1,in-domain")[0] == "KuhnPoker-v1"
    with pytest.raises(ValueError, match="unknown env"):
        resolve_envs("Chess-v9")
    assert opponent_for_seat("equilibrium", "KuhnPoker-v1", 1) == "nash"
    assert opponent_for_seat("equilibrium", "TicTacToe-v1", 0) == "minimax"
    assert opponent_for_seat("equilibrium", "Taboo-v1", 0) is None
    assert opponent_for_seat("scripted", "KuhnPoker-v1", 1) == "nash"
    # Taboo's references are seat-specific: the attacker hints, the defender guesses
    assert opponent_for_seat("scripted", "Taboo-v1", 0) == "hinter"
    assert opponent_for_seat("scripted", "Taboo-v1", 1) == "guesser"
    assert opponent_for_seat("nash:alpha=0.1", "KuhnPoker-v1", 0) == "nash:alpha=0.1"


def test_game_eval_rates_and_exploitability(tmp_path: Path) -> None:
    from spenv.games.kuhn_poker import exploitability

    res = run_game_eval(
        "aggressive",
        ["random", "equilibrium"],
        ["KuhnPoker-v1"],
        out=tmp_path,
        games=60,
        metric_samples=10,
    )
    e = res["envs"]["KuhnPoker-v1"]["random"]
    assert e["games"] == 120 and set(e["seats"]) == {"player_0", "player_1"}
    assert e["seats"]["player_0"]["games"] == 60
    assert e["win"] + e["draw"] + e["loss"] + e["invalid"] + e["error"] + e["truncated"] == 120
    lo, hi = e["win_rate_ci"]
    assert lo <= e["win_rate"] <= hi
    # the aggressive player always bets or calls: its table is all ones, exactly
    ex = res["agent_metrics"]["KuhnPoker-v1"]["exploitability"]
    assert set(ex["policy"].values()) == {1.0}
    assert ex["value"] == pytest.approx(exploitability(ex["policy"]))
    assert ex["value"] > 0.2
    # the episodes are on file, tagged with their pairing
    lines = (tmp_path / "episodes.jsonl").read_text().splitlines()
    assert len(lines) == 240
    assert json.loads(lines[0])["metadata"]["eval"]["env"] == "KuhnPoker-v1"
    # rerun: every shard is on file, nothing is played again, same numbers
    again = run_game_eval(
        "aggressive", ["random", "equilibrium"], ["KuhnPoker-v1"], out=tmp_path, games=60,
        metric_samples=10,
    )  # fmt: skip
    assert again["envs"] == res["envs"]
    meta = json.loads((tmp_path / "metadata.json").read_text())
    assert meta["shards_played"] == 0 and meta["shards_resumed"] > 0
    with pytest.raises(ValueError, match="different run"):
        run_game_eval("nash", ["random"], ["KuhnPoker-v1"], out=tmp_path, games=60)


class Babbler:
    """Never names a move; raises on every other call."""

    name = "babbler"

    def __init__(self) -> None:
        self.n = 0

    def act(self, obs) -> str:
        self.n += 1
        if self.n % 2:
            raise RuntimeError("model crashed")
        return "hmm, let me think about it"


def test_invalid_moves_and_failures_are_counted(tmp_path: Path) -> None:
    res = run_game_eval(Babbler(), ["random"], ["TicTacToe-v1"], out=tmp_path, games=10)
    e = res["envs"]["TicTacToe-v1"]["random"]
    assert e["games"] == 20  # every game counts
    assert e["invalid"] == 20 and e["invalid_rate"] == 1.0
    assert e["invalid_turn_rate"] == 1.0
    assert e["mean_reward"] < 0


def test_debate_judge_accuracy(tmp_path: Path) -> None:
    res = run_game_eval(
        "advocate",
        ["scripted"],
        ["Debate-v1"],
        out=tmp_path,
        games=8,
        env_options={"Debate-v1": {"judge": "oracle", "rounds": 1}},
    )
    j = res["envs"]["Debate-v1"]["scripted"]["judge"]
    assert j["debates"] == 16 and j["judged"] == 16 and j["accuracy"] == 1.0
    assert j["agent_correct"]["judged"] + j["agent_incorrect"]["judged"] == 16
    rnd = run_game_eval(
        "advocate",
        ["scripted"],
        ["Debate-v1"],
        out=tmp_path / "rnd",
        games=20,
        env_options={"Debate-v1": {"judge": "random", "rounds": 1}},
    )
    acc = rnd["envs"]["Debate-v1"]["scripted"]["judge"]["accuracy"]
    assert 0.0 < acc < 1.0


def test_games_cli(tmp_path: Path, capsys) -> None:
    code = main(
        [
            "eval", "games", "--agent", "random", "--opponents", "scripted,equilibrium",
            "--env", "KuhnPoker-v1,Taboo-v1", "--games", "6", "--metric-samples", "5",
            "--out", str(tmp_path), "-q",
        ]
    )  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "exploitability" in out and "has no equilibrium agent" in out
    res = json.loads((tmp_path / "results.json").read_text())
    assert res["envs"]["Taboo-v1"]["scripted"]["games"] == 12
    assert "skipped" in res["envs"]["Taboo-v1"]["equilibrium"]
    bad = [
        "eval",
        "games",
        "--agent",
        "nash",
        "--env",
        "TicTacToe-v1",
        "--out",
        str(tmp_path / "x"),
    ]
    assert main(bad) == 2
    assert "unknown agent spec" in capsys.readouterr().err


def test_transfer_cli_errors(tmp_path: Path, capsys) -> None:
    assert (
        main(["eval", "transfer", "--agent", "random", "--suites", "gsm9k", "--out", str(tmp_path)])
        == 2
    )
    assert "unknown suite" in capsys.readouterr().err


def test_transfer_cli_through_an_http_agent(benchmarks_dir: Path, tmp_path: Path, capsys) -> None:
    """``spenv eval transfer --agent openai:MODEL@URL``: the spec's agent talks to a real HTTP
    server on 127.0.0.1 that serves a scripted agent; sampling options reach the agent."""
    from spenv.agents.serve import AgentServer

    suites = ["gsm8k", "mmlu_stem"]
    items = items_of(suites, 6, benchmarks_dir)
    served = LookupAgent(items, lambda it: in_subset(it.id), name="lookup")
    with AgentServer(served) as server:
        argv = [
            "eval", "transfer", "--agent", f"openai:lookup@{server.url}",
            "--suites", ",".join(suites), "--data-dir", str(benchmarks_dir), "--limit", "6",
            "--n", "2", "--temperature", "0.5", "--max-tokens", "64", "--batch-size", "4",
            "--out", str(tmp_path), "-q",
        ]  # fmt: skip
        assert main(argv) == 0
        first = server.requests
        assert first == 24  # 12 problems, 2 samples each
        assert "pass@1" in capsys.readouterr().out
        assert main(argv) == 0  # everything on file: resumed, no request sent
        assert server.requests == first
    res = json.loads((tmp_path / "results.json").read_text())
    for s in suites:
        mine = [it for it in items if it.suite == s]
        expected = sum(in_subset(it.id) for it in mine) / len(mine)
        assert res["suites"][s]["pass@1"]["mean"] == pytest.approx(expected)
        assert res["suites"][s]["samples_per_item"] == 2
    meta = json.loads((tmp_path / "metadata.json").read_text())
    assert set(meta["sampling_applied"]) == {"temperature", "max_tokens"}
    assert meta["agent_sampling"]["temperature"] == 0.5
    assert meta["config"]["agent"] == f"openai:lookup@{server.url}"
    # a different sampling config is refused in the same folder
    argv[argv.index("0.5")] = "0.9"
    assert main(argv) == 2
    assert "different run" in capsys.readouterr().err


def test_unreachable_cluster_is_a_clear_error(tmp_path: Path, capsys) -> None:
    argv = ["--backend", "ray", "--address", "127.0.0.1:1", "-q"]
    games = ["eval", "games", "--agent", "random", "--env", "KuhnPoker-v1", "--games", "2"]
    assert main([*games, "--out", str(tmp_path / "g"), *argv]) == 2
    assert "Ray" in capsys.readouterr().err
