"""Where and with what a run ran: library versions, the project's commit, the CPU and its threads.

Each run's ``config.yml`` records it; the benchmark report states the driver's once at the top.
"""

from __future__ import annotations

import os
import platform
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]  # the checkout, when polebench runs from one
LIBRARIES = ("torch", "stable-baselines3", "sb3-contrib", "gymnasium", "numpy")


@cache
def provenance(num_threads: int | None = None) -> dict[str, Any]:
    """Versions of Python and the libraries that decide the numbers, the git commit of this checkout
    (``None`` outside one), the CPU model, its core count and the PyTorch threads used."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "versions": versions,
        "git_commit": git_commit(ROOT),
        "cpu": cpu_model(),
        "cpu_cores": os.cpu_count(),
        "torch_threads": num_threads,
    }


def git_commit(root: Path) -> str | None:
    """The commit checked out at ``root``, read from ``.git`` itself (no ``git`` process), or ``None``."""
    git = root / ".git"
    try:
        if git.is_file():  # a worktree: ".git" names the real folder
            git = (root / git.read_text().split(":", 1)[1].strip()).resolve()
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head
        ref = head[5:]
        common = git / "commondir"
        base = (git / common.read_text().strip()).resolve() if common.is_file() else git
        for folder in (git, base):
            if (folder / ref).is_file():
                return (folder / ref).read_text().strip()
        packed = base / "packed-refs"
        for line in packed.read_text().splitlines() if packed.is_file() else []:
            if line.endswith(" " + ref):
                return line.split()[0]
    except OSError:
        pass
    return None


def cpu_model() -> str:
    """The CPU's model name (Linux's ``/proc/cpuinfo``), or what ``platform`` says elsewhere."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def describe(info: dict[str, Any] | None = None) -> str:
    """One sentence for a report: the machine and the versions.

    Example:
        >>> describe({"versions": {"python": "3.11.7", "torch": "2.13.0"}, "git_commit": "abcdef123456",
        ...           "cpu": "Some CPU", "cpu_cores": 2, "torch_threads": 1})
        'Machine: Some CPU, 2 cores. Versions: python 3.11.7, torch 2.13.0; polebench commit abcdef1234.'
    """
    info = info or provenance()
    versions = ", ".join(f"{name} {version}" for name, version in info["versions"].items() if version)
    commit = f"; polebench commit {info['git_commit'][:10]}" if info.get("git_commit") else ""
    return f"Machine: {info['cpu']}, {info['cpu_cores']} cores. Versions: {versions}{commit}."
