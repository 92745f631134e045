"""Perturbations: each changes the dynamics as stated, is deterministic per seed, and is a no-op at level 0."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from polebench.envs.factory import measured
from polebench.envs.families import CARTPOLE
from polebench.envs.perturbations import PERTURBATIONS, PerturbationUse, check_applies, parse_perturb
from polebench.envs.registration import register_envs
from polebench.errors import ConfigError
from polebench.wrappers.perturbations import ActuatorFault, ModelError, Push, SensorNoise


def _episode(env: gym.Env, seed: int) -> list[tuple[Any, ...]]:
    """Observations, rewards and flags of one episode of a simple balancing rule (it lasts long enough
    for pushes to come)."""
    obs, _ = env.reset(seed=seed)
    steps: list[tuple[Any, ...]] = [tuple(np.asarray(obs).tolist())]
    done = False
    while not done:
        obs, reward, terminated, truncated, _ = env.step(int(obs[2] + 0.5 * obs[3] > 0))
        steps.append((*np.asarray(obs).tolist(), reward, terminated, truncated))
        done = terminated or truncated
    return steps


@pytest.mark.parametrize("name", list(PERTURBATIONS))
def test_level_zero_leaves_episodes_identical(name: str) -> None:
    use = PerturbationUse(PERTURBATIONS[name], 0)
    for seed in range(5):
        assert _episode(use.wrap(gym.make("CartPole-v1"), CARTPOLE), seed) == _episode(gym.make("CartPole-v1"), seed)


@pytest.mark.parametrize("name", list(PERTURBATIONS))
def test_every_level_is_deterministic_per_seed_and_the_top_one_changes_episodes(name: str) -> None:
    top = PerturbationUse(PERTURBATIONS[name], len(PERTURBATIONS[name].values) - 1)

    def make() -> gym.Env:
        return top.wrap(gym.make("CartPole-v1"), CARTPOLE)

    assert _episode(make(), 11) == _episode(make(), 11)
    assert _episode(make(), 11) != _episode(gym.make("CartPole-v1"), 11)


def _twin_step(wrap: Callable[[gym.Env], gym.Env], steps: int) -> tuple[np.ndarray, np.ndarray]:
    """The true state after ``steps`` steps (all pushing left) with and without ``wrap``, same seed."""
    states = []
    for env in (wrap(gym.make("CartPole-v1")), gym.make("CartPole-v1")):
        env.reset(seed=0)
        for _ in range(steps):
            env.step(0)
        states.append(np.array(env.unwrapped.state))
    return states[0], states[1]


def test_push_kicks_the_pole_after_every_period() -> None:
    before, calm = _twin_step(lambda env: Push(env, pole_kick=0.8, every=3), steps=3)
    np.testing.assert_array_equal(before, calm)  # no kick during the first period
    after, calm = _twin_step(lambda env: Push(env, pole_kick=0.8, every=3), steps=4)
    # The kick lands on the angular velocity before the 4th step, and the step integrates from it.
    assert abs(after[3] - calm[3]) == pytest.approx(0.8, abs=0.02)
    assert abs(after[2] - calm[2]) == pytest.approx(0.8 * 0.02, abs=1e-3)


def test_push_can_kick_the_cart() -> None:
    after, calm = _twin_step(lambda env: Push(env, cart_kick=0.5, every=1), steps=2)
    assert abs(after[1] - calm[1]) == pytest.approx(0.5, abs=0.01)


def test_model_error_scales_the_body_and_the_derived_constants() -> None:
    env = ModelError(gym.make("CartPole-v1"), length=2.0, masspole=3.0, masscart=0.5)
    sim = env.unwrapped
    assert (sim.length, sim.masspole, sim.masscart) == pytest.approx((1.0, 0.3, 0.5))
    assert sim.total_mass == pytest.approx(0.8) and sim.polemass_length == pytest.approx(0.3)
    # The same step as a CartPole built with that body by hand, and unlike the nominal one.
    by_hand, nominal = gym.make("CartPole-v1"), gym.make("CartPole-v1")
    by_hand.unwrapped.length, by_hand.unwrapped.masspole, by_hand.unwrapped.masscart = 1.0, 0.3, 0.5
    by_hand.unwrapped.total_mass, by_hand.unwrapped.polemass_length = 0.8, 0.3
    after = []
    for tested in (env, by_hand, nominal):
        tested.reset(seed=0)
        tested.unwrapped.state = np.array([0.0, 0.5, 0.1, -0.2])
        tested.step(1)
        after.append(np.array(tested.unwrapped.state))
    np.testing.assert_allclose(after[0], after[1], rtol=1e-12)
    assert not np.allclose(after[0], after[2])


def test_sensor_noise_has_the_stated_deviation_per_dimension() -> None:
    std = np.array([0.0, 0.1, 0.01, 0.5])
    env = SensorNoise(gym.make("CartPole-v1"), std=std)
    errors = []
    env.reset(seed=0)
    for _ in range(4000):
        obs, _, terminated, truncated, _ = env.step(int(env.unwrapped.state[2] > 0))
        errors.append(obs - np.asarray(env.unwrapped.state, dtype=np.float32))
        if terminated or truncated:
            env.reset()
    measured_std = np.std(np.array(errors), axis=0)
    assert measured_std[0] == 0.0
    np.testing.assert_allclose(measured_std[1:], std[1:], rtol=0.08)


def test_actuator_fault_replaces_the_stated_share_of_actions() -> None:
    env = ActuatorFault(gym.make("CartPole-v1"), probability=0.4)
    env.reset(seed=0)
    changed = np.mean([env.faulty_action(1) != 1 for _ in range(20_000)])
    # A replaced action is random: half the time it happens to be the chosen one.
    assert changed == pytest.approx(0.4 / 2, abs=0.015)


@pytest.mark.parametrize(
    ("wrapper", "kwargs", "message"),
    [
        (Push, {"pole_kick": -1.0}, "kicks >= 0"),
        (Push, {"every": 0}, "every >= 1"),
        (ModelError, {"length": 0.0}, "factors > 0"),
        (SensorNoise, {"std": [0.1, 0.1]}, "one per dimension"),
        (SensorNoise, {"std": -0.1}, ">= 0"),
        (ActuatorFault, {"probability": 1.5}, "[0, 1]"),
    ],
)
def test_bad_arguments_raise_value_error(wrapper: type, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        wrapper(gym.make("CartPole-v1"), **kwargs)


def test_cartpole_perturbations_refuse_other_simulators() -> None:
    with pytest.raises(ValueError, match="CartPole"):
        Push(gym.make("Acrobot-v1"), pole_kick=1.0)
    with pytest.raises(ValueError, match="CartPole"):
        ModelError(gym.make("MountainCar-v0"), length=2.0)


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("gust=1", ("unknown perturbation 'gust=1'", "push=0..5")),
        ("push", ("unknown perturbation",)),
        ("push=6", ("push level", "0 (none) to 5")),
        ("push=-1", ("push level",)),
        ("push=0.8", ("push level", "whole number", "0.0, 0.25, 0.5, 0.75, 1.0, 1.5 (kick to the pole, rad/s)")),
        ("push=strong", ("push level",)),
        ("model_error=1.2", ("model_error level", "1.0, 1.5, 2.0, 2.5, 3.0, 5.0")),
    ],
)
def test_perturb_parsing_names_what_is_accepted(text: str, needles: tuple[str, ...]) -> None:
    with pytest.raises(ConfigError) as err:
        parse_perturb(text)
    for needle in needles:
        assert needle in str(err.value)


@pytest.mark.parametrize(
    ("text", "level"),
    [("push=3", 3), ("push=0.75", 3), ("push=1", 1), ("push=1.0", 4), ("push=1.5", 5), ("model_error=2.5", 3)],
)
def test_a_level_is_named_by_its_number_or_by_its_value_with_a_decimal_point(text: str, level: int) -> None:
    assert parse_perturb(text).level == level


def test_perturbations_that_do_not_apply_are_refused() -> None:
    register_envs()
    with pytest.raises(ConfigError, match="push does not apply to Acrobot-v1"):
        measured(parse_perturb("push=1"))(gym.make("Acrobot-v1"))
    with pytest.raises(ConfigError, match="does not apply to Pendulum-v1"):
        check_applies(parse_perturb("actuator_fault=1"), None, "Pendulum-v1")
    assert measured(parse_perturb("actuator_fault=1"))(gym.make("Acrobot-v1")) is not None


def test_sensor_noise_leaves_hidden_entries_hidden() -> None:
    """CartPoleNoVel-v1 has no velocity sensors: its zeroed entries stay zero under sensor noise."""
    register_envs()
    env = measured(parse_perturb("sensor_noise=5"))(gym.make("CartPoleNoVel-v1"))
    obs, _ = env.reset(seed=0)
    for _ in range(20):
        obs, *_ = env.step(int(obs[2] > 0))
        assert obs[1] == 0.0 and obs[3] == 0.0
        assert obs[0] != np.float32(env.unwrapped.state[0])  # the sensed entries are noisy
