"""Perturbations that test how robust a controller is: pushes, a wrong model, noisy sensors, a faulty actuator.

Each wrapper draws its randomness from its own generator, seeded from the seed given to ``reset`` (and
the wrapper's own salt), so a perturbed episode is the same for the same seed, and the env's own random
stream (its initial states) is the same as without the perturbation. At strength zero each one leaves
episodes exactly as they were.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from polebench.wrappers.physics import set_physics

__all__ = ["ActuatorFault", "ModelError", "Push", "RandomLevel", "RandomModel", "SensorNoise"]

# CartPole's state layout: cart position, cart velocity, pole angle, pole angular velocity.
CART_VELOCITY, POLE_ANGULAR_VELOCITY = 1, 3


def _cartpole(env: gym.Env, who: str) -> Any:
    from gymnasium.envs.classic_control.cartpole import CartPoleEnv

    if not isinstance(env.unwrapped, CartPoleEnv):
        raise ValueError(f"{who} applies to CartPole's simulator only, not {type(env.unwrapped).__name__}")
    return env.unwrapped


class _Seeded(gym.Wrapper):
    """A wrapper with a generator of its own, reseeded whenever ``reset`` gets a seed."""

    salt = 0

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.rng = np.random.default_rng(self.salt)

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        if kwargs.get("seed") is not None:
            self.rng = np.random.default_rng((int(kwargs["seed"]), self.salt))
        return self.env.reset(**kwargs)


class Push(_Seeded, gym.utils.RecordConstructorArgs):
    """Strike CartPole every ``every`` steps: the pole's angular velocity jumps by ``pole_kick`` rad/s
    and the cart's velocity by ``cart_kick`` m/s, each in a random direction.

    The kick changes the simulator's state just before the step, so the step integrates from it and
    its observation shows the result.

    Example:
        >>> import gymnasium as gym
        >>> pushed, calm = Push(gym.make("CartPole-v1"), pole_kick=1.0, every=1), gym.make("CartPole-v1")
        >>> for env in (pushed, calm):
        ...     _ = env.reset(seed=0)
        ...     _ = env.step(0), env.step(0)  # the push comes before the second step
        >>> float(round(abs(pushed.unwrapped.state[3] - calm.unwrapped.state[3]), 2))
        1.0

    Args:
        env: a CartPole env (any id built on Gymnasium's ``CartPoleEnv``)
        pole_kick: the size of each jump of the pole's angular velocity, rad/s, >= 0
        cart_kick: the size of each jump of the cart's velocity, m/s, >= 0
        every: steps between kicks (the first comes after ``every`` steps), >= 1

    Raises:
        ValueError: for another simulator, a negative kick or ``every`` below 1
    """

    salt = 1

    def __init__(self, env: gym.Env, pole_kick: float = 0.0, cart_kick: float = 0.0, every: int = 50) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, pole_kick=pole_kick, cart_kick=cart_kick, every=every)
        _Seeded.__init__(self, env)
        self.sim = _cartpole(env, "Push")
        if not (pole_kick >= 0 and cart_kick >= 0) or every < 1:
            raise ValueError(f"Push needs kicks >= 0 and every >= 1, got {pole_kick}, {cart_kick}, {every}")
        self.pole_kick, self.cart_kick, self.every = float(pole_kick), float(cart_kick), int(every)
        self._t = 0

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        self._t = 0
        return super().reset(**kwargs)

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        if self._t > 0 and self._t % self.every == 0:
            signs = self.rng.choice((-1.0, 1.0), size=2)
            state = np.array(self.sim.state, dtype=np.float64)
            state[POLE_ANGULAR_VELOCITY] += signs[0] * self.pole_kick
            state[CART_VELOCITY] += signs[1] * self.cart_kick
            self.sim.state = state
        self._t += 1
        return self.env.step(action)


class ModelError(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """CartPole with a different body than the one a controller was designed or trained for: the pole's
    length, the pole's mass and the cart's mass scaled by the given factors.

    Example:
        >>> import gymnasium as gym
        >>> env = ModelError(gym.make("CartPole-v1"), length=2.0, masspole=2.0)
        >>> env.unwrapped.length, env.unwrapped.polemass_length, round(env.unwrapped.total_mass, 2)
        (1.0, 0.2, 1.2)

    Args:
        env: a CartPole env; its simulator is changed in place (build a fresh env for it)
        length: factor on the pole's (half-)length, > 0
        masspole: factor on the pole's mass, > 0
        masscart: factor on the cart's mass, > 0

    Raises:
        ValueError: for another simulator or a factor that is not positive
    """

    def __init__(self, env: gym.Env, length: float = 1.0, masspole: float = 1.0, masscart: float = 1.0) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, length=length, masspole=masspole, masscart=masscart)
        gym.Wrapper.__init__(self, env)
        sim = _cartpole(env, "ModelError")
        if not min(length, masspole, masscart) > 0:
            raise ValueError(f"ModelError needs factors > 0, got {length}, {masspole}, {masscart}")
        set_physics(sim, length=sim.length * length, masspole=sim.masspole * masspole, masscart=sim.masscart * masscart)


class RandomModel(_Seeded, gym.utils.RecordConstructorArgs):
    """Domain randomisation of CartPole's body: every episode, each named constant is its design value times
    a factor drawn uniformly from 1 to its top factor, so a policy learns to balance poles and carts it
    was not built for (the robustness ladders' ``model_error``, ``pole_length``, ... measure that).

    Example:
        >>> import gymnasium as gym
        >>> env = RandomModel(gym.make("CartPole-v1"), {"length": 2.0})
        >>> lengths = []
        >>> for episode in range(5):
        ...     _ = env.reset(seed=episode)
        ...     lengths.append(env.unwrapped.length)
        >>> all(0.5 <= length <= 1.0 for length in lengths), len(set(lengths))
        (True, 5)

    Args:
        env: a CartPole env
        top: the largest factor of each constant (``length``, ``masspole``, ``masscart``), each >= 1

    Raises:
        ValueError: for another simulator, an unknown constant or a factor below 1
    """

    salt = 5

    def __init__(self, env: gym.Env, top: dict[str, float]) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, top=top)
        _Seeded.__init__(self, env)
        sim = _cartpole(env, "RandomModel")
        if not set(top) <= {"length", "masspole", "masscart"} or not all(f >= 1.0 for f in top.values()):
            raise ValueError(f"RandomModel scales length, masspole and masscart by factors >= 1, got {top}")
        self.sim, self.top = sim, dict(top)
        self.design = {name: float(getattr(sim, name)) for name in top}
        self.factors = dict.fromkeys(top, 1.0)

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        if kwargs.get("seed") is not None:
            self.rng = np.random.default_rng((int(kwargs["seed"]), self.salt))
        self.factors = {name: float(self.rng.uniform(1.0, top)) for name, top in self.top.items()}
        set_physics(self.sim, **{name: self.design[name] * f for name, f in self.factors.items()})
        return self.env.reset(**kwargs)


class SensorNoise(_Seeded, gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """Add Gaussian noise to every observation, with its own standard deviation per dimension.

    Example:
        >>> import gymnasium as gym
        >>> env = SensorNoise(gym.make("CartPole-v1"), std=[0.0, 0.0, 0.1, 0.0])
        >>> obs, _ = env.reset(seed=0)
        >>> bool(obs[0] == np.float32(env.unwrapped.state[0])), bool(obs[2] != np.float32(env.unwrapped.state[2]))
        (True, True)

    Args:
        env: an env with a one-dimensional ``Box`` observation
        std: one standard deviation for every dimension, or one per dimension, each >= 0

    Raises:
        ValueError: for another observation space, or a standard deviation of the wrong length or sign
    """

    salt = 2

    def __init__(self, env: gym.Env, std: float | Sequence[float] = 0.0) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, std=std)
        _Seeded.__init__(self, env)
        space = env.observation_space
        if not isinstance(space, spaces.Box) or len(space.shape) != 1:
            raise ValueError(f"SensorNoise needs a one-dimensional Box observation, got {space}")
        scale = np.asarray(std, dtype=np.float64)
        scale = np.broadcast_to(scale, space.shape) if scale.ndim == 0 else scale
        if scale.shape != space.shape or not np.all(scale >= 0):
            raise ValueError(f"std must be >= 0, one value or {space.shape[0]} (one per dimension), got {std!r}")
        self.std = scale.astype(np.float64)

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = _Seeded.reset(self, **kwargs)
        return self.observation(obs), info

    def observation(self, observation: np.ndarray) -> np.ndarray:
        noisy = observation + self.std * self.rng.standard_normal(self.std.shape)
        return noisy.astype(observation.dtype)


class ActuatorFault(_Seeded, gym.utils.RecordConstructorArgs):
    """With probability ``probability`` the env receives a random action instead of the one chosen.

    Example:
        >>> import gymnasium as gym
        >>> env = ActuatorFault(gym.make("CartPole-v1"), probability=1.0)
        >>> _ = env.reset(seed=0)
        >>> sorted({env.faulty_action(0) for _ in range(50)})
        [0, 1]

    Args:
        env: an env with a ``Discrete`` action space
        probability: the chance, per step, that the action is replaced, in [0, 1]

    Raises:
        ValueError: for another action space or a probability outside [0, 1]
    """

    salt = 3

    def __init__(self, env: gym.Env, probability: float = 0.0) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, probability=probability)
        _Seeded.__init__(self, env)
        if not isinstance(env.action_space, spaces.Discrete):
            raise ValueError(f"ActuatorFault needs a Discrete action space, got {env.action_space}")
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"probability must be in [0, 1], got {probability!r}")
        self.probability = float(probability)
        self.n_actions = int(env.action_space.n)

    def faulty_action(self, action: Any) -> Any:
        """The action the actuator executes: ``action``, or with ``probability`` a random one."""
        if self.probability > 0 and self.rng.random() < self.probability:
            return int(self.rng.integers(self.n_actions))
        return action

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        return self.env.step(self.faulty_action(action))


class RandomLevel(_Seeded, gym.utils.RecordConstructorArgs):
    """Domain randomisation: every episode is played under a perturbation at a level drawn uniformly from
    0 (none) to ``top_level``, as a controller meets varying conditions in the world.

    At each reset the simulator's physical constants go back to their values when this wrapper was
    built (a perturbation such as :class:`ModelError` changes them in place), a level is drawn, and the
    perturbation is built afresh at that level around the env. The rebuilt perturbation draws from this
    wrapper's generator, so its randomness carries on from episode to episode instead of repeating.

    Example:
        >>> import gymnasium as gym
        >>> def push(env, level):
        ...     return Push(env, pole_kick=0.5 * level, every=1)
        >>> env = RandomLevel(gym.make("CartPole-v1"), push, top_level=2)
        >>> levels = []
        >>> for episode in range(20):
        ...     _ = env.reset(seed=episode)
        ...     levels.append(env.level)
        >>> sorted(set(levels))
        [0, 1, 2]

    Args:
        env: the env to perturb
        build: makes the perturbation wrapper around an env at a level (level 0 must change nothing)
        top_level: the highest level drawn, >= 0

    Raises:
        ValueError: for a negative ``top_level``
    """

    salt = 4

    def __init__(self, env: gym.Env, build: Callable[[gym.Env, int], gym.Env], top_level: int) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, build=build, top_level=top_level)
        _Seeded.__init__(self, env)
        if not (isinstance(top_level, int) and top_level >= 0):
            raise ValueError(f"top_level must be a whole number >= 0, got {top_level!r}")
        self.base, self.build, self.top_level = env, build, top_level
        self.level = 0
        sim = env.unwrapped
        self._design = {k: v for k, v in vars(sim).items() if isinstance(v, float)}

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        if kwargs.get("seed") is not None:
            self.rng = np.random.default_rng((int(kwargs["seed"]), self.salt))
        vars(self.base.unwrapped).update(self._design)
        self.level = int(self.rng.integers(self.top_level + 1))
        self.env = self.build(self.base, self.level)
        wrapper = self.env
        while wrapper is not self.base and isinstance(wrapper, gym.Wrapper):
            if isinstance(wrapper, _Seeded):
                wrapper.rng = self.rng
            wrapper = wrapper.env
        return self.env.reset(**kwargs)
