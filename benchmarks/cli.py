"""``spenv eval``: transfer benchmarks, run comparisons, games against fixed opponents.

- ``spenv eval transfer --agent SPEC --suites LIST --out DIR``: math, reasoning and code suites
  (:mod:`spenv.benchmarks.transfer`); rerunning the same command resumes.
- ``spenv eval compare RUN_A RUN_B --out DIR``: per-suite paired bootstrap differences, a
  Markdown report and a PNG chart (:mod:`spenv.benchmarks.compare`).
- ``spenv eval games --agent SPEC --opponents LIST --env IDS --games N --out DIR``: win, draw,
  loss and invalid rates with intervals (:mod:`spenv.benchmarks.games`).

Everything heavy is imported inside the command functions, so ``spenv --help`` stays fast.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any


def _fmt(m: Any) -> str:
    if not isinstance(m, dict) or m.get("mean") is None or math.isnan(m["mean"]):
        return "-"
    lo, hi = m["ci"]
    return f"{m['mean']:.3f} [{lo:.2f},{hi:.2f}]"


def cmd_transfer(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from spenv.apps.distributed import DistributedError
    from spenv.benchmarks.suites import resolve_suites
    from spenv.benchmarks.transfer import ConfigMismatch, run_transfer

    try:
        suites = resolve_suites(args.suites)
        results = run_transfer(
            args.agent,
            suites,
            out=args.out,
            data_dir=args.data_dir,
            n=args.n,
            limit=args.limit,
            template=args.template,
            temperature=args.temperature,
            top_p=args.top_p,
            max_tokens=args.max_tokens,
            seed=args.seed,
            batch_size=args.batch_size,
            backend=args.backend,
            address=args.address,
            gpus_per_task=args.gpus_per_task,
            max_retries=args.max_retries,
            source=args.source,
            restart=args.restart,
            allow_mixed=args.allow_mixed,
            retry_errors=args.retry_errors,
            progress=not args.quiet and sys.stderr.isatty(),
            run=args.run,
        )
    except (ConfigMismatch, ValueError, FileNotFoundError, DistributedError) as exc:
        print(f"spenv: {exc}", file=sys.stderr)
        return 2
    t = Table(title=f"transfer: {args.agent} (template {args.template}, n={args.n})")
    cols = ["suite", "items", "pass@1"]
    extra = [k for m in results["suites"].values() for k in m if k.startswith(("pass@", "maj@"))]
    extra = [k for k in dict.fromkeys(extra) if k != "pass@1"]
    for c in [*cols, *extra, "format errors"]:
        t.add_column(c, justify="left" if c == "suite" else "right")
    for s, m in results["suites"].items():
        fe = m.get("format_error_rate")
        t.add_row(
            s,
            str(m.get("items", 0)),
            _fmt(m.get("pass@1")),
            *[_fmt(m.get(k)) for k in extra],
            "-" if fe is None or math.isnan(fe) else f"{fe:.3f}",
        )
    con = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    con.print(t)
    con.print(f"95% bootstrap intervals over items; results in {args.out}/results.json")
    overlap = results.get("training_overlap")
    if overlap:
        for note in overlap["notes"]:
            con.print(f"[yellow]training overlap: {note}[/yellow]")
        if not overlap["notes"]:
            srcs = "; ".join(f"{x['env']}: {x['source']}" for x in overlap["sources"]) or "none"
            con.print(
                f"no suite overlaps the training problems of {overlap['run']} "
                f"(problem sources: {srcs})"
            )
    failed = sum(
        m.get("status_counts", {}).get("agent_error", 0) for m in results["suites"].values()
    )
    if failed:
        con.print(
            f"[yellow]{failed} samples failed in the agent (counted wrong); the records say why. "
            "Rerun with --retry-errors to ask again for those items.[/yellow]"
        )
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from spenv.benchmarks.compare import render_markdown, write_comparison

    out = args.out or "compare-out"
    try:
        cmp = write_comparison(args.run_a, args.run_b, out, seed=args.seed)
    except (FileNotFoundError, ValueError) as exc:
        print(f"spenv: {exc}", file=sys.stderr)
        return 2
    print(render_markdown(cmp))
    print(f"report: {out}/compare.md  chart: {out}/compare.png")
    return 0


def _parse_env_options(items: list[str] | None) -> dict[str, dict[str, Any]]:
    import json

    out: dict[str, dict[str, Any]] = {}
    for item in items or ():
        env, colon, kv = item.partition(":")
        key, eq, value = kv.partition("=")
        if not colon or not eq or not key:
            raise ValueError(f"env options look like ENV:KEY=VALUE, got {item!r}")
        try:
            out.setdefault(env, {})[key] = json.loads(value)
        except json.JSONDecodeError:
            out.setdefault(env, {})[key] = value
    return out


def cmd_games(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from spenv.agents import AgentSpecError
    from spenv.apps.distributed import DistributedError
    from spenv.benchmarks.games import GameConfigMismatch, run_game_eval

    try:
        results = run_game_eval(
            args.agent,
            [o.strip() for o in args.opponents.split(",") if o.strip()],
            args.env,
            out=args.out,
            games=args.games,
            seed=args.seed,
            batch_size=args.batch_size,
            env_options=_parse_env_options(args.option),
            backend=args.backend,
            address=args.address,
            gpus_per_task=args.gpus_per_task,
            max_retries=args.max_retries,
            metric_samples=args.metric_samples,
            restart=args.restart,
            progress=not args.quiet and sys.stderr.isatty(),
        )
    except (GameConfigMismatch, AgentSpecError, ValueError, KeyError, DistributedError) as exc:
        print(f"spenv: {exc}", file=sys.stderr)
        return 2

    def rate(e: dict, o: str) -> str:
        lo, hi = e[f"{o}_rate_ci"]
        return f"{e[f'{o}_rate']:.3f} [{lo:.2f},{hi:.2f}]"

    t = Table(title=f"games: {args.agent}, {args.games} games per seat, seed {args.seed}")
    for c in ("env", "opponent", "games", "win", "draw", "loss", "invalid", "mean reward"):
        t.add_column(c, justify="left" if c in ("env", "opponent") else "right")
    for env_id, per_opp in results["envs"].items():
        for opp, e in per_opp.items():
            if "skipped" in e:
                t.add_row(env_id, opp, "-", e["skipped"], "", "", "", "")
                continue
            m, lo, hi = e["mean_reward"], *e["mean_reward_ci"]
            mr = f"{m:+.3f}" if math.isnan(lo) else f"{m:+.3f} [{lo:+.2f},{hi:+.2f}]"
            t.add_row(
                env_id,
                opp,
                str(e["games"]),
                rate(e, "win"),
                rate(e, "draw"),
                rate(e, "loss"),
                rate(e, "invalid"),
                mr,
            )
    con = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    con.print(t)
    for env_id, reports in results.get("agent_metrics", {}).items():
        for key, rep in reports.items():
            con.print(f"{env_id} {rep.get('label', key).lower()}: {rep['value']:.4f}")
    for env_id, per_opp in results["envs"].items():
        for opp, e in per_opp.items():
            if "judge" in e:
                j = e["judge"]
                con.print(
                    f"{env_id} vs {opp}: judge accuracy {j['accuracy']:.3f} "
                    f"[{j['accuracy_ci'][0]:.2f},{j['accuracy_ci'][1]:.2f}] over {j['judged']} "
                    f"debates ({j['no_verdict']} without a verdict)"
                )
    con.print(f"rates with 95% Wilson intervals; results in {args.out}/results.json")
    return 0


def _add_backend(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", choices=("local", "ray"), default="local", help="where shards run")
    p.add_argument("--address", help="Ray cluster address (ray backend; default: RAY_ADDRESS)")
    p.add_argument(
        "--gpus-per-task",
        type=float,
        default=0,
        help="GPUs each Ray task reserves (for hf: or vllm: agents; default 0)",
    )
    p.add_argument(
        "--max-retries", type=int, default=3, help="re-runs of a Ray task whose worker died"
    )


def add_parser(sub: Any) -> None:
    """Register ``spenv eval`` and its subcommands."""
    pe = sub.add_parser("eval", help="evaluate agents: transfer benchmarks, comparisons, games")
    esub = pe.add_subparsers(dest="eval_command", required=True)

    pt = esub.add_parser("transfer", help="math, reasoning and code benchmarks")
    pt.add_argument("--agent", required=True, help="agent spec (hf:PATH, openai:MODEL@URL, ...)")
    pt.add_argument("--suites", default="math", help="suites and groups, comma-separated")
    pt.add_argument(
        "--data-dir",
        help="benchmark folder (default: $SPENV_DATA, else the data shipped with spenv)",
    )
    pt.add_argument(
        "--source", choices=("auto", "file", "hub"), default="auto", help="where data comes from"
    )
    pt.add_argument("--n", type=int, default=1, help="samples per problem (default 1)")
    pt.add_argument("--limit", type=int, help="only the first M problems of each suite")
    pt.add_argument("--template", default="boxed", help="prompt template: boxed, plain, chat")
    pt.add_argument("--temperature", type=float)
    pt.add_argument("--top-p", type=float)
    pt.add_argument("--max-tokens", type=int)
    pt.add_argument("--seed", type=int, default=0)
    pt.add_argument("--batch-size", type=int, default=32, help="problems per agent batch/shard")
    pt.add_argument("--out", required=True, help="results folder (resumed when it exists)")
    pt.add_argument("--restart", action="store_true", help="discard earlier results in --out")
    pt.add_argument(
        "--allow-mixed", action="store_true", help="add to results of a different config"
    )
    pt.add_argument(
        "--retry-errors",
        action="store_true",
        help="ask again for items on file with a sample the agent failed to produce",
    )
    pt.add_argument(
        "--run",
        help="the training run the agent came from (its folder, a checkpoint, or config.yaml): "
        "suites whose problems it trained on are noted (found by itself for hf:RUN/checkpoints/..)",
    )
    pt.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _add_backend(pt)
    pt.set_defaults(func=cmd_transfer)

    pc = esub.add_parser("compare", help="compare two transfer runs")
    pc.add_argument("run_a")
    pc.add_argument("run_b")
    pc.add_argument("--out", help="report folder (default compare-out)")
    pc.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    pc.set_defaults(func=cmd_compare)

    pg = esub.add_parser("games", help="an agent against fixed opponents")
    pg.add_argument("--agent", required=True, help="agent spec")
    pg.add_argument(
        "--opponents",
        default="random,scripted",
        help="random, scripted, equilibrium or agent specs, comma-separated",
    )
    pg.add_argument(
        "--env", default="in-domain", help="env ids or groups (in-domain, out-of-domain, all)"
    )
    pg.add_argument("--games", type=int, default=100, help="games per seat (default 100)")
    pg.add_argument("--seed", type=int, default=0)
    pg.add_argument("--batch-size", type=int, default=64, help="games played at once")
    pg.add_argument(
        "-o", "--option", action="append", metavar="ENV:KEY=VALUE", help="env constructor option"
    )
    pg.add_argument(
        "--metric-samples",
        type=int,
        default=100,
        help="answers per question for the games' agent measurements (Kuhn: per information set)",
    )
    pg.add_argument("--out", required=True, help="results folder")
    pg.add_argument("--restart", action="store_true", help="discard earlier results in --out")
    pg.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _add_backend(pg)
    pg.set_defaults(func=cmd_games)
