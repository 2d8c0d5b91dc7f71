"""The episode record: a JSON-serializable account of one game.

An :class:`Episode` holds everything needed to audit and re-run a game: the env id and options,
the seed (and the generator state the game started from, when it continued an earlier stream
and drew from it), who sat in which seat,
every turn (observation, raw action, parsed move, validity), rewards, outcomes, verifier
verdicts and timings. ``spenv.replay(episode)`` re-runs it from the seed and the raw actions.

The on-disk form is one JSON object per line (JSONL). ``SCHEMA`` names the format version; a
reader refuses versions it does not know instead of guessing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from spenv._version import __version__

SCHEMA = "spenv.episode/1"

#: The outcome of a game for one agent.
OUTCOMES = ("win", "loss", "draw", "invalid", "truncated", "error")


class EpisodeFormatError(ValueError):
    """A stored episode is malformed or of an unknown schema."""


@dataclass(slots=True)
class Turn:
    """One decision: what the agent saw, what it answered, what the game made of it.

    ``observation`` is the observation's stored form (without ``env_id``, and without the
    system prompt when it is the seat's, kept once in :attr:`Episode.system`). Games that reuse
    their observations across games share that dict between the turns that saw the same
    observation, in this episode and others: treat it as read-only (copy it to change it).
    """

    index: int
    agent: str
    turn: int
    observation: dict[str, Any]
    action: str | None
    move: str | None
    valid: bool
    error: str | None = None
    elapsed: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # The decision's own reward when the game scores decisions one by one (each attempt's
    # verdict, each proposal's score); None: the seat's episode reward is the decision's return.
    reward: float | None = None

    def to_dict(self) -> dict[str, Any]:
        d = {
            "index": self.index,
            "agent": self.agent,
            "turn": self.turn,
            "observation": self.observation,
            "action": self.action,
            "move": self.move,
            "valid": self.valid,
            "error": self.error,
        }
        if self.elapsed is not None:
            d["elapsed"] = self.elapsed
        if self.extra:
            d["extra"] = self.extra
        if self.reward is not None:
            d["reward"] = self.reward
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Turn:
        return cls(
            index=int(d["index"]),
            agent=str(d["agent"]),
            turn=int(d["turn"]),
            observation=dict(d["observation"]),
            action=d["action"],
            move=d["move"],
            valid=bool(d["valid"]),
            error=d.get("error"),
            elapsed=d.get("elapsed"),
            extra=dict(d.get("extra") or {}),
            reward=None if d.get("reward") is None else float(d["reward"]),
        )


@dataclass(slots=True)
class Episode:
    """One game, from reset to the end, as a plain record."""

    env_id: str
    seed: int | None
    agents: list[str]
    turns: list[Turn]
    rewards: dict[str, float]
    outcomes: dict[str, str]
    env_options: dict[str, Any] = field(default_factory=dict)
    reset_options: dict[str, Any] = field(default_factory=dict)
    rng_state: dict[str, Any] | None = None
    system: dict[str, str] = field(default_factory=dict)
    players: dict[str, str] = field(default_factory=dict)
    status: str = "completed"
    error: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    # 128 random bits as 32 hex digits (uuid4's form without its fixed bits; 4x cheaper).
    id: str = field(default_factory=lambda: os.urandom(16).hex())
    spenv_version: str = __version__
    schema: str = SCHEMA

    @property
    def env_version(self) -> int | None:
        """The version number of the env id (``KuhnPoker-v1`` -> 1)."""
        _, _, v = self.env_id.rpartition("-v")
        return int(v) if v.isdigit() else None

    @property
    def invalid_turns(self) -> list[Turn]:
        return [t for t in self.turns if not t.valid]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "id": self.id,
            "env_id": self.env_id,
            "env_version": self.env_version,
            "seed": self.seed,
            "rng_state": self.rng_state,
            "env_options": _plain(self.env_options),
            "reset_options": _plain(self.reset_options),
            "agents": list(self.agents),
            "players": dict(self.players),
            "system": dict(self.system),
            "turns": [t.to_dict() for t in self.turns],
            "rewards": dict(self.rewards),
            "outcomes": dict(self.outcomes),
            "status": self.status,
            "error": self.error,
            "info": _plain(self.info),
            "verdicts": _plain(self.verdicts),
            "timings": dict(self.timings),
            "metadata": dict(self.metadata),
            "spenv_version": self.spenv_version,
        }

    def to_json(self) -> str:
        """One line of JSON. Text stays readable UTF-8; text that cannot be encoded as UTF-8
        (a lone surrogate in an agent's answer) is escaped instead, so it is never lost."""
        d = self.to_dict()
        text = json.dumps(d, ensure_ascii=False, separators=(",", ":"))
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = json.dumps(d, ensure_ascii=True, separators=(",", ":"))
        return text

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Episode:
        if not isinstance(d, Mapping):
            raise EpisodeFormatError(f"an episode must be a JSON object, got {type(d).__name__}")
        schema = d.get("schema")
        if schema != SCHEMA:
            raise EpisodeFormatError(
                f"unknown episode schema {schema!r}; this spenv reads {SCHEMA!r}"
            )
        try:
            return cls(
                schema=schema,
                id=str(d["id"]),
                env_id=str(d["env_id"]),
                seed=d["seed"],
                rng_state=d.get("rng_state"),
                env_options=dict(d.get("env_options") or {}),
                reset_options=dict(d.get("reset_options") or {}),
                agents=list(d["agents"]),
                players=dict(d.get("players") or {}),
                system=dict(d.get("system") or {}),
                turns=[Turn.from_dict(t) for t in d["turns"]],
                rewards={k: float(v) for k, v in d["rewards"].items()},
                outcomes=dict(d["outcomes"]),
                status=d.get("status", "completed"),
                error=d.get("error"),
                info=dict(d.get("info") or {}),
                verdicts=list(d.get("verdicts") or []),
                timings=dict(d.get("timings") or {}),
                metadata=dict(d.get("metadata") or {}),
                spenv_version=d.get("spenv_version", "unknown"),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise EpisodeFormatError(f"malformed episode: {type(exc).__name__}: {exc}") from exc

    @classmethod
    def from_json(cls, text: str) -> Episode:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise EpisodeFormatError(f"not valid JSON: {exc}") from exc
        return cls.from_dict(data)

    def replay_key(self) -> dict[str, Any]:
        """The part of the record that a replay must reproduce exactly.

        Leaves out what legitimately differs between runs: the episode id, who played, timings,
        per-turn agent metadata (timing, token ids) and the spenv version.
        """
        d = self.to_dict()
        for k in ("id", "players", "timings", "metadata", "spenv_version"):
            d.pop(k)
        d["turns"] = [
            {k: v for k, v in t.items() if k not in ("elapsed", "extra")} for t in d["turns"]
        ]
        d["verdicts"] = [
            {k: v for k, v in v.items() if k != "elapsed"} if isinstance(v, dict) else v
            for v in d["verdicts"]
        ]
        return d


def _plain(value: Any) -> Any:
    """The value as JSON will read it back (tuples become lists, keys become strings)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class EpisodeWriter:
    """Appends episodes to a JSONL file, one line each, flushed as they finish.

    Each line is written whole and flushed (and fsynced on close), so a crash loses at most the
    line being written; :func:`read_episodes` reports a torn last line instead of failing.
    """

    def __init__(self, path: str | os.PathLike[str], *, append: bool = False) -> None:
        self.path = Path(path)
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: IO[str] | None = open(self.path, "a" if append else "w", encoding="utf-8")  # noqa: SIM115
        self.count = 0

    def write(self, episode: Episode) -> None:
        if self._fh is None:
            raise ValueError(f"writer for {self.path} is closed")
        self._fh.write(episode.to_json() + "\n")
        self._fh.flush()
        self.count += 1

    def close(self) -> None:
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            self._fh = None

    def __enter__(self) -> EpisodeWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_episodes(path: str | os.PathLike[str], episodes: Iterable[Episode]) -> int:
    """Write episodes to a JSONL file; returns how many were written."""
    with EpisodeWriter(path) as w:
        for ep in episodes:
            w.write(ep)
        return w.count


class TornLineWarning(UserWarning):
    """:func:`read_episodes` skipped a torn last line and no ``errors`` list was given."""


def read_episodes(
    path: str | os.PathLike[str],
    *,
    skip_bad: bool = False,
    errors: list[str] | None = None,
    strict: bool = False,
) -> Iterator[Episode]:
    """Read episodes from a JSONL file.

    An unterminated last line that does not parse is a write cut short (a run killed
    mid-line; the writer ends every record with its newline in the same write): it is skipped
    and reported, its description (file, line number, reason) appended to ``errors`` or, when no
    list is given, issued as a :class:`TornLineWarning`; with ``strict`` it raises
    :class:`EpisodeFormatError` instead. Any other malformed line raises
    :class:`EpisodeFormatError` naming the file and line, unless ``skip_bad`` is set: then it is
    skipped and reported in ``errors`` too.
    """
    with open(path, "rb") as fh:
        held: tuple[int, bytes] | None = None  # the latest non-blank line, read one line ahead
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            if held is not None:
                ep = _episode_line(path, *held, skip_bad=skip_bad, errors=errors)
                if ep is not None:
                    yield ep
            held = (lineno, line)
        if held is None:
            return
        if held[1].endswith(b"\n"):  # written whole: a malformed line, not a torn one
            ep = _episode_line(path, *held, skip_bad=skip_bad, errors=errors)
            if ep is not None:
                yield ep
            return
        try:
            yield _parse_line(held[1])
        except EpisodeFormatError as exc:
            msg = f"{path}:{held[0]}: torn last line skipped ({exc})"
            if strict:
                raise EpisodeFormatError(f"{path}:{held[0]}: {exc}") from exc
            if errors is not None:
                errors.append(msg)
            else:
                import warnings

                warnings.warn(msg, TornLineWarning, stacklevel=2)


def _parse_line(raw: bytes) -> Episode:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EpisodeFormatError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return Episode.from_json(text)


def _episode_line(
    path: Any, lineno: int, line: bytes, *, skip_bad: bool, errors: list[str] | None
) -> Episode | None:
    try:
        return _parse_line(line)
    except EpisodeFormatError as exc:
        msg = f"{path}:{lineno}: {exc}"
        if not skip_bad:
            raise EpisodeFormatError(msg) from exc
        if errors is not None:
            errors.append(msg)
        return None
