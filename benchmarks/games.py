"""Game evaluation: an agent against fixed opponents, seat by seat, with intervals.

:func:`run_game_eval` plays the agent against each opponent on each game, ``games`` seeded games
in every seat (seat ``k`` plays game seeds ``seed .. seed + games - 1``, the same deals in every
seat, so seats compare paired). Opponent specs:

- ``random``: a uniformly random legal move (free-text games: the game's own random agent);
- ``scripted``: the game's reference agent for the opposite seat (``nash`` in Kuhn poker,
  ``minimax`` in TicTacToe, ``greedy``, ``hinter``/``guesser``, ``advocate``);
- ``equilibrium``: a game-theoretically optimal player where the game has one (``nash`` for
  Kuhn poker, ``minimax`` for TicTacToe); other games record the pairing as skipped, with why;
- any other agent spec (``nash:alpha=0.2``, ``hf:PATH``, ``openai:MODEL@URL``).

Per game and opponent, the agent's win, draw, loss, invalid, truncated and error rates with
95% Wilson intervals and its mean reward with a 95% interval, overall and per seat, and the
fraction of its turns that were invalid. Every game counts: an invalid move, an agent that
raised (recorded by the rollout engine as an invalid move) or an env error is tallied as what it
is. Each game's declared measurements come on top (its registry entry's ``agent_metrics``,
in ``results["agent_metrics"][env_id]``: Kuhn poker's exploitability, the agent's strategy
table read at the 12 information sets; and its ``episode_metrics``, beside each opponent's
rates: Debate's ``judge`` accuracy, overall and by whether the agent argued for the correct
answer).

Games are played in shards by :func:`spenv.apps.distributed.run_sharded` (``backend="ray"`` spreads
them over a cluster; the agent must then be a spec). Each finished shard's episodes are appended
to ``out/episodes.jsonl`` and fsynced; rerunning the same command skips complete shards, so a
killed run resumes where it stopped, and first drops the partial shard a killed run left on file
(it is played again whole), so the file never holds a game twice. ``out/results.json`` holds
the metrics and ``out/metadata.json`` the run's configuration, versions and timings.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from spenv.benchmarks.store import AppendLog, read_records, write_json_atomic
from spenv.episode import Episode
from spenv.stats import Record, mean_ci

__all__ = ["GROUPS", "env_groups", "opponent_for_seat", "resolve_envs", "run_game_eval"]

#: Named sets of games, from the ``tags`` of the registry entries: ``in-domain`` (the games
#: self-play training usually uses), ``out-of-domain`` and ``all`` (every tagged game).
GROUPS = ("in-domain", "out-of-domain", "all")


def env_groups() -> dict[str, tuple[str, ...]]:
    """Each group name and its env ids (in id order)."""
    import spenv

    tagged = [s for s in spenv.specs() if s.tags]
    groups = {g: tuple(s.id for s in tagged if g in s.tags) for g in GROUPS[:2]}
    groups["all"] = tuple(s.id for s in tagged)
    return groups


_OUTCOMES = ("win", "draw", "loss", "invalid", "truncated", "error")


class GameConfigMismatch(ValueError):
    """The output folder holds game results of a run with a different configuration."""


def resolve_envs(spec: str | Sequence[str]) -> list[str]:
    """Env ids from a comma-separated list of ids and group names (order kept, no repeats)."""
    import spenv

    parts = spec.split(",") if isinstance(spec, str) else list(spec)
    groups = env_groups()
    out: list[str] = []
    for raw in parts:
        name = raw.strip()
        if not name:
            continue
        ids = groups.get(name.lower())
        if ids is None:
            try:
                ids = (spenv.spec(name).id,)
            except KeyError as exc:
                known = ", ".join([*groups, *(s.id for s in spenv.specs())])
                raise ValueError(f"unknown env or group {raw!r}; known: {known}") from exc
        out.extend(i for i in ids if i not in out)
    if not out:
        raise ValueError("no envs given")
    return out


def opponent_for_seat(opponent: str, env_id: str, seat: int) -> str | None:
    """The agent spec that plays ``seat`` for opponent ``opponent``; ``None`` when the game has
    no such agent (``equilibrium`` in a game whose registry entry names no optimal agent)."""
    import spenv

    es = spenv.spec(env_id)
    name = opponent.strip().lower()
    if name == "equilibrium":
        return es.equilibrium_agent
    if name == "scripted":
        defaults = list(es.default_agents)
        if defaults and all(a in es.reference_agents for a in defaults):
            return defaults[seat % len(defaults)]  # role-specific references (Taboo)
        if es.reference_agents:
            return es.reference_agents[0]
        return None
    return opponent


def _label(agent: Any) -> str:
    if isinstance(agent, str):
        return agent
    return str(getattr(agent, "name", None) or type(agent).__name__)


def _shard_key(env_id: str, opponent: str, seat: int, start: int) -> str:
    return f"{env_id}|{opponent}|{seat}|{start}"


def _config(agent: Any, games: int, seed: int, batch_size: int, env_options: Any) -> dict:
    cfg = {
        "agent": _label(agent),
        "games_per_seat": games,
        "seed": seed,
        "env_options": env_options,
    }
    blob = json.dumps(cfg, sort_keys=True, default=str)
    cfg["key"] = hashlib.sha256(blob.encode()).hexdigest()[:16]
    return cfg


def _seat_stats(episodes: Sequence[Episode], seat_of: Sequence[str]) -> dict[str, Any]:
    rec = Record(agent="agent")
    turns = invalid_turns = 0
    for ep, seat in zip(episodes, seat_of, strict=True):
        outcome = ep.outcomes.get(seat) or ("error" if ep.status == "error" else "truncated")
        rec.add(outcome, float(ep.rewards.get(seat, 0.0)))
        for t in ep.turns:
            if t.agent == seat:
                turns += 1
                invalid_turns += 0 if t.valid else 1
    out: dict[str, Any] = {"games": rec.games}
    for o in _OUTCOMES:
        p, lo, hi = rec.rate(o)
        out[o] = rec.outcomes.get(o, 0)
        out[f"{o}_rate"] = p
        out[f"{o}_rate_ci"] = [lo, hi]
    m, lo, hi = rec.mean_reward()
    out["mean_reward"] = m
    out["mean_reward_ci"] = [lo, hi]
    out["turns"] = turns
    out["invalid_turn_rate"] = invalid_turns / turns if turns else math.nan
    return out


def _agent_metrics(
    agent: Any, specs: Sequence[Any], samples: int, seed: int
) -> dict[str, dict[str, Any]]:
    """The agent measured by every ``agent_metrics`` entry of the games played (Kuhn poker's
    exploitability, ...): ``{env id: {metric: report}}``."""
    from spenv.agents import make_agent

    out: dict[str, dict[str, Any]] = {}
    for es in specs:
        if not es.agent_metrics:
            continue
        obj = make_agent(agent, es.id, seed=seed) if isinstance(agent, str) else agent
        out[es.id] = es.measure_agent(obj, seed=seed, samples=samples)
    return out


def _resume(
    path: Path, plan: Sequence[dict[str, Any]]
) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """The complete shards already on file and the plan entries still to play.

    A killed run leaves the shard it was writing partly on file, and the rerun plays that shard
    again from its start: the file is rewritten (temp file, fsync, rename) to hold each complete
    shard of the plan once, in file order, and nothing else, so a resumed run's file has the
    lines of an uninterrupted one.
    """
    records, good_end = read_records(path)
    found: dict[str, dict[int, dict[str, Any]]] = {}
    first_seen: dict[str, int] = {}
    for i, rec in enumerate(records):
        key = ((rec.get("metadata") or {}).get("eval") or {}).get("shard")
        if key is not None:
            found.setdefault(key, {})[(rec.get("metadata") or {}).get("game")] = rec
            first_seen.setdefault(key, i)
    complete: dict[str, list[dict[str, Any]]] = {}
    todo = []
    for p in plan:
        key = _shard_key(p["env"], p["opponent"], p["seat_index"], p["start"])
        got = found.get(key, {})
        if set(got) == set(range(p["start"], p["start"] + p["games"])):
            complete[key] = [got[g] for g in sorted(got)]
        else:
            todo.append(p)
    kept = [r for key in sorted(complete, key=first_seen.__getitem__) for r in complete[key]]
    if len(kept) != len(records) or (path.exists() and path.stat().st_size != good_end):
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            for rec in kept:
                fh.write(json.dumps(rec, default=str) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    return complete, todo


def run_game_eval(
    agent: Any,
    opponents: Sequence[str],
    envs: Sequence[str],
    *,
    out: str | os.PathLike[str],
    games: int = 100,
    seed: int = 0,
    batch_size: int = 64,
    shard_size: int | None = None,
    env_options: Mapping[str, Mapping[str, Any]] | None = None,
    backend: str = "local",
    address: str | None = None,
    gpus_per_task: float = 0,
    max_retries: int = 3,
    metric_samples: int = 100,
    restart: bool = False,
    progress: bool = False,
) -> dict[str, Any]:
    """Play ``agent`` against every opponent on every env, ``games`` games per seat; write and
    return ``results.json`` (see the module docstring). ``env_options`` maps env ids to
    constructor options (``{"Debate-v1": {"judge": "random"}}``); ``backend``, ``address``,
    ``gpus_per_task`` and ``max_retries`` go to :func:`spenv.apps.distributed.run_sharded`."""
    from spenv.apps.distributed import PlayShard, play_shard, run_sharded

    t_start = time.perf_counter()
    if not isinstance(games, int) or games < 1:
        raise ValueError(f"games must be a positive integer, got {games!r}")
    if backend != "local" and not isinstance(agent, str):
        raise ValueError(f"backend {backend!r} needs an agent spec, not an agent object")
    env_ids = resolve_envs(envs)
    env_options = {k: dict(v) for k, v in (env_options or {}).items()}
    shard_size = shard_size or max(1, min(games, 4 * batch_size))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = _config(agent, games, seed, batch_size, env_options)
    cfg_path = out / "config.json"
    if cfg_path.exists():
        old = json.loads(cfg_path.read_text(encoding="utf-8"))
        if old.get("key") != cfg["key"]:
            if not restart:
                raise GameConfigMismatch(
                    f"{out} holds game results of a different run ({old}); use another --out "
                    "or --restart"
                )
            for p in (out / "episodes.jsonl", out / "results.json"):
                if p.exists():
                    p.unlink()
    elif restart and (out / "episodes.jsonl").exists():
        (out / "episodes.jsonl").unlink()
    write_json_atomic(cfg_path, cfg)

    import spenv
    from spenv.rollout import Runner

    # The pairings, their seats and shards.
    plan: list[dict[str, Any]] = []
    skipped: dict[str, dict[str, str]] = {}
    for env_id in env_ids:
        seats = list(spenv.spec(env_id).roles)
        if not seats:
            seats = list(spenv.make(env_id, **env_options.get(env_id, {})).possible_agents)
        for opp in opponents:
            specs = [opponent_for_seat(opp, env_id, j) for j in range(len(seats))]
            if any(s is None for s in specs):
                skipped.setdefault(env_id, {})[opp] = f"{env_id} has no {opp} agent"
                continue
            for k in range(len(seats)):
                lineup: list[Any] = list(specs)
                lineup[k] = agent
                # Fail now, with a clear message, on an agent spec the game does not know.
                Runner(env_id, lineup, games=0, seed=seed, env_options=env_options.get(env_id))
                for start in range(0, games, shard_size):
                    plan.append(
                        {
                            "env": env_id,
                            "opponent": opp,
                            "seat_index": k,
                            "seat": seats[k],
                            "start": start,
                            "games": min(shard_size, games - start),
                            "lineup": lineup,
                        }
                    )

    complete, todo = _resume(out / "episodes.jsonl", plan)
    log = AppendLog(out / "episodes.jsonl", fsync=False)
    shards = [
        PlayShard(
            env_id=p["env"],
            agents=tuple(p["lineup"]),
            start=p["start"],
            games=p["games"],
            seed=seed,
            swap_seats=False,
            batch_size=batch_size,
            env_options=env_options.get(p["env"], {}),
        )
        for p in todo
    ]
    bar = None
    if progress:
        from spenv.rollout import ProgressBar

        bar = ProgressBar(sum(p["games"] for p in todo), "games")
    t_play = time.perf_counter()
    try:
        for i, episodes in run_sharded(
            play_shard,
            shards,
            backend=backend,
            address=address,
            max_retries=max_retries,
            num_gpus_per_task=gpus_per_task,
        ):
            p = todo[i]
            key = _shard_key(p["env"], p["opponent"], p["seat_index"], p["start"])
            recs = []
            for ep in episodes:
                ep.metadata["eval"] = {
                    "shard": key,
                    "env": p["env"],
                    "opponent": p["opponent"],
                    "seat": p["seat"],
                }
                rec = ep.to_dict()
                log.append(rec)
                recs.append(rec)
            log.sync()
            complete[key] = recs
            if bar is not None:
                bar.advance(len(episodes))
    finally:
        log.close()
        if bar is not None:
            bar.close()
    play_time = time.perf_counter() - t_play

    # Metrics per env and opponent.
    es_of = {e: spenv.spec(e) for e in env_ids}
    results: dict[str, Any] = {"config": cfg, "agent": _label(agent), "envs": {}}
    for env_id in env_ids:
        per_opp: dict[str, Any] = {}
        for opp in opponents:
            if opp in skipped.get(env_id, {}):
                per_opp[opp] = {"skipped": skipped[env_id][opp]}
                continue
            eps: list[Episode] = []
            seat_of: list[str] = []
            per_seat: dict[str, Any] = {}
            for p in plan:
                if p["env"] != env_id or p["opponent"] != opp:
                    continue
                key = _shard_key(env_id, opp, p["seat_index"], p["start"])
                seat_eps = [Episode.from_dict(r) for r in complete[key]]
                eps.extend(seat_eps)
                seat_of.extend([p["seat"]] * len(seat_eps))
                per_seat.setdefault(p["seat"], ([], []))
                per_seat[p["seat"]][0].extend(seat_eps)
                per_seat[p["seat"]][1].extend([p["seat"]] * len(seat_eps))
            entry = _seat_stats(eps, seat_of)
            entry["opponent_specs"] = [
                opponent_for_seat(opp, env_id, j) for j in range(len(per_seat))
            ]
            entry["seats"] = {s: _seat_stats(e, so) for s, (e, so) in per_seat.items()}
            for key in es_of[env_id].episode_metrics:
                entry[key] = es_of[env_id].load_metric(key)(eps, seat_of)
            per_opp[opp] = entry
        results["envs"][env_id] = per_opp
    if metric_samples > 0:
        measured = _agent_metrics(agent, [es_of[e] for e in env_ids], metric_samples, seed)
        if measured:
            results["agent_metrics"] = measured
    rewards = [
        e["mean_reward"]
        for per_opp in results["envs"].values()
        for e in per_opp.values()
        if "mean_reward" in e
    ]
    results["mean_reward_over_pairings"] = mean_ci(rewards)[0] if rewards else math.nan
    write_json_atomic(out / "results.json", results)

    from spenv.meta import run_metadata

    meta = run_metadata(
        command="eval games",
        config=cfg,
        opponents=list(opponents),
        envs=env_ids,
        batch_size=batch_size,
        shard_size=shard_size,
        backend=backend,
        address=address,
        gpus_per_task=gpus_per_task,
        shards_resumed=len(plan) - len(todo),
        shards_played=len(todo),
        timings={"play": play_time, "total": time.perf_counter() - t_start},
    )
    write_json_atomic(out / "metadata.json", meta)
    return results
