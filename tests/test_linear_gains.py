"""scripts/linear_gains.py: a linear PPO policy read as a controller's gain beside the LQR's."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import run_script

LINEAR = "policy_kwargs={net_arch: {pi: [], vf: [16]}}"


def _train(tmp_path: Path, *hyperparams: str) -> Path:
    result = run_script(
        "train.py", "--algo", "ppo", "-n", "2048", "--eval-freq", "0", "--final-eval-episodes", "2",
        "-f", str(tmp_path), "--hyperparams", "normalize=true", *hyperparams,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return tmp_path / "ppo" / "CartPole-v1_1"


def test_a_linear_policy_prints_four_gains_scaled_to_the_lqrs_angle(tmp_path: Path) -> None:
    run = _train(tmp_path, LINEAR)
    result = run_script("scripts/linear_gains.py", str(run))
    assert result.returncode == 0, result.stderr
    gains = re.search(r"\[([^\]]+)\]", result.stdout.splitlines()[-1])
    assert gains is not None, result.stdout
    values = [float(v) for v in gains.group(1).split()]
    assert len(values) == 4 and abs(values[2]) == 1.0  # each gain in units of the LQR's, the angle's is its own


def test_a_policy_with_hidden_layers_or_a_folder_that_is_no_run_is_one_line(tmp_path: Path) -> None:
    run = _train(tmp_path)
    for folder, message in ((run, "has hidden layers"), (tmp_path, "polebench run folder")):
        result = run_script("scripts/linear_gains.py", str(folder))
        assert result.returncode != 0 and message in result.stderr and "Traceback" not in result.stderr
