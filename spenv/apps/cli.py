"""The ``spenv`` command line.

- ``spenv list``: registered env ids, roles, reference agents, one-line descriptions.
- ``spenv play ENV --agents A,B --games N --seed S --out FILE``: play games (both seatings),
  print a win/draw/loss table with 95% intervals, write episodes (JSONL) and metadata;
  ``--backend ray [--address ADDR]`` spreads the games over a Ray cluster (same episodes).
- ``spenv replay FILE``: re-run every recorded episode and check it is reproduced exactly.
- ``spenv demo --out DIR``: the reference-agent tournament (see :mod:`spenv.apps.demo`).
- ``spenv train-trl CONFIG``: self-play through TRL's GRPOTrainer
  (:mod:`spenv.integrations.trl_train`).
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from spenv._version import __version__


def _console() -> Console:
    return Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 140)


def _parse_options(items: Sequence[str] | None) -> dict[str, Any]:
    """``key=value`` pairs; values are parsed as JSON when they parse, else kept as text."""
    out: dict[str, Any] = {}
    for item in items or ():
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise SystemExit(f"spenv: options look like key=value, got {item!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _fmt_rate(p: float, lo: float, hi: float) -> str:
    if math.isnan(p):
        return "-"
    return f"{p:.3f} [{lo:.2f},{hi:.2f}]"


def _fmt_mean(m: float, lo: float, hi: float) -> str:
    if math.isnan(m):
        return "-"
    if math.isnan(lo):
        return f"{m:+.3f}"
    return f"{m:+.3f} [{lo:+.2f},{hi:+.2f}]"


def results_table(table: Any, title: str) -> Table:
    """A rich table of a :class:`~spenv.stats.ResultTable` (rates with 95% Wilson intervals)."""
    t = Table(title=title, title_justify="left")
    for col in ("agent", "seat", "games", "win", "draw", "loss", "invalid", "mean reward"):
        t.add_column(col, justify="left" if col in ("agent", "seat") else "right")
    for rec in table.rows():
        t.add_row(
            rec.agent if rec.seat == "all" else "",
            rec.seat,
            str(rec.games),
            _fmt_rate(*rec.rate("win")),
            _fmt_rate(*rec.rate("draw")),
            _fmt_rate(*rec.rate("loss")),
            _fmt_rate(*rec.rate("invalid")),
            _fmt_mean(*rec.mean_reward()),
        )
    return t


# --------------------------------------------------------------------------- commands
def cmd_list_textarena(args: argparse.Namespace) -> int:
    try:
        from spenv.integrations.textarena import list_textarena_envs, textarena_player_counts

        ids = list_textarena_envs()
        counts = textarena_player_counts()
    except ImportError as exc:
        print(f"spenv: {exc}", file=sys.stderr)
        return 2
    rows = []
    for i in ids:
        c = counts.get(i)
        rows.append({"id": f"textarena:{i}", "players": None if c is None else list(c)})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    t = Table(title=f"TextArena environments ({len(rows)})", title_justify="left")
    t.add_column("id")
    t.add_column("players", justify="right")
    for r in rows:
        p = r["players"]
        t.add_row(r["id"], "?" if p is None else (str(p[0]) if p[0] == p[1] else f"{p[0]}-{p[1]}"))
    _console().print(t)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    import spenv

    if args.textarena:
        return cmd_list_textarena(args)
    specs = spenv.specs()
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "id": s.id,
                        "roles": list(s.roles),
                        "description": s.description,
                        "reference_agents": ["random", *s.reference_agents],
                        "source": s.source,
                    }
                    for s in specs
                ],
                indent=2,
            )
        )
        return 0
    t = Table(title="spenv environments", title_justify="left")
    for col in ("id", "roles", "reference agents", "description"):
        t.add_column(col)
    for s in specs:
        t.add_row(
            s.id, ", ".join(s.roles), ", ".join(["random", *s.reference_agents]), s.description
        )
    _console().print(t)
    return 0


def cmd_play(args: argparse.Namespace) -> int:
    import spenv
    from spenv.episode import EpisodeFormatError  # noqa: F401 - keeps import errors early
    from spenv.meta import run_metadata, write_metadata
    from spenv.rollout import Runner
    from spenv.stats import ResultTable

    try:
        es = spenv.spec(args.env)
    except KeyError as exc:
        print(f"spenv: {exc}", file=sys.stderr)
        return 2
    from spenv.agents.specs import AgentSpecError, split_agent_specs

    try:
        agents = split_agent_specs(args.agents) if args.agents else list(es.default_agents)
    except AgentSpecError as exc:
        print(f"spenv: {exc}", file=sys.stderr)
        return 2
    env_options = _parse_options(args.option)
    reset_options = _parse_options(args.reset_option)
    table = ResultTable()
    counted = _DecisionCount(table)
    out = Path(args.out) if args.out else None
    progress = not args.quiet and sys.stderr.isatty()
    if args.backend != "ray" and (
        args.address is not None or args.shard_size is not None or args.gpus_per_task
    ):
        print(
            "spenv: --address, --shard-size and --gpus-per-task go with --backend ray",
            file=sys.stderr,
        )
        return 2
    if args.shard_size is not None and args.shard_size < 1:
        print("spenv: --shard-size must be at least 1", file=sys.stderr)
        return 2
    import time

    from spenv.apps.distributed import DistributedError

    t0 = time.time()
    try:
        if args.backend == "ray":
            labels = _play_on_ray(args, es.id, agents, env_options, reset_options, counted, out)
        else:
            runner = Runner(
                es.id,
                agents,
                games=args.games,
                seed=args.seed,
                swap_seats=not args.no_swap,
                batch_size=args.batch_size,
                env_options=env_options,
                reset_options=reset_options,
                out=out,
                progress=progress,
                on_episode=counted.add,
            )
            labels = runner.labels
            for _ in runner:
                pass
    except (ValueError, TypeError, DistributedError) as exc:
        print(f"spenv: {exc}", file=sys.stderr)
        return 2
    elapsed = time.time() - t0
    if out is not None:
        write_metadata(
            out.with_name(out.name + ".meta.json"),
            run_metadata(
                command="play",
                env_id=es.id,
                env_options=env_options,
                reset_options=reset_options,
                agents=labels,
                games=args.games,
                seed=args.seed,
                swap_seats=not args.no_swap,
                batch_size=args.batch_size,
                backend=args.backend,
                address=args.address,
                shard_size=args.shard_size,
                episodes=out.name,
                elapsed=elapsed,
                results=table.to_dict(),
            ),
        )
    con = _console()
    seats = "both seatings" if not args.no_swap else "fixed seats"
    con.print(results_table(table, f"{es.id}: {args.games} games, {seats}, seed {args.seed}"))
    con.print("rates with 95% Wilson intervals; mean reward with a 95% normal interval")
    con.print(counted.summary(elapsed))
    if out is not None:
        con.print(f"episodes: {out}  metadata: {out.name}.meta.json")
    return 0


class _DecisionCount:
    """Passes episodes on to ``table.add`` and counts their decisions (turns)."""

    def __init__(self, table: Any) -> None:
        self.table = table
        self.decisions = 0

    def add(self, ep: Any) -> None:
        self.table.add(ep)
        self.decisions += len(ep.turns)

    def summary(self, seconds: float) -> str:
        rate = self.decisions / seconds if seconds > 0 else float("inf")
        return f"{self.decisions:,} decisions in {seconds:.2f} s: {rate:,.0f} decisions/s"


def _play_on_ray(
    args: argparse.Namespace,
    env_id: str,
    agents: list[str],
    env_options: dict[str, Any],
    reset_options: dict[str, Any],
    table: Any,
    out: Path | None,
) -> list[str]:
    """``spenv play --backend ray``: shards of games on Ray workers, episodes in game order.

    The workers build the env and the agents from their specs; the episodes are the ones the
    local backend plays (see :mod:`spenv.apps.distributed`). Returns the agents' labels.
    """
    from spenv.apps.distributed import play_sharded
    from spenv.episode import EpisodeWriter
    from spenv.rollout import ProgressBar, unique_labels

    labels = unique_labels(agents)  # as the local runner labels agent specs
    writer = EpisodeWriter(out) if out is not None else None
    bar = ProgressBar(args.games, env_id) if not args.quiet and sys.stderr.isatty() else None
    try:
        for ep in play_sharded(
            env_id,
            agents,
            games=args.games,
            seed=args.seed,
            swap_seats=not args.no_swap,
            batch_size=args.batch_size,
            env_options=env_options,
            reset_options=reset_options,
            shard_size=args.shard_size,
            backend="ray",
            address=args.address,
            max_retries=args.max_retries,
            num_gpus_per_task=args.gpus_per_task,
        ):
            if writer is not None:
                writer.write(ep)
            table.add(ep)
            if bar is not None:
                bar.advance()
    finally:
        if writer is not None:
            writer.close()
        if bar is not None:
            bar.close()
    return labels


def cmd_replay(args: argparse.Namespace) -> int:
    from spenv.episode import EpisodeFormatError, read_episodes
    from spenv.rollout import ReplayMismatch, replay

    ok = bad = skipped = 0
    errors: list[str] = []
    con = _console()
    try:
        episodes = read_episodes(
            args.file, skip_bad=args.skip_bad, errors=errors, strict=args.strict
        )
        for i, ep in enumerate(episodes):
            if i < args.show:
                con.print(transcript(ep))
            if ep.status == "error":
                skipped += 1
                continue
            try:
                replay(ep)
                ok += 1
            except ReplayMismatch as exc:
                bad += 1
                con.print(f"[red]mismatch[/red] {exc}")
            except (ValueError, KeyError) as exc:
                bad += 1
                con.print(f"[red]cannot replay[/red] episode {ep.id}: {exc}")
    except (OSError, EpisodeFormatError) as exc:
        print(f"spenv: {exc}", file=sys.stderr)
        return 2
    for e in errors:
        con.print(f"[yellow]skipped[/yellow] {e}")
    con.print(
        f"replayed {ok + bad} episodes: {ok} reproduced, {bad} mismatched"
        + (f", {skipped} env errors not replayable" if skipped else "")
        + (f", {len(errors)} malformed lines skipped" if errors else "")
    )
    return 1 if bad else 0


def transcript(ep: Any) -> str:
    """A readable account of an episode."""
    lines = [f"episode {ep.id} · {ep.env_id} · seed {ep.seed}"]
    for t in ep.turns:
        who = ep.players.get(t.agent, t.agent)
        status = f"-> {t.move}" if t.valid else f"INVALID ({t.error})"
        action = (t.action or "")[:120].replace("\n", " ")
        lines.append(f"  {t.index:>3} {t.agent} ({who}): {action!r} {status}")
    lines.append(f"  rewards {ep.rewards} · outcomes {ep.outcomes}")
    return "\n".join(lines)


def cmd_demo(args: argparse.Namespace) -> int:
    from spenv.apps.demo import run_demo

    envs = [e.strip() for e in args.env.split(",") if e.strip()] if args.env else None
    try:
        return run_demo(
            out=Path(args.out),
            games=args.games,
            seed=args.seed,
            quiet=args.quiet,
            budget=args.budget,
            envs=envs,
        )
    except KeyError as exc:  # an unknown --env id
        print(f"spenv: {exc}", file=sys.stderr)
        return 2


# --------------------------------------------------------------------------- parser
COMMAND_MODULES: tuple[str, ...] = (
    "spenv.leaderboard.cli",
    "spenv.benchmarks.cli",
    "spenv.agents.train.cli",
    "spenv.integrations.trl_train",
    "spenv.agents.train.dataset",
    "spenv.agents.serve",
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="spenv", description="Multi-agent text environments for language-model self-play."
    )
    p.add_argument("--version", action="version", version=f"spenv {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    pl = sub.add_parser("list", help="list registered environments")
    pl.add_argument("--json", action="store_true", help="machine-readable output")
    pl.add_argument(
        "--textarena", action="store_true", help="list TextArena games (ids textarena:<Id>)"
    )
    pl.set_defaults(func=cmd_list)

    pp = sub.add_parser("play", help="play games between agents and print the results")
    pp.add_argument("env", help="env id, e.g. KuhnPoker-v1")
    pp.add_argument(
        "--agents",
        help="comma-separated agent specs, one per seat (default: the game's reference agents)",
    )
    pp.add_argument("--games", type=int, default=100, help="number of games in all (default 100)")
    pp.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    pp.add_argument("--out", help="write episodes to this JSONL file (+ FILE.meta.json)")
    pp.add_argument("--batch-size", type=int, default=64, help="games played at once")
    pp.add_argument("--no-swap", action="store_true", help="keep the seats fixed")
    pp.add_argument(
        "-o", "--option", action="append", metavar="KEY=VALUE", help="env constructor option"
    )
    pp.add_argument(
        "-r", "--reset-option", action="append", metavar="KEY=VALUE", help="env reset option"
    )
    pp.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    pp.add_argument(
        "--backend",
        choices=("local", "ray"),
        default="local",
        help="local: this process; ray: shards of games on a Ray cluster (same episodes)",
    )
    pp.add_argument(
        "--address",
        help="Ray cluster: auto, HEAD:6379 or ray://HEAD:10001 (default: $RAY_ADDRESS, "
        "else a local cluster)",
    )
    pp.add_argument(
        "--shard-size",
        type=int,
        metavar="K",
        help="games per Ray task (default: about four tasks per cluster CPU)",
    )
    pp.add_argument(
        "--max-retries",
        type=int,
        default=3,
        help="times a Ray task is re-run when its worker dies (default 3)",
    )
    pp.add_argument(
        "--gpus-per-task",
        type=float,
        default=0,
        metavar="G",
        help="GPUs each Ray task reserves (for hf: or vllm: agents; default 0)",
    )
    pp.set_defaults(func=cmd_play)

    pr = sub.add_parser("replay", help="re-run recorded episodes and check they reproduce")
    pr.add_argument("file", help="a JSONL file of episodes")
    pr.add_argument("--show", type=int, default=0, metavar="K", help="print the first K")
    pr.add_argument("--skip-bad", action="store_true", help="skip malformed lines")
    pr.add_argument(
        "--strict",
        action="store_true",
        help="fail on a torn last line (by default it is skipped and reported)",
    )
    pr.set_defaults(func=cmd_replay)

    pd = sub.add_parser(
        "demo", help="round robins of the reference agents on every game, rated, with a page"
    )
    pd.add_argument("--out", default="demo-out", help="output folder (default demo-out)")
    pd.add_argument(
        "--games",
        type=int,
        default=400,
        help="games per pairing, both seatings (default 400; slow games play what fits)",
    )
    pd.add_argument(
        "--budget",
        type=float,
        default=90.0,
        metavar="SECONDS",
        help="seconds of play after a short pilot, shared out by each game's measured cost "
        "(default 90)",
    )
    pd.add_argument("--env", metavar="IDS", help="comma-separated env ids (default: all)")
    pd.add_argument("--seed", type=int, default=0)
    pd.add_argument("-q", "--quiet", action="store_true")
    pd.set_defaults(func=cmd_demo)

    # Command groups that live with their subsystem. Each module defines ``add_parser(sub)`` and
    # imports its heavy dependencies only when its command runs, so ``spenv --help`` stays fast.
    for module in COMMAND_MODULES:
        importlib.import_module(module).add_parser(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "games", 1) is not None and getattr(args, "games", 1) < 0:
        print("spenv: --games must be non-negative", file=sys.stderr)
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
