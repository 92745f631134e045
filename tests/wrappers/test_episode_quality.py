"""RecordEpisodeQuality: each metric on scripted states with a known value, read from the true state."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

from polebench.envs.families import ACROBOT, CARTPOLE, FAMILIES, MOUNTAIN_CAR, family_of, family_of_id, switch_rate
from polebench.envs.registration import register_envs
from polebench.wrappers.episode_quality import RecordEpisodeQuality
from tests.wrappers.stub import StubEnv

# Three steps of a scripted CartPole-like episode: (x, x_dot, theta, theta_dot) after each step.
STATES = [np.array([0.1, -0.5, 0.02, 0.0]), np.array([-0.3, 0.25, -0.04, 0.0]), np.array([0.2, 1.0, 0.0, 0.0])]
ACTIONS = [1, 0, 0]


def _play_scripted(metrics: tuple, keep_trajectory: bool = False) -> dict:
    inner = StubEnv(horizon=len(STATES))
    inner.queue = [np.zeros(4), *STATES]
    env = RecordEpisodeQuality(inner, metrics=metrics, keep_trajectory=keep_trajectory)
    env.reset()
    infos = [env.step(action)[4] for action in ACTIONS]
    assert all("quality" not in info for info in infos[:-1])
    return infos[-1]


def test_each_cartpole_metric_has_its_exact_value() -> None:
    quality = _play_scripted(CARTPOLE.metrics)["quality"]
    expected = {
        "rms_pole_angle_deg": math.degrees(math.sqrt((0.02**2 + 0.04**2 + 0.0) / 3)),
        "mean_abs_cart_position_m": (0.1 + 0.3 + 0.2) / 3,
        "max_abs_cart_position_m": 0.3,
        "mean_abs_cart_velocity_mps": (0.5 + 0.25 + 1.0) / 3,
        "action_switch_rate": 1 / 2,  # actions 1, 0, 0: one change in two transitions
    }
    assert quality == pytest.approx(expected)


def test_the_trajectory_is_kept_when_asked() -> None:
    trajectory = _play_scripted(CARTPOLE.metrics, keep_trajectory=True)["trajectory"]
    np.testing.assert_array_equal(trajectory["states"], np.stack(STATES))
    np.testing.assert_array_equal(trajectory["actions"], ACTIONS)


def _play(states: list[np.ndarray], actions: list[int], metrics: tuple) -> dict[str, float]:
    inner = StubEnv(dims=len(states[0]), horizon=len(states))
    inner.queue = [np.zeros(len(states[0])), *states]
    env = RecordEpisodeQuality(inner, metrics=metrics)
    env.reset()
    return [env.step(action)[4] for action in actions][-1]["quality"]


def test_acrobot_metrics() -> None:
    # (theta1, theta2, dtheta1, dtheta2); action 1 applies no torque.
    states = [np.array([0.0, 0.0, 1.0, -2.0]), np.array([0.0, 0.0, -3.0, 0.0])]
    quality = _play(states, [1, 2], ACROBOT.metrics)
    assert quality == pytest.approx(
        {"mean_abs_angular_velocity_radps": 6.0 / 4, "torque_fraction": 0.5, "action_switch_rate": 1.0}
    )


def test_mountain_car_metrics() -> None:
    # (position, velocity); action 1 does not push.
    states = [np.array([-0.5, 0.01]), np.array([-0.2, 0.02]), np.array([-0.4, -0.01])]
    quality = _play(states, [2, 2, 1], MOUNTAIN_CAR.metrics)
    assert quality == pytest.approx({"max_position": -0.2, "push_fraction": 2 / 3, "action_switch_rate": 0.5})


@pytest.mark.parametrize(("actions", "rate"), [([], 0.0), ([1], 0.0), ([0, 0, 0], 0.0), ([0, 1, 0, 1], 1.0)])
def test_switch_rate(actions: list[int], rate: float) -> None:
    assert switch_rate(np.zeros((len(actions), 1)), np.array(actions)) == rate


def test_metrics_come_from_the_true_state_when_the_observation_hides_it() -> None:
    register_envs()
    env = RecordEpisodeQuality(gym.make("CartPoleNoVel-v1"), family_of_id("CartPoleNoVel-v1").metrics)
    obs, _ = env.reset(seed=3)
    assert obs[1] == 0.0 and obs[3] == 0.0  # no velocities in the observation
    speeds, info, done = [], {}, False
    rng = np.random.default_rng(0)
    while not done:
        _, _, terminated, truncated, info = env.step(int(rng.integers(2)))
        speeds.append(abs(env.unwrapped.state[1]))
        done = terminated or truncated
    assert info["quality"]["mean_abs_cart_velocity_mps"] == pytest.approx(np.mean(speeds))
    assert info["quality"]["mean_abs_cart_velocity_mps"] > 0


def test_envs_without_a_family_report_nothing_and_still_run() -> None:
    env = RecordEpisodeQuality(gym.make("Pendulum-v1"))
    env.reset(seed=0)
    for _ in range(200):
        *_, truncated, info = env.step(env.action_space.sample())
    assert truncated and "quality" not in info


def test_every_family_is_found_by_its_simulator() -> None:
    register_envs()
    for env_id in ("CartPole-v1", "CartPoleNoVel-v1", "Acrobot-v1", "MountainCar-v0"):
        family = family_of(gym.make(env_id))
        assert family is not None and family in FAMILIES.values(), env_id
