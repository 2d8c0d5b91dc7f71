"""The leaderboard page: the ratings of a match store as one self-contained HTML file.

:func:`leaderboard_data` computes, for every game in the store and for all games pooled, each
agent's Elo, Bradley–Terry strength with a bootstrap 95% interval, TrueSkill, games played,
wins/draws/losses and mean reward, and the head-to-head matrix. :func:`render_html` turns that
into a self-contained page (CSS and JavaScript inline, no network), and :func:`build_page` does
both and writes ``index.html``.

Which score rates a game is decided per game (:func:`choose_score`): where the reward is a
function of the outcome (TicTacToe: +1/-1/0) the game is rated by win/draw/loss; where rewards
vary within an outcome (Kuhn poker's chips, negotiated points) it is rated by the reward margin,
because counting hands won ranks a poker player who wins many small pots and loses big ones
above one who wins chips. The page says which score each game uses.

Safety: the data travels as JSON inside ``<script type="application/json">`` with ``<``, ``>``
and ``&`` escaped, and the page's script writes every string with ``textContent`` or
``setAttribute``, never as markup, so an agent named ``<script>...`` is shown, not run.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from spenv.leaderboard.ratings import (
    Match,
    bradley_terry_ci,
    elo,
    matches_from_store,
    to_elo_scale,
    trueskill,
)
from spenv.leaderboard.store import MatchStore, pair_score

Score = Literal["outcome", "reward"]

#: The schema name of the page's embedded data (and of ``ratings.json`` written by the demo).
DATA_SCHEMA = "spenv.leaderboard/1"

_OUTCOME_NOTE = "win/draw/loss (1, 1/2, 0): the reward follows the outcome in this game"
_REWARD_NOTE = (
    "reward margin, scaled to [0, 1] (1/2 an even game): rewards vary within an outcome in this "
    "game, so how much is won counts, not only who won"
)


def choose_score(store: MatchStore, env_id: str) -> tuple[Score, str]:
    """The score that rates ``env_id`` fairly, with the reason in words.

    ``"reward"`` when two decided games with the same outcomes have different reward margins
    (the reward carries more than the outcome: chips, points); ``"outcome"`` otherwise.
    """
    margins: dict[tuple[str | None, str | None], float] = {}
    for g in store.results(env_id):
        if len(g.seats) != 2:
            continue
        s0, s1 = g.seats
        if s0.reward is None or s1.reward is None or pair_score(s0.outcome, s1.outcome) is None:
            continue
        if {s0.outcome, s1.outcome} & {"invalid", "error"}:
            continue
        key, margin = (s0.outcome, s1.outcome), s0.reward - s1.reward
        seen = margins.setdefault(key, margin)
        if abs(seen - margin) > 1e-9:
            return "reward", _REWARD_NOTE
    return "outcome", _OUTCOME_NOTE


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _view(
    view_id: str,
    label: str,
    matches: list[Match],
    tallies: Mapping[tuple[str, str], list[float]],
    rewards: Mapping[str, list[float]] | None,
    *,
    score: str,
    score_note: str,
    games: int,
    n_boot: int,
    elo_shuffles: int,
    seed: int,
    columns: list[dict[str, Any]],
    extra: Mapping[str, Mapping[str, float]],
) -> dict[str, Any]:
    """One table of the page: ratings, records and the head-to-head matrix of some matches."""
    agents = sorted({m.a for m in matches} | {m.b for m in matches} | {a for a, _ in tallies})
    ratings = elo(matches, order="shuffled", n_shuffles=elo_shuffles, seed=seed) if matches else {}
    bt = bradley_terry_ci(matches, n_boot=n_boot, seed=seed) if matches else {}
    ts = trueskill(matches) if matches else {}
    rows = []
    for a in agents:
        w = d = lo_ = 0
        for (x, _), t in tallies.items():
            if x == a:
                w, d, lo_ = w + int(t[0]), d + int(t[1]), lo_ + int(t[2])
        row: dict[str, Any] = {
            "agent": a,
            "elo": _finite(ratings.get(a)),
            "bt": None,
            "bt_lo": None,
            "bt_hi": None,
            "ts_mu": None,
            "ts_sigma": None,
            "ts": None,
            "games": w + d + lo_,
            "wins": w,
            "draws": d,
            "losses": lo_,
            "mean_reward": None,
            "extra": {k: _finite(extra.get(k, {}).get(a)) for k in (c["key"] for c in columns)},
        }
        if a in bt:
            est, lo, hi = bt[a]
            scaled = to_elo_scale({"e": est, "l": lo, "h": hi})
            row.update(bt=scaled["e"], bt_lo=scaled["l"], bt_hi=scaled["h"])
        if a in ts:
            row.update(ts_mu=ts[a].mu, ts_sigma=ts[a].sigma, ts=ts[a].conservative)
        if rewards is not None and rewards.get(a):
            row["mean_reward"] = sum(rewards[a]) / len(rewards[a])
        rows.append({k: _clean(v) for k, v in row.items()})
    rows.sort(key=lambda r: (-(r["bt"] if r["bt"] is not None else -math.inf), r["agent"]))
    order = [r["agent"] for r in rows]
    # Head to head: mean rated score of row against column (from either seat), and the record.
    sums: dict[tuple[str, str], list[float]] = {}
    for m in matches:
        for x, y, s in ((m.a, m.b, m.score), (m.b, m.a, 1.0 - m.score)):
            acc = sums.setdefault((x, y), [0.0, 0.0])
            acc[0] += s
            acc[1] += 1
    cells: list[list[dict[str, Any] | None]] = []
    for a in order:
        line: list[dict[str, Any] | None] = []
        for b in order:
            acc, t = sums.get((a, b)), tallies.get((a, b))
            if a == b or acc is None:
                line.append(None)
                continue
            cell = {"score": acc[0] / acc[1], "n": int(acc[1])}
            if t is not None:
                cell.update(w=int(t[0]), d=int(t[1]), l=int(t[2]), reward=_finite(t[3]))
            line.append(cell)
        cells.append(line)
    return {
        "id": view_id,
        "label": label,
        "score": score,
        "score_note": score_note,
        "games": games,
        "rated_games": len(matches),
        "agents": rows,
        "columns": columns,
        "h2h": {"agents": order, "cells": cells},
    }


def _clean(v: Any) -> Any:
    if isinstance(v, float):
        return _finite(v)
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    return v


def _tallies(store: MatchStore, env_id: str) -> dict[tuple[str, str], list[float]]:
    """``(a, b) -> [wins, draws, losses, mean reward or nan]`` by outcome, from ``a``'s side."""
    out: dict[tuple[str, str], list[float]] = {}
    for pair, h in store.head_to_head(env_id).items():
        out[pair] = [
            h.wins,
            h.draws,
            h.losses,
            math.nan if h.mean_reward is None else h.mean_reward,
        ]
    return out


