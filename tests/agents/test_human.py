"""HumanAgent: scripted streams for the rules of input, a real pseudo-terminal for the command."""

from __future__ import annotations

import io
import os
import re
import select
import subprocess
import sys
import time

import pytest

import spenv
from spenv.agents.human import HumanAgent, HumanQuit, match_move
from spenv.observation import Observation

KUHN = Observation(
    system="Kuhn poker rules.",
    user="Your card: K. Your legal moves: [check], [bet].",
    role="player_0",
    env_id="KuhnPoker-v1",
    turn=0,
    legal_actions=("[check]", "[bet]"),
)
FREE = Observation(
    system="Taboo rules.", user="Give a hint.", role="attacker", env_id="Taboo-v1", turn=0
)


def scripted(lines: str) -> tuple[HumanAgent, io.StringIO]:
    out = io.StringIO()
    return HumanAgent(input=io.StringIO(lines), output=out, color=False), out


def test_numbers_and_move_text_pick_legal_moves():
    assert match_move("1", KUHN.legal_actions) == "[check]"
    assert match_move("2", KUHN.legal_actions) == "[bet]"
    assert match_move(" BET ", KUHN.legal_actions) == "[bet]"
    assert match_move("[Check]", KUHN.legal_actions) == "[check]"
    for wrong in ("0", "3", "raise", "[bet] now", "-1"):
        assert match_move(wrong, KUHN.legal_actions) is None
    agent, out = scripted("2\n")
    assert agent.act(KUHN) == "[bet]"
    shown = out.getvalue()
    assert "Your card: K." in shown and "1. [check]" in shown and "2. [bet]" in shown


def test_empty_and_unknown_input_ask_again():
    agent, out = scripted("\n   \nraise\n5\ncheck\n")
    assert agent.act(KUHN) == "[check]"
    shown = out.getvalue()
    assert shown.count("Please type a move.") == 2
    assert "Unknown move 'raise'" in shown and "Unknown move '5'" in shown
    assert "1 to 2" in shown and "[check], [bet]" in shown
    assert shown.count("your move") == 5


def test_free_text_games_take_the_line():
    agent, out = scripted("\nIt is round and red.\n")
    assert agent.act(FREE) == "It is round and red."
    assert "Please type a move." in out.getvalue()


def test_end_of_input_is_the_agents_failure():
    agent, out = scripted("")
    with pytest.raises(HumanQuit, match="closed the input"):
        agent.act(KUHN)
    before = out.getvalue()
    with pytest.raises(HumanQuit):
        agent.act(KUHN)  # no second prompt
    assert out.getvalue() == before
    # in a game, the failure is recorded and the run goes on
    agent, _ = scripted("")
    ep = spenv.play("KuhnPoker-v1", [agent, "nash"], seed=0)
    assert ep.status == "completed"
    failed = [t for t in ep.turns if t.agent == "player_0"]
    assert failed and all(not t.valid and "HumanQuit" in t.error for t in failed)
    assert ep.outcomes["player_0"] in ("invalid", "loss")


def test_a_played_game_records_the_chosen_moves():
    agent, _ = scripted("bet\n1\n1\n")
    ep = spenv.play("KuhnPoker-v1", [agent, "nash"], seed=3)
    mine = [t for t in ep.turns if t.agent == "player_0"]
    assert mine[0].action == "[bet]" and all(t.valid for t in mine)
    assert agent.decisions == len(mine)


@pytest.mark.parametrize("env_id", spenv.registry.list_envs())
def test_a_person_can_sit_at_every_registered_game(env_id):
    """A person who always types "1" (the first legal move, or the text "1" in a free-text
    game) plays every game to its end: moves recorded, invalid ones as invalid, no crash."""
    from spenv.registry import spec

    agent, out = scripted("1\n" * 400)
    opponent = spec(env_id).default_agents[1]
    ep = spenv.play(env_id, [agent, opponent], seed=0)
    assert ep.status == "completed", ep.error
    mine = [t for t in ep.turns if t.agent == ep.agents[0]]
    assert mine and agent.decisions == len(mine)
    assert all(t.action is not None for t in mine)
    finite = [t for t in mine if t.observation.get("legal_actions")]
    assert all(t.valid and t.action == t.observation["legal_actions"][0] for t in finite)
    assert env_id in out.getvalue() or mine[0].observation["user"][:20] in out.getvalue()


