"""The demo: a round-robin tournament of the reference agents on every registered game.

``spenv demo`` (``make demo``) takes every env id in the registry (:func:`spenv.registry.specs`;
games added later are picked up without changes here) and plays, for each, every pair of its
agents (``random`` and the game's reference agents) in both seatings on the same seeds, through
the batched rollout engine. It writes to ``out``:

- ``episodes/<env id>.jsonl``: every game, replayable with ``spenv replay``;
- ``leaderboard.db``: the match store the episode files were imported into
  (``spenv leaderboard serve out/leaderboard.db`` serves it);
- ``ratings.json``: Elo, Bradley–Terry with 95% bootstrap intervals, TrueSkill, records and the
  head-to-head matrix per game and overall (the page's data);
- ``index.html``: the leaderboard page (open it in a browser; it needs no network);
- ``standings.md``: the same standings as Markdown; ``meta.json``: git SHA, versions, settings.

Verifier backends are real: before a game runs, the programs its registry entry requires
(``requires``: coqc for proofs, bubblewrap for the code sandbox) are probed with the
verifiers' own availability checks; a game whose backend is missing is skipped, never run on a
weaker fallback, and the summary and the page say so with the install command. A game's
``agent_metrics`` (Kuhn poker's exploitability) become extra columns of its standings.

Time is budgeted by cost: a short pilot (one game per seating per pairing)
measures each game's seconds per game, then ``budget`` seconds are shared out for the rest, so
that cheap games play the full ``games`` per pairing and slow ones as many as fit.
"""

from __future__ import annotations

import itertools
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from spenv.episode import Episode, EpisodeWriter
from spenv.meta import run_metadata, write_metadata
from spenv.rollout import Runner

#: Games per pairing when the time budget allows (both seatings, same seeds).
DEFAULT_GAMES = 400
#: Seconds of play after the pilot games, shared out among the games by their measured cost.
DEFAULT_BUDGET = 90.0


def _probe_coqc() -> tuple[bool, str]:
    from spenv.verifiers.proof import CoqChecker

    ok = CoqChecker().available()
    return ok, "" if ok else "coqc (Coq) is not installed: apt-get install coq"


def _probe_bwrap() -> tuple[bool, str]:
    from spenv.verifiers.code import bwrap_available

    ok = bwrap_available()
    return ok, "" if ok else "bubblewrap does not run sandboxes here: apt-get install bubblewrap"


#: Availability checks of the verifier backends: name -> () -> (available, why not).
BACKEND_PROBES: dict[str, Callable[[], tuple[bool, str]]] = {
    "coqc": _probe_coqc,
    "bwrap": _probe_bwrap,
}


def backend_status(names: Sequence[str]) -> dict[str, tuple[bool, str]]:
    """Probe each named backend (a probe that fails counts as missing, with its error)."""
    out = {}
    for name in names:
        probe = BACKEND_PROBES.get(name)
        if probe is None:
            out[name] = (False, f"no availability check for backend {name!r}")
            continue
        try:
            out[name] = probe()
        except Exception as exc:  # an import error or a broken binary: missing, say why
            out[name] = (False, f"{name} check failed: {type(exc).__name__}: {exc}")
    return out


def agent_metric_columns(
    spec: Any, agents: Sequence[str]
) -> tuple[list[dict[str, Any]], dict[str, dict[str, float]]]:
    """The page's extra columns for a game and their values: one column per ``agent_metrics``
    entry of the game's registry entry, each agent (built from its spec with seed 0) measured
    once; the column's label, direction and note come from the reports."""
    from spenv.agents import make_agent

    if not spec.agent_metrics or not agents:
        return [], {}
    reports = {a: spec.measure_agent(make_agent(a, spec.id, seed=0)) for a in agents}
    first = reports[agents[0]]
    columns = [
        {
            "key": key,
            "label": first[key].get("label", key),
            "better": first[key].get("better", "higher"),
            "note": first[key].get("note", ""),
        }
        for key in spec.agent_metrics
    ]
    values = {key: {a: reports[a][key]["value"] for a in agents} for key in spec.agent_metrics}
    return columns, values


