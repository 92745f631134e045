"""A linear-quadratic regulator for CartPole: the classical controller learning agents are measured against.

It linearises the env's own equations of motion about the upright pole, from the env's physical
constants, solves the discrete-time algebraic Riccati equation (SciPy) for the optimal gain, and pushes
the cart in the direction of the optimal force. "Learning" takes no env steps. It subclasses SB3's
``BaseAlgorithm``, so it saves, loads, predicts and evaluates like every other agent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, PyTorchObs

__all__ = ["LQR", "LinearGainPolicy", "cartpole_gain"]

SelfLQR = TypeVar("SelfLQR", bound="LQR")


def cartpole_gain(
    gravity: float,
    masscart: float,
    masspole: float,
    length: float,
    force_mag: float,
    tau: float,
    state_cost: Sequence[float] = (1.0, 1.0, 10.0, 1.0),
    force_cost: float = 1.0,
) -> np.ndarray:
    """The LQR gain ``K`` (force = ``-K @ state``) for Gymnasium's CartPole, linearised at the top.

    The state is (cart position, cart velocity, pole angle, pole angular velocity); ``length`` is half
    the pole's length, as in Gymnasium. The force is in units of ``force_mag`` (an action pushes +-1).

    Example:
        >>> k = cartpole_gain(9.8, 1.0, 0.1, 0.5, 10.0, 0.02)
        >>> k.shape, bool(k[2] < 0)
        ((4,), True)
    """
    from scipy.linalg import solve_discrete_are

    total = masscart + masspole
    # Gymnasium's dynamics at theta = 0: theta_dd = (g * theta - F / M) / a, with a = l (4/3 - m / M),
    # and x_dd = F / M - (m l / M) * theta_dd.
    a = length * (4.0 / 3.0 - masspole / total)
    coupling = masspole * length / total
    a_cont = np.array(
        [[0, 1, 0, 0], [0, 0, -coupling * gravity / a, 0], [0, 0, 0, 1], [0, 0, gravity / a, 0]], dtype=np.float64
    )
    b_cont = force_mag * np.array([0, (1 + coupling / a) / total, 0, -1 / (total * a)], dtype=np.float64)
    # The env integrates with explicit Euler steps of tau, so its discrete dynamics are exactly these.
    a_disc, b_disc = np.eye(4) + tau * a_cont, tau * b_cont[:, None]
    q, r = np.diag(np.asarray(state_cost, dtype=np.float64)), np.array([[force_cost]])
    p = solve_discrete_are(a_disc, b_disc, q, r)
    gain = np.linalg.solve(r + b_disc.T @ p @ b_disc, b_disc.T @ p @ a_disc)
    return gain.ravel()


class LinearGainPolicy(BasePolicy):
    """Applies the optimal force ``-K @ state``: clipped to [-1, 1] for a continuous force, the nearest of the
    forces of a discrete space otherwise (CartPole-v1's two: push right when the force is positive).

    The state is CartPole's observation, or rebuilt from the swing-up's ``(x, cos, sin, x_dot, theta_dot)``.
    """

    gain: th.Tensor
    levels: th.Tensor

    def __init__(self, observation_space: spaces.Space, action_space: spaces.Space) -> None:
        super().__init__(observation_space, action_space)
        discrete = isinstance(action_space, spaces.Discrete) and action_space.n >= 2
        if observation_space.shape not in ((4,), (5,)) or not (discrete or isinstance(action_space, spaces.Box)):
            raise ValueError(
                "the LQR controller needs a cart-pole observation (CartPole's 4 values or the swing-up's 5) and a "
                f"force to push with (a Box, or 2 or more discrete actions), got {observation_space} and {action_space}"
            )
        levels = th.linspace(-1.0, 1.0, int(action_space.n)) if discrete else th.zeros(0)  # type: ignore[attr-defined]
        self.register_buffer("gain", th.zeros(4, dtype=th.float64))
        # Not saved: the action space decides it, and models saved before it existed still load.
        self.register_buffer("levels", levels.to(th.float64), persistent=False)

    def forward(self, obs: PyTorchObs, deterministic: bool = True) -> th.Tensor:
        return self._predict(obs, deterministic)

    def _predict(self, observation: PyTorchObs, deterministic: bool = True) -> th.Tensor:
        assert isinstance(observation, th.Tensor)
        obs = observation.to(th.float64).reshape(-1, observation.shape[-1])
        if obs.shape[1] == 5:  # the swing-up's (x, cos, sin, x_dot, theta_dot)
            obs = th.stack([obs[:, 0], obs[:, 3], th.atan2(obs[:, 2], obs[:, 1]), obs[:, 4]], dim=1)
        force = th.clamp(-(obs @ self.gain), -1.0, 1.0)
        if self.levels.numel() == 0:
            return force.to(th.float32).reshape(-1, 1)
        return (force[:, None] - self.levels[None, :]).abs().argmin(dim=1)


class LQR(BaseAlgorithm):
    """LQR control of CartPole from the env's physical constants; ``learn`` computes the gain in no steps.

    :param policy: ``"LinearGainPolicy"`` (or the class)
    :param env: a CartPole env (``CartPoleEnv`` underneath any wrappers)
    :param state_cost: the diagonal of the state cost Q for (x, x_dot, theta, theta_dot)
    :param force_cost: the control cost R, per unit of ``force_mag``
    :param policy_kwargs: passed to the policy (none needed)
    :param verbose: 0 quiet, 1 prints the gain
    :param seed: kept for SB3's interface; the controller is deterministic
    :param device: kept for SB3's interface
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {"LinearGainPolicy": LinearGainPolicy}
    policy: LinearGainPolicy

    def __init__(
        self,
        policy: str | type[LinearGainPolicy],
        env: GymEnv | str | None,
        state_cost: Sequence[float] = (1.0, 1.0, 10.0, 1.0),
        force_cost: float = 1.0,
        policy_kwargs: dict[str, Any] | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: th.device | str = "cpu",
        _init_setup_model: bool = True,
    ) -> None:
        super().__init__(
            policy,
            env,
            learning_rate=0.0,
            policy_kwargs=policy_kwargs,
            verbose=verbose,
            device=device,
            support_multi_env=True,
            seed=seed,
            supported_action_spaces=(spaces.Discrete, spaces.Box),
        )
        if len(state_cost) != 4 or min(state_cost) < 0 or force_cost <= 0:
            raise ValueError(f"state_cost needs 4 values >= 0 and force_cost > 0, got {state_cost}, {force_cost}")
        self.state_cost = list(state_cost)
        self.force_cost = force_cost
        if _init_setup_model:
            self._setup_model()

    def _setup_model(self) -> None:
        self._setup_lr_schedule()
        self.policy = self.policy_class(  # type: ignore[assignment]
            self.observation_space, self.action_space, **self.policy_kwargs
        )

    def _physics(self) -> dict[str, float]:
        from gymnasium.envs.classic_control.cartpole import CartPoleEnv

        assert self.env is not None
        unwrapped = self.env.get_attr("unwrapped", indices=[0])[0]
        if not isinstance(unwrapped, CartPoleEnv):
            raise ValueError(f"the LQR controller supports CartPole only, not {type(unwrapped).__name__}")
        names = ("gravity", "masscart", "masspole", "length", "force_mag", "tau")
        return {name: float(getattr(unwrapped, name)) for name in names}

    def learn(
        self: SelfLQR,
        total_timesteps: int = 0,
        callback: MaybeCallback = None,
        log_interval: int = 1,
        tb_log_name: str = "LQR",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfLQR:
        """Compute the optimal gain from the env's constants; no env steps are taken."""
        _, cb = self._setup_learn(0, callback, reset_num_timesteps, tb_log_name, progress_bar)
        cb.on_training_start(locals(), globals())
        gain = cartpole_gain(**self._physics(), state_cost=self.state_cost, force_cost=self.force_cost)
        self.policy.gain.copy_(th.as_tensor(gain))
        if self.verbose:
            print(f"LQR gain K = {np.array2string(gain, precision=3)}")
        cb.on_training_end()
        return self
