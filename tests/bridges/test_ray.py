"""The Ray backend (:mod:`spenv.apps.distributed`, ``spenv play --backend ray``) on a real local Ray
cluster: the same seeds give the same episodes as the local backend whatever the sharding, a
worker killed mid-run has its shard re-run with no episode lost or doubled, and a missing Ray
or an unreachable cluster is a clear error.

One two-CPU cluster serves the whole module (started once, a few seconds).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

import spenv
from spenv.agents import BaseAgent
from spenv.agents.serve import AgentServer
from spenv.apps.cli import main
from spenv.apps.distributed import (
    DistributedError,
    PlayShard,
    make_play_shards,
    play_shard,
    play_sharded,
    run_sharded,
)
from spenv.benchmarks.suites import TEMPLATES, load_items
from spenv.episode import Episode, read_episodes

pytestmark = pytest.mark.backend("ray")

ray = pytest.importorskip("ray", reason="the ray backend needs the ray package (spenv[ray])")

#: Where the shard functions below leave their markers (set before Ray starts, so the workers
#: inherit it).
MARKERS_ENV = "SPENV_TEST_RAY_MARKERS"

GAMES = [("KuhnPoker-v1", ["nash", "random"]), ("TicTacToe-v1", ["minimax", "random"])]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Any:
    markers = tmp_path_factory.mktemp("ray-markers")
    saved = {
        k: os.environ.get(k) for k in (MARKERS_ENV, "RAY_USAGE_STATS_ENABLED", "RAY_DEDUP_LOGS")
    }
    os.environ.update(
        {MARKERS_ENV: str(markers), "RAY_USAGE_STATS_ENABLED": "0", "RAY_DEDUP_LOGS": "1"}
    )
    if ray.is_initialized():
        ray.shutdown()
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=200 * 1024**2,
        log_to_driver=False,
    )
    # The shard functions of this module travel by value: workers need not import tests/.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        yield markers
    finally:
        ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
        ray.shutdown()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# --------------------------------------------------------------------------- shard functions
def where_and_square(x: int) -> tuple[int, int]:
    return os.getpid(), x * x


def _attempt(name: str) -> Path:
    """Record one attempt of a shard in the markers folder; returns the marker of its kill."""
    folder = Path(os.environ[MARKERS_ENV])
    with open(folder / "attempts.log", "a", encoding="utf-8") as fh:
        fh.write(f"{name}\n")
    return folder / f"killed-{name}"


def kill_first_attempt(shard: PlayShard) -> list[Episode]:
    """Plays a shard, except that the first attempt at the shard starting at game 4 kills its
    own worker process (SIGKILL: no exception, no cleanup) halfway through its games."""
    marker = _attempt(f"{shard.seed}:{shard.start}")
    if shard.start == 4 and not marker.exists():
        half = PlayShard(**{**shard.__dict__, "games": shard.games // 2})
        play_shard(half)
        marker.write_text("killed\n")
        os.kill(os.getpid(), signal.SIGKILL)
    return play_shard(shard)


def always_die(x: int) -> int:
    os.kill(os.getpid(), signal.SIGKILL)
    return x


def raise_on_three(x: int) -> int:
    if x == 3:
        raise ValueError("three is not welcome")
    return x


# --------------------------------------------------------------------------- helpers
def canonical(ep: Episode | dict[str, Any]) -> str:
    """An episode's JSON without what differs between runs: its id and timings."""
    d = ep.to_dict() if isinstance(ep, Episode) else dict(ep)
    d.pop("id")
    d.pop("timings")
    d["turns"] = [{k: v for k, v in t.items() if k != "elapsed"} for t in d["turns"]]
    return json.dumps(d, sort_keys=True)


def spenv_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``python -m spenv ARGS`` in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "spenv", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def attempts(markers: Path) -> list[str]:
    log = markers / "attempts.log"
    return log.read_text().split() if log.exists() else []


