"""Set CartPole's physical constants: a real robot's pole length, pole mass, cart mass, motor force."""

from __future__ import annotations

from typing import Any

import gymnasium as gym

__all__ = ["PHYSICS", "CartPolePhysics", "set_physics"]

# The constants of Gymnasium's CartPoleEnv a user may set, with what each one is.
PHYSICS = {
    "length": "half the pole's length, m (0.5)",
    "masspole": "the pole's mass, kg (0.1)",
    "masscart": "the cart's mass, kg (1.0)",
    "force_mag": "the push of one action, N (10.0)",
    "gravity": "m/s^2 (9.8)",
}


def set_physics(sim: Any, **values: float) -> None:
    """Set constants of a ``CartPoleEnv`` in place, and the two it derives from them in its constructor
    (its step reads those, not the masses)."""
    for name, value in values.items():
        setattr(sim, name, float(value))
    sim.total_mass = sim.masspole + sim.masscart
    sim.polemass_length = sim.masspole * sim.length


class CartPolePhysics(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """CartPole with physical constants of your choosing (``--env-kwargs length=1.0``), set once when the
    env is made, so everything built on it (a controller designed from the env, the perturbations, which
    scale these values) sees them as the design values.

    Example:
        >>> env = CartPolePhysics(gym.make("CartPole-v1"), length=1.0, masscart=2.0)
        >>> env.unwrapped.length, env.unwrapped.polemass_length, round(env.unwrapped.total_mass, 2)
        (1.0, 0.1, 2.1)

    Args:
        env: an env built on Gymnasium's ``CartPoleEnv``
        values: any of :data:`PHYSICS`, each a positive number

    Raises:
        ValueError: for another simulator, an unknown constant or a value that is not a positive number
    """

    def __init__(self, env: gym.Env, **values: float) -> None:
        from gymnasium.envs.classic_control.cartpole import CartPoleEnv

        gym.utils.RecordConstructorArgs.__init__(self, **values)  # type: ignore[arg-type]  # its _disable_deepcopy
        gym.Wrapper.__init__(self, env)
        if not isinstance(env.unwrapped, CartPoleEnv):
            raise ValueError(f"physical constants apply to CartPole's simulator, not {type(env.unwrapped).__name__}")
        unknown = sorted(set(values) - set(PHYSICS))
        if unknown:
            raise ValueError(f"unknown constant {', '.join(unknown)}; CartPole's: {', '.join(PHYSICS)}")
        for name, value in values.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < float("inf"):
                raise ValueError(f"{name} must be a positive number ({PHYSICS[name]}), got {value!r}")
        set_physics(env.unwrapped, **values)
