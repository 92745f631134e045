"""What the cart-pole controllers (LQR aside, PID, energy swing-up) share: the state read from any cart-pole
observation, and a force turned into the action each env takes."""

from __future__ import annotations

from typing import Any

import numpy as np

# CartPole-v1's two pushes, the default when a saved controller has no env to ask.
TWO_PUSHES = [-1.0, 1.0]


def cartpole_state(observation: np.ndarray) -> np.ndarray:
    """(x, x_dot, theta, theta_dot) rows from CartPole's 4-value observations or the swing-up's 5-value ones
    ``(x, cos theta, sin theta, x_dot, theta_dot)``.

    Example:
        >>> cartpole_state(np.array([[0.1, -1.0, 0.0, 0.2, 0.3]])).round(3).tolist()
        [[0.1, 0.2, 3.142, 0.3]]
    """
    obs = np.asarray(observation, dtype=np.float64)
    obs = obs.reshape(-1, obs.shape[-1])
    if obs.shape[1] == 4:
        return obs
    if obs.shape[1] == 5:
        return np.stack([obs[:, 0], obs[:, 3], np.arctan2(obs[:, 2], obs[:, 1]), obs[:, 4]], axis=1)
    raise ValueError(f"a cart-pole observation has 4 or 5 values, got {obs.shape[1]}")


def check_observation_space(space: Any, who: str) -> None:
    """Refuse an observation that is not a cart-pole's (4 values, or the swing-up's 5)."""
    if getattr(space, "shape", None) not in ((4,), (5,)):
        raise ValueError(f"{who} needs a cart-pole observation (CartPole's 4 values or the swing-up's 5), got {space}")


def action_levels(action_space: Any) -> list[float] | None:
    """The force of each action of a discrete space, evenly spaced from -1 to 1 (``None``: a continuous force).

    Example:
        >>> from gymnasium import spaces
        >>> action_levels(spaces.Discrete(3)), action_levels(spaces.Box(-1, 1, (1,)))
        ([-1.0, 0.0, 1.0], None)
    """
    from gymnasium import spaces

    if isinstance(action_space, spaces.Box):
        return None
    if isinstance(action_space, spaces.Discrete) and action_space.n >= 2:
        return np.linspace(-1.0, 1.0, int(action_space.n)).tolist()
    raise ValueError(f"a cart-pole controller pushes a cart: a Box or Discrete action space, got {action_space}")


def to_actions(force: np.ndarray, levels: list[float] | None) -> np.ndarray:
    """Forces (fractions of ``force_mag``) as actions: clipped to [-1, 1], or the nearest discrete level (the
    first of a tie, so on CartPole-v1 a force of 0 pushes left, as ``force > 0`` would decide).

    Example:
        >>> to_actions(np.array([0.3, -2.0, 0.0]), [-1.0, 1.0]).tolist()
        [1, 0, 0]
        >>> to_actions(np.array([0.3, -2.0]), None).tolist()
        [[0.30000001192092896], [-1.0]]
    """
    force = np.clip(np.asarray(force, dtype=np.float64).reshape(-1), -1.0, 1.0)
    if levels is None:
        return force.astype(np.float32).reshape(-1, 1)
    return np.abs(force[:, None] - np.asarray(levels)[None, :]).argmin(axis=1).astype(np.int64)
