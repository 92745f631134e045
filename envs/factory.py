"""Building the vectorized environments every script uses, so training, evaluation and replay match."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from polebench.errors import UserError

if TYPE_CHECKING:
    from stable_baselines3.common.vec_env import VecEnv

CLASSIC_CONTROL = (
    "CartPole-v1",
    "CartPoleNoVel-v1",
    "Acrobot-v1",
    "MountainCar-v0",
    "MountainCarContinuous-v0",
    "Pendulum-v1",
)

# Evaluation envs are seeded this far from the training seed so they never replay training episodes.
EVAL_SEED_OFFSET = 10_000


def check_env_id(env_id: str) -> str:
    """Return ``env_id`` if Gymnasium knows it, else raise a :class:`UserError` naming the accepted ids.

    Example:
        >>> check_env_id("CartPole-v1")
        'CartPole-v1'
    """
    import gymnasium as gym

    from envs.registration import register_envs

    register_envs()
    try:
        gym.spec(env_id)
    except gym.error.Error:
        raise UserError(
            f"unknown env id {env_id!r}; use a registered Gymnasium id such as {', '.join(CLASSIC_CONTROL)}"
        ) from None
    return env_id


def make_vec(
    env_id: str,
    n_envs: int,
    seed: int,
    monitor_dir: Path | None = None,
    render_mode: str | None = None,
    wrapper: Callable[[Any], Any] | None = None,
) -> VecEnv:
    """``n_envs`` copies of ``env_id`` in one in-process ``DummyVecEnv``, each inside SB3's ``Monitor``.

    Sub-env ``i`` is seeded ``seed + i``. With ``monitor_dir``, each writes ``<i>.monitor.csv`` there:
    the true episode return, length and time. ``wrapper`` is applied outside the ``Monitor`` (see
    :func:`envs.wrapping.wrapper_chain`), so reward shaping never reaches what the monitor reports.
    In-process envs beat subprocesses for envs as cheap as classic control, where inter-process
    messages would cost more than the physics.
    """
    from stable_baselines3.common.env_util import make_vec_env

    env_kwargs: dict[str, Any] = {"render_mode": render_mode} if render_mode else {}
    return make_vec_env(
        env_id,
        n_envs=n_envs,
        seed=seed,
        monitor_dir=str(monitor_dir) if monitor_dir is not None else None,
        env_kwargs=env_kwargs,
        wrapper_class=wrapper,
    )
