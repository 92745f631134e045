"""polebench's own agents: the LQR controller and tabular Q-learning."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from stable_baselines3.common.callbacks import EvalCallback

from polebench.agents.lqr import LQR, cartpole_gain
from polebench.agents.tabular_q import QLearning
from polebench.envs.factory import make_vec


class Chain(gym.Env):
    """States 0..3 in a row; action 1 moves right, 0 stays; reaching 3 pays 1 and ends the episode."""

    observation_space = spaces.Discrete(4)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[int, dict]:
        super().reset(seed=seed)
        self.s = 0
        return self.s, {}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict]:
        self.s = min(self.s + int(action), 3)
        return self.s, float(self.s == 3), self.s == 3, False, {}


def test_q_learning_finds_the_chain_values() -> None:
    model = QLearning("TabularPolicy", Chain(), learning_rate=0.5, gamma=0.9, seed=0, exploration_final_eps=0.2)
    model.learn(3000)
    q = model.policy.q_table.numpy()
    np.testing.assert_allclose(q[:3, 1], [0.81, 0.9, 1.0], atol=1e-3)  # gamma^(steps to the goal - 1)
    actions, _ = model.predict(np.array([0, 1, 2]), deterministic=True)
    assert list(actions) == [1, 1, 1]


def test_q_learning_is_reproducible() -> None:
    tables = []
    for _ in range(2):
        model = QLearning("TabularPolicy", Chain(), seed=3)
        model.learn(500)
        tables.append(model.policy.q_table.numpy().copy())
    np.testing.assert_array_equal(*tables)


def test_stochastic_predict_explores_at_the_current_rate() -> None:
    model = QLearning("TabularPolicy", Chain(), seed=0)
    model.exploration_rate = 1.0
    actions, _ = model.predict(np.zeros(400, dtype=np.int64), deterministic=False)
    assert 0.3 < actions.mean() < 0.7  # a random action half of the time, greedy (0) the rest
    model.exploration_rate = 0.0
    assert model.predict(np.zeros(50, dtype=np.int64), deterministic=False)[0].sum() == 0


def test_q_learning_refuses_box_observations() -> None:
    with pytest.raises(ValueError, match="discretize"):
        QLearning("TabularPolicy", gym.make("CartPole-v1"))


def test_q_learning_works_with_eval_callback(tmp_path: Path) -> None:
    model = QLearning("TabularPolicy", make_vec("Taxi-v4", 2, seed=0), seed=0)
    callback = EvalCallback(make_vec("Taxi-v4", 3, seed=100), eval_freq=100, n_eval_episodes=3, log_path=str(tmp_path))
    model.learn(400, callback=callback)
    assert callback.evaluations_timesteps == [200, 400]
    assert (tmp_path / "evaluations.npz").is_file()


def test_lqr_gain_is_stabilising() -> None:
    gain = cartpole_gain(9.8, 1.0, 0.1, 0.5, 10.0, 0.02)
    tau, total, a = 0.02, 1.1, 0.5 * (4 / 3 - 0.1 / 1.1)
    a_cont = np.array([[0, 1, 0, 0], [0, 0, -0.05 / total * 9.8 / a, 0], [0, 0, 0, 1], [0, 0, 9.8 / a, 0]])
    b = 10.0 * np.array([0, (1 + 0.05 / total / a) / total, 0, -1 / (total * a)])
    closed_loop = np.eye(4) + tau * a_cont - tau * np.outer(b, gain)
    assert np.max(np.abs(np.linalg.eigvals(closed_loop))) < 1.0


def test_lqr_balances_for_500_steps_without_experience() -> None:
    env = make_vec("CartPole-v1", 4, seed=0)
    model = LQR("LinearGainPolicy", env)
    model.learn(10_000)
    assert model.num_timesteps == 0
    obs, steps = env.reset(), 0
    for steps in range(1, 501):  # noqa: B007
        obs, _, dones, _ = env.step(model.predict(obs, deterministic=True)[0])
        if dones.any():
            break
    assert steps == 500 and dones.all()  # every env reached the time limit, none fell


def test_lqr_refuses_other_envs() -> None:
    model = LQR("LinearGainPolicy", make_vec("CartPole-v1", 1, seed=0))
    with pytest.raises(ValueError, match="needs a cart-pole observation"):
        LQR("LinearGainPolicy", make_vec("Acrobot-v1", 1, seed=0))
    assert model.policy.gain.abs().sum() == 0  # nothing computed before learn
