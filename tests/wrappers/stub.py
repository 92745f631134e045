"""A tiny deterministic env whose next observation (and simulator state) is whatever the test queued."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class StubEnv(gym.Env):
    """Observations come from ``queue`` and are also the simulator's ``state``, as in CartPole; reward 1 per
    step; ends after ``horizon`` steps."""

    def __init__(self, low: Any = -np.inf, high: Any = np.inf, dims: int = 4, horizon: int = 5) -> None:
        self.observation_space = spaces.Box(low=low, high=high, shape=(dims,), dtype=np.float64)
        self.action_space = spaces.Discrete(2)
        self.queue: list[np.ndarray] = []
        self.horizon = horizon
        self.t = 0
        self.state: np.ndarray | None = None

    def _next(self) -> np.ndarray:
        self.state = self.queue.pop(0) if self.queue else np.zeros(self.observation_space.shape)
        return self.state

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.t = 0
        return self._next(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.t += 1
        return self._next(), 1.0, False, self.t >= self.horizon, {}
