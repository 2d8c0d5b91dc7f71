"""MkDocs hooks: the home page is the README, and each registered game gets a generated page.

A game's page comes from its registry entry (seats, reference and default agents, entry point)
and its env class's docstring and declared options (``OPTIONS``: name, default, doc; see
``spenv.options``), so a new game documents itself.
"""

from __future__ import annotations

import inspect
import re
import shutil
from collections.abc import Mapping
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parent.parent


def _home() -> str:
    text = (ROOT / "README.md").read_text("utf-8")
    # README links point into docs/; on the site the pages sit beside the home page.
    return re.sub(r"\]\(docs/([^)]*)\)", r"](\1)", text)


def _game_page(spec) -> str:
    import spenv
    from spenv.options import describe

    env = spenv.make(spec.id)
    cls = type(env)
    doc = inspect.getdoc(cls) or ""
    lines = [f"# {spec.id}", "", spec.description, ""]
    lines += ["| | |", "|---|---|"]
    lines.append(f"| seats | {', '.join(f'`{r}`' for r in spec.roles)} |")
    if spec.reference_agents:
        lines.append(f"| reference agents | {', '.join(f'`{a}`' for a in spec.reference_agents)} |")
    if spec.default_agents:
        lines.append(f"| default agents | {', '.join(f'`{a}`' for a in spec.default_agents)} |")
    if spec.requires:
        lines.append(f"| needs | {', '.join(f'`{r}`' for r in spec.requires)} |")
    if spec.equilibrium_agent:
        lines.append(f"| optimal agent | `{spec.equilibrium_agent}` |")
    metrics = [*spec.agent_metrics, *spec.episode_metrics]
    if metrics:
        lines.append(f"| measurements | {', '.join(f'`{m}`' for m in metrics)} |")
    if spec.persona:
        lines.append(f"| persona | {spec.persona} |")
    entry = spec.entry_point if isinstance(spec.entry_point, str) else cls.__qualname__
    lines.append(f"| entry point | `{entry}` |")
    lines.append(f"| class | `{cls.__module__}.{cls.__qualname__}` |")
    lines += ["", "## Options", ""]
    declared = describe(cls._declared()) if hasattr(cls, "_declared") else []
    registered = {**spec.kwargs}
    if declared:
        lines += ["| option | default | what it sets |", "|---|---|---|"]
        for key, default, what in declared:
            value = registered.get(key, default)
            shown = repr(dict(value) if isinstance(value, Mapping) else value)
            if len(shown) > 60:
                shown = shown[:57] + "..."
            shown, what = shown.replace("|", "\\|"), what.replace("|", "\\|")
            lines.append(f"| `{key}` | `{shown}` | {what} |")
    else:
        lines.append("None.")
    env.close()
    lines += ["", "## Rules and scoring", "", doc or "(no docstring)", ""]
    return "\n".join(lines)


# The package maps folders (spenv.games -> games/, ...), which static analysis cannot follow;
# the API pages read a mirror of the installed layout made of symbolic links.
SUBPACKAGES = ("agents", "benchmarks", "games", "leaderboard", "verifiers")


def _api_source_tree() -> None:
    mirror = ROOT / "build" / "api-src" / "spenv"
    if mirror.is_symlink() or mirror.exists():
        shutil.rmtree(mirror.parent)
    mirror.mkdir(parents=True)
    for entry in (ROOT / "spenv").iterdir():
        if entry.name != "__pycache__":
            (mirror / entry.name).symlink_to(entry)
    for name in SUBPACKAGES:
        (mirror / name).symlink_to(ROOT / name)


def on_startup(command, dirty):
    _api_source_tree()


def _env_ids() -> list[str]:
    from spenv import registry

    return [i for i in registry.list_envs() if registry.spec(i).source == "spenv"]


def on_config(config):
    # Each registered game's page goes under "Games" in the navigation.
    for section in config["nav"]:
        if isinstance(section, dict) and "Games" in section:
            section["Games"].extend({i: f"games/{i}.md"} for i in _env_ids())
    return config


def on_files(files, config):
    from spenv import registry

    files.append(File.generated(config, "index.md", content=_home()))
    for env_id in _env_ids():
        page = _game_page(registry.spec(env_id))
        files.append(File.generated(config, f"games/{env_id}.md", content=page))
    return files
