"""sb3-contrib's Augmented Random Search, scoring each candidate by the reward it is trained on.

ARS (Mania et al. 2018) perturbs a policy's weights in random directions, plays each perturbed policy
deterministically and steps towards the directions whose episodes returned the most. sb3-contrib scores
an episode with SB3's ``evaluate_policy``, which reads the return from the ``Monitor`` whenever the env
has one. polebench keeps the ``Monitor`` inside a shaped reward so that it always reports the true return
(:mod:`polebench.wrappers.shaped_reward`); read from there, ARS would optimise the true return and
ignore ``shaped_reward`` without a word. :class:`ARS` hides the ``Monitor`` from that one call, so a
candidate's score is the sum of the rewards its steps received, as PPO and DQN learn from them; without
shaping the two are the same.
"""

from __future__ import annotations

from typing import Any

import torch as th
from sb3_contrib import ARS as ContribARS
from sb3_contrib.common.vec_env import AsyncEval
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

__all__ = ["ARS", "StepRewards"]


class StepRewards(VecEnvWrapper):
    """A VecEnv that says it has no ``Monitor``, so ``evaluate_policy`` sums the rewards of the steps.

    Example:
        >>> import gymnasium as gym
        >>> from stable_baselines3.common.vec_env import DummyVecEnv
        >>> venv = DummyVecEnv([lambda: Monitor(gym.make("CartPole-v1"))])
        >>> venv.env_is_wrapped(Monitor), StepRewards(venv).env_is_wrapped(Monitor)
        ([True], [False])
    """

    def reset(self) -> Any:
        return self.venv.reset()

    def step_wait(self) -> Any:
        return self.venv.step_wait()

    def env_is_wrapped(self, wrapper_class: type, indices: Any = None) -> list[bool]:
        found = self.venv.env_is_wrapped(wrapper_class, indices)
        return [False] * len(found) if issubclass(wrapper_class, Monitor) else found


class ARS(ContribARS):
    """sb3-contrib's ``ARS`` whose candidates are scored by the (possibly shaped) rewards of their steps.

    Takes the same arguments as ``sb3_contrib.ARS``; multiprocess evaluation (``async_eval``) scores as
    sb3-contrib does, and its workers' envs would need polebench's normalisation
    (:func:`polebench.wrappers.normalization.vec_normalize`) for ``center_obs: false`` to hold there.
    """

    _trained_on: VecEnv | None = None

    def evaluate_candidates(
        self, candidate_weights: th.Tensor, callback: BaseCallback, async_eval: AsyncEval | None
    ) -> th.Tensor:
        trained_on = self.env
        assert isinstance(trained_on, VecEnv)  # set by SB3 before learn() runs
        self.env, self._trained_on = StepRewards(trained_on), trained_on
        try:
            return super().evaluate_candidates(candidate_weights, callback, async_eval)
        finally:
            self.env, self._trained_on = trained_on, None

    def _excluded_save_params(self) -> list[str]:
        # A model saved by a callback during an evaluation must not try to pickle the env it trains on.
        return [*super()._excluded_save_params(), "_trained_on"]

    def get_env(self) -> VecEnv | None:
        # Callbacks running inside the evaluation (the periodic evaluation syncs its observation
        # normalisation layer by layer) see the env the model trains on, not the scoring view of it.
        return self._trained_on if self._trained_on is not None else super().get_env()