# --------------------------------------------------------------------------- run_sharded
def test_run_sharded_runs_every_shard_once_on_workers(cluster: Path) -> None:
    shards = list(range(9))
    local = list(run_sharded(where_and_square, shards))
    assert [i for i, _ in local] == shards  # local: in order, in this process
    assert all(pid == os.getpid() for _, (pid, _) in local)
    remote = list(run_sharded(where_and_square, shards, backend="ray"))
    assert sorted(i for i, _ in remote) == shards
    assert {i: sq for i, (_, sq) in remote} == {i: sq for i, (_, sq) in local}
    assert all(pid != os.getpid() for _, (pid, _) in remote)  # ran in worker processes


def test_an_exception_in_a_shard_names_the_shard(cluster: Path) -> None:
    with pytest.raises(ValueError, match="three is not welcome") as info:
        list(run_sharded(raise_on_three, range(5), backend="ray", max_retries=0))
    assert any("shard 3 of 5" in note for note in getattr(info.value, "__notes__", []))


# --------------------------------------------------------------------------- same episodes
@pytest.mark.parametrize(("env_id", "agents"), GAMES, ids=[g[0] for g in GAMES])
def test_ray_plays_the_episodes_the_local_backend_plays(
    cluster: Path, env_id: str, agents: list[str]
) -> None:
    games, seed = 30, 11
    local = spenv.run_games(env_id, agents, games=games, seed=seed, batch_size=16)
    want = [canonical(ep) for ep in local]
    for shard_size, batch_size in ((4, 16), (7, 2)):
        got = list(
            play_sharded(
                env_id,
                agents,
                games=games,
                seed=seed,
                batch_size=batch_size,
                shard_size=shard_size,
                backend="ray",
            )
        )
        assert [ep.metadata["game"] for ep in got] == list(range(games))
        assert [canonical(ep) for ep in got] == want
    # Random agents in both seats (self-play shares one spec) are reproduced as well.
    selfplay = spenv.run_games(env_id, ["random", "random"], games=12, seed=2)
    remote = play_sharded(env_id, ["random", "random"], games=12, seed=2, shard_size=5)
    assert [canonical(ep) for ep in remote] == [canonical(ep) for ep in selfplay]
    # ... and the episodes differ from game to game (the streams are not all the same).
    assert len({json.dumps(ep.replay_key(), sort_keys=True) for ep in local}) > games // 2


def test_shards_cover_the_games_once() -> None:
    shards = make_play_shards("KuhnPoker-v1", ["nash", "random"], games=10, shard_size=4)
    assert [(s.start, s.games) for s in shards] == [(0, 4), (4, 4), (8, 2)]
    assert make_play_shards("KuhnPoker-v1", ["nash", "nash"], games=0, shard_size=3) == []
    with pytest.raises(ValueError, match="shard_size"):
        make_play_shards("KuhnPoker-v1", ["nash", "nash"], games=4, shard_size=0)


def _play_files(tmp_path: Path, name: str, *extra: str) -> tuple[list[Episode], dict]:
    out = tmp_path / f"{name}.jsonl"
    argv = ["play", "TicTacToe-v1", "--agents", "minimax,random", "--games", "14"]
    assert main([*argv, "--seed", "5", "--out", str(out), "-q", *extra]) == 0
    meta = json.loads(out.with_name(out.name + ".meta.json").read_text())
    return list(read_episodes(out)), meta


def test_cli_play_backend_ray_writes_the_local_episodes_and_table(
    cluster: Path, tmp_path: Path
) -> None:
    local, local_meta = _play_files(tmp_path, "local")
    remote, remote_meta = _play_files(tmp_path, "ray", "--backend", "ray", "--shard-size", "3")
    assert [ep.metadata["game"] for ep in remote] == list(range(14))  # written in game order
    local.sort(key=lambda ep: ep.metadata["game"])
    assert [canonical(ep) for ep in remote] == [canonical(ep) for ep in local]
    assert remote_meta["results"] == local_meta["results"]
    assert remote_meta["backend"] == "ray" and remote_meta["shard_size"] == 3
    assert local_meta["backend"] == "local"


