"""scripts/linear_gains.py: a linear PPO or ARS policy read as a controller's gain beside the LQR's, and
where it holds the cart."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import run_script

# Every test here starts the scripts as a user would.
pytestmark = pytest.mark.integration

LINEAR = "policy_kwargs={net_arch: {pi: [], vf: [16]}}"


def _train(tmp_path: Path, *args: str) -> Path:
    result = run_script(
        "train.py", "--algo", "ppo", "-n", "2048", "--eval-freq", "0", "--final-eval-episodes", "2",
        "-f", str(tmp_path), *args,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return tmp_path / "ppo" / "CartPole-v1_1"


def _gains(stdout: str) -> list[float]:
    found = re.search(r"\[([^\]]+)\]", stdout.splitlines()[-1])
    assert found is not None, stdout
    return [float(v) for v in found.group(1).split()]


def test_a_policy_that_is_the_lqr_in_another_scale_reads_as_the_lqr(tmp_path: Path) -> None:
    """Weights set to twice the LQR's gain (of the run's own pole length) times the observation scales, with
    the rows of the two actions apart: the script undoes the scales and the action difference and says 1x."""
    import torch as th
    from stable_baselines3 import PPO

    from polebench.agents.lqr import cartpole_gain

    run = _train(tmp_path, "--hyperparams", "normalize=true", LINEAR, "--env-kwargs", "length=0.7")
    with open(run / "vecnormalize.pkl", "rb") as file:
        stats = pickle.load(file)
    scale = np.sqrt(stats.obs_rms.var + stats.epsilon)
    gain = cartpole_gain(9.8, 1.0, 0.1, 0.7, 10.0, 0.02)  # lqr.yml's costs are cartpole_gain's defaults
    model = PPO.load(run / "CartPole-v1.zip", device="cpu")
    state = model.policy.state_dict()
    push_left = np.array([0.3, -0.2, 0.1, 0.4])
    rows = np.stack([push_left, push_left - 2.0 * gain * scale])  # push right when -K . s > 0
    state["action_net.weight"] = th.as_tensor(rows, dtype=th.float32)
    model.policy.load_state_dict(state)
    model.save(run / "CartPole-v1.zip")
    result = run_script("scripts/linear_gains.py", str(run))
    assert result.returncode == 0, result.stderr
    assert _gains(result.stdout) == [1.0, 1.0, 1.0, 1.0]


def test_an_ars_policy_centred_on_a_mean_off_the_middle_holds_the_cart_there(tmp_path: Path) -> None:
    """ARS's LinearPolicy (no bias) with the LQR's gain on observations centred on a running mean of 0.1 m:
    the script reads the LQR's gain and says the policy holds the cart 0.1 m right of the middle."""
    import torch as th
    from stable_baselines3.common.vec_env import VecNormalize

    from polebench.agents.ars import ARS
    from polebench.agents.lqr import cartpole_gain
    from polebench.envs.factory import make_vec

    result = run_script("train.py", "--algo", "ars", "-n", "2000", "--eval-freq", "0", "--final-eval-episodes", "2",
                        "--hyperparams", "normalize=true", "-f", str(tmp_path))  # fmt: skip
    assert result.returncode == 0, result.stderr
    run = tmp_path / "ars" / "CartPole-v1_1"
    stats = VecNormalize.load(str(run / "vecnormalize.pkl"), make_vec("CartPole-v1", 1, 0))
    stats.obs_rms.mean = np.array([0.1, 0.0, 0.0, 0.0])
    stats.save(str(run / "vecnormalize.pkl"))
    scale = np.sqrt(stats.obs_rms.var + stats.epsilon)
    gain = cartpole_gain(9.8, 1.0, 0.1, 0.5, 10.0, 0.02)
    model = ARS.load(run / "CartPole-v1.zip", device="cpu")
    rows = np.stack([np.zeros(4), -gain * scale])  # push right when -K . (s - mean) > 0
    model.policy.load_state_dict({"action_net.0.weight": th.as_tensor(rows, dtype=th.float32)})
    model.save(run / "CartPole-v1.zip")
    read = run_script("scripts/linear_gains.py", str(run))
    assert read.returncode == 0, read.stderr
    assert _gains(read.stdout) == [1.0, 1.0, 1.0, 1.0]
    assert read.stdout.strip().endswith("holds the cart at +0.100 m"), read.stdout


def test_a_policy_with_hidden_layers_another_algorithm_or_no_run_is_one_line(tmp_path: Path) -> None:
    run = _train(tmp_path / "mlp")
    lqr = run_script("train.py", "--algo", "lqr", "-f", str(tmp_path / "lqr"))
    assert lqr.returncode == 0, lqr.stderr
    for folder, message in (
        (run, "has hidden layers"),
        (tmp_path / "lqr" / "lqr" / "CartPole-v1_1", "a run of lqr"),
        (tmp_path, "polebench run folder"),
    ):
        result = run_script("scripts/linear_gains.py", str(folder))
        assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
