"""Declared game options (spenv.options): construction, checking, error text, records, docs;
and what the base class owns for every game: system prompts and the retry line."""

from __future__ import annotations

import math
import shutil
from typing import Any, ClassVar

import pytest

import spenv
from spenv import registry
from spenv.env import TextEnv
from spenv.observation import Observation
from spenv.options import (
    Bool,
    Custom,
    Int,
    Maybe,
    Number,
    OneOf,
    Option,
    PathText,
    declared_options,
    describe,
    parse_options,
)

# ------------------------------------------------------------------------------ the checks


def test_int_refuses_bools_floats_and_out_of_range() -> None:
    check = Int(1, 5)
    assert check(1) == 1 and check(5) == 5
    for bad in (0, 6, True, 2.0, "3", None):
        with pytest.raises(ValueError):
            check(bad)
    assert Int(0).allowed == "a non-negative integer"
    assert Int(1).allowed == "a positive integer"
    assert Int(2).allowed == "an integer >= 2"
    assert Int(2, 9).allowed == "an integer from 2 to 9"


def test_number_refuses_non_finite_values_and_casts_unless_told() -> None:
    assert Number()(3) == 3.0 and isinstance(Number()(3), float)
    assert type(Number(cast=False)(3)) is int
    for bad in (math.nan, math.inf, -math.inf, True, "1", None, 10**400):
        with pytest.raises((ValueError, OverflowError)):
            Number()(bad)
    tau = Number(gt=0, le=1)
    assert tau(1) == 1.0
    for bad in (0, -0.5, 1.0001):
        with pytest.raises(ValueError):
            tau(bad)
    assert Number(gt=0).allowed == "a positive number"


def test_one_of_bool_maybe_and_path() -> None:
    flags = OneOf(0, 1)
    assert flags(1) == 1
    with pytest.raises(ValueError):
        flags(True)  # True == 1, but a bool is not the integer choice
    assert OneOf("a", "b").allowed == "one of 'a' or 'b'"
    assert Bool()(False) is False
    with pytest.raises(ValueError):
        Bool()(0)
    maybe = Maybe(Int(1))
    assert maybe(None) is None and maybe(3) == 3
    assert maybe.allowed == "None or a positive integer"
    assert PathText()(__import__("pathlib").Path("/x/y")) == "/x/y"
    with pytest.raises(ValueError):
        PathText()(3)


def test_option_names_itself_the_value_and_what_is_allowed() -> None:
    opt = Option("hands", 1, Int(1), "hands in a match")
    with pytest.raises(ValueError) as info:
        opt.parse(0, "KuhnPoker-v1")
    assert str(info.value) == "KuhnPoker-v1 option hands must be a positive integer, got 0"
    custom = Option("x", None, Custom(_even, "an even integer"))
    with pytest.raises(ValueError, match=r"must be an even integer, got 3 \(3 is odd\)$"):
        custom.parse(3, "G-v1")
    with pytest.raises(ValueError, match="record"):
        Option("x", 0, record="sometimes")


def _even(x: Any) -> int:
    if x % 2:
        raise ValueError(f"{x} is odd")
    return x


# ------------------------------------------------------------------------------ a small game
class Base(TextEnv):
    """Two seats; the first to answer [go] wins. Declares options of every kind."""

    env_id = "OptionsBase-v1"
    possible_agents: ClassVar[list[str]] = ["a", "b"]
    _moves: ClassVar[dict[str, str]] = {"[go]": "go"}
    OPTIONS: ClassVar[tuple[Option, ...]] = (
        Option("size", 3, Int(1, 9), "the size"),
        Option("mode", "x", OneOf("x", "y"), "the mode"),
        Option("table", {"k": 1}, None, "a mapping"),
        Option("path", None, Maybe(PathText()), "a path", record="always"),
        Option("derived", 2, Int(0), "recorded by the game", record="own"),
    )

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._system = {"a": f"rules for a, size {self.size}", "b": "rules for b"}

    def _new_game(self, options: dict[str, Any]) -> str:
        return "a"

    def _observe(self, agent: str) -> Observation:
        acting = not self._outcomes and agent == self.agent_selection
        return Observation(
            system=self._system[agent],
            user="Header line.\nMiddle line.\nSay [go].",
            role=agent,
            env_id=self.env_id,
            turn=self.turn,
            legal_actions=("[go]",) if acting else (),
        )

    def _parse(self, agent: str, action: str) -> tuple[str | None, str | None]:
        return (None, "say [go]") if "go" not in action else ("go", None)

    def _apply(self, agent: str, move: str) -> None:
        self._give({agent: 1.0})
        self._finish({agent: "win", ("b" if agent == "a" else "a"): "loss"})


