"""The release artefacts: the wheel and sdist build without setuptools warnings, and the wheel,
installed alone into a fresh virtual environment (no checkout, no benchmark folder beside it, no
``SPENV_DATA``), lists its games, plays a demo and finds the benchmark data it ships."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SUITES = ("aime24", "aime25", "amc23", "gsm8k", "math500", "minerva_math", "mmlu_stem")

pytestmark = pytest.mark.slow


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: int = 600) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("dist")
    env = {k: v for k, v in os.environ.items() if k != "SPENV_DATA"}
    log = _run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], ROOT, env)
    return out, log


def test_build_has_no_setuptools_warnings(dist: tuple[Path, str]) -> None:
    _, log = dist
    assert "would be ignored" not in log
    assert "SetuptoolsDeprecationWarning" not in log
    assert "is absent from the `packages` configuration" not in log


def test_wheel_and_sdist_carry_the_data_and_its_licences(dist: tuple[Path, str]) -> None:
    out, _ = dist
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    names = set(zipfile.ZipFile(wheel).namelist())
    for suite in SUITES:
        assert f"spenv/data/benchmarks/{suite}/test.jsonl" in names
        assert f"spenv/data/benchmarks/{suite}/LICENSE.md" in names
    for split in ("prompt", "test", "validation", "train"):
        assert f"spenv/data/benchmarks/mbpp/{split}.jsonl" in names
    assert "spenv/data/benchmarks/mbpp/README.md" in names
    for data in (
        "spenv/agents/train/recipes/kuhn_cpu.yaml",
        "spenv/games/conjecture_prove/data/Library.v",
        "spenv/leaderboard/assets/page.html",
        "spenv/games/taboo/words.txt",
    ):
        assert data in names, data
    with tarfile.open(sdist) as tar:
        members = {m.split("/", 1)[1] for m in tar.getnames() if "/" in m}
    assert "spenv/data/benchmarks/gsm8k/test.jsonl" in members


def test_wheel_in_a_fresh_venv_lists_plays_and_finds_its_data(
    dist: tuple[Path, str], tmp_path: Path
) -> None:
    out, _ = dist
    (wheel,) = out.glob("*.whl")
    home = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(home)
    bin_ = home / "bin"
    env = {k: v for k, v in os.environ.items() if k not in ("SPENV_DATA", "PYTHONPATH")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    _run([str(bin_ / "python"), "-m", "pip", "install", "-q", str(wheel)], tmp_path, env, 900)
    work = tmp_path / "elsewhere"  # no checkout and no benchmark folder around it
    work.mkdir()

    listed = _run([str(bin_ / "spenv"), "list"], work, env)
    assert "KuhnPoker-v1" in listed and "ConjectureProve-v1" in listed

    demo = _run(
        [str(bin_ / "spenv"), "demo", "--env", "KuhnPoker-v1", "--games", "20", "--out", "d"],
        work,
        env,
    )
    assert "KuhnPoker-v1" in demo
    assert (work / "d" / "episodes" / "KuhnPoker-v1.jsonl").is_file()

    where = _run(
        [str(bin_ / "python"), "-c", "import spenv.datafiles as d; print(d.benchmark_root())"],
        work,
        env,
    ).strip()
    assert where.startswith(str(home)), where  # the installed copy, not the checkout

    _run(
        [
            str(bin_ / "spenv"),
            *("eval", "transfer", "--agent", "random", "--suites", "gsm8k"),
            *("--limit", "3", "--out", "ev", "-q"),
        ],
        work,
        env,
    )
    results = json.loads((work / "ev" / "results.json").read_text())
    assert results["suites"]["gsm8k"]["items"] == 3
    assert results["suites"]["gsm8k"]["complete"] is True
    assert len((work / "ev" / "gsm8k.jsonl").read_text().splitlines()) == 3
