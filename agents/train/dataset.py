"""Episodes as a training dataset for other trainers: one row per decision.

``spenv episodes export EPISODES.jsonl OUT.{jsonl,parquet}`` reads recorded episodes (``spenv
play --out``) and writes one row per decision with

- ``prompt``: the observation text the agent was shown (``system`` and ``user`` also apart);
- ``completion``: the agent's answer as written (empty when it gave none);
- ``return``: the decision's own reward when the game scored decisions one by one
  (``Turn.reward``), else the seat's episode reward; ``own_reward`` says which;
- ``role``, ``env_id``, ``seed``, ``game`` (line number in the file), ``turn``, ``valid``,
  ``move``, ``player`` (the agent's label).

Episodes that ended in an error are skipped (and counted); a malformed line is an error naming
the file and line, never silently dropped.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

COLUMNS = (
    "prompt",
    "completion",
    "return",
    "role",
    "env_id",
    "seed",
    "game",
    "turn",
    "valid",
    "move",
    "own_reward",
    "player",
    "system",
    "user",
)


def episode_rows(episodes: Iterable[Any], counts: dict[str, int] | None = None) -> Iterator[dict]:
    """One row per decision of each episode (see the module's docstring for the columns)."""
    from spenv.observation import Observation

    counts = counts if counts is not None else {}
    for game, ep in enumerate(episodes):
        if ep.status == "error":
            counts["error_episodes"] = counts.get("error_episodes", 0) + 1
            continue
        for t in ep.turns:
            data = {"system": ep.system.get(t.agent, ""), "env_id": ep.env_id, **t.observation}
            obs = Observation.from_dict(data)
            own = t.reward is not None
            yield {
                "prompt": str(obs.text),
                "completion": t.action if isinstance(t.action, str) else "",
                "return": float(t.reward) if own else float(ep.rewards.get(t.agent, 0.0)),
                "role": t.agent,
                "env_id": ep.env_id,
                "seed": ep.seed,
                "game": game,
                "turn": t.index,
                "valid": bool(t.valid),
                "move": t.move,
                "own_reward": own,
                "player": ep.players.get(t.agent, ""),
                "system": obs.system,
                "user": obs.user,
            }


def write_rows(rows: Iterable[dict], out: str | Path, fmt: str | None = None) -> int:
    """Write rows as JSONL or Parquet (``fmt``, else from the suffix); returns the row count.
    The file is written beside its target and renamed into place (never half-written)."""
    path = Path(out)
    fmt = fmt or ("parquet" if path.suffix == ".parquet" else "jsonl")
    if fmt not in ("jsonl", "parquet"):
        raise ValueError(f"format must be jsonl or parquet, got {fmt!r}")
    tmp = path.with_name(path.name + ".tmp")
    n = 0
    if fmt == "jsonl":
        with open(tmp, "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
                n += 1
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist(list(rows), schema=_schema(pa))
        pq.write_table(table, tmp)
        n = table.num_rows
    tmp.replace(path)
    return n


def _schema(pa: Any) -> Any:
    return pa.schema(
        [
            ("prompt", pa.string()),
            ("completion", pa.string()),
            ("return", pa.float64()),
            ("role", pa.string()),
            ("env_id", pa.string()),
            ("seed", pa.int64()),
            ("game", pa.int64()),
            ("turn", pa.int64()),
            ("valid", pa.bool_()),
            ("move", pa.string()),
            ("own_reward", pa.bool_()),
            ("player", pa.string()),
            ("system", pa.string()),
            ("user", pa.string()),
        ]
    )


def cmd_export(args: argparse.Namespace) -> int:
    from spenv.episode import EpisodeFormatError, read_episodes

    counts: dict[str, int] = {}
    torn: list[str] = []  # a torn last line (a killed writer) is skipped and reported
    try:
        episodes = read_episodes(args.episodes, errors=torn, strict=args.strict)
        n = write_rows(episode_rows(episodes, counts), args.out, args.format)
    except (OSError, EpisodeFormatError, ValueError) as exc:
        print(f"spenv episodes export: {exc}", file=sys.stderr)
        return 2
    for line in torn:
        print(f"spenv episodes export: skipped {line}", file=sys.stderr)
    skipped = counts.get("error_episodes", 0)
    print(
        f"{n} decisions written to {args.out}"
        + (f" ({skipped} error episodes skipped)" if skipped else "")
    )
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``spenv episodes export`` (called by :func:`spenv.apps.cli.build_parser`)."""
    p = sub.add_parser("episodes", help="work with recorded episodes (export as a dataset)")
    group = p.add_subparsers(dest="episodes_command", required=True)
    e = group.add_parser(
        "export",
        help="write one row per decision (prompt, completion, return, role) as JSONL or Parquet",
    )
    e.add_argument("episodes", help="a JSONL file of episodes (spenv play --out)")
    e.add_argument("out", help="the dataset file (.jsonl or .parquet)")
    e.add_argument("--format", choices=("jsonl", "parquet"), default=None)
    e.add_argument(
        "--strict",
        action="store_true",
        help="fail on a torn last line (default: skip it and say so, as spenv replay does)",
    )
    e.set_defaults(func=cmd_export)
