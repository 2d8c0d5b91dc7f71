"""The example game of docs/add-a-game.md, installed as its own package, registers through the
``spenv.envs`` entry point and passes the contract test that every registered env passes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "nim_game"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(EXAMPLE),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert list(target.glob("spenv_nim_example-*.dist-info/entry_points.txt"))
    return target


def _env(site: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(site)}


def test_the_entry_point_registers_the_game_and_it_plays(installed: Path) -> None:
    code = (
        "import spenv\n"
        "spec = spenv.registry.spec('Nim-v1')\n"
        "assert spec.source == 'spenv-nim-example', spec\n"
        "eps = spenv.run_games('Nim-v1', ['random', 'random'], games=20, seed=0)\n"
        "assert len(eps) == 20 and all(e.status == 'completed' for e in eps)\n"
        "assert {e.outcomes['player_0'] for e in eps} <= {'win', 'loss'}\n"
        "for e in eps: spenv.replay(e)\n"
        "print('ok')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(installed)
    )
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr[-3000:]


def test_the_example_passes_the_contract_test(installed: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-k",
            "Nim-v1",
            str(ROOT / "tests" / "core" / "test_api_contract.py"),
        ],
        capture_output=True,
        text=True,
        env=_env(installed),
        cwd=ROOT,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert " passed" in proc.stdout and "Nim-v1" not in proc.stdout.split("passed")[-1]
