"""A person playing at the terminal: ``spenv play KuhnPoker-v1 --agents human,nash``.

:class:`HumanAgent` shows each observation (the prompt the game gives any agent) in a panel and
asks for a move. In games with a finite list of moves the moves are numbered: typing the number,
the move (``[bet]``) or the move without its brackets (``bet``, any case) plays it. In free-text
games any non-empty line is the move. Empty or unknown input is refused with a message and the
question is asked again.

End of input (Ctrl-D, or a closed stream) is recorded as the agent's failure: ``act`` raises
:class:`HumanQuit`, which the rollout engine records as that game's failed move, and every later
question fails at once (no more prompts), so the run ends normally with the games scored.

``input``/``output`` streams make the agent scriptable (tests, another process); by default it
reads the terminal (with line editing when stdin is a terminal) and writes to stdout.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from spenv.observation import Observation


class HumanQuit(RuntimeError):
    """The player closed the input (Ctrl-D / end of file)."""


class HumanAgent:
    """A person answers every decision at the terminal (see the module docstring)."""

    def __init__(
        self,
        *,
        name: str = "human",
        input: TextIO | None = None,
        output: TextIO | None = None,
        show_state: bool = False,
        color: bool | None = None,
    ) -> None:
        from rich.console import Console

        self.name = name
        self._in = input
        self._out = output if output is not None else sys.stdout
        self.show_state = show_state
        force = None if color is None else bool(color)
        self.console = Console(
            file=self._out,
            highlight=False,
            force_terminal=force,
            no_color=(color is False),
        )
        self.closed: HumanQuit | None = None
        self.decisions = 0

    # ------------------------------------------------------------------ playing
    def act(self, obs: Observation) -> str:
        """Show ``obs`` and return the move the person chose."""
        if self.closed is not None:
            raise self.closed
        self._show(obs)
        legal = obs.legal_actions
        while True:
            try:
                line = self._read("your move (number or text)" if legal else "your move")
            except (EOFError, HumanQuit):
                self.closed = HumanQuit(
                    f"the human player closed the input (end of file) at turn {obs.turn} of "
                    f"{obs.env_id}"
                )
                self.console.print("[bold red]input closed: this and later moves fail[/]")
                raise self.closed from None
            text = line.strip()
            if not text:
                self.console.print("[yellow]Please type a move.[/]")
                continue
            if not legal:
                self.decisions += 1
                return text
            move = match_move(text, legal)
            if move is None:
                from rich.markup import escape

                self.console.print(
                    escape(
                        f"Unknown move {text!r}: type a number from 1 to {len(legal)} or one of "
                        f"{', '.join(legal)}."
                    ),
                    style="yellow",
                )
                continue
            self.decisions += 1
            return move

    # ------------------------------------------------------------------ terminal
    def _show(self, obs: Observation) -> None:
        from rich.markup import escape
        from rich.panel import Panel

        title = f"{obs.env_id} · you are {obs.role} · turn {obs.turn}"
        self.console.print(Panel(escape(str(obs.text)), title=escape(title), expand=False))
        if self.show_state and obs.state:
            state = ", ".join(f"{k}={v!r}" for k, v in obs.state.items())
            self.console.print(f"[dim]state: {escape(state)}[/]")
        if obs.legal_actions:
            self.console.print("Legal moves:")
            for i, move in enumerate(obs.legal_actions, 1):
                self.console.print(f"  [bold]{i}[/]. {escape(move)}")
        elif obs.legal_actions is None:
            self.console.print("[dim]Type your message (one line); it is your move.[/]")

    def _read(self, prompt: str) -> str:
        """One line of input; raises ``EOFError`` at end of input."""
        self.console.print(f"[bold cyan]{prompt}:[/] ", end="")
        self._out.flush()
        if self._in is None:
            stream: Any = sys.stdin
            if stream is None or stream.closed:
                raise EOFError
            if stream.isatty() and self._out is sys.stdout:
                return input()  # line editing, history
        else:
            stream = self._in
        line = stream.readline()
        if line == "":
            raise EOFError
        return line

    def __repr__(self) -> str:
        return f"HumanAgent(name={self.name!r})"


def match_move(text: str, legal: tuple[str, ...] | list[str]) -> str | None:
    """The legal move ``text`` names: its number (1-based), the move, or the move without
    brackets, ignoring case and spacing; ``None`` when it names none."""
    text = text.strip()
    if text.isdigit():
        k = int(text)
        return legal[k - 1] if 1 <= k <= len(legal) else None
    key = _key(text)
    for move in legal:
        if _key(move) == key:
            return move
    return None


def _key(move: str) -> str:
    move = move.strip()
    if move.startswith("[") and move.endswith("]"):
        move = move[1:-1]
    return " ".join(move.split()).lower()