class Child(Base):
    """Redeclares ``mode`` (a new default) and adds ``extra``."""

    env_id = "OptionsChild-v1"
    OPTIONS: ClassVar[tuple[Option, ...]] = (
        Option("mode", "y", OneOf("x", "y"), "the mode, y by default here"),
        Option("extra", False, Bool(), "one more"),
    )


def test_options_are_set_checked_and_recorded() -> None:
    env = Base()
    assert (env.size, env.mode, env.table, env.path, env.derived) == (3, "x", {"k": 1}, None, 2)
    assert env.retries == 0 and env.invalid_reward == -1.0
    # Defaults are not recorded (but an "always" option is; an "own" one is the game's).
    assert env.env_options() == {"path": None}
    env = Base(size=5, path=__import__("pathlib").Path("/d"), derived=7, retries=1)
    assert env.env_options() == {"retries": 1, "size": 5, "path": "/d"}
    # Passing a default explicitly records nothing more.
    assert Base(size=3, mode="x", invalid_reward=-1).env_options() == {"path": None}
    # A default mapping is the env's own copy, and the record is a copy of it.
    a, b = Base(), Base(table={"k": 2})
    a.table["k"] = 9
    assert Base().table == {"k": 1} and Base.OPTIONS[2].default == {"k": 1}
    rec = b.env_options()
    rec["table"]["k"] = 0
    assert b.table == {"k": 2}


def test_unknown_and_bad_options_raise_one_clear_message() -> None:
    with pytest.raises(ValueError) as info:
        Base(sise=4)
    text = str(info.value)
    assert text.startswith("OptionsBase-v1 has no option 'sise' (did you mean size?)")
    assert "retries, invalid_reward, size, mode, table, path, derived" in text
    with pytest.raises(ValueError, match=r"^OptionsBase-v1 option size must be an integer from 1 "):
        Base(size=10)
    with pytest.raises(ValueError, match=r"option mode must be one of 'x' or 'y', got 'z'$"):
        Base(mode="z")
    with pytest.raises(ValueError, match="option invalid_reward must be a finite number"):
        Base(invalid_reward=math.nan)
    with pytest.raises(ValueError, match="option retries must be a non-negative integer"):
        Base(retries=-1)
    # render_mode and env_id are arguments of the base class, not options.
    env = Base(render_mode="ansi", env_id="Other-v1")
    assert env.env_id == "Other-v1" and env.env_options() == {"path": None}
    with pytest.raises(ValueError, match="render_mode"):
        Base(render_mode="loud")


def test_a_subclass_redeclares_in_place_and_adds() -> None:
    names = list(declared_options(Child))
    base = ["retries", "invalid_reward", "size", "mode", "table", "path", "derived"]
    assert names == [*base, "extra"]
    env = Child()
    assert env.mode == "y" and env.extra is False
    assert env.env_options() == {"path": None}
    assert Child(mode="x", extra=True).env_options() == {"path": None, "mode": "x", "extra": True}
    assert describe(declared_options(Child))[3] == ("mode", "y", "the mode, y by default here")


