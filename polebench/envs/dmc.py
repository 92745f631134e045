"""DeepMind Control Suite's own cartpole-swingup, through Shimmy, as ``DMCCartPoleSwingUp-v0``: the original task
beside polebench's ``CartPoleSwingUp-v0`` (which has its reward and episode on CartPole's simulator), so the same
agents run on both. An optional extra: ``pip install "polebench[dmc]"`` (MuJoCo, about 60 MB).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

DMC_ID = "dm_control/cartpole-swingup-v0"


def make_dm_control_swingup(**kwargs: Any) -> gym.Env:
    """dm_control's cartpole-swingup with its observation flattened to ``(x, cos, sin, x_dot, theta_dot)``, the
    layout of ``CartPoleSwingUp-v0`` (Shimmy gives a dict of ``position`` and ``velocity``).

    Raises:
        gymnasium.error.DependencyNotInstalled: when Shimmy and dm_control are not installed, naming the extra
    """
    try:
        import shimmy
    except ImportError:
        raise gym.error.DependencyNotInstalled(
            'DMCCartPoleSwingUp-v0 needs DeepMind Control: pip install "polebench[dmc]"'
        ) from None
    gym.register_envs(shimmy)
    return gym.wrappers.FlattenObservation(gym.make(DMC_ID, **kwargs))