def _agent_rewards(store: MatchStore, env_id: str) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for g in store.results(env_id):
        for s in g.seats:
            if s.reward is not None:
                out.setdefault(s.agent, []).append(s.reward)
    return out


def leaderboard_data(
    store: MatchStore,
    *,
    title: str = "spenv leaderboard",
    scores: Mapping[str, Score] | None = None,
    extra_columns: Mapping[str, list[dict[str, Any]]] | None = None,
    extra_values: Mapping[str, Mapping[str, Mapping[str, float]]] | None = None,
    notes: Mapping[str, str] | None = None,
    n_boot: int = 200,
    elo_shuffles: int = 20,
    seed: int = 0,
) -> dict[str, Any]:
    """Everything the page shows, as JSON-ready data.

    ``scores`` overrides :func:`choose_score` per env id. ``extra_columns[env_id]`` adds numeric
    columns to a game's table (``{"key", "label", "better": "lower"|"higher", "note"}``) whose
    values are ``extra_values[env_id][key][agent]``. ``notes[env_id]`` is shown above a game's
    table (a backend that was missing, a fallback used). The overall view pools every game's
    rated matches, each scored as in its own table. Elo is averaged over ``elo_shuffles``
    random game orders; the Bradley–Terry intervals take ``n_boot`` bootstrap samples.
    """
    scores = dict(scores or {})
    views = []
    pooled: list[Match] = []
    pooled_tallies: dict[tuple[str, str], list[float]] = {}
    total_games = 0
    for env_id in store.env_ids():
        score, note = (
            (scores[env_id], _REWARD_NOTE if scores[env_id] == "reward" else _OUTCOME_NOTE)
            if env_id in scores
            else choose_score(store, env_id)
        )
        matches = matches_from_store(store, env_id, score=score)
        tallies = _tallies(store, env_id)
        games = store.games(env_id)
        total_games += games
        view = _view(
            env_id,
            env_id,
            matches,
            tallies,
            _agent_rewards(store, env_id),
            score=score,
            score_note=note,
            games=games,
            n_boot=n_boot,
            elo_shuffles=elo_shuffles,
            seed=seed,
            columns=list((extra_columns or {}).get(env_id, [])),
            extra=(extra_values or {}).get(env_id, {}),
        )
        if notes and env_id in notes:
            view["note"] = notes[env_id]
        views.append(view)
        pooled += matches
        for pair, t in tallies.items():
            acc = pooled_tallies.setdefault(pair, [0, 0, 0, math.nan])
            acc[0] += t[0]
            acc[1] += t[1]
            acc[2] += t[2]
    overall = _view(
        "overall",
        "Overall",
        pooled,
        pooled_tallies,
        None,
        score="mixed",
        score_note=(
            "every game's rated matches pooled, each game scored as in its own table; rewards "
            "are not comparable across games, so no mean reward is shown"
        ),
        games=total_games,
        n_boot=n_boot,
        elo_shuffles=elo_shuffles,
        seed=seed,
        columns=[],
        extra={},
    )
    return {
        "schema": DATA_SCHEMA,
        "title": title,
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": store.path.name,
        "n_boot": n_boot,
        "elo_shuffles": elo_shuffles,
        "views": [overall, *views],
    }