def test_system_prompts_come_from_the_base_class_as_a_copy() -> None:
    env = Base(size=4)
    prompts = env.system_prompts()
    assert prompts == {"a": "rules for a, size 4", "b": "rules for b"}
    prompts["a"] = "changed"
    assert env.system_prompts()["a"] == "rules for a, size 4"
    env.reset(seed=0)
    env.step("[go]")
    assert env.episode().system == {"a": "rules for a, size 4", "b": "rules for b"}


def test_the_retry_line_goes_before_the_prompts_last_line() -> None:
    env = Base(retries=2)
    env.reset(seed=0)
    env.step("nothing")
    user = env.infos["a"]["observation"].user
    line = "Your previous answer was not a valid move: say [go]. Try again (2 attempts left)."
    assert user == f"Header line.\nMiddle line.\n{line}\nSay [go]."
    assert env.feedback == line
    env.step("still nothing")
    assert "(1 attempt left)" in env.infos["a"]["observation"].user
    assert "2 attempts left" not in env.infos["a"]["observation"].user
    env.step("[go]")
    assert env.episode().turns[1].observation["user"].count("not a valid move") == 1
    assert env.rewards == {"a": 1.0, "b": 0.0}


class PlacesItsOwn(Base):
    """A game that puts the retry line in its prompt itself: the base class adds no second."""

    env_id = "OptionsOwn-v1"

    def _observe(self, agent: str) -> Observation:
        obs = super()._observe(agent)
        if self.feedback and agent == self.agent_selection and not self._outcomes:
            return Observation(
                system=obs.system,
                user=f"{self.feedback}\n{obs.user}",
                role=obs.role,
                env_id=obs.env_id,
                turn=obs.turn,
                legal_actions=obs.legal_actions,
            )
        return obs


def test_a_game_that_places_the_retry_line_keeps_its_placement() -> None:
    env = PlacesItsOwn(retries=1)
    env.reset(seed=0)
    env.step("nothing")
    user = env.infos["a"]["observation"].user
    assert user.startswith("Your previous answer was not a valid move")
    assert user.count("not a valid move") == 1


# ------------------------------------------------------------------------------ every game
def _buildable(spec: registry.EnvSpec) -> bool:
    return all(shutil.which(tool) for tool in spec.requires)


GAMES = [s for s in registry.specs() if s.source == "spenv"]


@pytest.mark.parametrize("spec", GAMES, ids=lambda s: s.id)
def test_every_game_declares_its_options(spec: registry.EnvSpec) -> None:
    cls = spec.load()
    declared = declared_options(cls)
    assert {"retries", "invalid_reward"} <= set(declared)
    for name, opt in declared.items():
        assert opt.doc, f"{spec.id} option {name} has no doc"
    # The options its sample games are played with (registry) are options of the game.
    parse_options(declared, spec.sample_options, spec.id)
    # An unknown name fails before anything is built, naming the game and its options.
    with pytest.raises(ValueError, match=rf"^{spec.id} has no option 'no_such_option'"):
        spenv.make(spec.id, no_such_option=1)
    # A value of the wrong kind fails with the declared message (before anything is built).
    for name, opt in declared.items():
        if isinstance(opt.check, Int | Number | OneOf | Bool):
            with pytest.raises(ValueError, match=rf"^{spec.id} option {name} must be "):
                spenv.make(spec.id, **{name: object()})


@pytest.mark.parametrize("spec", GAMES, ids=lambda s: s.id)
def test_every_games_record_is_its_declared_values(spec: registry.EnvSpec) -> None:
    if not _buildable(spec):
        pytest.skip(f"{spec.id} needs {spec.requires}")
    env = spenv.make(spec.id)
    recorded = env.env_options()
    declared = declared_options(type(env))
    for name, value in recorded.items():
        opt = declared[name]
        assert opt.record == "always" or value != opt.default or opt.record == "own", name
    # The record rebuilds the same env: the same options, the same system prompts.
    again = spenv.make(spec.id, **recorded)
    assert again.env_options() == recorded
    assert again.system_prompts() == env.system_prompts()
    env.close()
    again.close()
