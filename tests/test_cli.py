"""The command line, run as a user would: the installed ``spenv`` script and ``main()``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import spenv
from spenv.apps.cli import main
from spenv.episode import read_episodes

SPENV = shutil.which("spenv") or str(Path(sys.executable).with_name("spenv"))


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SPENV, *args], capture_output=True, text=True, timeout=120, cwd=cwd, check=False
    )


def test_import_is_light() -> None:
    code = (
        "import sys, spenv; spenv.list_envs();"
        "heavy = [m for m in ('torch', 'transformers', 'pettingzoo', 'spenv.games.kuhn_poker')"
        " if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_list_shows_every_env_with_roles() -> None:
    res = run("list", "--json")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert [r["id"] for r in rows] == spenv.list_envs()
    kuhn = next(r for r in rows if r["id"] == "KuhnPoker-v1")
    assert kuhn["roles"] == ["player_0", "player_1"]
    assert "nash" in kuhn["reference_agents"] and "random" in kuhn["reference_agents"]
    human = run("list")
    assert human.returncode == 0 and "KuhnPoker-v1" in human.stdout


def test_play_writes_replayable_episodes_and_metadata(tmp_path: Path) -> None:
    out = tmp_path / "runs" / "kuhn.jsonl"
    res = run(
        "play",
        "KuhnPoker-v1",
        "--agents",
        "nash,random",
        "--games",
        "40",
        "--seed",
        "7",
        "--out",
        str(out),
    )
    assert res.returncode == 0, res.stderr
    assert "nash" in res.stdout and "player_1" in res.stdout and "win" in res.stdout
    episodes = list(read_episodes(out))
    assert len(episodes) == 40
    # both seatings, half each, on the same deals
    seats = [ep.players["player_0"] for ep in sorted(episodes, key=lambda e: e.metadata["game"])]
    assert seats.count("nash") == 20 and seats.count("random") == 20
    meta = json.loads(out.with_name("kuhn.jsonl.meta.json").read_text())
    assert meta["seed"] == 7 and meta["games"] == 40 and meta["env_id"] == "KuhnPoker-v1"
    assert meta["packages"]["pettingzoo"] and "results" in meta
    nash_all = next(r for r in meta["results"] if r["agent"] == "nash" and r["seat"] == "all")
    assert nash_all["games"] == 40
    assert nash_all["win"] + nash_all["loss"] + nash_all["draw"] + nash_all["invalid"] == 40
    rep = run("replay", str(out))
    assert rep.returncode == 0, rep.stdout + rep.stderr
    assert "40 reproduced, 0 mismatched" in rep.stdout


def test_play_defaults_to_reference_agents_and_takes_env_options(tmp_path: Path) -> None:
    out = tmp_path / "k.jsonl"
    assert (
        main(["play", "KuhnPoker-v1", "--games", "6", "-o", "hands=3", "--out", str(out), "-q"])
        == 0
    )
    eps = list(read_episodes(out))
    assert {ep.players["player_0"] for ep in eps} == {"nash", "random"}
    assert all(ep.env_options == {"hands": 3} and len(ep.info["deals"]) == 3 for ep in eps)


def test_replay_reports_a_tampered_file(tmp_path: Path) -> None:
    out = tmp_path / "k.jsonl"
    assert main(["play", "KuhnPoker-v1", "--games", "4", "--out", str(out), "-q"]) == 0
    lines = out.read_text().splitlines()
    first = json.loads(lines[0])
    first["rewards"] = {k: v + 1 for k, v in first["rewards"].items()}
    lines[0] = json.dumps(first)
    out.write_text("\n".join(lines) + "\n")
    res = run("replay", str(out))
    assert res.returncode == 1
    assert "3 reproduced, 1 mismatched" in res.stdout and "rewards" in res.stdout


def test_replay_of_a_broken_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"schema": "spenv.episode/1", "id": "x"\n')
    res = run("replay", str(bad))
    assert res.returncode == 2
    assert "bad.jsonl:1" in res.stderr and "Traceback" not in res.stderr
    missing = run("replay", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


def test_replay_skips_and_reports_a_torn_last_line(tmp_path: Path) -> None:
    out = tmp_path / "k.jsonl"
    assert main(["play", "KuhnPoker-v1", "--games", "6", "--out", str(out), "-q"]) == 0
    lines = out.read_text().splitlines(keepends=True)
    out.write_text("".join(lines[:-1]) + lines[-1][:40])  # killed mid-write
    res = run("replay", str(out))
    assert res.returncode == 0, res.stderr
    assert "5 reproduced, 0 mismatched" in res.stdout
    assert "k.jsonl:6: torn last line skipped" in " ".join(res.stdout.split())
    strict = run("replay", "--strict", str(out))
    assert strict.returncode == 2 and "k.jsonl:6" in strict.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["play", "KuhnPokr-v1"], "Did you mean KuhnPoker-v1"),
        (["play", "KuhnPoker-v1", "--agents", "nash,nobody"], "unknown agent spec 'nobody'"),
        (["play", "KuhnPoker-v1", "--agents", "nash"], "2 seats"),
        (["play", "KuhnPoker-v1", "-o", "hands=0"], "hands must be a positive integer"),
        (["play", "KuhnPoker-v1", "-r", 'deal=["K","K"]'], "same card"),
    ],
)
def test_bad_input_gives_a_clear_error(args: list[str], message: str) -> None:
    res = run(*args, "--games", "2")
    assert res.returncode == 2
    assert message in res.stderr
    assert "Traceback" not in res.stderr


def test_list_textarena_and_play_a_bridged_game(tmp_path: Path) -> None:
    res = run("list", "--textarena", "--json")
    assert res.returncode == 0, res.stderr
    rows = {r["id"]: r["players"] for r in json.loads(res.stdout)}
    assert len(rows) > 100 and rows["textarena:TicTacToe-v0"] == [2, 2]
    out = tmp_path / "ta.jsonl"
    res = run(
        "play",
        "textarena:TicTacToe-v0",
        "--agents",
        "random,random",
        "--games",
        "4",
        "--out",
        str(out),
        "-q",
    )
    assert res.returncode == 0, res.stderr
    assert run("replay", str(out)).returncode == 0
    assert "textarena:TicTacToe-v0" not in spenv.list_envs()
