"""Cart-pole tasks beyond "start upright, push left or right": a swing-up from hanging and a continuous force.

All of them are Gymnasium's ``CartPoleEnv`` simulator (the same equations of motion, constants and
explicit Euler steps, :func:`euler_step`), so every polebench tool built on it (physical constants,
a wrong model, pushes, the LQR's linearisation) applies unchanged:

- ``CartPoleSwingUp-v0`` (:class:`CartPoleSwingUpEnv`): the pole starts hanging down; a continuous force in
  [-1, 1] x ``force_mag``; the angle is unbounded (wrapped to [-pi, pi)); the cart runs on a finite track
  and stops dead at its ends; 1000 steps of 0.01 s (10 s) and DeepMind Control's smooth
  cartpole-swingup reward (:func:`swingup_reward`), so a return compares with the suite's published
  table (at most 1000; SAC, TD-MPC2 and DreamerV3 report about 850-880 on the suite's own physics).
- ``CartPoleSwingUpDiscrete-v0`` (:class:`CartPoleSwingUpDiscreteEnv`): the same with ``n_actions`` evenly
  spaced forces from -1 to 1 (3 by default: left, none, right), for DQN, discrete SAC and Q-learning.
- ``CartPoleContinuous-v0`` (:class:`CartPoleContinuousEnv`): CartPole-v1 exactly (start, termination,
  +1 a step, 500 steps) with a continuous force in [-1, 1] x ``force_mag`` instead of two pushes.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.envs.classic_control.cartpole import CartPoleEnv

from polebench.wrappers.shaped_reward import tolerance

__all__ = [
    "CartPoleContinuousEnv",
    "CartPoleSwingUpDiscreteEnv",
    "CartPoleSwingUpEnv",
    "euler_step",
    "swingup_reward",
]

SWINGUP_TAU = 0.01  # dm_control's control step, s


def euler_step(sim: CartPoleEnv, force: float) -> np.ndarray:
    """One step of Gymnasium's CartPole equations of motion under ``force`` newtons, from ``sim.state`` with
    ``sim``'s constants and integrator; returns the next state (x, x_dot, theta, theta_dot).

    The equations hold at every angle (Barto, Sutton and Anderson's frictionless cart-pole), so the
    swing-up runs on the very simulator CartPole-v1 balances on. Written out because Gymnasium's
    ``CartPoleEnv.step`` takes only its two actions.

    Example:
        >>> sim = CartPoleEnv()
        >>> sim.state = np.array([0.0, 0.0, 0.0, 0.0])
        >>> euler_step(sim, 0.0).tolist()  # at rest upright, nothing moves
        [0.0, 0.0, 0.0, 0.0]
    """
    assert sim.state is not None, "call reset before step"
    x, x_dot, theta, theta_dot = (float(v) for v in sim.state)
    cos, sin = math.cos(theta), math.sin(theta)
    temp = (force + sim.polemass_length * theta_dot**2 * sin) / sim.total_mass
    theta_acc = (sim.gravity * sin - cos * temp) / (sim.length * (4.0 / 3.0 - sim.masspole * cos**2 / sim.total_mass))
    x_acc = temp - sim.polemass_length * theta_acc * cos / sim.total_mass
    if sim.kinematics_integrator == "euler":
        x, x_dot = x + sim.tau * x_dot, x_dot + sim.tau * x_acc
        theta, theta_dot = theta + sim.tau * theta_dot, theta_dot + sim.tau * theta_acc
    else:  # semi-implicit Euler
        x_dot, theta_dot = x_dot + sim.tau * x_acc, theta_dot + sim.tau * theta_acc
        x, theta = x + sim.tau * x_dot, theta + sim.tau * theta_dot
    return np.array((x, x_dot, theta, theta_dot), dtype=np.float64)


def swingup_reward(x: float, theta: float, theta_dot: float, force: float) -> float:
    """DeepMind Control Suite's smooth cartpole-swingup (and balance) reward, in [0, 1] a step:
    ``upright * centred * small_control * small_velocity`` with

    - ``upright = (cos(theta) + 1) / 2``: 1 upright, 0 hanging;
    - ``centred = (1 + tolerance(x, margin 2)) / 2``: 1 at the centre, 0.55 at 2 m;
    - ``small_control = (4 + quadratic(force, margin 1)) / 5``: 1 without force, 0.8 at full force;
    - ``small_velocity = (1 + tolerance(theta_dot, margin 5)) / 2``: 1 at rest, 0.55 at 5 rad/s.

    ``tolerance`` is the suite's Gaussian (1 at 0, 0.1 at the margin); ``quadratic(u, 1)`` is ``1 - u**2``.

    Example:
        >>> swingup_reward(0.0, 0.0, 0.0, 0.0), round(swingup_reward(0.0, 0.0, 0.0, 1.0), 6)
        (1.0, 0.8)
        >>> swingup_reward(0.0, math.pi, 0.0, 0.0)  # hanging still: nothing
        0.0
    """
    upright = (math.cos(theta) + 1.0) / 2.0
    centred = (1.0 + tolerance(x, margin=2.0)) / 2.0
    small_control = (4.0 + max(0.0, 1.0 - force**2)) / 5.0
    small_velocity = (1.0 + tolerance(theta_dot, margin=5.0)) / 2.0
    return float(upright * centred * small_control * small_velocity)


def _set_constants(sim: CartPoleEnv, **constants: float) -> None:
    for name, value in constants.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
            raise ValueError(f"{name} must be a positive number, got {value!r}")
        setattr(sim, name, float(value))
    sim.total_mass = sim.masspole + sim.masscart
    sim.polemass_length = sim.masspole * sim.length


def _force_of(action: Any, space: spaces.Box) -> float:
    """The force fraction a continuous action asks for; an action outside [-1, 1] (or not one number) is
    refused, not clipped, so an agent that forgets to bound its actions hears of it."""
    value = np.asarray(action, dtype=np.float64).reshape(-1)
    if value.shape != (1,) or not np.isfinite(value[0]) or not -1.0 <= value[0] <= 1.0:
        raise ValueError(f"the action must be one force in [-1, 1] (a fraction of force_mag), got {action!r}")
    return float(value[0])


class CartPoleSwingUpEnv(CartPoleEnv):
    """Swing the pole up from hanging and hold it, pushing the cart with a continuous force.

    State (``env.unwrapped.state``, as CartPole's): cart position (m), cart velocity (m/s), pole angle (rad,
    0 upright, wrapped to [-pi, pi)), pole angular velocity (rad/s). Observation, as dm_control's:
    ``(x, cos theta, sin theta, x_dot, theta_dot)``. Action: ``[u]``, u in [-1, 1], the force ``u * force_mag``.
    An episode starts hanging (angle pi) with dm_control's small random offsets, never terminates, and is
    truncated after 1000 steps (the registered ``max_episode_steps``). At either end of the track
    (``|x| = x_threshold``) the cart stops dead.

    Example:
        >>> env = CartPoleSwingUpEnv()
        >>> obs, _ = env.reset(seed=0)
        >>> obs.shape, bool(obs[1] < -0.99)  # cos(angle): hanging down
        ((5,), True)
        >>> obs, reward, terminated, truncated, _ = env.step(np.array([1.0], dtype=np.float32))
        >>> reward < 0.01, terminated
        (True, False)

    Args:
        render_mode: ``"rgb_array"`` or ``"human"``
        gravity, masscart, masspole, length, force_mag: CartPole-v1's constants (``length`` is half the
            pole's length, m); any may be changed for another body
        tau: seconds per step (dm_control's control step: 0.01)
        x_threshold: the track's half-length, m (CartPole-v1's 2.4)

    Raises:
        ValueError: a constant that is not a positive number; from ``step``, an action outside [-1, 1]
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 100}  # noqa: RUF012  # as Gymnasium's

    def __init__(
        self,
        render_mode: str | None = None,
        gravity: float = 9.8,
        masscart: float = 1.0,
        masspole: float = 0.1,
        length: float = 0.5,
        force_mag: float = 10.0,
        tau: float = SWINGUP_TAU,
        x_threshold: float = 2.4,
    ) -> None:
        super().__init__(render_mode=render_mode)
        _set_constants(
            self, gravity=gravity, masscart=masscart, masspole=masspole, length=length, force_mag=force_mag, tau=tau
        )
        _set_constants(self, x_threshold=x_threshold)
        self.theta_threshold_radians = math.pi  # no angle ends an episode
        high = np.array([x_threshold, 1.0, 1.0, np.inf, np.inf], dtype=np.float32)
        self.observation_space = spaces.Box(-high, high, dtype=np.float32)
        self.action_space: spaces.Space[Any] = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.applied_force = 0.0  # the last step's force, a fraction of force_mag (episode metrics read it)

    def force_of(self, action: Any) -> float:
        """The force fraction in [-1, 1] that ``action`` applies."""
        assert isinstance(self.action_space, spaces.Box)
        return _force_of(action, self.action_space)

    def observation(self) -> np.ndarray:
        assert self.state is not None
        x, x_dot, theta, theta_dot = self.state
        return np.array([x, math.cos(theta), math.sin(theta), x_dot, theta_dot], dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        gym.Env.reset(self, seed=seed)
        # dm_control's swing-up start: hanging, with 0.01-scale noise on positions and velocities.
        noise = 0.01 * self.np_random.standard_normal(4)
        self.state = np.array([noise[0], noise[1], math.pi + noise[2], noise[3]], dtype=np.float64)
        self.applied_force = 0.0
        if self.render_mode == "human":
            self.render()
        return self.observation(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        u = self.force_of(action)
        x, x_dot, theta, theta_dot = euler_step(self, u * self.force_mag)
        theta = (theta + math.pi) % (2 * math.pi) - math.pi
        if abs(x) >= self.x_threshold:  # the end of the track: an inelastic stop, and no pushing through it
            x = math.copysign(self.x_threshold, x)
            x_dot = 0.0 if x_dot * x > 0 else x_dot
        self.state = np.array((x, x_dot, theta, theta_dot), dtype=np.float64)
        self.applied_force = u
        if self.render_mode == "human":
            self.render()
        return self.observation(), swingup_reward(x, theta, theta_dot, u), False, False, {}

    def render(self) -> Any:
        # Gymnasium's drawing puts the cart 100 px above the bottom edge, where a hanging pole would leave
        # the picture: draw the same scene on a taller canvas with the rail in the middle.
        if self.render_mode is None or self.state is None:
            return super().render()
        import pygame
        from pygame import gfxdraw

        width, height = self.screen_width, self.screen_height
        # Gymnasium types these as None; they hold pygame objects once drawing starts.
        screen: Any = self.screen
        if screen is None:
            pygame.display.init()
            human = self.render_mode == "human"
            screen = pygame.display.set_mode((width, height)) if human else pygame.Surface((width, height))
            self.screen = screen
        clock: Any = self.clock
        if clock is None:
            clock = pygame.time.Clock()
            self.clock = clock
        scale = width / (2 * self.x_threshold + 0.4)
        pole = min(scale * 2 * self.length, 0.45 * height)
        x, _, theta, _ = self.state
        cart_x, rail_y = x * scale + width / 2, height / 2
        surf = pygame.Surface((width, height))
        surf.fill((255, 255, 255))
        left, right = width / 2 - self.x_threshold * scale, width / 2 + self.x_threshold * scale
        gfxdraw.hline(surf, int(left), int(right), int(rail_y), (0, 0, 0))
        for end in (left, right):
            gfxdraw.vline(surf, int(end), int(rail_y - 10), int(rail_y + 10), (0, 0, 0))
        cart = [(cart_x + dx, rail_y + dy) for dx, dy in ((-25, -15), (-25, 15), (25, 15), (25, -15))]
        gfxdraw.filled_polygon(surf, cart, (0, 0, 0))
        corners = [
            pygame.math.Vector2(dx, dy).rotate_rad(-theta) for dx, dy in ((-5, -5), (-5, pole), (5, pole), (5, -5))
        ]
        gfxdraw.filled_polygon(surf, [(cart_x + c[0], rail_y + c[1]) for c in corners], (202, 152, 101))
        gfxdraw.filled_circle(surf, int(cart_x), int(rail_y), 5, (129, 132, 203))
        surf = pygame.transform.flip(surf, False, True)
        screen.blit(surf, (0, 0))
        if self.render_mode == "human":
            pygame.event.pump()
            clock.tick(self.metadata["render_fps"])
            pygame.display.flip()
            return None
        return np.transpose(np.array(pygame.surfarray.pixels3d(screen)), axes=(1, 0, 2))


class CartPoleSwingUpDiscreteEnv(CartPoleSwingUpEnv):
    """:class:`CartPoleSwingUpEnv` with ``n_actions`` forces evenly spaced from -1 to 1 x ``force_mag``.

    Example:
        >>> env = CartPoleSwingUpDiscreteEnv(n_actions=5)
        >>> env.action_space, env.force_of(0), env.force_of(2), env.force_of(4)
        (Discrete(5), -1.0, 0.0, 1.0)

    Args:
        n_actions: how many forces, at least 2 (3: left, none, right)
        kwargs: as :class:`CartPoleSwingUpEnv`
    """

    def __init__(self, n_actions: int = 3, **kwargs: Any) -> None:
        if isinstance(n_actions, bool) or not isinstance(n_actions, int) or n_actions < 2:
            raise ValueError(f"n_actions must be a whole number of at least 2, got {n_actions!r}")
        super().__init__(**kwargs)
        self.action_space = spaces.Discrete(n_actions)
        self.forces = np.linspace(-1.0, 1.0, n_actions)

    def force_of(self, action: Any) -> float:
        if not self.action_space.contains(action):
            raise ValueError(f"the action must be one of 0..{len(self.forces) - 1}, got {action!r}")
        return float(self.forces[int(action)])


class CartPoleContinuousEnv(CartPoleEnv):
    """CartPole-v1 with a continuous force: the same start, termination (12 degrees, 2.4 m), +1 a step and
    500-step limit; the action ``[u]``, u in [-1, 1], pushes with ``u * force_mag``.

    Example:
        >>> env = CartPoleContinuousEnv()
        >>> obs, _ = env.reset(seed=0)
        >>> env.step(np.array([0.5], dtype=np.float32))[1:3]
        (1.0, False)
    """

    def __init__(self, render_mode: str | None = None) -> None:
        super().__init__(render_mode=render_mode)
        self.action_space: spaces.Space[Any] = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.applied_force = 0.0

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        assert isinstance(self.action_space, spaces.Box)
        u = _force_of(action, self.action_space)
        self.state = euler_step(self, u * self.force_mag)
        self.applied_force = u
        x, _, theta, _ = self.state
        terminated = bool(abs(x) > self.x_threshold or abs(theta) > self.theta_threshold_radians)
        if self.render_mode == "human":
            self.render()
        return np.array(self.state, dtype=np.float32), 1.0, terminated, False, {}
