"""Real learning, real thresholds: slow (tens of seconds), still run in CI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import read_summary, run_script


def _solve(algo: str, seed: int, logs: Path) -> dict[str, Any]:
    result = run_script("train.py", "--algo", algo, "--seed", str(seed), "--stop-on-solve", "-f", str(logs))
    assert result.returncode == 0, result.stderr
    summary = read_summary(logs / algo / "CartPole-v1_1")
    assert summary["solved"] is True
    assert summary["final_mean_return"] >= 475.0
    return summary


@pytest.mark.slow
def test_ppo_solves_cartpole(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    _solve("ppo", 1, logs)
    replay = run_script("enjoy.py", "--algo", "ppo", "-f", str(logs), "-n", "5", "--no-render")
    assert replay.returncode == 0, replay.stderr
    mean = float(replay.stdout.strip().splitlines()[-1].split()[2])
    assert mean >= 475.0


@pytest.mark.slow
def test_qlearning_solves_cartpole_through_the_discretizer(tmp_path: Path) -> None:
    summary = _solve("qlearning", 2, tmp_path / "logs")
    assert summary["timesteps"] > 0
