"""Discrete SAC: the policy's distribution, the entropy target, determinism and the SB3 plumbing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch as th

from polebench.agents.discrete_sac import SACD
from polebench.envs.factory import make_vec

TINY = {"learning_starts": 50, "batch_size": 16, "buffer_size": 1000, "policy_kwargs": {"net_arch": [16]}}


def _model(env_id: str = "CartPole-v1", n_envs: int = 1, seed: int = 0, **kwargs: object) -> SACD:
    return SACD("MlpPolicy", make_vec(env_id, n_envs, seed=seed), seed=seed, device="cpu", **{**TINY, **kwargs})


@pytest.mark.parametrize(("env_id", "n_actions"), [("CartPole-v1", 2), ("Acrobot-v1", 3), ("MountainCar-v0", 3)])
def test_probabilities_are_a_distribution_over_actions(env_id: str, n_actions: int) -> None:
    model = _model(env_id)
    obs = th.as_tensor(np.stack([model.observation_space.sample() for _ in range(7)]))
    probs, log_probs = model.actor.action_probs(obs)
    assert probs.shape == (7, n_actions) and log_probs.shape == (7, n_actions)
    th.testing.assert_close(probs.sum(dim=1), th.ones(7))
    th.testing.assert_close(log_probs.exp(), probs)
    assert all(q.shape == (7, n_actions) for q in model.critic(obs))
    assert len(model.critic(obs)) == 2


def test_deterministic_predict_is_the_most_likely_action() -> None:
    model = _model()
    obs = np.stack([model.observation_space.sample() for _ in range(32)])
    actions, _ = model.predict(obs, deterministic=True)
    probs, _ = model.actor.action_probs(th.as_tensor(obs))
    np.testing.assert_array_equal(actions, probs.argmax(dim=1).numpy())


@pytest.mark.parametrize(("ratio", "n_actions", "env_id"), [(0.3, 2, "CartPole-v1"), (0.98, 3, "Acrobot-v1")])
def test_entropy_target_is_a_fraction_of_the_maximum(ratio: float, n_actions: int, env_id: str) -> None:
    model = _model(env_id, target_entropy_ratio=ratio)
    assert model.target_entropy == pytest.approx(ratio * np.log(n_actions))


@pytest.mark.parametrize("bad", [0.0, 1.5])
def test_entropy_ratio_out_of_range_is_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="target_entropy_ratio"):
        _model(target_entropy_ratio=bad)


def test_temperature_moves_towards_the_target() -> None:
    # A near-uniform untrained policy has more entropy than a low target: alpha must shrink.
    model = _model(target_entropy_ratio=0.1, ent_coef="auto_1.0", learning_rate=1e-2)
    model.learn(300)
    assert float(model.log_ent_coef.detach().exp()) < 1.0


def test_fixed_temperature_is_kept() -> None:
    model = _model(ent_coef=0.05)
    model.learn(120)
    assert model.ent_coef_optimizer is None and float(model._alpha()) == pytest.approx(0.05)


def test_same_seed_same_losses() -> None:
    runs = []
    for _ in range(2):
        model = _model(seed=5)
        model.learn(200)
        runs.append([p.detach().clone() for p in model.policy.parameters()])
    for a, b in zip(*runs, strict=True):
        th.testing.assert_close(a, b, rtol=0, atol=0)


def test_learning_logs_sac_quantities(tmp_path: Path) -> None:
    from stable_baselines3.common.logger import configure

    model = _model(n_envs=2)
    model.set_logger(configure(str(tmp_path), ["csv"]))
    model.learn(400, log_interval=1)
    header = (tmp_path / "progress.csv").read_text().splitlines()[0].split(",")
    for key in ("train/actor_loss", "train/critic_loss", "train/ent_coef", "train/entropy", "train/ent_coef_loss"):
        assert key in header


def test_save_load_keeps_the_temperature(tmp_path: Path) -> None:
    model = _model()
    model.learn(150)
    model.save(tmp_path / "sacd.zip")
    loaded = SACD.load(tmp_path / "sacd.zip", device="cpu")
    assert float(loaded.log_ent_coef.detach()) == pytest.approx(float(model.log_ent_coef.detach()))
    assert loaded.target_entropy == pytest.approx(model.target_entropy)


def test_the_ensemble_critic_computes_what_separate_networks_would() -> None:
    from polebench.agents.discrete_sac.policies import EnsembleMLP

    th.manual_seed(0)
    ensemble = EnsembleMLP(4, 3, [8, 8], th.nn.ReLU, n=2)
    x = th.randn(5, 4)
    for k in range(2):
        layers = []
        for i, (weight, bias) in enumerate(zip(ensemble.weights, ensemble.biases, strict=True)):
            linear = th.nn.Linear(*weight[k].shape)
            linear.weight.data, linear.bias.data = weight[k].T.detach(), bias[k, 0].detach()
            layers += [linear] + ([th.nn.ReLU()] if i < 2 else [])
        th.testing.assert_close(ensemble(x)[k], th.nn.Sequential(*layers)(x))
    assert not th.equal(ensemble(x)[0], ensemble(x)[1])  # two differently initialised critics
