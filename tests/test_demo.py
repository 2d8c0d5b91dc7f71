"""``spenv demo``: round robins of the reference agents on every registered game, written as
episodes, a match store, ratings and the leaderboard page, with a printed summary.

One short run (a small ``--games`` and time budget) feeds most tests; it plays every game in the
registry with the real verifier backends installed here.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import spenv
from spenv.apps import demo
from spenv.apps.cli import main
from spenv.episode import read_episodes

GAMES = 60

pytestmark = pytest.mark.slow  # one demo run of every game, about 40 s on two busy cores


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("demo") / "out"
    capture = tmp_path_factory.mktemp("demo") / "stdout.txt"
    with capture.open("w") as fh, contextlib.redirect_stdout(fh):
        rc = main(["demo", "--out", str(out), "--games", str(GAMES), "--budget", "15"])
    return {
        "rc": rc,
        "out": out,
        "stdout": capture.read_text(),
        "meta": json.loads((out / "meta.json").read_text()),
        "ratings": json.loads((out / "ratings.json").read_text()),
    }


def test_every_registered_game_is_played_or_skipped_with_a_reason(run: dict[str, Any]) -> None:
    assert run["rc"] == 0
    envs = {e["env_id"]: e for e in run["meta"]["envs"]}
    assert sorted(envs) == spenv.list_envs()  # games registered later are picked up too
    for env_id, e in envs.items():
        if e["skipped"]:
            assert e["episodes"] == 0 and len(e["skipped"]) > 10
            assert "SKIPPED" in run["stdout"]
            continue
        pairs = len(e["pairings"])
        assert pairs == len(e["agents"]) * (len(e["agents"]) - 1) // 2 >= 1
        assert 2 <= e["games_per_pairing"] <= GAMES
        if not e["capped_by_budget"]:
            assert e["games_per_pairing"] == GAMES
        assert e["episodes"] == pairs * e["games_per_pairing"]
        assert e["env_errors"] == 0, env_id
        assert env_id in run["stdout"]
    # The budget binds on the slow games (real proof checks, sandboxed code), not the cheap ones.
    slowest = max(envs.values(), key=lambda e: e["seconds_per_game"])
    for env_id in ("KuhnPoker-v1", "TicTacToe-v1", "Taboo-v1"):
        assert envs[env_id]["games_per_pairing"] >= GAMES // 2
        assert envs[env_id]["games_per_pairing"] >= slowest["games_per_pairing"]
    # Real backends where installed, and the summary says which.
    for e in envs.values():
        for name, b in e["backends"].items():
            if b["available"] and not e["skipped"]:
                assert f"real {name}" in run["stdout"]
            if not b["available"]:
                assert "missing" in " ".join(e["notes"]) + str(e["skipped"])


def test_files_store_and_page_agree(run: dict[str, Any]) -> None:
    out: Path = run["out"]
    played = [e for e in run["meta"]["envs"] if not e["skipped"]]
    total = 0
    for e in played:
        eps = list(read_episodes(out / "episodes" / f"{e['env_id']}.jsonl"))
        assert len(eps) == e["episodes"]
        assert {ep.env_id for ep in eps} == {e["env_id"]}
        labels = {label for ep in eps for label in ep.players.values()}
        assert labels == set(e["agents"])
        spenv.replay(eps[-1])  # the files are real, replayable games
        total += len(eps)
    assert run["meta"]["episodes"] == total
    with sqlite3.connect(out / "leaderboard.db") as c:
        assert c.execute("SELECT COUNT(*) FROM episodes").fetchone()[0] == total
    page = (out / "index.html").read_text(encoding="utf-8")
    m = re.search(r'<script type="application/json" id="leaderboard-data">(.*?)</script>', page)
    assert m
    data = json.loads(m[1])
    assert [v["id"] for v in data["views"]] == ["overall", *(e["env_id"] for e in played)]
    assert data["views"] == run["ratings"]["views"]
    kuhn = next(v for v in data["views"] if v["id"] == "KuhnPoker-v1")
    assert kuhn["score"] == "reward"
    expl = {r["agent"]: r["extra"]["exploitability"] for r in kuhn["agents"]}
    assert expl["nash"] < 1e-6 and abs(expl["random"] - 11 / 24) < 1e-9
    assert "Exploitability" in run["stdout"] or "exploitability" in run["stdout"]
    assert (out / "standings.md").read_text().startswith("# spenv demo")


def test_summary_shows_each_games_standings(run: dict[str, Any]) -> None:
    text = run["stdout"]
    assert "Round robins" in text and "Overall:" in text
    for v in run["ratings"]["views"][1:]:
        assert f"{v['label']}: {v['games']} games, rated by" in text
        for row in v["agents"]:
            assert row["agent"] in text
    assert re.search(r"\d+ games in [\d.]+s", text)
    m = re.search(r"([\d,]+) decisions, ([\d,]+) decisions/s", text)
    assert m and int(m.group(1).replace(",", "")) > 0 and int(m.group(2).replace(",", "")) > 0
    assert "decisions/s" in text.split("Round robins")[1]  # the per-game column


def _spearman(x: list[float], y: list[float]) -> float:
    rx, ry = np.argsort(np.argsort(x)), np.argsort(np.argsort(y))
    return float(np.corrcoef(rx, ry)[0, 1])


def test_elo_and_bradley_terry_agree_on_the_demo_agents(run: dict[str, Any]) -> None:
    checked = 0
    for v in run["ratings"]["views"]:
        rows = v["agents"]
        for a in rows:
            for b in rows:
                # Within a game's round robin, where Bradley-Terry separates two agents (disjoint
                # 95% intervals), Elo ranks them the same way. The overall view pools games with
                # different agents (oracle plays only CodeAndTest, greedy only the negotiations),
                # where Elo's sequential updates and Bradley-Terry's likelihood need not agree on
                # agents that never met; there only the rank correlation is checked.
                if v["id"] != "overall" and a["bt_lo"] > b["bt_hi"]:
                    assert a["elo"] > b["elo"], (v["id"], a["agent"], b["agent"])
                    checked += 1
        if len(rows) >= 4:
            rho = _spearman([r["elo"] for r in rows], [r["bt"] for r in rows])
            assert rho >= 0.8, (v["id"], rho)
    assert checked >= 10


@pytest.mark.filterwarnings("ignore:spenv Sandbox backend 'process':RuntimeWarning")
def test_missing_backend_skips_the_game_with_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With a required program reported missing, the game is skipped (never run on a weaker
    fallback) and the summary says which program and how to install it; others still play."""
    monkeypatch.setitem(demo.BACKEND_PROBES, "bwrap", lambda: (False, "apt-get install bubblewrap"))
    monkeypatch.setitem(demo.BACKEND_PROBES, "coqc", lambda: (False, "apt-get install coq"))
    envs = ["CodeAndTest-v1", "ConjectureProve-v1", "TicTacToe-v1"]
    rc = demo.run_demo(tmp_path, games=2, envs=envs, budget=30)
    assert rc == 0
    text = capsys.readouterr().out
    meta = {e["env_id"]: e for e in json.loads((tmp_path / "meta.json").read_text())["envs"]}
    for env_id, program in (("CodeAndTest-v1", "bwrap"), ("ConjectureProve-v1", "coqc")):
        assert meta[env_id]["skipped"].startswith(f"backend {program} missing"), meta[env_id]
        assert "apt-get install" in meta[env_id]["skipped"]
        assert not (tmp_path / "episodes" / f"{env_id}.jsonl").exists()
    assert meta["TicTacToe-v1"]["episodes"] > 0
    assert "SKIPPED" in text


def test_unknown_env_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--out", str(tmp_path), "--env", "NoSuchGame-v1"]) == 2
    assert "NoSuchGame-v1" in capsys.readouterr().err
