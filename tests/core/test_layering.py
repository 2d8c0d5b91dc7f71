"""The kernel layering (docs/architecture.md): kernel modules import nothing above the kernel,
and no project module takes part in an import cycle.

Imports are read from the source (every ``import`` statement, at any depth, including the
lazy ones inside functions and under ``TYPE_CHECKING``); the runtime check imports the kernel in a
clean interpreter and looks at what got loaded.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: The source folder of each top-level package of the project (pyproject's package-dir).
FOLDERS = {
    "spenv": "spenv",
    "games": "spenv.games",
    "agents": "spenv.agents",
    "verifiers": "spenv.verifiers",
    "benchmarks": "spenv.benchmarks",
    "leaderboard": "spenv.leaderboard",
}

#: The kernel: what every game and application stands on.
KERNEL = frozenset(
    {
        "spenv",
        "spenv._version",
        "spenv.spaces",
        "spenv.observation",
        "spenv.episode",
        "spenv.streams",
        "spenv.env",
        "spenv.options",
        "spenv.agent",
        "spenv.registry",
        "spenv.rollout",
        "spenv.wrappers",
        "spenv.stats",
        "spenv.datafiles",
    }
)


def project_modules() -> dict[str, Path]:
    mods = {}
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT / folder)
            if folder == "benchmarks" and rel.parts[0] == "perf":
                continue  # the perf suite is not part of the package
            parts = list(rel.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join([package, *parts])] = path
    return mods


MODULES = project_modules()


def _project_module(name: str) -> str | None:
    """The project module an imported name lives in (``None``: not the project's)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(name: str, path: Path) -> set[str]:
    """The project modules that ``name`` imports, anywhere in its source.

    ``from pkg import sub`` counts as importing ``pkg.sub`` when that is a module (the package's
    own ``__init__`` runs before any of its submodules, so that edge is not counted).
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    found: set[str | None] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(_project_module(a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                found.add(sub if sub in MODULES else _project_module(module))
    found.discard(None)
    found.discard(name)
    return found  # type: ignore[return-value]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def test_the_kernel_modules_exist() -> None:
    assert set(MODULES) >= KERNEL, sorted(KERNEL - set(MODULES))


@pytest.mark.parametrize("module", sorted(KERNEL))
def test_kernel_module_imports_nothing_above_the_kernel(module: str) -> None:
    above = sorted(imports_of(module, MODULES[module]) - KERNEL)
    assert not above, f"{module} imports {above}, which sit above the kernel"


def test_no_import_cycle_among_project_modules() -> None:
    graph = {name: imports_of(name, path) for name, path in MODULES.items()}
    assert _cycles(graph) == []


def test_the_checks_see_imports_and_cycles() -> None:
    """The checks themselves: lazy, relative and from-imports are seen; a cycle is found."""
    assert "spenv.agents.base" in imports_of("spenv.agents", MODULES["spenv.agents"])
    cli = "spenv.apps.cli"
    assert "spenv.rollout" in imports_of(cli, MODULES[cli])  # inside functions
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_importing_the_kernel_loads_nothing_above_it() -> None:
    code = (
        "import sys\n"
        f"for m in {sorted(KERNEL)!r}:\n"
        "    __import__(m)\n"
        f"kernel = {sorted(KERNEL)!r}\n"
        "print('\\n'.join(m for m in sys.modules if m.startswith('spenv') and m not in kernel))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.split() == []


def test_agents_by_spec_go_through_a_resolver() -> None:
    """The runner builds spec strings with the resolver it is given, not by importing agents."""
    from spenv.agent import BaseAgent
    from spenv.rollout import run_games

    class Always(BaseAgent):
        def act(self, obs):
            return obs.legal_actions[0]

    asked: list[tuple[str, str, int | None]] = []

    def resolve(spec: str, env_id: str, *, seed: int | None = None) -> BaseAgent:
        asked.append((spec, env_id, seed))
        return Always(name=spec, seed=seed)

    eps = run_games("KuhnPoker-v1", ["first", "first"], games=2, seed=3, resolve=resolve)
    assert asked == [("first", "KuhnPoker-v1", 3 * 1_000_003)]  # one object per spec
    assert all(t.action in ("[check]", "[fold]") for e in eps for t in e.turns)
    assert {e.players["player_0"] for e in eps} == {"first", "first#2"}


def test_applications_live_in_their_own_subpackages() -> None:
    """The modules directly under ``spenv`` are the kernel (plus the entry point and run
    metadata); applications sit in ``spenv.apps`` and bridges in ``spenv.integrations``."""
    top = {m for m, path in MODULES.items() if path.parent == ROOT / "spenv" and m != "spenv"}
    assert top - KERNEL <= {"spenv.__main__", "spenv.meta"}, sorted(top - KERNEL)
    for app in ("spenv.apps.cli", "spenv.apps.demo", "spenv.apps.distributed"):
        assert app in MODULES
    assert "spenv.integrations.textarena" in MODULES
