"""A PID loop for CartPole: the control engineer's first try, beside the LQR as a reference controller.

An inner PID loop on the pole angle, and an outer PD loop on the cart position that leans the pole's
set-point towards the centre; the force's sign picks the push (CartPole's actions are "left" and
"right" at a fixed force, so a controller only chooses the direction):

    u = kp * theta + ki * integral(theta dt) + kd * theta_dot + kx * x + kv * x_dot;   push right if u > 0

The outer gains are positive: to bring the cart back left, the pole must first lean left, and to make
it lean left the cart moves right for a moment (the LQR's gain has the same signs). The integral
restarts with each episode and travels as ``predict``'s state, as a recurrent policy's memory does.
"Learning" takes no env steps; ``train.py --algo pid --optimize`` tunes the gains instead
(``polebench/tune/search_spaces.py``).

It is written as an agent of one's own (:class:`polebench.agents.plugins.Agent`), not as an SB3 algorithm: four
methods and a constructor are all a controller needs. Its gains live in ``polebench/hyperparams/pid.yml``.

Example:
    >>> pid = PID(None, None, kp=1.0, ki=0.0, kd=0.3, kx=0.1, kv=0.15)
    >>> actions, integral = pid.predict(np.array([[0.0, 0.0, 0.05, 0.0], [0.0, 0.0, -0.05, 0.0]]))
    >>> actions.tolist()
    [1, 0]
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from polebench.agents.cartpole_control import (
    TWO_PUSHES,
    action_levels,
    cartpole_state,
    check_observation_space,
    to_actions,
)


class PID:
    """Cascaded PID control of CartPole's pole angle and cart position.

    :param kp: proportional gain on the pole angle (rad)
    :param ki: integral gain on the pole angle (rad s), the integral restarting each episode
    :param kd: derivative gain: on the pole's angular velocity (rad/s), measured rather than differenced
    :param kx: the outer loop's proportional gain on the cart position (m)
    :param kv: the outer loop's derivative gain, on the cart velocity (m/s)
    :param dt: the env's time step (s), for the integral
    """

    def __init__(
        self,
        policy: Any,
        env: Any,
        seed: int | None = None,
        verbose: int = 0,
        kp: float = 1.0,
        ki: float = 0.0,
        kd: float = 0.3,
        kx: float = 0.1,
        kv: float = 0.15,
        dt: float = 0.02,
        levels: list[float] | None = TWO_PUSHES,
    ) -> None:
        if env is not None:
            check_observation_space(env.observation_space, "the PID loop")
            levels = action_levels(env.action_space)
        self.levels = levels
        self.gains = {"kp": kp, "ki": ki, "kd": kd, "kx": kx, "kv": kv, "dt": dt}
        for name, value in self.gains.items():
            if not np.isfinite(value):
                raise ValueError(f"the PID gain {name} must be a finite number, got {value}")
        self.num_timesteps = 0

    def learn(self, total_timesteps: int, callback: Any = None) -> PID:
        """Nothing to learn: the gains are given (or tuned by ``--optimize``)."""
        return self

    def predict(
        self, observation: np.ndarray, state: Any = None, episode_start: Any = None, deterministic: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Push right (1) where the control signal is positive, else left (0) (with a continuous force: the
        signal itself, clipped to [-1, 1]; with N forces: the nearest); ``state`` is each env's integral of the
        pole angle, reset where ``episode_start`` is true."""
        g = self.gains
        obs = cartpole_state(observation)
        integral = np.zeros(len(obs)) if state is None else np.asarray(state, dtype=np.float64).reshape(-1).copy()
        if episode_start is not None:
            integral[np.asarray(episode_start, dtype=bool).reshape(-1)] = 0.0
        x, x_dot, theta, theta_dot = obs.T
        integral += theta * g["dt"]
        u = g["kp"] * theta + g["ki"] * integral + g["kd"] * theta_dot + g["kx"] * x + g["kv"] * x_dot
        return to_actions(u, self.levels), integral

    def save(self, path: str) -> None:
        """The gains, as JSON (a controller needs nothing else)."""
        with open(path, "w") as f:
            json.dump({"pid": self.gains, "levels": self.levels}, f)

    @classmethod
    def load(cls, path: str, env: Any = None) -> PID:
        with open(path) as f:
            saved = json.load(f)
        return cls(None, env, **saved["pid"], levels=saved.get("levels", TWO_PUSHES))