def test_cli_connects_to_a_running_cluster_by_its_address(cluster: Path, tmp_path: Path) -> None:
    """A second process joins the module's cluster through the head's GCS address, as a driver
    on a cluster node does (``--address HEAD:6379``), and plays the local episodes there."""
    out = tmp_path / "joined.jsonl"
    address = ray.get_runtime_context().gcs_address
    args = ["play", "KuhnPoker-v1", "--games", "8", "--seed", "3", "--backend", "ray"]
    res = spenv_cli(*args, "--address", address, "--shard-size", "3", "--out", str(out), "-q")
    assert res.returncode == 0, res.stdout + res.stderr
    local = spenv.run_games("KuhnPoker-v1", ["nash", "random"], games=8, seed=3)
    assert [canonical(ep) for ep in read_episodes(out)] == [canonical(ep) for ep in local]
    meta = json.loads(out.with_name(out.name + ".meta.json").read_text())
    assert meta["address"] == address


# --------------------------------------------------------------------------- failures
def test_a_killed_worker_has_its_shard_rerun_without_loss_or_duplicates(cluster: Path) -> None:
    games, seed = 16, 21
    before = attempts(cluster)
    got = list(
        play_sharded(
            "KuhnPoker-v1",
            ["nash", "random"],
            games=games,
            seed=seed,
            shard_size=4,
            backend="ray",
            max_retries=2,
            play=kill_first_attempt,
        )
    )
    runs = attempts(cluster)[len(before) :]
    assert sorted(runs) == sorted(f"{seed}:{s}" for s in (0, 4, 4, 8, 12))  # shard 4 ran twice
    assert (cluster / f"killed-{seed}:4").exists()
    assert [ep.metadata["game"] for ep in got] == list(range(games))
    local = spenv.run_games("KuhnPoker-v1", ["nash", "random"], games=games, seed=seed)
    assert [canonical(ep) for ep in got] == [canonical(ep) for ep in local]


def test_a_worker_that_keeps_dying_is_a_clear_error(cluster: Path) -> None:
    with pytest.raises(DistributedError, match=r"shard 0 of 1: its worker died 1 times"):
        list(run_sharded(always_die, [1], backend="ray", max_retries=0))


def test_agent_objects_and_bad_specs_are_refused_by_the_ray_backend() -> None:
    from spenv.agents import RandomAgent

    with pytest.raises(TypeError, match="builds the agents on its workers from their specs"):
        list(play_sharded("KuhnPoker-v1", [RandomAgent(seed=0), "nash"], games=2, seed=0))
    with pytest.raises(ValueError, match="human agent cannot play on Ray workers"):
        list(play_sharded("KuhnPoker-v1", ["human", "nash"], games=2, seed=0))
    # A spec the game does not know fails in the driver, before any task is sent.
    with pytest.raises(ValueError, match="unknown agent spec 'grandmaster'"):
        list(play_sharded("KuhnPoker-v1", ["grandmaster", "nash"], games=2, seed=0))


def test_missing_ray_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    with pytest.raises(DistributedError, match=r"needs the `ray` package"):
        list(run_sharded(abs, [1], backend="ray"))


