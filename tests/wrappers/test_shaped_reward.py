from __future__ import annotations

import numpy as np
import pytest

from envs.factory import make_vec
from envs.wrapping import parse_env_wrapper, wrapper_chain
from tests.wrappers.stub import StubEnv
from wrappers.shaped_reward import ShapedReward


@pytest.mark.parametrize(
    ("obs", "angle_coef", "velocity_coef", "expected"),
    [
        ([0.0, 0.0, 0.0, 0.0], 1.0, 0.1, 1.0),
        ([0.3, -2.0, 0.1, 9.0], 1.0, 0.1, 1.0 - 0.1 - 0.2),
        ([0.0, 1.5, -0.2, 0.0], 2.0, 0.5, 1.0 - 0.4 - 0.75),
        ([5.0, 1.0, 0.2, 1.0], 0.0, 0.0, 1.0),
    ],
)
def test_reward_is_one_minus_the_penalties(
    obs: list[float], angle_coef: float, velocity_coef: float, expected: float
) -> None:
    inner = StubEnv()
    inner.queue = [np.zeros(4), np.asarray(obs)]
    env = ShapedReward(inner, angle_coef=angle_coef, velocity_coef=velocity_coef)
    env.reset()
    _, reward, _, _, info = env.step(0)
    assert reward == pytest.approx(expected)
    assert info["true_reward"] == 1.0


def test_episode_end_reports_the_shaped_return() -> None:
    inner = StubEnv(horizon=2)
    inner.queue = [np.zeros(4), np.array([0, 1.0, 0.1, 0]), np.array([0, -1.0, -0.1, 0])]
    env = ShapedReward(inner)
    env.reset()
    assert "shaped_episode" not in env.step(0)[4]
    info = env.step(0)[4]
    assert info["shaped_episode"] == {"r": pytest.approx(2 * (1 - 0.1 - 0.1)), "l": 2}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"angle_coef": -1.0}, "angle_coef"),
        ({"velocity_coef": float("nan")}, "velocity_coef"),
        ({"angle_index": 4}, "angle_index"),
        ({"velocity_index": -1}, "velocity_index"),
    ],
)
def test_invalid_arguments_raise_value_error(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ShapedReward(StubEnv(), **kwargs)


def test_monitor_inside_shaping_reports_the_true_return() -> None:
    wrap = wrapper_chain(parse_env_wrapper("shaped_reward"), training=True)
    env = make_vec("CartPole-v1", 2, seed=0, wrapper=wrap)
    env.reset()
    episodes, shaped_seen = [], []
    rng = np.random.default_rng(0)
    while len(episodes) < 6:
        _, rewards, dones, infos = env.step(rng.integers(2, size=2))
        assert np.all(rewards < 1.0)  # every step was shaped
        for done, info in zip(dones, infos, strict=True):
            if done:
                episodes.append(info["episode"])
                shaped_seen.append(info["shaped_episode"]["r"])
    for episode, shaped in zip(episodes, shaped_seen, strict=True):
        assert episode["r"] == episode["l"]  # CartPole's true return: +1 per step
        assert shaped < episode["r"]


def test_evaluation_chain_leaves_shaping_out() -> None:
    assert wrapper_chain(parse_env_wrapper("shaped_reward"), training=False) is None


def test_shaping_reads_the_true_state_under_any_observation_wrapper() -> None:
    import gymnasium as gym

    from envs.registration import register_envs

    register_envs()
    discretize = {"discretize": {"bins": [1, 1, 6, 12], "low": [-2.4, -3, -0.21, -3.5], "high": [2.4, 3, 0.21, 3.5]}}
    for env_id, wrappers in (("CartPole-v1", [discretize, "shaped_reward"]), ("CartPoleNoVel-v1", ["shaped_reward"])):
        wrap = wrapper_chain(parse_env_wrapper(wrappers), training=True)
        assert wrap is not None
        env = wrap(gym.make(env_id))
        env.reset(seed=0)
        for action in (0, 1, 1, 0, 1):
            obs, reward, *_ = env.step(action)
            state = env.unwrapped.state
            assert reward == pytest.approx(1.0 - abs(state[2]) - 0.1 * abs(state[1]))
        assert np.ndim(obs) == 0 or obs[1] == obs[3] == 0.0  # the agent saw a cell index or no velocities
