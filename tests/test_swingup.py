"""The swing-up and continuous-force envs, dm_control's reward, and the energy-based swing-up controller."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from polebench.agents.cartpole_control import cartpole_state
from polebench.agents.lqr import LQR
from polebench.agents.swingup import EnergySwingUp
from polebench.envs.families import family_of_id
from polebench.envs.registration import register_envs
from polebench.envs.swingup import CartPoleSwingUpDiscreteEnv, CartPoleSwingUpEnv, swingup_reward

register_envs()
SWINGUP_IDS = ("CartPoleSwingUp-v0", "CartPoleSwingUpDiscrete-v0", "CartPoleContinuous-v0")


@pytest.mark.parametrize("env_id", SWINGUP_IDS)
def test_each_env_passes_gymnasiums_checker(env_id: str) -> None:
    env = gym.make(env_id)
    check_env(env.unwrapped, skip_render_check=True)
    assert env.spec is not None and env.spec.max_episode_steps == (500 if "Continuous" in env_id else 1000)


def _tolerance(value: float, margin: float) -> float:
    """dm_control's rewards.tolerance with bounds (0, 0), the Gaussian sigmoid and value 0.1 at the margin,
    written from its definition: exp(-0.5 * (d * sqrt(-2 ln 0.1))^2), d the distance in margins."""
    return math.exp(-0.5 * (value / margin) ** 2 * (-2 * math.log(0.1)))


@pytest.mark.parametrize(
    ("x", "theta", "theta_dot", "force"),
    [
        (0.0, 0.0, 0.0, 0.0),
        (2.0, 0.0, 0.0, 0.0),
        (0.0, math.pi / 2, 0.0, 0.0),
        (0.7, 0.3, -2.0, 0.5),
        (-1.2, 2.5, 6.0, -1.0),
    ],
)
def test_the_reward_is_dm_controls_cartpole_swingup_reward(
    x: float, theta: float, theta_dot: float, force: float
) -> None:
    upright = (math.cos(theta) + 1) / 2
    centred = (1 + _tolerance(x, 2.0)) / 2
    small_control = (4 + (1 - force**2)) / 5  # the quadratic sigmoid, 0 at the margin 1
    small_velocity = (1 + _tolerance(theta_dot, 5.0)) / 2
    assert swingup_reward(x, theta, theta_dot, force) == pytest.approx(
        upright * centred * small_control * small_velocity
    )


def test_hand_made_states_score_as_the_suite_says() -> None:
    assert swingup_reward(0.0, 0.0, 0.0, 0.0) == 1.0  # upright, centred, still, no force
    assert swingup_reward(2.0, 0.0, 0.0, 0.0) == pytest.approx(0.55)  # 2 m off-centre
    assert swingup_reward(0.0, 0.0, 5.0, 0.0) == pytest.approx(0.55)  # spinning at 5 rad/s
    assert swingup_reward(0.0, 0.0, 0.0, 1.0) == pytest.approx(0.8)  # full force
    assert swingup_reward(0.0, math.pi, 0.0, 0.0) == 0.0  # hanging


def test_the_swingup_starts_hanging_and_wraps_the_angle() -> None:
    env = CartPoleSwingUpEnv()
    obs, _ = env.reset(seed=3)
    assert obs[1] < -0.999 and abs(env.unwrapped.state[2] - math.pi) < 0.05
    for _ in range(300):
        obs, *_ = env.step(np.array([1.0 if env.state[1] < 0 else -1.0], dtype=np.float32))
        assert -math.pi <= env.state[2] < math.pi and abs(env.state[0]) <= env.x_threshold
        assert obs[1:3] == pytest.approx([math.cos(env.state[2]), math.sin(env.state[2])], abs=1e-6)


def test_the_track_ends_stop_the_cart() -> None:
    env = CartPoleSwingUpEnv()
    env.reset(seed=0)
    for _ in range(400):
        _, _, terminated, _, _ = env.step(np.array([1.0], dtype=np.float32))
        assert not terminated
    assert env.state[0] == env.x_threshold and env.state[1] == 0.0


@pytest.mark.parametrize("action", [np.array([1.5]), np.array([-1.01]), np.array([np.nan]), np.array([0.1, 0.2]), 2.0])
def test_an_out_of_range_action_is_refused_by_the_continuous_envs(action: object) -> None:
    for env in (CartPoleSwingUpEnv(), gym.make("CartPoleContinuous-v0").unwrapped):
        env.reset(seed=0)
        with pytest.raises(ValueError, match=r"one force in \[-1, 1\]"):
            env.step(action)


def test_the_discrete_version_pushes_n_evenly_spaced_forces() -> None:
    env = CartPoleSwingUpDiscreteEnv(n_actions=5)
    env.reset(seed=0)
    assert [env.force_of(a) for a in range(5)] == [-1.0, -0.5, 0.0, 0.5, 1.0]
    env.step(3)
    assert env.applied_force == 0.5
    with pytest.raises(ValueError, match=r"one of 0\.\.4"):
        env.step(5)
    with pytest.raises(ValueError, match="n_actions"):
        CartPoleSwingUpDiscreteEnv(n_actions=1)


def test_physical_constants_are_constructor_arguments() -> None:
    env = gym.make("CartPoleSwingUp-v0", length=1.0, masspole=0.2, masscart=2.0).unwrapped
    assert (env.length, env.polemass_length, env.total_mass) == (1.0, pytest.approx(0.2), pytest.approx(2.2))
    with pytest.raises(ValueError, match="length must be a positive number"):
        CartPoleSwingUpEnv(length=-1.0)


def test_the_continuous_cartpole_is_cartpole_v1_with_a_force() -> None:
    discrete, continuous = gym.make("CartPole-v1"), gym.make("CartPoleContinuous-v0")
    a, _ = discrete.reset(seed=7)
    b, _ = continuous.reset(seed=7)
    rng = np.random.default_rng(0)
    done = False
    while not done:
        push = int(rng.integers(2))
        a, ra, ta, _, _ = discrete.step(push)
        b, rb, tb, _, _ = continuous.step(np.array([2.0 * push - 1.0], dtype=np.float32))
        assert np.array_equal(a, b) and (ra, ta) == (rb, tb)
        done = ta


def _play(controller: object, n: int, steps: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """Final true states and returns of ``n`` swing-up episodes, seeds 0..n-1, side by side."""
    envs = [CartPoleSwingUpEnv() for _ in range(n)]
    obs = np.stack([env.reset(seed=seed)[0] for seed, env in enumerate(envs)])
    returns, upright_since = np.zeros(n), np.full(n, steps)
    for t in range(steps):
        actions, _ = controller.predict(obs, deterministic=True)  # type: ignore[attr-defined]
        results = [env.step(np.asarray(action, dtype=np.float32)) for env, action in zip(envs, actions, strict=True)]
        obs = np.stack([r[0] for r in results])
        returns += [r[1] for r in results]
        angles = np.abs([env.state[2] for env in envs])
        upright_since = np.where(angles > np.radians(12), steps, np.minimum(upright_since, t))
    return upright_since, returns


def test_the_energy_controller_swings_up_and_holds_from_100_initial_states_and_the_lqr_alone_does_not() -> None:
    env = gym.make("CartPoleSwingUp-v0")
    since, returns = _play(EnergySwingUp(None, env), 100)
    assert (since <= 500).all(), "every episode up within 12 degrees for the whole second half"
    assert returns.min() > 800
    from stable_baselines3.common.env_util import make_vec_env

    lqr = LQR("LinearGainPolicy", make_vec_env("CartPoleSwingUp-v0", 1, seed=0)).learn(0)
    since, returns = _play(lqr, 20)
    assert (since > 500).all() and returns.max() < 300, "the LQR alone never brings the pole up to stay"


def test_the_energy_controller_hands_over_to_the_lqr_near_upright() -> None:
    controller = EnergySwingUp(None, gym.make("CartPoleSwingUp-v0"), catch_deg=30.0)
    near = np.array([[0.3, 0.1, 0.4, -0.5]])  # x, x_dot, theta (23 degrees), theta_dot
    assert controller.force(near) == pytest.approx(np.clip(-(near @ controller.gain), -1, 1))
    far = np.array([[0.0, 0.0, 1.0, 2.0]])  # 57 degrees, falling: the energy pump, not the LQR
    assert controller.force(far) != pytest.approx(np.clip(-(far @ controller.gain), -1, 1))
    hanging_still = np.array([[0.0, 0.0, math.pi, 0.0]])
    assert abs(controller.force(hanging_still)[0]) > 0.5  # no energy: push hard to start the swing
    swinging = np.array([[0.0, 0.0, math.pi - 0.5, 2.0], [0.0, 0.0, math.pi - 0.5, -2.0]])
    assert np.sign(controller.force(swinging)).tolist() == [1.0, -1.0]  # pumps with the swing's direction


def test_the_energy_controller_saves_what_it_needs_to_replay_without_its_env(tmp_path) -> None:
    env = gym.make("CartPoleSwingUpDiscrete-v0", n_actions=5)
    controller = EnergySwingUp(None, env, k_energy=3.0)
    controller.save(str(tmp_path / "c.json"))
    loaded = EnergySwingUp.load(str(tmp_path / "c.json"))
    obs = np.random.default_rng(0).normal(size=(8, 5))
    assert loaded.gains["k_energy"] == 3.0 and np.array_equal(loaded.predict(obs)[0], controller.predict(obs)[0])
    assert loaded.predict(obs)[0].dtype == np.int64 and set(loaded.predict(obs)[0]) <= set(range(5))


def test_the_swingup_state_is_rebuilt_from_its_observation() -> None:
    env = CartPoleSwingUpEnv()
    obs, _ = env.reset(seed=1)
    for _ in range(50):
        obs, *_ = env.step(np.array([0.5], dtype=np.float32))
    assert cartpole_state(obs[None])[0] == pytest.approx(env.state, abs=1e-5)


def test_the_swingup_family_measures_time_to_upright_and_the_force_applied() -> None:
    family = family_of_id("CartPoleSwingUpDiscrete-v0")
    assert family is not None and family.name == "cartpole_swingup"
    from polebench.wrappers.episode_quality import RecordEpisodeQuality

    env = RecordEpisodeQuality(gym.make("CartPoleSwingUpDiscrete-v0"), family.metrics)
    controller = EnergySwingUp(None, env)
    obs, _ = env.reset(seed=0)
    done = False
    while not done:
        action, _ = controller.predict(obs[None])
        obs, _, terminated, truncated, info = env.step(int(action[0]))
        done = terminated or truncated
    quality = info["quality"]
    assert 0.5 < quality["time_to_upright_s"] < 5.0 and quality["held_upright"] == 1.0
    assert 0.0 < quality["mean_squared_force"] <= 1.0  # from the forces applied (-1, 0, 1), not action indices 0-2
    assert quality["max_abs_cart_position_m"] < 2.4


def test_a_grid_agent_can_run_on_some_of_the_grids_envs_only() -> None:
    from polebench.bench.gridfile import grid_from_mapping
    from polebench.errors import ConfigError

    data = {
        "envs": ["CartPoleSwingUp-v0", "CartPoleSwingUpDiscrete-v0"],
        "seeds": 1,
        "agents": {
            "swingup": {"algo": "swingup"},
            "sac": {"algo": "sac", "envs": "CartPoleSwingUp-v0"},
            "dqn": {"algo": "dqn", "envs": ["CartPoleSwingUpDiscrete-v0"]},
        },
    }
    jobs = [job.name for job in grid_from_mapping(data).jobs()]
    assert jobs == [
        "swingup CartPoleSwingUp-v0 seed 0",
        "sac CartPoleSwingUp-v0 seed 0",
        "swingup CartPoleSwingUpDiscrete-v0 seed 0",
        "dqn CartPoleSwingUpDiscrete-v0 seed 0",
    ]
    data["agents"]["dqn"]["envs"] = ["CartPole-v1"]  # type: ignore[index]
    with pytest.raises(ConfigError, match=r"agent dqn: envs CartPole-v1 not among the grid's envs"):
        grid_from_mapping(data)


def test_dm_controls_own_swingup_is_an_optional_extra_named_when_missing() -> None:
    from polebench.envs.factory import check_env_id
    from polebench.errors import ConfigError

    try:
        import shimmy  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError, match=r'needs DeepMind Control: pip install "polebench\[dmc\]"'):
            check_env_id("DMCCartPoleSwingUp-v0")
    else:
        env = gym.make("DMCCartPoleSwingUp-v0")
        obs, _ = env.reset(seed=0)
        assert obs.shape == (5,) and obs[1] < -0.99  # hanging: cos(angle) near -1, as CartPoleSwingUp-v0 starts


def test_the_pid_loop_pushes_each_kind_of_force_and_keeps_it_when_saved(tmp_path) -> None:
    from polebench.agents.pid import PID

    obs = np.array([[0.0, 0.0, 0.05, 0.0], [0.0, 0.0, -0.05, 0.0], [0.0, 0.0, 5.0, 0.0]])
    two = PID(None, gym.make("CartPole-v1"))
    assert two.predict(obs)[0].tolist() == [1, 0, 1]  # CartPole-v1: right when the signal is positive
    continuous = PID(None, gym.make("CartPoleContinuous-v0"))
    assert continuous.predict(obs)[0].ravel().tolist() == pytest.approx([0.05, -0.05, 1.0])
    continuous.save(str(tmp_path / "pid.json"))
    assert PID.load(str(tmp_path / "pid.json")).predict(obs)[0].shape == (3, 1)
    swingup = PID(None, gym.make("CartPoleSwingUpDiscrete-v0"))  # the swing-up's 5 values, 3 forces
    assert swingup.predict(np.array([[0.0, 1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0, 0.0]]))[0].tolist() == [1, 2]
