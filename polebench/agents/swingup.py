"""Energy-based swing-up that hands over to the LQR near upright (Åström & Furuta, "Swinging up a pendulum
by energy control", Automatica 36, 2000): the classical controller a learned swing-up is measured against.

The pole is a uniform rod of half-length ``l`` and mass ``m`` on the cart (Gymnasium's CartPole model), so
its energy relative to resting upright is ``E = 2/3 m l^2 theta_dot^2 + m g l (cos theta - 1)``: 0 upright at
rest, ``-2 m g l`` hanging at rest. Accelerating the pivot by ``a`` changes it at
``dE/dt = -m l a theta_dot cos theta``, so the swing-up accelerates the cart by

    a = k_energy * g * (E / (2 m g l)) * sign(theta_dot * cos theta) - k_position * x - k_velocity * x_dot

which pumps energy in until ``E`` reaches 0 (the upright's), while the last two terms keep the cart near the
centre of its track. The force is that acceleration times the total mass. Once the pole is within
``catch_deg`` of upright the LQR (``polebench/agents/lqr.py``, designed for the env's constants and time
step) takes over. "Learning" takes no env steps; ``train.py --algo swingup --optimize`` tunes the gains.

It reads the physical constants from the env it is built for (``--env-kwargs length=1.0`` included) and
keeps them, so a saved controller replays without its env. It pushes as each env lets it: a force in
[-1, 1] (``CartPoleSwingUp-v0``), the nearest of N forces (``CartPoleSwingUpDiscrete-v0``) or right when the
force is positive (CartPole-v1's two pushes).

Example:
    >>> import gymnasium as gym
    >>> from polebench.envs.registration import register_envs
    >>> register_envs()
    >>> env = gym.make("CartPoleSwingUp-v0")
    >>> controller = EnergySwingUp(None, env)
    >>> obs, _ = env.reset(seed=0)
    >>> total = 0.0
    >>> for _ in range(1000):
    ...     action, _ = controller.predict(obs[None])
    ...     obs, reward, *_ = env.step(action[0])
    ...     total += reward
    >>> total > 700, abs(float(np.arctan2(obs[2], obs[1]))) < 0.05  # swung up, and held
    (True, True)
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from polebench.agents.cartpole_control import action_levels, cartpole_state, to_actions

PHYSICS = ("gravity", "masscart", "masspole", "length", "force_mag", "tau")


def _unwrapped(env: Any) -> Any:
    """The simulator under a VecEnv (its first sub-env) or a Gymnasium env."""
    if hasattr(env, "get_attr"):
        return env.get_attr("unwrapped", indices=[0])[0]
    return env.unwrapped


class EnergySwingUp:
    """Energy-based swing-up with an LQR catch, for any env on Gymnasium's CartPole simulator.

    :param policy: unused (polebench's agent contract)
    :param env: the env (or VecEnv) it controls: its physical constants, time step and action space
    :param k_energy: gain on the energy error, in units of g per (2 m g l) of missing energy
    :param k_position: centring gain on the cart position, m/s^2 per m
    :param k_velocity: centring gain on the cart velocity, m/s^2 per m/s
    :param catch_deg: within this angle of upright, the LQR takes over
    :param physics: the constants (as :data:`PHYSICS`), when there is no env (a saved controller)
    :param levels: the force of each discrete action (``None``: a continuous force), when there is no env
    """

    def __init__(
        self,
        policy: Any,
        env: Any,
        seed: int | None = None,
        verbose: int = 0,
        k_energy: float = 2.0,
        k_position: float = 8.0,
        k_velocity: float = 4.0,
        catch_deg: float = 30.0,
        physics: dict[str, float] | None = None,
        levels: list[float] | None = None,
    ) -> None:
        from gymnasium.envs.classic_control.cartpole import CartPoleEnv

        from polebench.agents.lqr import cartpole_gain

        self.gains = {"k_energy": k_energy, "k_position": k_position, "k_velocity": k_velocity, "catch_deg": catch_deg}
        for name, value in self.gains.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value) or value < 0:
                raise ValueError(f"the swing-up gain {name} must be a finite number >= 0, got {value!r}")
        if env is not None:
            sim = _unwrapped(env)
            if not isinstance(sim, CartPoleEnv):
                raise ValueError(f"the swing-up controller needs CartPole's simulator, not {type(sim).__name__}")
            physics = {name: float(getattr(sim, name)) for name in PHYSICS}
            levels = action_levels(env.action_space)
        if physics is None:
            raise ValueError("the swing-up controller needs an env, or the physics of a saved one")
        self.physics, self.levels = dict(physics), levels
        p = self.physics
        self.gain = cartpole_gain(p["gravity"], p["masscart"], p["masspole"], p["length"], p["force_mag"], p["tau"])
        self.num_timesteps = 0

    def learn(self, total_timesteps: int, callback: Any = None) -> EnergySwingUp:
        """Nothing to learn: the gains are given (or tuned by ``--optimize``)."""
        return self

    def force(self, observation: np.ndarray) -> np.ndarray:
        """The force, a fraction of ``force_mag`` in [-1, 1], for each row of ``observation``."""
        p, g = self.physics, self.gains
        x, x_dot, theta, theta_dot = cartpole_state(observation).T
        m, half, gravity = p["masspole"], p["length"], p["gravity"]
        energy = (2.0 / 3.0) * m * half**2 * theta_dot**2 + m * gravity * half * (np.cos(theta) - 1.0)
        direction = np.sign(theta_dot * np.cos(theta))
        direction = np.where(direction == 0, 1.0, direction)  # at rest hanging: start the swing somewhere
        accel = g["k_energy"] * gravity * energy / (2 * m * gravity * half) * direction
        accel = accel - g["k_position"] * x - g["k_velocity"] * x_dot
        pump = accel * (p["masscart"] + m) / p["force_mag"]
        state = np.stack([x, x_dot, theta, theta_dot], axis=1)
        catch = -(state @ self.gain)
        near_top = np.abs(theta) < np.radians(g["catch_deg"])
        return np.clip(np.where(near_top, catch, pump), -1.0, 1.0)

    def predict(
        self, observation: np.ndarray, state: Any = None, episode_start: Any = None, deterministic: bool = True
    ) -> tuple[np.ndarray, None]:
        """The action for each observation: the force itself, or the discrete action nearest to it."""
        return to_actions(self.force(observation), self.levels), None

    def save(self, path: str) -> None:
        """The gains, the physics it was designed for and its actions, as JSON."""
        with open(path, "w") as f:
            json.dump({"swingup": {**self.gains, "physics": self.physics, "levels": self.levels}}, f)

    @classmethod
    def load(cls, path: str, env: Any = None) -> EnergySwingUp:
        with open(path) as f:
            saved = json.load(f)["swingup"]
        return cls(None, None, **saved)
