"""Shared helpers: running the real scripts as a user would, reading what they print and write back."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]

# The env a test runs an algorithm on where CartPole-v1 does not fit it: the recurrent agents on the
# partially observed CartPole, SB3's continuous agents and the swing-up controller on a continuous force.
TEST_ENVS = {
    "ppo_lstm": "CartPoleNoVel-v1",
    "ppo_gru": "CartPoleNoVel-v1",
    "sac": "CartPoleContinuous-v0",
    "td3": "CartPoleContinuous-v0",
    "swingup": "CartPoleSwingUp-v0",
}


def env_for(algo: str) -> str:
    """The env the tests run ``algo`` on: :data:`TEST_ENVS`'s, else CartPole-v1."""
    return TEST_ENVS.get(algo, "CartPole-v1")


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


def one_line_error(result: subprocess.CompletedProcess, needle: str, code: int = 2) -> None:
    """Assert that a script refused as a user mistake must be refused: exit ``code``, no traceback, and
    one line on stderr holding ``needle``."""
    assert result.returncode == code, result.stdout[-1000:] + result.stderr[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], result.stderr


class Page(HTMLParser):
    """An HTML page read back: each tag's elements' attributes, in order, and the page's text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, list[dict[str, str | None]]] = {}
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.setdefault(tag, []).append(dict(attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return self.tags.get(tag, [])


def parse_page(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text())
    return page
