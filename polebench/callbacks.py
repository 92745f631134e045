"""Callbacks that add polebench's bookkeeping to Stable-Baselines3's evaluation."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback, EvalCallback, StopTrainingOnRewardThreshold


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


class TimedEvalCallback(EvalCallback):
    """SB3's ``EvalCallback`` that also writes, per evaluation, the seconds since the process started.

    ``evaluations.npz`` gains ``wall_time_s`` beside SB3's ``timesteps``, ``results`` and ``ep_lengths``,
    so learning curves can be drawn against wall time as well as against env steps.

    :param started_at: ``time.time()`` of the process start
    :param kwargs: everything ``EvalCallback`` takes
    """

    def __init__(self, *args: Any, started_at: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.started_at = started_at
        self.evaluations_wall_s: list[float] = []

    def _on_step(self) -> bool:
        done_before = len(self.evaluations_timesteps)
        keep_going = super()._on_step()
        if len(self.evaluations_timesteps) > done_before:
            self.evaluations_wall_s.append(round(time.time() - self.started_at, 3))
            if self.log_path is not None:
                np.savez(
                    self.log_path,
                    timesteps=self.evaluations_timesteps,
                    results=self.evaluations_results,
                    ep_lengths=self.evaluations_length,
                    wall_time_s=self.evaluations_wall_s,
                )
        return keep_going


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
