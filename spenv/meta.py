"""Run metadata: what is needed to trace and reproduce every number a run writes."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from spenv._version import __version__

_PACKAGES = ("spenv", "numpy", "pettingzoo", "gymnasium", "rich")


def git_sha(path: str | os.PathLike[str] | None = None) -> str | None:
    """The git commit of the spenv checkout (``None`` outside a git checkout)."""
    where = Path(path) if path is not None else Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = out.stdout.strip()
    if out.returncode != 0 or not sha:
        return None
    dirty = subprocess.run(
        ["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        timeout=5,
        check=False,
    ).stdout.strip()
    return sha + ("-dirty" if dirty else "")


def package_versions(extra: tuple[str, ...] = ()) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in (*_PACKAGES, *extra):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def run_metadata(**fields: Any) -> dict[str, Any]:
    """A metadata record: the given fields plus git SHA, versions, Python, platform, time."""
    return {
        **fields,
        "spenv_version": __version__,
        "git_sha": git_sha(),
        "packages": package_versions(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "argv": sys.argv,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def write_metadata(path: str | os.PathLike[str], meta: dict[str, Any]) -> Path:
    """Write metadata as JSON atomically (a temp file, then rename)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(meta, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path
