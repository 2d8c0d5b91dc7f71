"""The documentation site builds with warnings as errors, and it names exactly what exists:
every registered game and every command, and no command that the CLI does not have."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import spenv
from spenv import registry
from spenv.apps import cli

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def _commands() -> set[tuple[str, ...]]:
    """Every command path of the CLI: ("play",), ("eval", "transfer"), ..."""
    parser = cli.build_parser()
    out: set[tuple[str, ...]] = set()

    def walk(p: argparse.ArgumentParser, prefix: tuple[str, ...]) -> None:
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    out.add((*prefix, name))
                    walk(sub, (*prefix, name))

    walk(parser, ())
    return out


def _doc_texts() -> dict[str, str]:
    texts = {p.name: p.read_text("utf-8") for p in DOCS.glob("*.md")}
    texts["README.md"] = (ROOT / "README.md").read_text("utf-8")
    return texts


def test_site_builds_strictly(tmp_path: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for env_id in registry.list_envs():
        if registry.spec(env_id).source == "spenv":
            page = tmp_path / "games" / env_id / "index.html"
            assert page.is_file(), f"no generated page for {env_id}"
            assert env_id in page.read_text("utf-8")
    assert (tmp_path / "api" / "kernel" / "index.html").is_file()


def test_every_registered_game_is_documented() -> None:
    games = (DOCS / "games.md").read_text("utf-8")
    readme = (ROOT / "README.md").read_text("utf-8")
    for env_id in registry.list_envs():
        if registry.spec(env_id).source == "spenv":
            assert f"`{env_id}`" in games, f"{env_id} missing from docs/games.md"
            assert f"`{env_id}`" in readme, f"{env_id} missing from the README's game list"


def test_every_command_is_documented_and_every_documented_command_exists() -> None:
    commands = _commands()
    cli_page = (DOCS / "cli.md").read_text("utf-8")
    for path in commands:
        assert "spenv " + " ".join(path) in cli_page, f"`spenv {' '.join(path)}` not in cli.md"
    top = {p[0] for p in commands}
    for name, text in _doc_texts().items():
        for block in re.findall(r"```(?:bash|sh|console)?\n(.*?)```", text, flags=re.S):
            for line in block.splitlines():
                m = re.match(r"\s*(?:\$\s*)?spenv\s+([a-z][a-z-]*)(?:\s+([a-z][a-z-]*))?", line)
                if not m:
                    continue
                assert m.group(1) in top, f"{name}: `{line.strip()}` names no spenv command"
                subs = {p[1] for p in commands if len(p) == 2 and p[0] == m.group(1)}
                if subs and m.group(2) and not m.group(2).startswith("-"):
                    # a sub-command word, or a positional argument of a command without subs
                    assert m.group(2) in subs, f"{name}: `{line.strip()}` names no sub-command"


@pytest.mark.parametrize("page", sorted(p.name for p in DOCS.glob("*.md")))
def test_doc_pages_link_only_to_existing_pages(page: str) -> None:
    text = (DOCS / page).read_text("utf-8")
    for target in re.findall(r"\]\(([^)#\s]+\.md)(?:#[^)]*)?\)", text):
        assert (DOCS / target).is_file(), f"{page} links to missing {target}"


def test_version_is_exposed() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", spenv.__version__)
