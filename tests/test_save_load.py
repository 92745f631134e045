"""Every registered algorithm learns a little, saves, loads and predicts the same actions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agents.registry import ALGOS, get_algo
from envs.factory import make_vec
from polebench import hyperparams as hpm

# Tiny budgets in the spirit of SB3's own tests: enough to exercise every code path, not to learn.
TINY_ON_POLICY = {"policy_kwargs": {"net_arch": [16]}, "n_steps": 32, "batch_size": 32}
TINY_OFF_POLICY = {"policy_kwargs": {"net_arch": [16]}, "learning_starts": 0, "batch_size": 32}


@pytest.mark.parametrize("name", sorted(ALGOS))
def test_save_load_predict(name: str, tmp_path: Path) -> None:
    spec = get_algo(name)
    cls = spec.load_class()
    tiny = TINY_OFF_POLICY if spec.off_policy else TINY_ON_POLICY
    env = make_vec("CartPole-v1", 2, seed=0)
    model = cls(spec.policy, env, seed=0, device="cpu", **hpm.constructor_kwargs(tiny))
    model.learn(128)
    assert model.num_timesteps >= 128

    observations = np.stack([env.observation_space.sample() for _ in range(20)])
    before, _ = model.predict(observations, deterministic=True)
    model.save(tmp_path / "model.zip")
    loaded = cls.load(tmp_path / "model.zip", device="cpu")
    after, _ = loaded.predict(observations, deterministic=True)

    assert before.shape == (20,)
    assert env.action_space.contains(int(before[0]))
    np.testing.assert_array_equal(before, after)
    assert loaded.num_timesteps == model.num_timesteps
