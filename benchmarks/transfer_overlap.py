"""Which transfer-suite problems a training run trained on (``spenv eval transfer --run``).

A training run records what it trained on in its ``config.yaml`` (each env's id and options;
a checkpoint folder ``RUN/checkpoints/step-N`` and an exported model carry a copy). The
problems of every env that plays on problem data are read back from those options:

- ``CodeAndTest-v*``: ``source`` and ``split`` (defaults ``mbpp``/``train``), the same problems
  the env loads (:func:`spenv.games.code_and_test.load_problems`);
- ``Debate-v*``: ``suite`` (every item of that benchmark suite), ``data`` or ``quality`` (the
  questions of that file).

An evaluation item overlaps when its task id is a training problem's id (HumanEval task ids,
MBPP task ids) or its normalised prompt text (case and whitespace folded) is a training
problem's. Envs without problem data (board and card games, generated questions) add nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["find_run_config", "overlap_report", "training_problems"]


def _norm(text: Any) -> str:
    return " ".join(str(text).split()).lower()


def find_run_config(
    agent: Any, run: str | os.PathLike[str] | None = None
) -> tuple[Path, Path] | None:
    """(run folder, its ``config.yaml``) for ``run`` (a run folder, a checkpoint in one, or a
    ``config.yaml``), else for an ``hf:PATH`` agent whose PATH is a checkpoint of a run or an
    export holding its config; None when the agent names no run. A ``run`` without a config
    raises ``FileNotFoundError``."""
    if run is not None:
        path = Path(run).expanduser()
        found = _config_near(path)
        if found is None:
            raise FileNotFoundError(
                f"--run {run}: no config.yaml there (nor in the run folder of a checkpoint)"
            )
        return found
    if isinstance(agent, str) and agent.startswith("hf:"):
        path = Path(agent[3:]).expanduser()
        if path.exists():
            return _config_near(path)
    return None


def _config_near(path: Path) -> tuple[Path, Path] | None:
    """(the run folder, the config to read) for a run folder, a checkpoint
    (``RUN/checkpoints/step-N``, with its own copy of the config), an export or a config."""
    if path.is_file() and path.name == "config.yaml":
        path = path.parent
    run = path.parent.parent if path.parent.name == "checkpoints" else path
    for cfg in (path / "config.yaml", run / "config.yaml"):
        if cfg.is_file():
            return run.resolve(), cfg.resolve()
    return None


def _code_and_test(options: Mapping[str, Any]) -> tuple[str, list[tuple[str, str]]]:
    from spenv.games.code_and_test import _in_split, load_problems

    source = str(options.get("source", "mbpp"))
    split = options.get("split") or ("train" if source == "mbpp" else "all")
    if source == "mbpp":
        problems = load_problems("mbpp" if split == "all" else f"mbpp:{split}")
    else:
        problems = tuple(p for p in load_problems(source) if _in_split(p.task_id, split))
    return f"{source} (split {split})", [(p.task_id, p.prompt) for p in problems]


def _debate(
    options: Mapping[str, Any], data_dir: str | os.PathLike[str] | None
) -> tuple[str, list[tuple[str, str]]] | None:
    if options.get("suite"):
        from spenv.benchmarks.suites import load_items

        suite = str(options["suite"])
        items = load_items(suite, data_dir=options.get("data_dir") or data_dir)
        return f"suite {suite}", [(it.id, it.question) for it in items]
    for key in ("data", "quality"):
        if options.get(key):
            from spenv.games.debate.questions import open_source

            src = open_source(**{key: options[key]})
            rows = getattr(src, "rows", ())
            return f"{key} {options[key]}", [(q.id, q.question) for q in rows]
    return None


def training_problems(
    config: str | os.PathLike[str], data_dir: str | os.PathLike[str] | None = None
) -> list[dict[str, Any]]:
    """The problem sources recorded in a run's ``config.yaml``: per env with problem data a
    dict of ``env``, ``source`` (what it names), ``problems`` (their count), and ``ids`` and
    ``texts`` (the set of task ids and of normalised prompts)."""
    import yaml

    with open(config, encoding="utf-8") as fh:
        cfg = yaml.safe_load(fh) or {}
    if not isinstance(cfg, dict):
        raise ValueError(f"{config}: not a training config (a mapping)")
    out = []
    for env in cfg.get("envs") or []:
        if not isinstance(env, dict):
            continue
        env_id = str(env.get("id", ""))
        options = env.get("options") or {}
        if not isinstance(options, dict):
            raise ValueError(f"{config}: env {env_id} has options that are not a mapping")
        family = env_id.split("-v")[0]
        if family == "CodeAndTest":
            found: tuple[str, list[tuple[str, str]]] | None = _code_and_test(options)
        elif family == "Debate":
            found = _debate(options, data_dir)
        else:
            found = None
        if found is None:
            continue
        what, problems = found
        out.append(
            {
                "env": env_id,
                "source": what,
                "problems": len(problems),
                "ids": {str(i) for i, _ in problems},
                "texts": {_norm(t) for _, t in problems},
            }
        )
    return out


def overlap_report(
    run: Path,
    config: Path,
    items: Mapping[str, Sequence[Any]],
    data_dir: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """The overlap of each evaluated suite's ``items`` with the training problems of ``run``:
    ``{"run", "config", "sources": [{env, source, problems}], "suites": {suite: {"items",
    "overlap", "examples"}}, "notes": [...]}``; a note names each suite with an overlap."""
    sources = training_problems(config, data_dir)
    ids = set().union(*(s["ids"] for s in sources)) if sources else set()
    texts = set().union(*(s["texts"] for s in sources)) if sources else set()
    per_suite: dict[str, Any] = {}
    notes = []
    for suite, its in items.items():
        hits = [it.id for it in its if str(it.id) in ids or _norm(it.question) in texts]
        per_suite[suite] = {"items": len(its), "overlap": len(hits), "examples": hits[:5]}
        if hits:
            notes.append(
                f"{suite}: {len(hits)} of {len(its)} problems were training problems of {run}"
            )
    return {
        "run": str(run),
        "config": str(config),
        "sources": [{k: s[k] for k in ("env", "source", "problems")} for s in sources],
        "suites": per_suite,
        "notes": notes,
    }