def _json_for_script(data: Any) -> str:
    """JSON that is safe inside a ``<script>`` element: no ``<``, ``>``, ``&`` or line
    separators appear raw, so no string in it can close the element or start markup."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for raw, esc in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, esc)
    return text


def _asset(name: str) -> str:
    return resources.files("spenv.leaderboard").joinpath("assets", name).read_text("utf-8")


def render_html(data: Mapping[str, Any]) -> str:
    """The page for :func:`leaderboard_data`'s output: one HTML file, no external resources."""
    parts = {
        "TITLE": html.escape(str(data.get("title", "spenv leaderboard"))),
        "CSS": _asset("page.css"),
        "JS": _asset("page.js"),
        "DATA": _json_for_script(data),
    }
    # One pass, so text inserted for one slot is never read as another slot.
    return re.sub(r"\{\{(TITLE|CSS|JS|DATA)\}\}", lambda m: parts[m.group(1)], _asset("page.html"))


def build_page(
    store: MatchStore | str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    **kwargs: Any,
) -> Path:
    """Write ``out_dir/index.html`` for a store (or the path of one); returns its path.

    Keyword arguments go to :func:`leaderboard_data`. The file is written to a temporary name
    and renamed, so a reader never sees half a page.
    """
    if isinstance(store, MatchStore):
        data = leaderboard_data(store, **kwargs)
    else:
        with open_store(store) as s:
            data = leaderboard_data(s, **kwargs)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "index.html"
    tmp = out / ".index.html.tmp"
    tmp.write_text(render_html(data), encoding="utf-8")
    tmp.replace(path)
    return path


def open_store(path: str | os.PathLike[str]) -> MatchStore:
    """Open an existing store; a missing file is an error (building a page from a typo'd path
    must not create an empty database)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(
            f"no match store at {p} (create one with 'spenv leaderboard import')"
        )
    return MatchStore(p)
