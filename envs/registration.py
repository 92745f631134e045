"""Environments polebench adds to Gymnasium's registry, registered by an explicit call, never on import."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

# CartPole's observation: cart position, cart velocity, pole angle, pole angular velocity.
POSITIONS = np.array([0, 2])


def _positions(obs: np.ndarray) -> np.ndarray:
    return obs[POSITIONS]


def make_cartpole_no_velocity(**kwargs: Any) -> gym.Env:
    """CartPole whose observation keeps only the cart position and the pole angle.

    Example:
        >>> env = make_cartpole_no_velocity()
        >>> env.observation_space.shape
        (2,)
    """
    from gymnasium.envs.classic_control.cartpole import CartPoleEnv

    env = CartPoleEnv(**kwargs)
    inner = env.observation_space
    assert isinstance(inner, spaces.Box)
    box = spaces.Box(inner.low[POSITIONS], inner.high[POSITIONS], dtype=inner.dtype)
    return gym.wrappers.TransformObservation(env, _positions, box)


def register_envs() -> None:
    """Register polebench's envs with Gymnasium; safe to call more than once."""
    if "CartPoleNoVel-v1" not in gym.registry:
        # Same dynamics, time limit and threshold as CartPole-v1: only the observation hides the velocities,
        # so solving it takes memory (a recurrent policy) or a stack of past observations.
        gym.register(
            id="CartPoleNoVel-v1",
            entry_point="envs.registration:make_cartpole_no_velocity",
            max_episode_steps=500,
            reward_threshold=475.0,
        )
