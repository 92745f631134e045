"""Reward shaping that penalises the pole angle and the cart velocity, keeping the true reward visible.

The penalty reads the simulator's true state (``env.unwrapped.state``), not the observation, so shaping
works the same under any observation wrapper: discretized, velocities hidden, or noisy.
"""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

__all__ = ["ShapedReward"]


class ShapedReward(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Subtract ``angle_coef * |pole angle| + velocity_coef * |cart velocity|`` from every reward.

    Both quantities are read from the simulator's true state after the step, whatever the agent observes.
    The true reward stays in ``info["true_reward"]`` and the shaped episode return is reported in
    ``info["shaped_episode"] = {"r": ..., "l": ...}`` when an episode ends. Put SB3's ``Monitor``
    *inside* this wrapper so that every return it reports (monitor files, evaluations, TensorBoard's
    ``rollout/ep_rew_mean``) stays the true one; evaluate on an unshaped env.

    The defaults keep a CartPole step's reward positive (the angle ends an episode past 0.21 rad and the
    cart rarely exceeds 2 units/s), so shaping never makes ending an episode early attractive.

    Example:
        >>> import gymnasium as gym
        >>> env = ShapedReward(gym.make("CartPole-v1"), angle_coef=1.0, velocity_coef=0.1)
        >>> obs, _ = env.reset(seed=0)
        >>> obs, reward, *_, info = env.step(1)
        >>> angle, velocity = env.unwrapped.state[2], env.unwrapped.state[1]
        >>> info["true_reward"], bool(abs(reward - (1 - abs(angle) - 0.1 * abs(velocity))) < 1e-9)
        (1.0, True)

    Args:
        env: an env whose simulator's ``state`` holds the cart velocity and the pole angle (CartPole's layout)
        angle_coef: penalty per radian of pole angle, >= 0 (default 1.0)
        velocity_coef: penalty per unit of cart velocity, >= 0 (default 0.1)
        angle_index: position of the pole angle in the simulator's state (CartPole: 2)
        velocity_index: position of the cart velocity in the simulator's state (CartPole: 1)

    Raises:
        ValueError: for a negative or non-finite coefficient, a simulator without a ``state``, or an
            index outside it
    """

    def __init__(
        self,
        env: gym.Env,
        angle_coef: float = 1.0,
        velocity_coef: float = 0.1,
        angle_index: int = 2,
        velocity_index: int = 1,
    ) -> None:
        gym.utils.RecordConstructorArgs.__init__(
            self,
            angle_coef=angle_coef,
            velocity_coef=velocity_coef,
            angle_index=angle_index,
            velocity_index=velocity_index,
        )
        gym.Wrapper.__init__(self, env)
        for name, value in (("angle_coef", angle_coef), ("velocity_coef", velocity_coef)):
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if not hasattr(env.unwrapped, "state"):
            raise ValueError(f"shaping reads the simulator's state; {type(env.unwrapped).__name__} exposes none")
        # The simulator's own observation space describes its state (CartPoleEnv returns the state as is).
        shape = env.unwrapped.observation_space.shape
        size = shape[0] if shape and len(shape) == 1 else 0
        for name, index in (("angle_index", angle_index), ("velocity_index", velocity_index)):
            if not 0 <= index < size:
                raise ValueError(f"{name} must index the simulator's state (0..{size - 1}), got {index!r}")
        self.angle_coef, self.velocity_coef = float(angle_coef), float(velocity_coef)
        self.angle_index, self.velocity_index = angle_index, velocity_index
        self._shaped_return, self._length = 0.0, 0

    def penalty(self, state: np.ndarray) -> float:
        """What shaping subtracts from the reward of a step that led to the simulator's ``state``."""
        angle, velocity = state[self.angle_index], state[self.velocity_index]
        return float(self.angle_coef * abs(angle) + self.velocity_coef * abs(velocity))

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        self._shaped_return, self._length = 0.0, 0
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        shaped = float(reward) - self.penalty(np.asarray(self.env.unwrapped.state))  # type: ignore[attr-defined]
        self._shaped_return += shaped
        self._length += 1
        info = {**info, "true_reward": float(reward)}
        if terminated or truncated:
            info["shaped_episode"] = {"r": self._shaped_return, "l": self._length}
        return obs, shaped, terminated, truncated, info
