"""scripts/compile_speed.py compiles or scripts the very modules the networks run through."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from polebench.agents.registry import get_algo
from polebench.envs.factory import make_vec
from tests.conftest import ROOT

spec = importlib.util.spec_from_file_location("compile_speed", ROOT / "scripts" / "compile_speed.py")
assert spec is not None and spec.loader is not None
compile_speed = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compile_speed)


@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")  # TorchScript, what it measures, is deprecated
@pytest.mark.parametrize("algo", ["ppo", "dqn"])
def test_scripted_networks_replace_the_eager_ones_and_act_the_same(algo: str) -> None:
    model = get_algo(algo).load_class()("MlpPolicy", make_vec("CartPole-v1", 2, seed=0), seed=0, device="cpu")
    obs = np.random.default_rng(0).normal(0, 0.05, size=(16, 4)).astype(np.float32)
    eager, _ = model.predict(obs, deterministic=True)
    compile_speed.apply_mode(algo, model.policy, "script")
    for owner, name in compile_speed._modules(algo, model.policy):
        assert isinstance(getattr(owner, name), torch.jit.ScriptModule)
    scripted, _ = model.predict(obs, deterministic=True)
    np.testing.assert_array_equal(eager, scripted)


def test_compile_mode_wraps_each_network() -> None:
    model = get_algo("dqn").load_class()("MlpPolicy", make_vec("CartPole-v1", 1, seed=0), seed=0, device="cpu")
    compile_speed.apply_mode("dqn", model.policy, "compile")  # compiling itself waits for the first call
    assert all(
        type(getattr(o, n)).__name__ == "OptimizedModule" for o, n in compile_speed._modules("dqn", model.policy)
    )
