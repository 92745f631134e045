"""Reward shaping for CartPole in named forms, each keeping the true reward visible.

Every form reads the simulator's true state (``env.unwrapped.state``) after the step, not the
observation, so shaping works the same under any observation wrapper: discretized, velocities hidden,
or noisy. Every form keeps a step's reward in [0, 1], so ending an episode early is never attractive
(staying alive always earns at least as much as falling). The forms, by the name ``--shaped-reward``
takes (see ``polebench/envs/wrapping.py``):

- ``user``: ``1 - angle_coef |theta| - velocity_coef |x_dot|`` (:class:`ShapedReward`), the penalties
  the person this project is for wrote first;
- ``position``: the same plus ``- position_coef |x|`` (:class:`ShapedReward`), so drifting costs too;
- ``quadratic``: ``1 - sum_i weight_i (s_i / scale_i)^2`` (:class:`QuadraticReward`), a diagonal quadratic
  state cost like the LQR's ``s' Q s``, so the reward's best behaviour is the controller's objective;
- ``dm_control``: DeepMind Control Suite's smooth cart-pole balance reward (:class:`DMControlReward`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

__all__ = ["DMControlReward", "QuadraticReward", "ShapedReward"]

# CartPole's state layout: cart position, cart velocity, pole angle, pole angular velocity.
CARTPOLE_STATE = ("cart position", "cart velocity", "pole angle", "pole angular velocity")


def _check_coefficients(**values: float | Sequence[float]) -> None:
    for name, value in values.items():
        array = np.asarray(value, dtype=np.float64)
        if not (np.all(np.isfinite(array)) and np.all(array >= 0)):
            raise ValueError(f"{name} must be finite and >= 0, got {value!r}")


def _state_size(env: gym.Env) -> int:
    if not hasattr(env.unwrapped, "state"):
        raise ValueError(f"shaping reads the simulator's state; {type(env.unwrapped).__name__} exposes none")
    # The simulator's own observation space describes its state (CartPoleEnv returns the state as is).
    shape = env.unwrapped.observation_space.shape
    return shape[0] if shape and len(shape) == 1 else 0


class _Shaping(gym.Wrapper):
    """What every form shares: the shaped reward of each step from the simulator's state, clipped to
    [0, 1], the true reward in ``info["true_reward"]`` and the shaped episode return in
    ``info["shaped_episode"] = {"r": ..., "l": ...}`` when an episode ends.

    Put SB3's ``Monitor`` *inside* the wrapper so that every return it reports (monitor files,
    evaluations, TensorBoard's ``rollout/ep_rew_mean``) stays the true one; evaluate on an unshaped env.
    """

    def __init__(self, env: gym.Env) -> None:
        gym.Wrapper.__init__(self, env)
        self._sim: Any = env.unwrapped  # looked up once: every step reads its state
        self._shaped_return, self._length = 0.0, 0

    def shaped(self, true_reward: float, state: np.ndarray) -> float:
        """The reward of a step that earned ``true_reward`` and led to ``state`` (before clipping)."""
        raise NotImplementedError

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        self._shaped_return, self._length = 0.0, 0
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        shaped = min(max(self.shaped(float(reward), np.asarray(self._sim.state, dtype=np.float64)), 0.0), 1.0)
        self._shaped_return += shaped
        self._length += 1
        info = {**info, "true_reward": float(reward)}
        if terminated or truncated:
            info["shaped_episode"] = {"r": self._shaped_return, "l": self._length}
        return obs, shaped, terminated, truncated, info


class ShapedReward(_Shaping, gym.utils.RecordConstructorArgs):
    """The ``user`` and ``position`` forms: subtract ``angle_coef |pole angle| + velocity_coef |cart
    velocity| + position_coef |cart position|`` from the true reward, then clip to [0, 1].

    With ``position_coef`` 0 (the ``user`` form) this is the shaping the person this project is for
    wrote: it stills the pole but never says where the cart should be, so a shaped agent may drift.

    Example:
        >>> import gymnasium as gym
        >>> env = ShapedReward(gym.make("CartPole-v1"), angle_coef=1.0, velocity_coef=0.1)
        >>> obs, _ = env.reset(seed=0)
        >>> obs, reward, *_, info = env.step(1)
        >>> angle, velocity = env.unwrapped.state[2], env.unwrapped.state[1]
        >>> info["true_reward"], bool(abs(reward - (1 - abs(angle) - 0.1 * abs(velocity))) < 1e-9)
        (1.0, True)

    Args:
        env: an env whose simulator's ``state`` holds the cart position, the cart velocity and the pole
            angle (CartPole's layout)
        angle_coef: penalty per radian of pole angle, >= 0 (default 1.0)
        velocity_coef: penalty per unit of cart velocity, >= 0 (default 0.1)
        position_coef: penalty per metre of cart position, >= 0 (default 0: the ``user`` form)
        angle_index: position of the pole angle in the simulator's state (CartPole: 2)
        velocity_index: position of the cart velocity in the simulator's state (CartPole: 1)
        position_index: position of the cart position in the simulator's state (CartPole: 0)

    Raises:
        ValueError: for a negative or non-finite coefficient, a simulator without a ``state``, or an
            index outside it
    """

    def __init__(
        self,
        env: gym.Env,
        angle_coef: float = 1.0,
        velocity_coef: float = 0.1,
        position_coef: float = 0.0,
        angle_index: int = 2,
        velocity_index: int = 1,
        position_index: int = 0,
    ) -> None:
        gym.utils.RecordConstructorArgs.__init__(
            self,
            angle_coef=angle_coef,
            velocity_coef=velocity_coef,
            position_coef=position_coef,
            angle_index=angle_index,
            velocity_index=velocity_index,
            position_index=position_index,
        )
        _Shaping.__init__(self, env)
        _check_coefficients(angle_coef=angle_coef, velocity_coef=velocity_coef, position_coef=position_coef)
        size = _state_size(env)
        indices = {"angle_index": angle_index, "velocity_index": velocity_index, "position_index": position_index}
        for name, index in indices.items():
            if not (isinstance(index, int) and 0 <= index < size):
                raise ValueError(f"{name} must index the simulator's state (0..{size - 1}), got {index!r}")
        self.coefs = np.array([angle_coef, velocity_coef, position_coef], dtype=np.float64)
        self.indices = [angle_index, velocity_index, position_index]
        self.angle_coef, self.velocity_coef, self.position_coef = (float(c) for c in self.coefs)

    def penalty(self, state: np.ndarray) -> float:
        """What shaping subtracts from the reward of a step that led to the simulator's ``state``."""
        return float(self.coefs @ np.abs(state[self.indices]))

    def shaped(self, true_reward: float, state: np.ndarray) -> float:
        return true_reward - self.penalty(state)


class QuadraticReward(_Shaping, gym.utils.RecordConstructorArgs):
    """The ``quadratic`` form: ``1 - sum_i weights[i] * (state[i] / scales[i])**2``, clipped to [0, 1].

    A diagonal quadratic state cost, the kind the LQR minimises (``s' Q s`` with ``Q_ii = weight_i /
    scale_i**2``), so an agent that maximises this reward is asked for the controller's objective:
    the pole upright *and* the cart at the centre. ``scales`` say what counts as far for each variable;
    with the defaults a cart 1.2 m off-centre costs as much as a pole 0.21 rad (12 degrees) from upright,
    where CartPole ends the episode. The velocities weigh little: damping them is the controller's
    means, not its goal.

    Example:
        >>> import gymnasium as gym
        >>> env = QuadraticReward(gym.make("CartPole-v1"), weights=(0.5, 0.0, 0.5, 0.0), scales=(1.2, 1, 0.21, 1))
        >>> _ = env.reset(seed=0)
        >>> env.unwrapped.state = np.array([0.6, 0.0, 0.105, 0.0])  # half way to each scale
        >>> round(env.reward_of(env.unwrapped.state), 4)
        0.75

    Args:
        env: a CartPole env (any simulator whose ``state`` has CartPole's 4-variable layout)
        weights: the weight of each state variable's cost (cart position, cart velocity, pole angle, pole
            angular velocity), each >= 0
        scales: the value of each variable at which its cost equals its weight, each > 0

    Raises:
        ValueError: for weights or scales of the wrong length, sign or finiteness, or a simulator whose
            state is not CartPole's 4 variables
    """

    def __init__(
        self,
        env: gym.Env,
        weights: Sequence[float] = (0.5, 0.01, 0.5, 0.01),
        scales: Sequence[float] = (1.2, 1.0, 0.21, 1.0),
    ) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, weights=weights, scales=scales)
        _Shaping.__init__(self, env)
        size = _state_size(env)
        if size != len(CARTPOLE_STATE):
            raise ValueError(f"the quadratic form needs CartPole's {len(CARTPOLE_STATE)}-variable state, got {size}")
        for name, value in (("weights", weights), ("scales", scales)):
            if np.shape(value) != (size,):
                raise ValueError(f"{name} needs {size} numbers ({', '.join(CARTPOLE_STATE)}), got {value!r}")
        _check_coefficients(weights=weights, scales=scales)
        if not np.all(np.asarray(scales, dtype=np.float64) > 0):
            raise ValueError(f"scales must be > 0, got {scales!r}")
        self.q = np.asarray(weights, dtype=np.float64) / np.asarray(scales, dtype=np.float64) ** 2

    def reward_of(self, state: np.ndarray) -> float:
        """The reward in a state, before clipping: one minus the state's quadratic cost."""
        return float(1.0 - self.q @ np.asarray(state, dtype=np.float64) ** 2)

    def shaped(self, true_reward: float, state: np.ndarray) -> float:
        return self.reward_of(state)


