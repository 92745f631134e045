"""Environments polebench adds to Gymnasium's registry, registered by an explicit call, never on import."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

# Swing-up episodes: dm_control's 1000 steps of 0.01 s. Solved: a mean return of 700 (of at most 1000), which
# takes swinging up within about 2.5 s and holding the pole still and centred after; the energy-based controller
# (polebench/agents/swingup.py) scores about 871.
SWINGUP_STEPS = 1000
SWINGUP_THRESHOLD = 700.0

# CartPole's observation: cart position, cart velocity, pole angle, pole angular velocity.
CARTPOLE_VELOCITIES = (1, 3)


class MaskVelocity(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """Zero the velocities of CartPole's observation, keeping its four-value shape, as
    rl-baselines3-zoo's ``CartPoleNoVel-v1`` does (so its hyperparameter files and models carry across).

    Example:
        >>> env = MaskVelocity(gym.make("CartPole-v1"))
        >>> obs, _ = env.reset(seed=0)
        >>> obs.shape, float(obs[1]), float(obs[3])
        ((4,), 0.0, 0.0)

    Args:
        env: an env with CartPole's observation layout
        indices: the observation entries to zero (default: the two velocities)
    """

    def __init__(self, env: gym.Env, indices: tuple[int, ...] = CARTPOLE_VELOCITIES) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, indices=indices)
        gym.ObservationWrapper.__init__(self, env)
        shape = env.observation_space.shape
        if shape is None or len(shape) != 1 or not all(0 <= i < shape[0] for i in indices):
            raise ValueError(f"MaskVelocity needs a flat observation with entries {indices}, got shape {shape}")
        self.mask = np.ones(shape, dtype=np.float32)
        self.mask[list(indices)] = 0.0

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return np.where(self.mask > 0, observation, 0).astype(observation.dtype)


def make_cartpole_no_velocity(**kwargs: Any) -> gym.Env:
    """CartPole whose observation has its two velocities zeroed (the zoo's ``CartPoleNoVel-v1``).

    Example:
        >>> env = make_cartpole_no_velocity()
        >>> env.observation_space.shape
        (4,)
    """
    from gymnasium.envs.classic_control.cartpole import CartPoleEnv

    return MaskVelocity(CartPoleEnv(**kwargs))


def observation_mask(env: gym.Env) -> np.ndarray | None:
    """The mask of a :class:`MaskVelocity` anywhere in ``env``'s wrappers (which entries carry a sensor), or
    ``None`` when no entry is masked."""
    while isinstance(env, gym.Wrapper):
        if isinstance(env, MaskVelocity):
            return env.mask
        env = env.env
    return None


def register_envs() -> None:
    """Register polebench's envs with Gymnasium; safe to call more than once."""
    if "CartPoleNoVel-v1" not in gym.registry:
        # Same dynamics, time limit and threshold as CartPole-v1: only the observation hides the velocities,
        # so solving it takes memory (a recurrent policy) or a stack of past observations.
        gym.register(
            id="CartPoleNoVel-v1",
            entry_point="polebench.envs.registration:make_cartpole_no_velocity",
            max_episode_steps=500,
            reward_threshold=475.0,
        )
    # Swing-up and a continuous force (polebench/envs/swingup.py): CartPole's simulator, other tasks.
    if "CartPoleSwingUp-v0" not in gym.registry:
        for env_id, entry in (
            ("CartPoleSwingUp-v0", "CartPoleSwingUpEnv"),
            ("CartPoleSwingUpDiscrete-v0", "CartPoleSwingUpDiscreteEnv"),
        ):
            gym.register(
                id=env_id,
                entry_point=f"polebench.envs.swingup:{entry}",
                max_episode_steps=SWINGUP_STEPS,
                reward_threshold=SWINGUP_THRESHOLD,
            )
        # DeepMind Control's own, when the optional extra is installed (polebench/envs/dmc.py).
        gym.register(
            id="DMCCartPoleSwingUp-v0",
            entry_point="polebench.envs.dmc:make_dm_control_swingup",
            max_episode_steps=SWINGUP_STEPS,
            reward_threshold=SWINGUP_THRESHOLD,
        )
        gym.register(
            id="CartPoleContinuous-v0",
            entry_point="polebench.envs.swingup:CartPoleContinuousEnv",
            max_episode_steps=500,
            reward_threshold=475.0,
        )
