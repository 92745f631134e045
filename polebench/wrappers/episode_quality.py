"""Record how well each episode was played, from the simulator's true state, in ``info`` at its end."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, SupportsFloat

import gymnasium as gym
import numpy as np

__all__ = ["EpisodeMetric", "RecordEpisodeQuality"]


class EpisodeMetric(Protocol):
    """One number per episode, from its true states (steps x state size) and the actions chosen: each env
    family's metrics (:class:`polebench.envs.families.Metric`) are such."""

    @property
    def name(self) -> str: ...

    def compute(self, states: np.ndarray, actions: np.ndarray) -> float: ...


class RecordEpisodeQuality(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Put the episode's behaviour metrics in ``info["quality"]`` when it ends, as Gymnasium's
    ``RecordEpisodeStatistics`` does with ``info["episode"]``.

    Each metric reads the simulator's true state after every step (``env.unwrapped.state``) and the
    action the agent chose, never the observation, so a hidden, discretized or noisy observation does not
    change what is measured. Each env family in ``polebench/envs/families.py`` names its metrics.
    With ``keep_trajectory`` the episode's states and actions are kept in ``info["trajectory"]`` too.

    Example:
        >>> import gymnasium as gym
        >>> from polebench.envs.families import family_of_id
        >>> env = RecordEpisodeQuality(gym.make("CartPole-v1"), family_of_id("CartPole-v1").metrics)
        >>> _ = env.reset(seed=0)
        >>> done = False
        >>> while not done:
        ...     _, _, terminated, truncated, info = env.step(1)
        ...     done = terminated or truncated
        >>> sorted(info["quality"])[:2]
        ['action_switch_rate', 'max_abs_cart_position_m']
        >>> info["quality"]["action_switch_rate"]
        0.0

    Args:
        env: the env to watch; its ``unwrapped.state`` must hold the simulator's state
        metrics: what to compute (none: the wrapper only keeps the trajectory, if asked)
        keep_trajectory: also report ``{"states": (steps, state size), "actions": (steps,)}`` arrays

    Raises:
        ValueError: at a reset, when metrics or a trajectory are asked of an env whose simulator exposes
            no ``state``
    """

    def __init__(self, env: gym.Env, metrics: Sequence[EpisodeMetric] = (), keep_trajectory: bool = False) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, metrics=metrics, keep_trajectory=keep_trajectory)
        gym.Wrapper.__init__(self, env)
        self.metrics = tuple(metrics)
        self.keep_trajectory = keep_trajectory
        self._sim: Any = env.unwrapped  # looked up once: every step reads its state
        self._states: list[np.ndarray] = []
        self._actions: list[Any] = []

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        self._states, self._actions = [], []
        reset = self.env.reset(**kwargs)
        # Checked after a reset, not at construction: some simulators (MountainCar) create their state there.
        if (self.metrics or self.keep_trajectory) and not hasattr(self._sim, "state"):
            raise ValueError(f"{type(self._sim).__name__} exposes no 'state' to measure or keep")
        return reset

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        if self.metrics or self.keep_trajectory:
            self._states.append(np.array(self._sim.state, dtype=np.float64))
            # A simulator that says what force it applied (the swing-up's and the continuous CartPole's
            # ``applied_force``) is measured by it, so N-action and continuous versions compare.
            applied = getattr(self._sim, "applied_force", None)
            chosen = action.item() if isinstance(action, np.generic | np.ndarray) and np.size(action) == 1 else action
            self._actions.append(chosen if applied is None else applied)
            if terminated or truncated:
                info = {**info, **self._episode_report()}
        return obs, reward, terminated, truncated, info

    def _episode_report(self) -> dict[str, Any]:
        states, actions = np.stack(self._states), np.asarray(self._actions)
        report: dict[str, Any] = {"quality": {m.name: m.compute(states, actions) for m in self.metrics}}
        if self.keep_trajectory:
            report["trajectory"] = {"states": states, "actions": actions}
        return report
