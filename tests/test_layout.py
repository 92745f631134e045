"""The project's modules import each other without cycles, counting imports inside functions too: a cycle
hidden in a function still means neither module can be read, tested or moved without the other."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGES = ("polebench",)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Each module of the project and the project's modules it imports anywhere in its body."""
    files = [p for package in PACKAGES for p in (ROOT / package).rglob("*.py")]
    files += sorted(ROOT.glob("*.py"))
    modules = {_module_name(p): p for p in files}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            else:
                continue
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and not name.startswith(target + "."):  # parents run first anyway
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iteratively).

    Example:
        >>> cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}})
        [['a', 'b']]
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """``graph`` with each subpackage of polebench (``polebench.run``, ``polebench.envs``, ...) as one node;
    a module outside them (``polebench.errors``, ``train.py``) stays a node of its own.

    Example:
        >>> sorted(package_graph({"polebench.run.a": {"polebench.envs.b", "polebench.run.c"}, "polebench.run.c": set(),
        ...                        "polebench.envs.b": set()}).items())
        [('polebench.envs', set()), ('polebench.run', {'polebench.envs'})]
    """

    def package(module: str) -> str:
        parts = module.split(".")
        return ".".join(parts[:2]) if len(parts) > 2 or (ROOT / "/".join(parts)).is_dir() else module

    packages: dict[str, set[str]] = {}
    for module, imported in graph.items():
        own = package(module)
        packages.setdefault(own, set()).update(package(other) for other in imported if package(other) != own)
    return packages


def test_no_module_imports_itself_through_others() -> None:
    graph = import_graph()
    assert len(graph) > 40 and "polebench.errors" in graph["polebench.run.training"]  # the walk sees imports
    assert cycles(graph) == []


def test_no_package_imports_itself_through_others() -> None:
    # Layers, not a web: a package can be read, tested and moved with only the packages below it.
    packages = package_graph(import_graph())
    assert {"polebench.run", "polebench.envs", "polebench.wrappers", "polebench.bench"} <= set(packages)
    assert "polebench.envs" in packages["polebench.run"]
    assert cycles(packages) == []


def test_the_cycle_finder_finds_a_cycle_through_a_function_level_import() -> None:
    graph = import_graph()
    graph["polebench.errors"].add("polebench.run.training")  # as if errors.py imported training inside a function
    assert any("polebench.errors" in component for component in cycles(graph))
    graph = import_graph()
    graph["polebench.wrappers.episode_quality"].add("polebench.envs.families")  # wrappers <-> envs, no module cycle
    assert cycles(graph) == [] and ["polebench.envs", "polebench.wrappers"] in cycles(package_graph(graph))


@pytest.mark.integration
def test_the_wheel_installs_polebench_alone_with_its_grids_and_recipes(tmp_path: Path) -> None:
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("polebench-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names if not name.startswith("polebench-")} == {"polebench"}
    assert {"polebench/benchmarks/cartpole-balance.yml", "polebench/benchmarks/ppo-balance.yml"} <= set(names)
    assert "polebench/hyperparams/ppo.yml" in names


@pytest.mark.integration
def test_a_project_with_its_own_agents_envs_and_wrappers_packages_runs_polebench(tmp_path: Path) -> None:
    for name in ("agents", "envs", "wrappers"):  # what a user's RL project often has, shadowing nothing now
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(f"raise ImportError('the project own {name}')\n")
    env = {**os.environ, "MPLBACKEND": "Agg", "SDL_VIDEODRIVER": "dummy"}

    def polebench(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "polebench", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)  # fmt: skip

    trained = polebench("train", "--algo", "lqr", "-f", "logs")
    assert trained.returncode == 0, trained.stderr[-2000:]
    replayed = polebench("enjoy", "--algo", "lqr", "-f", "logs", "-n", "1", "--no-render")
    assert replayed.returncode == 0 and replayed.stdout.strip().splitlines()[-1].startswith("mean return")
    benched = polebench("benchmark", "--grid", "cartpole-balance", "--agents", "lqr", "--seeds", "1", "-f", "bench")
    assert benched.returncode == 0 and (tmp_path / "bench" / "report.html").is_file(), benched.stderr[-2000:]
    exported = polebench("export", "--algo", "lqr", "-f", "logs", "--format", "torch", "-o", "lqr.pt2")
    assert exported.returncode == 0 and (tmp_path / "lqr.pt2").is_file(), exported.stderr[-2000:]
