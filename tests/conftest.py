"""Shared helpers: running the real scripts as a user would, and hashing a folder."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_script(script: str, *args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``python <ROOT>/<script> args...`` in ``cwd`` (default: a folder that is not the checkout)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg", "SDL_VIDEODRIVER": "dummy"}
    env.pop("DISPLAY", None)
    return subprocess.run(
        [sys.executable, str(ROOT / script), *args],
        cwd=cwd or ROOT.parent,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def tree_hash(folder: Path) -> str:
    """A hash of every file's path and bytes under ``folder`` (empty if it does not exist)."""
    digest = hashlib.sha256()
    if folder.exists():
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(folder)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def read_summary(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "summary.json").read_text())


@pytest.fixture(scope="session")
def trained_ppo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A log folder holding one short PPO run on CartPole-v1, shared by the replay tests."""
    logs = tmp_path_factory.mktemp("shared") / "logs"
    result = run_script("train.py", "--algo", "ppo", "-n", "512", "--eval-freq", "256", "-f", str(logs))
    assert result.returncode == 0, result.stderr
    return logs
