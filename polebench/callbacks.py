"""Callbacks that add polebench's bookkeeping to Stable-Baselines3's evaluation."""

from __future__ import annotations

import time
from collections import deque

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback, StopTrainingOnRewardThreshold


class SolveTracker(StopTrainingOnRewardThreshold):
    """Record when an evaluation first reaches the threshold; stop training there only if asked.

    Use as ``EvalCallback(callback_on_new_best=...)``: the first solved evaluation is always a new best.

    :param reward_threshold: the mean evaluation return that counts as solved
    :param stop_on_solve: stop training at the first solved evaluation
    :param started_at: ``time.time()`` of the process start, for ``time_to_solve_s``
    """

    def __init__(self, reward_threshold: float, stop_on_solve: bool, started_at: float) -> None:
        super().__init__(reward_threshold=reward_threshold, verbose=0)
        self.stop_on_solve = stop_on_solve
        self.started_at = started_at
        self.steps_to_solve: int | None = None
        self.time_to_solve_s: float | None = None

    def _on_step(self) -> bool:
        below = super()._on_step()
        if not below:
            self.mark_solved(self.num_timesteps)
        return below or not self.stop_on_solve

    def mark_solved(self, steps: int) -> None:
        """Note a solved evaluation at ``steps`` unless an earlier one was already noted."""
        if self.steps_to_solve is None:
            self.steps_to_solve = int(steps)
            self.time_to_solve_s = round(time.time() - self.started_at, 3)


class ShapedReturnLogger(BaseCallback):
    """Log the shaped episode return as ``rollout/shaped_ep_rew_mean`` beside SB3's true ``ep_rew_mean``.

    Reads the ``shaped_episode`` entry that :class:`wrappers.shaped_reward.ShapedReward` puts in the
    info of an episode's last step, and averages the last ``window`` episodes, as SB3 does.
    """

    def __init__(self, window: int = 100) -> None:
        super().__init__()
        self.returns: deque[float] = deque(maxlen=window)

    def _on_step(self) -> bool:
        for info in self.locals.get("infos", ()):
            if "shaped_episode" in info:
                self.returns.append(float(info["shaped_episode"]["r"]))
        if self.returns:
            self.logger.record("rollout/shaped_ep_rew_mean", float(np.mean(self.returns)))
        return True