@dataclass
class GameRun:
    """What the demo did with one game."""

    env_id: str
    agents: list[str]
    pairings: list[tuple[str, str]] = field(default_factory=list)
    #: Pairings played in one seating only (an agent that cannot play the other seat).
    one_way: list[tuple[str, str]] = field(default_factory=list)
    backends: dict[str, tuple[bool, str]] = field(default_factory=dict)
    skipped: str | None = None
    notes: list[str] = field(default_factory=list)
    #: Constructor options (a backend fallback).
    env_options: dict[str, Any] = field(default_factory=dict)
    games_per_pairing: int = 0
    capped: bool = False
    episodes: int = 0
    decisions: int = 0
    env_errors: int = 0
    invalid: int = 0
    seconds: float = 0.0
    pilot_seconds: float = 0.0
    pilot_games: int = 0

    @property
    def decisions_per_second(self) -> float:
        """Decisions (turns) per second of play, pilot included."""
        return self.decisions / self.seconds if self.seconds > 0 else 0.0

    @property
    def seconds_per_game(self) -> float:
        return self.pilot_seconds / self.pilot_games if self.pilot_games else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "env_id": self.env_id,
            "agents": self.agents,
            "pairings": [list(p) for p in self.pairings],
            "one_way": [list(p) for p in self.one_way],
            "backends": {k: {"available": v[0], "reason": v[1]} for k, v in self.backends.items()},
            "skipped": self.skipped,
            "notes": self.notes,
            "env_options": self.env_options,
            "games_per_pairing": self.games_per_pairing,
            "capped_by_budget": self.capped,
            "episodes": self.episodes,
            "decisions": self.decisions,
            "decisions_per_s": self.decisions_per_second,
            "env_errors": self.env_errors,
            "invalid": self.invalid,
            "seconds": self.seconds,
            "seconds_per_game": self.seconds_per_game,
        }


def lineup(spec: Any) -> list[str]:
    """The agents of a game's round robin: ``random`` and its reference agents."""
    out = ["random"]
    for name in spec.reference_agents:
        if name not in out:
            out.append(name)
    return out


def _failed_seats(episodes: Sequence[Episode]) -> dict[str, set[str]]:
    """Per agent, the seats where every one of its turns failed with an agent exception (the
    agent cannot play that role); seats where it ever acted are left out."""
    tried: dict[tuple[str, str], list[bool]] = {}
    for ep in episodes:
        for t in ep.turns:
            label = ep.players.get(t.agent, t.agent)
            failed = (not t.valid) and str(t.error or "").startswith("agent failed")
            tried.setdefault((label, t.agent), []).append(failed)
    out: dict[str, set[str]] = {}
    for (label, seat), flags in tried.items():
        if flags and all(flags):
            out.setdefault(label, set()).add(seat)
    return out


def _play_pairings(
    run: GameRun, games: int, offset: int, seed: int, on_episode: Callable[[Episode], None]
) -> None:
    """Play ``games`` more games of every pairing of ``run``, after ``offset`` already played
    (seeds continue where they stopped, so no deal repeats)."""
    for i, pair in enumerate(run.pairings):
        one_way = next((p for p in run.one_way if set(p) == set(pair)), None)
        for _ in Runner(
            run.env_id,
            list(one_way or pair),
            games=games,
            seed=seed + 1_000_000 * i + offset,
            swap_seats=one_way is None,
            env_options=run.env_options,
            batch_size=256,
            on_episode=on_episode,
        ):
            pass


def _tally(run: GameRun, ep: Episode) -> None:
    run.episodes += 1
    run.decisions += len(ep.turns)
    if ep.status == "error":
        run.env_errors += 1
    elif "invalid" in ep.outcomes.values():
        run.invalid += 1


