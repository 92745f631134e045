from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from polebench.envs.factory import make_vec
from polebench.envs.wrapping import SHAPING_FORMS, parse_env_wrapper, parse_shaping, wrapper_chain
from polebench.errors import ConfigError
from polebench.wrappers.shaped_reward import DMControlReward, QuadraticReward, ShapedReward
from tests.wrappers.stub import StubEnv


@pytest.mark.parametrize(
    ("obs", "angle_coef", "velocity_coef", "expected"),
    [
        ([0.0, 0.0, 0.0, 0.0], 1.0, 0.1, 1.0),
        ([0.3, -2.0, 0.1, 9.0], 1.0, 0.1, 1.0 - 0.1 - 0.2),
        ([0.0, 1.5, -0.2, 0.0], 1.0, 0.5, 1.0 - 0.2 - 0.75),
        ([0.0, 1.5, -0.2, 0.0], 2.0, 0.5, 0.0),  # 1 - 0.4 - 0.75 < 0: clipped, never below 0
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


def _reward_after(env: gym.Env, state: list[float]) -> float:
    """The shaped reward of a step of ``env`` (over a :class:`StubEnv`) that leads to ``state``."""
    inner = env.unwrapped
    assert isinstance(inner, StubEnv)
    inner.queue = [np.zeros(4), np.asarray(state, dtype=np.float64)]
    env.reset()
    return float(env.step(0)[1])


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ([0.0, 0.0, 0.0, 0.0], 1.0),
        ([0.4, -1.0, 0.1, 0.0], 1.0 - 0.1 - 0.1 - 0.5 * 0.4),
        ([-1.2, 0.0, 0.0, 0.0], 1.0 - 0.5 * 1.2),
        ([2.4, 3.0, 0.2, 0.0], 0.0),  # clipped
    ],
)
def test_position_form_penalises_where_the_cart_is(state: list[float], expected: float) -> None:
    use = parse_shaping("position")
    assert use is not None and use.kwargs["position_coef"] == 0.5
    env = use.kind.load_class()(StubEnv(), **use.kwargs)
    assert _reward_after(env, state) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ([0.0, 0.0, 0.0, 0.0], 1.0),
        ([0.6, 0.0, 0.0, 0.0], 1.0 - 0.5 * 0.25),
        ([0.0, 0.0, -0.105, 0.0], 1.0 - 0.5 * 0.25),
        ([0.0, 2.0, 0.0, -1.0], 1.0 - 0.01 * 4.0 - 0.01 * 1.0),
        ([1.2, 0.0, 0.21, 0.0], 0.0),  # each term costs its weight: 1 - 0.5 - 0.5
        ([2.4, 0.0, 0.21, 0.0], 0.0),  # clipped
    ],
)
def test_quadratic_form_is_one_minus_a_quadratic_cost(state: list[float], expected: float) -> None:
    env = QuadraticReward(StubEnv(), weights=(0.5, 0.01, 0.5, 0.01), scales=(1.2, 1.0, 0.21, 1.0))
    assert _reward_after(env, state) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ([0.0, 0.0, 0.0, 0.0], 1.0),
        ([2.0, 0.0, 0.0, 0.0], 0.55),  # tolerance 0.1 at the margin: (1 + 0.1) / 2
        ([0.0, 0.0, 0.0, 5.0], 0.55),
        ([0.0, 3.0, np.pi / 2, 0.0], 0.5),  # velocity of the cart does not count; a level pole is half upright
        ([2.0, 0.0, 0.0, 5.0], 0.55 * 0.55),
    ],
)
def test_dm_control_form_multiplies_upright_centred_and_slow(state: list[float], expected: float) -> None:
    assert _reward_after(DMControlReward(StubEnv()), state) == pytest.approx(expected)


@pytest.mark.parametrize("form", list(SHAPING_FORMS))
def test_every_form_keeps_rewards_in_zero_one_and_the_true_reward_visible(form: str) -> None:
    import gymnasium as gym

    use = parse_shaping(form)
    assert use is not None and use.shaped_reward is not None and use.shaped_reward["form"] == form
    env = use.kind.load_class()(gym.make("CartPole-v1"), **use.kwargs)
    rng = np.random.default_rng(0)
    for episode in range(5):
        env.reset(seed=episode)
        done = False
        while not done:
            _, reward, terminated, truncated, info = env.step(int(rng.integers(2)))
            assert 0.0 <= float(reward) <= 1.0
            assert info["true_reward"] == 1.0
            done = terminated or truncated
        assert 0 <= info["shaped_episode"]["r"] <= info["shaped_episode"]["l"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"angle_coef": -1.0}, "angle_coef"),
        ({"velocity_coef": float("nan")}, "velocity_coef"),
        ({"position_coef": float("inf")}, "position_coef"),
        ({"angle_index": 4}, "angle_index"),
        ({"velocity_index": -1}, "velocity_index"),
    ],
)
def test_invalid_arguments_raise_value_error(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ShapedReward(StubEnv(), **kwargs)


@pytest.mark.parametrize(
    ("cls", "kwargs", "message"),
    [
        (QuadraticReward, {"weights": (1.0, 1.0, -1.0, 1.0)}, "weights"),
        (QuadraticReward, {"weights": (1.0, 1.0)}, "weights needs 4"),
        (QuadraticReward, {"scales": (1.0, 0.0, 1.0, 1.0)}, "scales must be > 0"),
        (QuadraticReward, {"scales": (1.0, float("nan"), 1.0, 1.0)}, "scales"),
        (DMControlReward, {"position_margin": 0.0}, "margins must be > 0"),
        (DMControlReward, {"angular_velocity_margin": -5.0}, "angular_velocity_margin"),
    ],
)
def test_invalid_form_coefficients_raise_value_error(cls: type, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cls(StubEnv(), **kwargs)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("quadratik", "unknown shaping form 'quadratik'; choose one of: user, position, quadratic, dm_control"),
        ({"form": "quadratic", "weight": [1, 1, 1, 1]}, "shaped_reward quadratic takes no weight; accepted: weights"),
    ],
)
def test_unknown_forms_and_coefficients_name_what_is_accepted(value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        parse_shaping(value)


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

    from polebench.envs.registration import register_envs

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
