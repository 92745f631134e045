"""Observation normalisation: SB3's ``VecNormalize``, optionally scaled about zero instead of about the
running mean (``normalize: {norm_obs: true, center_obs: false}`` in a hyperparameter file).

Why not always centre: ``VecNormalize`` subtracts the running mean of the observations it has seen. On a
task that is symmetric about zero (CartPole's cart on its track) that mean is wherever the policy has
been keeping the cart, so a linear policy (ARS's, a PPO actor without hidden layers) reads "the mean
position" as the centre and holds the cart there: measured on ARS runs, offsets of 3 to 24 cm that
nothing in the reward had asked for. Scaling about zero keeps the task's own centre and still brings
every variable to a unit scale. SB3 has no option for it, hence :class:`ZeroMeanStatistics`.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import numpy as np
from stable_baselines3.common.running_mean_std import RunningMeanStd
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from polebench.errors import ConfigError

__all__ = ["CENTER_OBS", "ZeroMeanStatistics", "check_normalize", "vec_normalize"]

CENTER_OBS = "center_obs"


# Saved statistics name this class by its module path (SB3 pickles VecNormalize): moving it breaks the
# vecnormalize.pkl of every run made with `center_obs: false`.
class ZeroMeanStatistics(RunningMeanStd):
    """Running statistics whose mean stays zero and whose variance is the mean square of the data, so
    normalising divides by the root mean square and subtracts nothing.

    Args:
        epsilon: the weight of the starting variance of 1 (SB3's ``RunningMeanStd``)
        shape: the shape of one observation

    Example:
        >>> stats = ZeroMeanStatistics(shape=(1,))
        >>> stats.update(np.array([[3.0], [5.0]]))
        >>> stats.mean.tolist(), [round(v, 2) for v in stats.var.tolist()]
        ([0.0], [17.0])
    """

    def update_from_moments(self, batch_mean: np.ndarray, batch_var: np.ndarray, batch_count: float) -> None:
        # VecNormalize divides by sqrt(var): holding the pooled mean square there makes it divide by the
        # root mean square, and a mean left at zero makes it subtract nothing.
        total = self.count + batch_count
        self.var = (self.var * self.count + (batch_var + np.square(batch_mean)) * batch_count) / total
        self.count = total

    def copy(self) -> ZeroMeanStatistics:
        new = ZeroMeanStatistics(shape=self.mean.shape)
        new.var, new.count = self.var.copy(), float(self.count)
        return new


def check_normalize(norm: Mapping[str, Any]) -> None:
    """Refuse, in one line, a ``normalize`` mapping ``VecNormalize`` would not take (besides ``center_obs``),
    or a ``center_obs`` that cannot act.

    Args:
        norm: the ``normalize:`` mapping of a hyperparameter file or ``--hyperparams``

    Raises:
        ConfigError: for unknown keys (all of them named, with the accepted ones), a ``center_obs`` that
            is not a boolean, or ``center_obs: false`` with ``norm_obs: false`` (nothing would be scaled)

    Example:
        >>> check_normalize({"norm_obs": True, "center_obs": False})
        >>> check_normalize({"norm_ob": True})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        polebench.errors.ConfigError: normalize: VecNormalize takes no norm_ob; accepted: norm_obs, norm_reward, ...
    """
    accepted = [*(p for p in inspect.signature(VecNormalize).parameters if p not in ("venv", "training")), CENTER_OBS]
    unknown = sorted(key for key in norm if key not in accepted)
    if unknown:
        raise ConfigError(f"normalize: VecNormalize takes no {', '.join(unknown)}; accepted: {', '.join(accepted)}")
    center = norm.get(CENTER_OBS, True)
    if not isinstance(center, bool):
        raise ConfigError(f"normalize: {CENTER_OBS} must be true or false, got {center!r}")
    if not center and norm.get("norm_obs", True) is False:
        raise ConfigError(f"normalize: {CENTER_OBS}: false says how to scale observations, but norm_obs is false")


def vec_normalize(venv: VecEnv, norm: Mapping[str, Any]) -> VecNormalize:
    """``VecNormalize(venv, **norm)``, scaling observations about zero where ``center_obs`` is false.

    Args:
        venv: the VecEnv to normalise
        norm: ``VecNormalize``'s keyword arguments, and optionally ``center_obs`` (default true: SB3's way)

    Raises:
        ValueError: from ``VecNormalize``, for an observation space it cannot normalise

    Example:
        >>> import gymnasium as gym
        >>> from stable_baselines3.common.vec_env import DummyVecEnv
        >>> env = vec_normalize(DummyVecEnv([lambda: gym.make("CartPole-v1")]), {"center_obs": False})
        >>> type(env.obs_rms).__name__
        'ZeroMeanStatistics'
    """
    kwargs = dict(norm)
    center = kwargs.pop(CENTER_OBS, True)
    env = VecNormalize(venv, **kwargs)
    if not center:
        if isinstance(env.obs_rms, dict):
            env.obs_rms = {key: ZeroMeanStatistics(shape=s.mean.shape) for key, s in env.obs_rms.items()}
        else:
            env.obs_rms = ZeroMeanStatistics(shape=env.obs_rms.mean.shape)
    return env