def run_demo(
    out: Path,
    games: int = DEFAULT_GAMES,
    seed: int = 0,
    quiet: bool = False,
    *,
    budget: float = DEFAULT_BUDGET,
    envs: Sequence[str] | None = None,
    n_boot: int = 200,
) -> int:
    """Play the tournament, rate it, write the files and print the summary; returns 0."""
    import spenv
    from spenv.leaderboard.page import leaderboard_data, render_html
    from spenv.leaderboard.store import MatchStore

    # Piped output (CI logs, files) gets room for the tables rather than rich's default 80.
    console = Console(quiet=quiet, highlight=False, width=None if sys.stdout.isatty() else 110)
    specs = spenv.registry.specs()
    if envs:  # an unknown id raises KeyError before anything is written
        wanted = {spenv.registry.spec(e).id for e in envs}
        specs = [s for s in specs if s.id in wanted]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ep_dir = out / "episodes"
    ep_dir.mkdir(exist_ok=True)
    # A fresh run: the files this demo writes are replaced, never mixed with an earlier run.
    for old in [*ep_dir.glob("*.jsonl"), *out.glob("leaderboard.db*")]:
        old.unlink()
    t_start = time.perf_counter()

    needed = sorted({name for s in specs for name in s.requires})
    status = backend_status(needed)

    runs: list[GameRun] = []
    writers: dict[str, EpisodeWriter] = {}
    held: dict[str, list[Episode]] = {}
    pilot_n = min(2, games)

    def record(run: GameRun, keep: bool = False) -> Callable[[Episode], None]:
        def on_episode(ep: Episode) -> None:
            writers[run.env_id].write(ep)
            if keep:  # pilot games are kept to see which seats each agent can play
                held.setdefault(run.env_id, []).append(ep)
            _tally(run, ep)

        return on_episode

    # 1. Pilot: one game per seating per pairing, which also measures each game's cost.
    for s in specs:
        run = GameRun(env_id=s.id, agents=lineup(s))
        runs.append(run)
        for name in s.requires:
            ok, why = run.backends[name] = status[name]
            if not ok:
                run.skipped = f"backend {name} missing ({why})"
                break
        if run.skipped:
            continue
        if len(s.roles) != 2:
            run.skipped = f"{len(s.roles)} seats: the round robin rates two-seat games only"
            continue
        run.pairings = list(itertools.combinations(run.agents, 2))
        if not run.pairings or games == 0:
            run.skipped = "no pairings to play" if not run.pairings else "--games 0"
            continue
        writers[s.id] = EpisodeWriter(ep_dir / f"{s.id}.jsonl")
        try:
            with console.status(f"{s.id}: pilot games"):
                # Build the env and the agents once untimed: the first build imports the
                # game's modules, a one-off cost that is not the cost of a game.
                for pair in run.pairings:
                    Runner(s.id, list(pair), games=0, seed=seed, env_options=run.env_options)
                t0 = time.perf_counter()
                for i, pair in enumerate(run.pairings):
                    for _ in Runner(
                        s.id,
                        list(pair),
                        games=pilot_n,
                        seed=seed + 1_000_000 * i,
                        env_options=run.env_options,
                        batch_size=256,
                        on_episode=record(run, keep=True),
                    ):
                        pass
        except Exception as exc:  # the env cannot be built or reset here: skip it, say why
            run.skipped = f"cannot run: {type(exc).__name__}: {exc}"
            writers.pop(s.id).close()
            (ep_dir / f"{s.id}.jsonl").unlink(missing_ok=True)
            held.pop(s.id, None)
            run.episodes = run.decisions = run.env_errors = run.invalid = 0
            continue
        run.pilot_seconds = time.perf_counter() - t0
        run.pilot_games = run.episodes
        run.seconds = run.pilot_seconds
        # Agents that cannot play a seat (every turn there raised) play the other seat only.
        bad = _failed_seats(held.get(s.id, []))
        seats = list(s.roles)
        for a, b in run.pairings:
            ok = [
                (x, y)
                for x, y in ((a, b), (b, a))
                if seats[0] not in bad.get(x, set()) and seats[1] not in bad.get(y, set())
            ]
            if len(ok) == 1:
                run.one_way.append(ok[0])
        for a, seat_set in sorted(bad.items()):
            run.notes.append(f"{a} cannot play {', '.join(sorted(seat_set))}: plays the other seat")

    # 2. Share the budget by measured cost, then play the rest of each round robin: the cheap
    # games first, each up to an equal share of what is left, so their savings go to the slow
    # ones. A game plays in two steps, as many games as its pilot cost says fit, then (its cost
    # measured again on full batches, which are cheaper a game than the pilot's) what still fits.
    played = [r for r in runs if r.skipped is None]
    left = max(0.0, budget)
    order = sorted(played, key=lambda r: r.seconds_per_game * len(r.pairings))
    for n_left, run in zip(range(len(order), 0, -1), order, strict=True):
        share = left / n_left
        t0 = time.perf_counter()
        done = pilot_n
        cost = run.seconds_per_game
        with console.status(f"{run.env_id}: {len(run.pairings)} pairings"):
            for _step in range(2):
                want = games - done
                spent = time.perf_counter() - t0
                if cost > 0:
                    fit = (share - spent) / (cost * len(run.pairings))
                    want = min(want, max(0, int(fit) // 2 * 2))
                if want <= 0:
                    break
                t1 = time.perf_counter()
                try:
                    _play_pairings(run, want, done, seed, record(run))
                except Exception as exc:  # keep the games played so far; say why it stopped
                    run.notes.append(f"stopped early: {type(exc).__name__}: {exc}")
                    break
                cost = (time.perf_counter() - t1) / (want * len(run.pairings))
                done += want
        run.games_per_pairing = done
        run.capped = done < games
        run.seconds += time.perf_counter() - t0
        left = max(0.0, left - (time.perf_counter() - t0))
    for w in writers.values():
        w.close()
    play_seconds = time.perf_counter() - t_start

    # 3. Import the episode files into the match store and rate.
    t0 = time.perf_counter()
    db = out / "leaderboard.db"
    extra_columns: dict[str, list[dict[str, Any]]] = {}
    extra_values: dict[str, dict[str, dict[str, float]]] = {}
    notes: dict[str, str] = {}
    with MatchStore(db) as store:
        for run in played:
            report = store.import_jsonl(ep_dir / f"{run.env_id}.jsonl")
            if report.bad_lines:  # never expected: the files were written just now
                run.notes.append(f"{len(report.bad_lines)} unreadable episode lines skipped")
            columns, values = agent_metric_columns(spenv.registry.spec(run.env_id), run.agents)
            if columns:
                extra_columns[run.env_id] = columns
                extra_values[run.env_id] = values
            used = [b for b, (ok, _) in run.backends.items() if ok]
            if run.notes or run.capped or used:
                parts = list(run.notes)
                if used:
                    parts.append("verified with the real " + ", ".join(used))
                if run.capped:
                    parts.append(
                        f"{run.games_per_pairing} games a pairing (capped by the time budget, "
                        f"{run.seconds_per_game * 1000:.0f} ms a game)"
                    )
                notes[run.env_id] = "; ".join(parts)
        data = leaderboard_data(
            store,
            title="spenv demo: reference agents on every game",
            extra_columns=extra_columns,
            extra_values=extra_values,
            notes=notes,
            n_boot=n_boot,
            seed=seed,
        )
    data["demo"] = {"games": [r.to_dict() for r in runs]}
    (out / "ratings.json").write_text(json.dumps(data, indent=1, allow_nan=False) + "\n")
    (out / "index.html").write_text(render_html(data), encoding="utf-8")
    (out / "standings.md").write_text(_markdown(data, runs), encoding="utf-8")
    rate_seconds = time.perf_counter() - t0
    elapsed = time.perf_counter() - t_start
    write_metadata(
        out / "meta.json",
        run_metadata(
            command="demo",
            games_per_pairing=games,
            budget_seconds=budget,
            seed=seed,
            n_boot=n_boot,
            envs=[r.to_dict() for r in runs],
            backends={k: {"available": v[0], "reason": v[1]} for k, v in status.items()},
            episodes=sum(r.episodes for r in runs),
            elapsed=elapsed,
            play_seconds=play_seconds,
            rating_seconds=rate_seconds,
        ),
    )
    _print_summary(console, data, runs, status)
    decisions = sum(r.decisions for r in runs)
    console.print(
        f"{sum(r.episodes for r in runs)} games in {elapsed:.1f}s (play {play_seconds:.1f}s: "
        f"{decisions:,} decisions, "
        f"{decisions / play_seconds if play_seconds > 0 else 0:,.0f} decisions/s; "
        f"import and ratings {rate_seconds:.1f}s). Wrote {out}/episodes/*.jsonl, leaderboard.db, "
        f"ratings.json, index.html, standings.md, meta.json"
    )
    console.print(
        f"Open {out}/index.html in a browser, or: spenv leaderboard serve {out}/leaderboard.db"
    )
    return 0


def _fmt(x: float | None, spec: str) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def _print_summary(
    console: Console,
    data: dict[str, Any],
    runs: Sequence[GameRun],
    status: dict[str, tuple[bool, str]],
) -> None:
    views = {v["id"]: v for v in data["views"]}
    g = Table(title="Round robins", title_justify="left")
    for col in (
        "game",
        "agents",
        "pairs",
        "per pair",
        "games",
        "ms/game",
        "decisions/s",
        "rated by",
    ):
        g.add_column(col, justify="right" if col not in ("game", "rated by") else "left")
    g.add_column("notes", overflow="fold", min_width=12)
    for r in runs:
        v = views.get(r.env_id)
        rated = "-" if v is None else ("reward" if v["score"] == "reward" else "outcome")
        note = r.skipped and f"SKIPPED: {r.skipped}"
        parts = [note] if note else []
        parts += r.notes
        used = [b for b, (ok, _) in r.backends.items() if ok]
        if used:
            parts.append("real " + ", ".join(used))
        if r.capped:
            parts.append("capped by the time budget")
        if r.env_errors:
            parts.append(f"{r.env_errors} env errors")
        g.add_row(
            r.env_id,
            str(len(r.agents)),
            str(len(r.pairings)) if r.skipped is None else "-",
            str(r.games_per_pairing) if r.skipped is None else "-",
            str(r.episodes),
            f"{r.seconds_per_game * 1000:.1f}" if r.pilot_games else "-",
            f"{r.decisions_per_second:,.0f}" if r.seconds > 0 else "-",
            rated,
            "; ".join(parts),
        )
    console.print(g)
    if status:
        console.print(
            "backends: "
            + ", ".join(
                f"{k} {'available' if ok else 'MISSING (' + why + ')'}"
                for k, (ok, why) in status.items()
            )
        )

    order = ["overall", *(r.env_id for r in runs if r.env_id in views)]
    for vid in order:
        v = views[vid]
        how = {"reward": "reward margin", "outcome": "win/draw/loss"}.get(
            v["score"], "each game's own score"
        )
        t = Table(title=f"{v['label']}: {v['games']} games, rated by {how}", title_justify="left")
        extra = list(v["columns"])
        for col in ("#", "agent", "Bradley-Terry [95%]", "Elo", "TrueSkill", "W/D/L"):
            t.add_column(col, justify="left" if col == "agent" else "right")
        if vid != "overall":
            t.add_column("reward", justify="right")
        for c in extra:
            t.add_column(c["label"].lower(), justify="right")
        for rank, row in enumerate(v["agents"], 1):
            lo, hi = _fmt(row["bt_lo"], ".0f"), _fmt(row["bt_hi"], ".0f")
            cells = [
                str(rank),
                row["agent"],
                f"{_fmt(row['bt'], '.0f')} [{lo},{hi}]",
                _fmt(row["elo"], ".0f"),
                _fmt(row["ts"], ".1f"),
                f"{row['wins']}/{row['draws']}/{row['losses']}",
            ]
            if vid != "overall":
                cells.append(_fmt(row["mean_reward"], "+.3f"))
            cells += [_fmt(row["extra"].get(c["key"]), ".3f") for c in extra]
            t.add_row(*cells)
        console.print(t)
    console.print(
        "Ratings are on the Elo scale (mean 1000). Games whose rewards vary within an outcome "
        "(Kuhn poker's chips, negotiated points) are rated by reward margin: counting hands won "
        "would rank random above nash in poker. Exploitability: what a best response wins per "
        "hand against each Kuhn agent (0 for the equilibrium)."
    )


def _markdown(data: dict[str, Any], runs: Sequence[GameRun]) -> str:
    lines = ["# spenv demo: reference agents on every game", ""]
    for r in runs:
        if r.skipped:
            lines.append(f"- `{r.env_id}`: skipped ({r.skipped})")
    if any(r.skipped for r in runs):
        lines.append("")
    for v in data["views"]:
        lines += [f"## {v['label']}", "", f"Rated by: {v['score_note']}.", ""]
        if v.get("note"):
            lines += [f"Note: {v['note']}.", ""]
        extra = [c["label"] for c in v["columns"]]
        head = ["#", "agent", "Bradley-Terry", "95% interval", "Elo", "TrueSkill", "W", "D", "L"]
        head += ["mean reward", *extra]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "---|" * len(head))
        for rank, row in enumerate(v["agents"], 1):
            cells = [
                str(rank),
                row["agent"].replace("|", "\\|"),
                _fmt(row["bt"], ".0f"),
                f"[{_fmt(row['bt_lo'], '.0f')}, {_fmt(row['bt_hi'], '.0f')}]",
                _fmt(row["elo"], ".0f"),
                _fmt(row["ts"], ".1f"),
                str(row["wins"]),
                str(row["draws"]),
                str(row["losses"]),
                _fmt(row["mean_reward"], "+.3f"),
                *(_fmt(row["extra"].get(c["key"]), ".3f") for c in v["columns"]),
            ]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)