def tolerance(value: float, margin: float, value_at_margin: float = 0.1) -> float:
    """DeepMind Control Suite's ``rewards.tolerance`` with bounds (0, 0) and its default Gaussian sigmoid:
    1 at zero, falling smoothly to ``value_at_margin`` at ``+-margin``.

    Written here because dm_control itself needs MuJoCo, which polebench has no other use for.

    Example:
        >>> tolerance(0.0, margin=2.0), round(tolerance(2.0, margin=2.0), 6)
        (1.0, 0.1)
    """
    scale = np.sqrt(-2.0 * np.log(value_at_margin))
    return float(np.exp(-0.5 * (value / margin * scale) ** 2))


class DMControlReward(_Shaping, gym.utils.RecordConstructorArgs):
    """The ``dm_control`` form: DeepMind Control Suite's smooth cart-pole balance reward,
    ``upright * centred * small_velocity``, each factor in [0, 1]:

    - ``upright = (cos(theta) + 1) / 2``;
    - ``centred = (1 + tolerance(x, position_margin)) / 2``;
    - ``small_velocity = (1 + tolerance(theta_dot, angular_velocity_margin)) / 2``.

    The suite's fourth factor, small control, is left out: CartPole always pushes with full force, so
    it would be the same constant on every step.

    Example:
        >>> import gymnasium as gym
        >>> env = DMControlReward(gym.make("CartPole-v1"))
        >>> round(env.reward_of(np.zeros(4)), 6), round(env.reward_of(np.array([2.0, 0.0, 0.0, 0.0])), 6)
        (1.0, 0.55)

    Args:
        env: a CartPole env (any simulator whose ``state`` has CartPole's 4-variable layout)
        position_margin: the cart position, in metres, at which ``centred`` falls to 0.55 (suite: 2)
        angular_velocity_margin: the pole's angular velocity, in rad/s, at which ``small_velocity`` falls to
            0.55 (suite: 5)

    Raises:
        ValueError: for a margin that is not a positive finite number, or a simulator whose state is not
            CartPole's 4 variables
    """

    def __init__(self, env: gym.Env, position_margin: float = 2.0, angular_velocity_margin: float = 5.0) -> None:
        gym.utils.RecordConstructorArgs.__init__(
            self, position_margin=position_margin, angular_velocity_margin=angular_velocity_margin
        )
        _Shaping.__init__(self, env)
        if _state_size(env) != len(CARTPOLE_STATE):
            raise ValueError(f"the dm_control form needs CartPole's {len(CARTPOLE_STATE)}-variable state")
        _check_coefficients(position_margin=position_margin, angular_velocity_margin=angular_velocity_margin)
        if not (position_margin > 0 and angular_velocity_margin > 0):
            raise ValueError(f"margins must be > 0, got {position_margin!r} and {angular_velocity_margin!r}")
        self.position_margin, self.angular_velocity_margin = float(position_margin), float(angular_velocity_margin)

    def reward_of(self, state: np.ndarray) -> float:
        """The reward in a state: upright x centred x small angular velocity."""
        x, _, theta, theta_dot = (float(v) for v in state)
        upright = (np.cos(theta) + 1.0) / 2.0
        centred = (1.0 + tolerance(x, self.position_margin)) / 2.0
        small_velocity = (1.0 + tolerance(theta_dot, self.angular_velocity_margin)) / 2.0
        return float(upright * centred * small_velocity)

    def shaped(self, true_reward: float, state: np.ndarray) -> float:
        return self.reward_of(state)