# ---------------------------------------------------------------------- a real terminal
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")


class Terminal:
    """``spenv play ... --agents human,nash`` on a pseudo-terminal, driven like a person."""

    def __init__(self, *args: str) -> None:
        import fcntl
        import pty
        import struct
        import termios

        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 120, 0, 0))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "spenv", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            close_fds=True,
            env={**os.environ, "TERM": "xterm", "PYTHONUNBUFFERED": "1"},
        )
        os.close(slave)
        self.raw = b""
        self.seen = ""
        self.pos = 0

    def read_until(self, pattern: str, timeout: float = 60) -> str:
        """The text shown (escape codes removed) from the end of the last match up to the end of
        the next match of ``pattern``, as ``pexpect.expect`` does."""
        deadline = time.monotonic() + timeout
        while (found := re.compile(pattern).search(self.seen, self.pos)) is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {pattern!r} on the terminal; it shows:\n{self.seen}")
            ready, _, _ = select.select([self.master], [], [], left)
            if not ready:
                continue
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # the child closed the terminal
                chunk = b""
            if not chunk:
                raise AssertionError(f"the program ended before {pattern!r}:\n{self.seen}")
            self._add(chunk)
        text, self.pos = self.seen[self.pos : found.end()], found.end()
        return text

    def _add(self, chunk: bytes) -> None:
        # decode and strip the whole output, so a code split between reads is still removed
        self.raw += chunk
        self.seen = ANSI.sub("", self.raw.decode(errors="replace"))

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def finish(self, timeout: float = 60) -> int:
        try:
            while True:  # drain the output, or the child blocks on a full terminal
                ready, _, _ = select.select([self.master], [], [], 0.2)
                if ready:
                    try:
                        chunk = os.read(self.master, 65536)
                    except OSError:
                        break
                    if not chunk:
                        break
                    self._add(chunk)
                elif self.proc.poll() is not None:
                    break
            return self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            os.close(self.master)


def result_row(shown: str, agent: str) -> str:
    """The first line of ``agent``'s row in the results table ``spenv play`` prints."""
    table = shown[shown.rindex("KuhnPoker-v1: 1 games") :]
    return next(line for line in table.splitlines() if re.match(rf"\W*{agent}\W+all\W", line))


def test_a_person_plays_kuhn_poker_at_a_terminal():
    term = Terminal("play", "KuhnPoker-v1", "--agents", "human,nash", "--games", "1", "-q")
    shown = term.read_until(r"your move \(number or text\):")
    assert "you are player_0" in shown and "Your card:" in shown
    assert re.search(r"1\. \[check\]\s+2\. \[bet\]", shown)
    term.type("\n")
    term.read_until(r"Please type a move\.")
    term.type("7\n")
    term.read_until(r"Unknown move '7': type a number from 1 to 2")
    term.read_until(r"your move")
    term.type("2\n")  # bet: nash calls or folds, and the hand is over
    assert term.finish() == 0
    row = result_row(term.seen, "human")
    cells = [c.strip() for c in row.split("│")]
    assert cells[1:4] == ["human", "all", "1"]
    assert cells[7] == "0.000"  # invalid rate: the move was legal
    assert "Traceback" not in term.seen


def test_ctrl_d_at_a_terminal_is_recorded_not_a_crash():
    term = Terminal("play", "KuhnPoker-v1", "--agents", "human,nash", "--games", "1", "-q")
    term.read_until(r"your move \(number or text\):")
    term.type("\x04")  # Ctrl-D on an empty line: end of input
    term.read_until(r"input closed")
    assert term.finish() == 0
    assert "Traceback" not in term.seen
    cells = [c.strip() for c in result_row(term.seen, "human").split("│")]
    assert cells[1:4] == ["human", "all", "1"]
    assert cells[7] == "1.000"  # the game is scored: an invalid move by the human
