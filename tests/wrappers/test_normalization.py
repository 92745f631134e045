"""Observation normalisation about zero (``normalize: {center_obs: false}``): the running statistics never
move the centre, the scale is the root mean square, and the statistics survive SB3's save and load."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.running_mean_std import RunningMeanStd
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from polebench.wrappers.normalization import ZeroMeanStatistics, vec_normalize


def test_batches_pool_to_the_mean_square_and_the_mean_stays_zero() -> None:
    data = np.random.default_rng(0).normal(0.3, 0.1, size=(1000, 2))
    stats = ZeroMeanStatistics(epsilon=1e-12, shape=(2,))
    for batch in np.split(data, 10):
        stats.update(batch)
    assert np.all(stats.mean == 0.0)
    np.testing.assert_allclose(stats.var, np.mean(data**2, axis=0), rtol=1e-9)
    assert isinstance(stats.copy(), ZeroMeanStatistics) and np.array_equal(stats.copy().var, stats.var)


def _offset_env(offset: float) -> gym.Env:
    """CartPole whose observations are all shifted by ``offset``: centring would remove the shift."""
    return gym.wrappers.TransformObservation(
        gym.make("CartPole-v1"),
        lambda obs: obs + np.float32(offset),
        gym.spaces.Box(-np.inf, np.inf, (4,), np.float32),
    )


@pytest.mark.parametrize("center", [True, False])
def test_only_the_centred_statistics_remove_an_offset(center: bool) -> None:
    env = vec_normalize(DummyVecEnv([lambda: _offset_env(5.0)]), {"center_obs": center, "norm_reward": False})
    env.seed(0)
    actions = np.random.default_rng(0).integers(0, 2, size=200)
    obs = [env.reset()]
    for action in actions:
        obs.append(env.step(np.array([action]))[0])
    mean = float(np.mean(obs[100:]))
    assert (abs(mean) < 0.5) if center else (mean > 0.9)


def test_statistics_about_zero_survive_save_and_load(tmp_path: Path) -> None:
    env = vec_normalize(DummyVecEnv([lambda: gym.make("CartPole-v1")]), {"center_obs": False})
    env.reset()
    for _ in range(50):
        env.step(np.array([0]))
    env.save(str(tmp_path / "stats.pkl"))
    loaded = VecNormalize.load(str(tmp_path / "stats.pkl"), DummyVecEnv([lambda: gym.make("CartPole-v1")]))
    assert isinstance(loaded.obs_rms, ZeroMeanStatistics)
    np.testing.assert_array_equal(loaded.obs_rms.var, env.obs_rms.var)
    assert not np.any(loaded.obs_rms.mean)


def test_the_default_centres_as_sb3_does() -> None:
    env = vec_normalize(DummyVecEnv([lambda: gym.make("CartPole-v1")]), {})
    assert type(env.obs_rms) is RunningMeanStd


def test_a_run_scaled_about_zero_saves_and_replays_its_statistics(tmp_path: Path) -> None:
    """train.py keeps the statistics about zero through training, the evaluations (which copy them), the
    best-balanced checkpoint the run ends on, the saved file and the replay."""
    from polebench.run import folder as runs
    from polebench.run.evaluation_env import EvaluationEnv
    from tests.conftest import run_script

    normalize = "normalize={norm_obs: true, norm_reward: false, center_obs: false}"
    result = run_script("train.py", "--algo", "ars", "-n", "3000", "--eval-freq", "1000", "--hyperparams", normalize,
                        "end_on_best=true", "-f", str(tmp_path))  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    run = tmp_path / "ars" / "CartPole-v1_1"
    saved = VecNormalize.load(str(run / runs.VECNORMALIZE_FILE), DummyVecEnv([lambda: gym.make("CartPole-v1")]))
    assert isinstance(saved.obs_rms, ZeroMeanStatistics) and saved.obs_rms.count > 500
    # Learned, not the starting 1: the pole's angle never leaves 0.21 rad, so its mean square stays below 0.045.
    assert saved.obs_rms.var[2] < 0.045
    replay = EvaluationEnv.of_saved_model(run, run / "CartPole-v1.zip").build(1, 0)
    assert isinstance(replay.obs_rms, ZeroMeanStatistics) and not np.any(replay.obs_rms.mean)
    replayed = run_script("enjoy.py", "--algo", "ars", "--no-render", "-n", "1", "-f", str(tmp_path))
    assert replayed.returncode == 0, replayed.stderr[-2000:]
