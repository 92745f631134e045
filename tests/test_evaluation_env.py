"""One evaluation env for training, replay, loading and export: the same preprocessing everywhere, and a
saved model always evaluated with the normalisation statistics saved with it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from polebench.config.run_config import RunConfig
from polebench.envs.factory import make_vec
from polebench.run import folder as runs
from polebench.run.evaluation_env import EvaluationEnv
from polebench.run.plan import make_plan


def _statistics(path: Path, mean: float) -> None:
    from stable_baselines3.common.vec_env import VecNormalize

    env = VecNormalize(make_vec("CartPole-v1", 1, 0))
    env.obs_rms.mean = np.full(4, mean)
    env.save(str(path))


def _run_folder(tmp_path: Path) -> Path:
    """A run folder with final statistics (mean 1) and a checkpoint at 500 steps with its own (mean 2)."""
    run = tmp_path / "ppo" / "CartPole-v1_1"
    (run / runs.CHECKPOINTS).mkdir(parents=True)
    config = {"algo": "ppo", "env": "CartPole-v1", "hyperparams": {"normalize": True}}
    (run / runs.CONFIG_FILE).write_text(yaml.safe_dump(config))
    _statistics(run / runs.VECNORMALIZE_FILE, 1.0)
    _statistics(run / runs.CHECKPOINTS / "CartPole-v1_vecnormalize_500_steps.pkl", 2.0)
    return run


def test_a_checkpoint_is_replayed_with_its_own_statistics_and_the_final_model_with_the_runs(tmp_path: Path) -> None:
    run = _run_folder(tmp_path)
    checkpoint = EvaluationEnv.of_saved_model(run, run / runs.CHECKPOINTS / "CartPole-v1_500_steps.zip").build(1, 0)
    final = EvaluationEnv.of_saved_model(run, run / "CartPole-v1.zip").build(1, 0)
    assert np.allclose(checkpoint.obs_rms.mean, 2.0) and np.allclose(final.obs_rms.mean, 1.0)
    assert not checkpoint.training and not checkpoint.norm_reward


def test_a_checkpoint_without_its_own_statistics_uses_the_runs(tmp_path: Path) -> None:
    run = _run_folder(tmp_path)
    env = EvaluationEnv.of_saved_model(run, run / runs.CHECKPOINTS / "CartPole-v1_250_steps.zip").build(1, 0)
    assert np.allclose(env.obs_rms.mean, 1.0)


def test_training_evaluates_on_the_observation_wrappers_never_on_the_shaping(tmp_path: Path) -> None:
    hyperparams = {
        "env_wrapper": {
            "discretize": {"bins": [1, 3, 6, 12], "low": [-2.4, -1, -0.21, -3.5], "high": [2.4, 1, 0.21, 3.5]}
        },
        "shaped_reward": {"form": "quadratic"},
    }
    plan = make_plan(RunConfig(algo="dqn", env="CartPole-v1", log_folder=tmp_path, hyperparams=hyperparams))
    env = plan.evaluation_env.build(2, 0)
    sub = env.envs[0]
    assert type(sub).__name__ == "DiscretizeObservation" and type(sub.env).__name__ == "Monitor"
    assert not plan.evaluation_env.is_plain