def test_unreachable_or_malformed_addresses_are_clear_errors(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from spenv.apps.distributed import DistributedError, run_sharded\n"
        "for address in sys.argv[1:]:\n"
        "    try:\n"
        "        list(run_sharded(abs, [1], backend='ray', address=address))\n"
        "    except DistributedError as exc:\n"
        "        print('ERROR', address, exc)\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code, "127.0.0.1:1", "ray://127.0.0.1:1", "nowhere"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_ADDRESS": ""},
    )
    lines = res.stdout.splitlines()
    assert len(lines) == 3, res.stdout + res.stderr
    assert lines[0].startswith("ERROR 127.0.0.1:1 cannot reach the Ray cluster")
    assert lines[1].startswith("ERROR ray://127.0.0.1:1 cannot reach the Ray cluster")
    assert "ray start --head" in lines[0]
    assert lines[2].startswith("ERROR nowhere cannot read the Ray address")
    unreachable = ["--backend", "ray", "--address", "127.0.0.1:1", "-q"]
    cli = spenv_cli("play", "KuhnPoker-v1", "--games", "2", *unreachable, timeout=60)
    assert cli.returncode == 2
    assert "cannot reach the Ray cluster" in cli.stderr and "Traceback" not in cli.stderr


def test_ray_options_without_the_ray_backend_are_refused(capsys: pytest.CaptureFixture) -> None:
    assert main(["play", "KuhnPoker-v1", "--address", "auto", "-q"]) == 2
    assert "go with --backend ray" in capsys.readouterr().err
    assert main(["play", "KuhnPoker-v1", "--backend", "ray", "--shard-size", "0", "-q"]) == 2
    assert "--shard-size must be at least 1" in capsys.readouterr().err


# --------------------------------------------------------------------------- spenv eval
def _eval(kind: str, args: list[str], out: Path, *backend: str) -> str:
    assert main(["eval", kind, *args, "--out", str(out), "-q", *backend]) == 0
    return json.dumps(json.loads((out / "results.json").read_text()), sort_keys=True)


def test_eval_games_on_ray_gives_the_local_results(cluster: Path, tmp_path: Path) -> None:
    args = ["--agent", "random", "--opponents", "random,scripted"]
    args += ["--env", "KuhnPoker-v1,TicTacToe-v1", "--games", "10", "--batch-size", "2"]
    args += ["--metric-samples", "10"]
    local = _eval("games", args, tmp_path / "local")
    remote = _eval("games", args, tmp_path / "ray", "--backend", "ray")
    assert remote == local
    results = json.loads(local)
    kuhn = results["envs"]["KuhnPoker-v1"]["scripted"]
    assert kuhn["games"] == 20 and kuhn["loss_rate"] > 0  # random loses to nash sometimes
    meta = json.loads((tmp_path / "ray" / "metadata.json").read_text())
    assert meta["backend"] == "ray" and meta["shards_played"] > 4


class LookupSolver(BaseAgent):
    """Answers benchmark prompts from a table: the gold answer for about half the items (by a
    hash of the item id), a wrong one for the rest."""

    name = "lookup"

    def __init__(self, items: list[Any]) -> None:
        super().__init__()
        self.table: dict[str, str] = {}
        for it in items:
            _, user = TEMPLATES["boxed"].render(it)
            answer = it.gold_text() if zlib.crc32(it.id.encode()) % 2 == 0 else "-987654321"
            self.table[user] = f"So the answer is \\boxed{{{answer}}}."

    def act(self, obs: Any) -> str:
        return self.table.get(obs.user, "no idea")


def test_eval_transfer_on_ray_gives_the_local_results(cluster: Path, tmp_path: Path) -> None:
    suites = ("gsm8k", "mmlu_stem")
    items = [it for s in suites for it in load_items(s, limit=6)]
    # The workers reach the agent over HTTP, as they would a model server on a cluster.
    with AgentServer(LookupSolver(items)) as server:
        args = ["--agent", f"openai:lookup@{server.url}", "--suites", ",".join(suites)]
        args += ["--limit", "6", "--batch-size", "4"]
        local = _eval("transfer", args, tmp_path / "local")
        remote = _eval("transfer", args, tmp_path / "ray", "--backend", "ray")
    assert remote == local
    results = json.loads(local)
    assert 0 < results["suites"]["gsm8k"]["pass@1"]["mean"] < 1
    assert all(results["suites"][s]["items"] == 6 for s in suites)
