"""Every registered algorithm learns a little, saves, loads and predicts the same actions."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest

from polebench.agents.registry import ALGOS, get_algo
from polebench.config import hyperparams as hpm
from polebench.envs.factory import make_vec
from polebench.envs.wrapping import parse_env_wrapper, wrapper_chain
from tests.conftest import env_for

# Tiny budgets in the spirit of SB3's own tests: enough to exercise every code path, not to learn.
TINY_ON_POLICY = {"policy_kwargs": {"net_arch": [16]}, "n_steps": 32, "batch_size": 32}
TINY_OFF_POLICY = {"policy_kwargs": {"net_arch": [16]}, "learning_starts": 0, "batch_size": 32}


@pytest.mark.parametrize("name", sorted(ALGOS))
def test_save_load_predict(name: str, tmp_path: Path) -> None:
    spec = get_algo(name)
    cls = spec.load_class()
    tiny = TINY_OFF_POLICY if spec.off_policy else TINY_ON_POLICY
    env_id = env_for(name)
    shipped = hpm.resolve(name, env_id)  # brings the discretizer for tabular agents
    wrap = wrapper_chain(parse_env_wrapper(shipped.get("env_wrapper")), training=False)
    env = make_vec(env_id, 2, seed=0, wrapper=wrap)
    accepted = set(inspect.signature(cls).parameters)
    policy = cls.policy_aliases[spec.policy]  # None: an agent of the plugin kind keeps its own
    if policy is None or "net_arch" not in inspect.signature(policy).parameters:
        accepted.discard("policy_kwargs")  # tables and controllers have no network to shrink
    kwargs = hpm.constructor_kwargs({k: v for k, v in tiny.items() if k in accepted})
    model = cls(spec.policy, env, seed=0, device="cpu", **kwargs)
    model.learn(128)

    env.observation_space.seed(0)
    observations = np.stack([env.observation_space.sample() for _ in range(20)])
    before, _ = model.predict(observations, deterministic=True)
    model.save(tmp_path / "model.zip")
    loaded = cls.load(tmp_path / "model.zip", device="cpu")
    after, _ = loaded.predict(observations, deterministic=True)

    assert before.shape == (20, *env.action_space.shape)
    assert all(env.action_space.contains(action) for action in before)
    np.testing.assert_array_equal(before, after)
    assert loaded.num_timesteps == model.num_timesteps
