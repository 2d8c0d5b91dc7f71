"""``eval games`` and ``run_games(out=...)`` killed with SIGKILL at random moments, then rerun,
leave the files of an uninterrupted run: the same lines in the same order, each game once."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

from evalkit import kill_at_random_moments

from spenv.episode import Episode, read_episodes
from spenv.leaderboard.store import MatchStore

GAMES_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from spenv.agents import make_agent
    from spenv.benchmarks.games import run_game_eval

    class SlowAggressive:
        name = "slow-aggressive"

        def __init__(self):
            self.inner = make_agent("aggressive", "KuhnPoker-v1")

        def act(self, obs):
            time.sleep({delay})
            return self.inner.act(obs)

    run_game_eval(SlowAggressive(), ["random", "equilibrium"], ["KuhnPoker-v1"],
                  out=sys.argv[1], games=24, batch_size=2, shard_size=4, metric_samples=0)
    print("done")
    """
)

RUN_GAMES_SCRIPT = textwrap.dedent(
    """
    import sys, time
    import spenv
    from spenv.agents import make_agent

    class SlowNash:
        name = "slow-nash"

        def __init__(self):
            self.inner = make_agent("nash", "KuhnPoker-v1", seed=0)

        def act(self, obs):
            time.sleep({delay})
            return self.inner.act(obs)

    spenv.run_games("TicTacToe-v1", ["minimax", "random"], games=40, seed=3, out=sys.argv[1],
                    batch_size=2)
    print("done")
    """
)


def _run_killed_then_done(
    script: str, tmp_path: Path, target: Path, watch: Path, after_kill=None, delay: float = 0.01
) -> list[float]:
    """Reference run into ``target.ref``; into ``target``: two runs killed at random moments after
    ``watch`` has content, then one run to the end. Returns the kill delays."""
    fast = tmp_path / "fast.py"
    slow = tmp_path / "slow.py"
    fast.write_text(script.format(delay=0.0))
    slow.write_text(script.format(delay=delay))
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    ref = target.with_name(target.name + ".ref")
    subprocess.run([sys.executable, str(fast), str(ref)], check=True, env=env, timeout=300)
    rng = random.Random(int.from_bytes(os.urandom(4), "little"))
    delays = [rng.uniform(0.0, 0.8) for _ in range(2)]
    kill_at_random_moments([sys.executable, str(slow), str(target)], watch, delays, env, after_kill)
    done = subprocess.run(
        [sys.executable, str(fast), str(target)], env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, (delays, done.stderr[-2000:])
    return delays


def _keys(path: Path) -> list[dict]:
    return [Episode.from_json(line).replay_key() for line in path.read_text().splitlines()]


def test_eval_games_sigkill_then_resume_leaves_no_duplicates(tmp_path: Path) -> None:
    out = tmp_path / "out"
    # 0.03 s a decision: about 3 s of play. A resumed run finds the file already written and is
    # killed its delay after it starts, so the two kills (up to 0.8 s each) must fit in the play
    # together; at 0.01 s (1 s of play) the second one could come after the run had ended.
    delays = _run_killed_then_done(GAMES_SCRIPT, tmp_path, out, out / "episodes.jsonl", delay=0.03)
    ref = tmp_path / "out.ref"
    a, b = ref / "episodes.jsonl", out / "episodes.jsonl"
    lines_a, lines_b = a.read_text().splitlines(), b.read_text().splitlines()
    assert len(lines_a) == len(lines_b) == 2 * 2 * 24, delays  # two opponents, two seats
    assert _keys(a) == _keys(b), delays  # the same games, line for line
    ra = json.loads((ref / "results.json").read_text())
    rb = json.loads((out / "results.json").read_text())
    assert ra["envs"] == rb["envs"], delays
    # The leaderboard counts each game once.
    with MatchStore(tmp_path / "lb.sqlite") as store:
        report = store.import_jsonl(b)
        assert store.games() == 96, (report, delays)


def test_eval_games_resumes_from_any_cut_of_its_file(tmp_path: Path) -> None:
    """SIGKILL can stop the append of a shard's episodes after any byte: cut a finished run's
    file at random offsets (inside a shard, inside a line) and resume from each cut."""
    import shutil

    from spenv.benchmarks.games import run_game_eval

    kw = dict(games=12, batch_size=2, shard_size=4, metric_samples=0)
    ref = tmp_path / "ref"
    want = run_game_eval("aggressive", ["random"], ["KuhnPoker-v1"], out=ref, **kw)
    data = (ref / "episodes.jsonl").read_bytes()
    ends = [i + 1 for i, c in enumerate(data) if c == ord("\n")]
    seed = int.from_bytes(os.urandom(4), "little")
    rng = random.Random(seed)
    cuts = [ends[1], ends[5] + 17, rng.randrange(1, len(data)), rng.choice(ends[:-1])]
    for i, cut in enumerate(cuts):  # the random cuts may repeat a fixed one
        out = tmp_path / f"cut{i}"
        shutil.copytree(ref, out)
        (out / "results.json").unlink()
        with open(out / "episodes.jsonl", "r+b") as fh:
            fh.truncate(cut)
        got = run_game_eval("aggressive", ["random"], ["KuhnPoker-v1"], out=out, **kw)
        assert got["envs"] == want["envs"], (cut, seed)
        assert len((out / "episodes.jsonl").read_text().splitlines()) == 24, (cut, seed)
        assert _keys(out / "episodes.jsonl") == _keys(ref / "episodes.jsonl"), (cut, seed)


def test_run_games_sigkill_then_rerun_gives_the_same_file(tmp_path: Path) -> None:
    out = tmp_path / "games.jsonl"
    script = RUN_GAMES_SCRIPT.replace('["minimax", "random"]', "[SlowNash(), SlowNash()]")
    script = script.replace('"TicTacToe-v1"', '"KuhnPoker-v1"')

    def readable() -> None:  # what the kill left: whole episodes, at most a torn last line
        errors: list[str] = []
        got = list(read_episodes(out, errors=errors))
        assert len(got) < 40 and len(errors) <= 1, errors
        assert all("torn last line" in e for e in errors), errors

    delays = _run_killed_then_done(script, tmp_path, out, out, readable, delay=0.03)
    ref = tmp_path / "games.jsonl.ref"
    assert len(ref.read_text().splitlines()) == len(out.read_text().splitlines()) == 40
    assert _keys(ref) == _keys(out), delays
    assert len(list(read_episodes(out, strict=True))) == 40
