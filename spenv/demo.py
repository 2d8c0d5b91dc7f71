"""The demo: a round-robin tournament of the reference agents (``spenv demo``, ``make demo``).

Every pair of Kuhn poker reference agents plays ``games`` hands, half in each seating with the
same deals, through the batched rollout engine. The demo writes to ``out``:

- ``episodes.jsonl``: every game, replayable with ``spenv replay``;
- ``standings.json`` and ``standings.md``: per agent the mean chips per hand against the field
  (95% interval), win/loss rates, and its exact exploitability; the head-to-head matrix;
- ``meta.json``: git SHA, package versions, seeds, settings.

It runs offline in seconds and prints the standings.
"""

from __future__ import annotations

import itertools
import json
import math
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from spenv.episode import EpisodeWriter
from spenv.meta import run_metadata, write_metadata
from spenv.rollout import Runner
from spenv.stats import ResultTable, mean_ci

ENV_ID = "KuhnPoker-v1"
AGENTS = ("nash", "random", "aggressive", "passive", "honest")


def agent_exploitability(spec: str) -> float:
    """Exact exploitability of a Kuhn reference agent's strategy table."""
    from spenv.agents import RandomAgent, make_agent
    from spenv.games.kuhn_poker import exploitability, policy_of, uniform_policy

    agent = make_agent(spec, ENV_ID, seed=0)
    if isinstance(agent, RandomAgent):
        return exploitability(uniform_policy())
    table = getattr(agent, "policy", None)
    return exploitability(table if table is not None else policy_of(agent, samples=200))


def run_demo(
    out: Path, games: int = 500, seed: int = 0, quiet: bool = False, agents: tuple = AGENTS
) -> int:
    out.mkdir(parents=True, exist_ok=True)
    console = Console(quiet=quiet, highlight=False)
    t0 = time.time()
    overall = ResultTable()
    pair_means: dict[tuple[str, str], tuple[float, float, float]] = {}
    with EpisodeWriter(out / "episodes.jsonl") as writer:
        for i, (a, b) in enumerate(itertools.combinations(agents, 2)):
            pair = ResultTable()

            def record(ep: Any, pair: ResultTable = pair) -> None:
                writer.write(ep)
                pair.add(ep)
                overall.add(ep)

            runner = Runner(
                ENV_ID,
                [a, b],
                games=games,
                seed=seed + 1000 * i,
                batch_size=256,
                on_episode=record,
            )
            for _ in runner:
                pass
            ra, rb = pair.records[(a, "all")], pair.records[(b, "all")]
            pair_means[(a, b)] = mean_ci(ra.rewards)
            pair_means[(b, a)] = mean_ci(rb.rewards)
    elapsed = time.time() - t0

    standings = []
    for name in agents:
        rec = overall.records[(name, "all")]
        m, lo, hi = rec.mean_reward()
        standings.append(
            {
                "agent": name,
                "games": rec.games,
                "mean_chips": m,
                "mean_chips_ci": [lo, hi],
                "win_rate": rec.rate("win")[0],
                "loss_rate": rec.rate("loss")[0],
                "invalid": rec.outcomes.get("invalid", 0),
                "exploitability": agent_exploitability(name),
            }
        )
    standings.sort(key=lambda r: -r["mean_chips"])
    matrix = {a: {b: pair_means[(a, b)][0] for b in agents if b != a} for a in agents}
    result = {
        "env_id": ENV_ID,
        "games_per_pairing": games,
        "standings": standings,
        "head_to_head": matrix,
    }
    (out / "standings.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (out / "standings.md").write_text(_markdown(result, agents), encoding="utf-8")
    write_metadata(
        out / "meta.json",
        run_metadata(
            command="demo",
            env_id=ENV_ID,
            agents=list(agents),
            games_per_pairing=games,
            seed=seed,
            elapsed=elapsed,
            episodes=overall.episodes,
        ),
    )

    t = Table(
        title=f"Kuhn poker round robin: {len(agents)} reference agents, {games} hands a pairing",
        title_justify="left",
    )
    for col in ("rank", "agent", "hands", "chips/hand [95% CI]", "win", "loss", "exploitability"):
        t.add_column(col, justify="left" if col == "agent" else "right")
    for rank, r in enumerate(standings, 1):
        lo, hi = r["mean_chips_ci"]
        t.add_row(
            str(rank),
            r["agent"],
            str(r["games"]),
            f"{r['mean_chips']:+.3f} [{lo:+.3f}, {hi:+.3f}]",
            f"{r['win_rate']:.3f}",
            f"{r['loss_rate']:.3f}",
            f"{r['exploitability']:.3f}",
        )
    console.print(t)
    h = Table(title="head to head: mean chips per hand of row against column", title_justify="left")
    h.add_column("")
    for b in agents:
        h.add_column(b, justify="right")
    for a in agents:
        h.add_row(a, *("" if a == b else f"{matrix[a][b]:+.3f}" for b in agents))
    console.print(h)
    console.print(
        "Chips against the field reward exploiting the weak agents; exploitability is what a "
        "best response would win against each agent (0 for the equilibrium player)."
    )
    console.print(
        f"{overall.episodes} games in {elapsed:.1f}s. Wrote {out}/episodes.jsonl, "
        f"standings.json, standings.md, meta.json"
    )
    return 0


def _markdown(result: dict[str, Any], agents: tuple) -> str:
    lines = [
        f"# Kuhn poker round robin ({result['games_per_pairing']} hands a pairing)",
        "",
        "| rank | agent | hands | chips/hand | 95% CI | win | loss | exploitability |",
        "|---:|---|---:|---:|---|---:|---:|---:|",
    ]
    for rank, r in enumerate(result["standings"], 1):
        lo, hi = r["mean_chips_ci"]
        lines.append(
            f"| {rank} | {r['agent']} | {r['games']} | {r['mean_chips']:+.3f} | "
            f"[{lo:+.3f}, {hi:+.3f}] | {r['win_rate']:.3f} | {r['loss_rate']:.3f} | "
            f"{r['exploitability']:.3f} |"
        )
    lines += ["", "## Head to head (row's mean chips per hand against column)", ""]
    lines.append("| | " + " | ".join(agents) + " |")
    lines.append("|---|" + "---:|" * len(agents))
    for a in agents:
        cells = [
            ""
            if a == b or math.isnan(result["head_to_head"][a][b])
            else f"{result['head_to_head'][a][b]:+.3f}"
            for b in agents
        ]
        lines.append(f"| {a} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
