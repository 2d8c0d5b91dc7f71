"""Reference agents for ConjectureProve (``ConjectureProve-v1``).

- ``conjecturer`` / ``prover``: one role-aware scripted agent (seated as the other role it
  plays that role's strategy, so swapped seatings work). As conjecturer it builds a conjecture
  from the round's seed lemma (and a second lemma) in its observation, using the env's seeded
  ``picks``:

  - ``lift``: the seed equation with both sides under one function the fixed automation does
    not see through (``sum`` for lists, ``negb`` for booleans, ``double`` for numbers): a
    consequence that needs the seed lemma under a congruence;
  - ``specialise``: the seed lemma with its first ``nat``/``list nat``/``bool`` variable
    replaced by a value (a number, a two-element list, a boolean);
  - ``compose``: the conjunction of the seed and the second lemma, the second's variables
    renamed apart;
  - ``wrong``: a known-false variant of the seed (``a = b`` becomes ``a = S b``, lengths off by
    one, ``b`` negated; ``a <= b`` becomes ``b < a``; ``a <> b`` becomes ``a = b``).

  The mode is the agent's ``mode`` parameter, or drawn from ``picks["mode"]`` (lift 50%,
  compose 20%, specialise 15%, wrong 15%). Specialisations and compositions are restatements
  of known lemmas (the env pays nothing for them), wrong ones are never proved: only lifts can
  earn the conjecturer a reward, which makes ``mode="wrong"`` the weakest honest conjecturer.
  As prover, every attempt draws one tactic from a fixed list with the agent's own generator,
  independently of the other attempts (it sees none of them): a sampling prover whose pass rate
  on a conjecture is the share of its tactics that prove it.
- ``random``: in either seat, random choices from its own generator. With probability
  ``blunder`` (default 0.4) it answers without the seat's tag (an invalid move, as an untrained
  model often does); otherwise, as conjecturer, a random mode, lemmas and value (or, with
  probability ``garbage``, default 0.2, a random string of library tokens, usually ill-formed)
  and, as prover, a random tactic from the list.

Agents read only their observation, so one agent object can play many games and both seats.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from spenv.agents.base import Agent, BaseAgent
from spenv.games.conjecture_prove.library import quantify
from spenv.observation import Observation

#: The scripted prover's tactics, in the order it tries them.
COQ_TACTICS = (
    "reflexivity.",
    "intros; lia.",
    "intros; repeat split; intros; auto with library.",
    "intros; simpl; auto.",
    "induction n; simpl; auto.",
    "intros; f_equal; auto with library.",
    "intros; repeat split; simpl; lia.",
    "auto.",
)
LEAN_TACTICS = (
    "rfl",
    "intros; omega",
    "intros; constructor <;> simp_all",
    "simp",
    "decide",
    "intros; simp_all",
    "intro n; induction n <;> simp_all",
    "intros; congr 1; simp_all",
)
TACTICS = {"coq": COQ_TACTICS, "lean": LEAN_TACTICS}
MODES = ("lift", "specialise", "compose", "wrong")
#: How the scripted conjecturer maps ``picks["mode"]`` in [0, 1) to a mode.
_MODE_SHARES = (("lift", 0.5), ("compose", 0.7), ("specialise", 0.85), ("wrong", 1.01))

_NAT = {"nat", "Nat"}
_LIST = {"list nat", "List Nat"}
_BOOL = {"bool", "Bool"}


def _subst(text: str, name: str, value: str) -> str:
    return re.sub(rf"(?<![\w']){re.escape(name)}(?![\w'])", lambda _m: value, text)


def _value(typ: str, v: int, lang: str) -> str | None:
    if typ in _NAT:
        return str(v)
    if typ in _LIST:
        sep = ", " if lang == "lean" else "; "
        return f"[{v}{sep}{v + 1}]"
    if typ in _BOOL:
        return "true" if v % 2 else "false"
    return None


def _body(t: Mapping[str, Any], lang: str) -> str:
    rel = t["rel"]
    if lang == "lean":
        rel = {"<=": "≤", "<>": "≠", "<->": "↔"}.get(rel, rel)
    return f"{t['lhs']} {rel} {t['rhs']}"


def specialise(t: Mapping[str, Any], value: int, lang: str = "coq") -> str | None:
    """``t`` with its first nat/list/bool variable replaced by a value (None if it has none)."""
    binders = [tuple(b) for b in t["binders"]]
    for i, (name, typ) in enumerate(binders):
        v = _value(typ, value, lang)
        if v is None:
            continue
        lhs, rhs = _subst(t["lhs"], name, v), _subst(t["rhs"], name, v)
        body = _body({**t, "lhs": lhs, "rhs": rhs}, lang)
        return quantify(binders[:i] + binders[i + 1 :], body, lang)
    return None


def compose(a: Mapping[str, Any], b: Mapping[str, Any], lang: str = "coq") -> str:
    """The conjunction of two templates, ``b``'s variables renamed apart (``n`` -> ``n'``)."""
    taken = {n for n, _ in a["binders"]}
    binders = [tuple(x) for x in a["binders"]]
    lhs, rhs = b["lhs"], b["rhs"]
    for name, typ in b["binders"]:
        new = name
        while new in taken:
            new += "'"
        taken.add(new)
        lhs, rhs = _subst(lhs, name, new), _subst(rhs, name, new)
        binders.append((new, typ))
    conj = "∧" if lang == "lean" else "/\\"
    body = f"({_body(a, lang)}) {conj} ({_body({**b, 'lhs': lhs, 'rhs': rhs}, lang)})"
    return quantify(binders, body, lang)


def wrong(t: Mapping[str, Any], lang: str = "coq") -> str | None:
    """A statement false for every instance of the (true) template ``t``; None if no rule."""
    lhs, rel, rhs, sort = t["lhs"], t["rel"], t["rhs"], t.get("sort")
    lean = lang == "lean"
    if rel == "=" and sort == "nat":
        body = f"{lhs} = ({rhs}) + 1" if lean else f"{lhs} = S ({rhs})"
    elif rel == "=" and sort == "list":
        body = (
            f"({lhs}).length = ({rhs}).length + 1"
            if lean
            else f"length ({lhs}) = S (length ({rhs}))"
        )
    elif rel == "=" and sort == "bool":
        body = f"{lhs} = !({rhs})" if lean else f"{lhs} = negb ({rhs})"
    elif rel == "<=":
        body = f"{rhs} < {lhs}"
    elif rel == "<":
        body = f"{rhs} {'≤' if lean else '<='} {lhs}"
    elif rel == "<>":
        body = f"{lhs} = {rhs}"
    else:
        return None
    return quantify([tuple(b) for b in t["binders"]], body, lang)


def lift(t: Mapping[str, Any], lang: str = "coq") -> str | None:
    """The equation ``t`` with both sides under one function (None if ``t`` is no equation)."""
    if t["rel"] != "=":
        return None
    lean = lang == "lean"
    wrap = {
        "nat": "Nat.succ ({})" if lean else "double ({})",
        "list": "List.length ({})" if lean else "sum ({})",
        "bool": "!({})" if lean else "negb ({})",
    }.get(str(t.get("sort")))
    if wrap is None:
        return None
    body = f"{wrap.format(t['lhs'])} = {wrap.format(t['rhs'])}"
    return quantify([tuple(b) for b in t["binders"]], body, lang)


def build(mode: str, templates: Sequence[Mapping[str, Any]], i: int, j: int, value: int,
          lang: str) -> str:  # fmt: skip
    """The conjecture of ``mode`` from templates ``i`` and ``j`` (falls back to compose)."""
    n = len(templates)
    if mode == "lift":
        for k in range(n):
            s = lift(templates[(i + k) % n], lang)
            if s is not None:
                return s
    if mode == "specialise":
        for k in range(n):
            s = specialise(templates[(i + k) % n], value, lang)
            if s is not None:
                return s
    if mode == "wrong":
        for k in range(n):
            s = wrong(templates[(i + k) % n], lang)
            if s is not None:
                return s
    return compose(templates[i % n], templates[j % n], lang)


def _templates(obs: Observation) -> list[Mapping[str, Any]]:
    return [t for t in obs.state.get("library", ()) if "lhs" in t]


class ConjectureProveAgent(BaseAgent):
    """The scripted conjecturer and prover (module docstring)."""

    def __init__(
        self,
        *,
        name: str = "conjecturer",
        mode: str | None = None,
        tactics: Sequence[str] | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(name=name, seed=seed)
        if mode is not None and mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        self.tactics = tuple(tactics) if tactics is not None else None

    def act(self, obs: Observation) -> str:
        if obs.role == "conjecturer":
            return f"<statement>{self.conjecture(obs)}</statement>"
        if obs.role == "prover":
            return f"<proof>{self.prove(obs)}</proof>"
        raise ValueError(f"not a ConjectureProve seat: {obs.role!r}")

    def conjecture(self, obs: Observation) -> str:
        picks = obs.state["picks"]
        mode = self.mode
        if mode is None:
            u = float(picks["mode"])
            mode = next(m for m, top in _MODE_SHARES if u < top)
        i, j = picks["seed"], picks["other"]
        return build(mode, _templates(obs), i, j, int(picks["value"]), obs.state["language"])

    def prove(self, obs: Observation) -> str:
        """One attempt: a tactic drawn from the list, independently of any other attempt."""
        tactics = self.tactics or TACTICS[obs.state["language"]]
        return tactics[int(self.rng.integers(len(tactics)))]


class RandomConjectureProveAgent(BaseAgent):
    """Random moves from the agent's own generator (module docstring)."""

    name = "random"

    def __init__(self, *, blunder: float = 0.4, garbage: float = 0.2, seed: int | None = None):
        super().__init__(seed=seed)
        for key, value in (("blunder", blunder), ("garbage", garbage)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ValueError(f"{key} must be a probability, got {value!r}")
        self.blunder = float(blunder)
        self.garbage = float(garbage)

    def act(self, obs: Observation) -> str:
        rng = self.rng
        if rng.random() < self.blunder:
            return _CHATTER[int(rng.integers(len(_CHATTER)))]
        lang = obs.state.get("language", "coq")
        if obs.role == "prover":
            tactics = TACTICS[lang]
            return f"<proof>{tactics[int(rng.integers(len(tactics)))]}</proof>"
        templates = _templates(obs)
        if rng.random() < self.garbage:
            words = " ".join(f"{t['lhs']} {t['rel']} {t['rhs']}" for t in templates).split()
            k = int(rng.integers(3, 9))
            soup = " ".join(words[int(rng.integers(len(words)))] for _ in range(k))
            return f"<statement>{soup}</statement>"
        mode = MODES[int(rng.integers(len(MODES)))]
        n = len(templates)
        i, j = int(rng.integers(n)), int(rng.integers(n))
        stmt = build(mode, templates, i, j, int(rng.integers(10)), lang)
        return f"<statement>{stmt}</statement>"


#: What the random agent says when it blunders (no tag: an invalid move).
_CHATTER = (
    "I am not sure what to do here.",
    "Let me think about the library first.",
    "forall n, n = n",
    "<answer>42</answer>",
)


_FACTORIES: dict[str, Callable[..., Agent]] = {
    "conjecturer": lambda seed=None, **kw: ConjectureProveAgent(
        name="conjecturer", seed=seed, **kw
    ),
    "prover": lambda seed=None, **kw: ConjectureProveAgent(name="prover", seed=seed, **kw),
    "random": lambda seed=None, **kw: RandomConjectureProveAgent(seed=seed, **kw),
}

#: Names of the game's reference agents (``random`` included).
REFERENCE_AGENTS = tuple(_FACTORIES)


def reference_agent(name: str, *, seed: int | None = None, **params: Any) -> Agent:
    """Build a ConjectureProve agent: ``conjecturer`` or ``prover`` (both take ``mode`` and
    ``tactics``) or ``random`` (takes ``blunder`` and ``garbage``)."""
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ValueError(
            f"no ConjectureProve agent named {name!r}; known: {REFERENCE_AGENTS}"
        ) from None
    return factory(seed=seed, **params)
