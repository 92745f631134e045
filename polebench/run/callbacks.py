"""Callbacks that add polebench's bookkeeping to Stable-Baselines3's evaluation."""

from __future__ import annotations

import copy
import time
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from stable_baselines3.common.callbacks import (
    BaseCallback,
    CheckpointCallback,
    EvalCallback,
    StopTrainingOnRewardThreshold,
)
from stable_baselines3.common.vec_env import sync_envs_normalization

from polebench.atomic import atomic_target
from polebench.run.evaluation import QualityCollector
from polebench.run.rollout import Episodes, mean_quality, play
from polebench.run.selection import RETURN, BestBy, Score

if TYPE_CHECKING:
    from polebench.envs.families import BalanceTarget


TRACE_EVERY = 10_000  # env steps between two points of a run's resource trace


class ResourceTrace(BaseCallback):
    """The process's resident memory and the time, at the start of learning, every ``every`` env steps and
    at its end: ``points`` holds ``[env steps, resident MB, seconds since learning began]``. A memory that
    grows with the steps (a replay list that never forgets) and a pace that falls show here, where the
    peak alone is dominated by PyTorch's own footprint.

    Example (a plugin-free check of the bookkeeping: two marks and the end):
        >>> trace = ResourceTrace(every=100)
        >>> trace._on_training_start()
        >>> for steps in (50, 100, 150, 200, 230):
        ...     trace.num_timesteps = steps
        ...     _ = trace._on_step()
        >>> trace._on_training_end()
        >>> [int(point[0]) for point in trace.points]
        [0, 100, 200, 230]
    """

    def __init__(self, every: int = TRACE_EVERY) -> None:
        super().__init__()
        self.every = every
        self.points: list[list[float]] = []
        self._began = 0.0
        self._next = every

    def _mark(self, steps: int) -> None:
        import psutil

        rss = psutil.Process().memory_info().rss / (1024 * 1024)
        self.points.append([steps, round(rss, 1), round(time.monotonic() - self._began, 3)])

    def _on_training_start(self) -> None:
        self._began = time.monotonic()
        self.points = []
        self._mark(self.num_timesteps)
        self._next = (self.num_timesteps // self.every + 1) * self.every

    def _on_step(self) -> bool:
        if self.num_timesteps >= self._next:
            self._mark(self.num_timesteps)
            self._next = (self.num_timesteps // self.every + 1) * self.every
        return True

    def _on_training_end(self) -> None:
        if not self.points or self.points[-1][0] != self.num_timesteps:
            self._mark(self.num_timesteps)


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


class BalanceTracker:
    """Record the first evaluation that is both solved and balanced (``polebench/envs/families.py``); stop there
    only if asked.

    :param target: the env family's balance target (``None``: nothing counts as balanced)
    :param threshold: the mean evaluation return that counts as solved
    :param stop_on_balance: stop training at the first balanced evaluation
    :param started_at: ``time.time()`` of the process start, for ``time_to_balance_s``
    """

    def __init__(
        self, target: BalanceTarget | None, threshold: float, stop_on_balance: bool, started_at: float
    ) -> None:
        self.target, self.threshold, self.stop_on_balance, self.started_at = (
            target,
            threshold,
            stop_on_balance,
            started_at,
        )
        self.steps_to_balance: int | None = None
        self.time_to_balance_s: float | None = None

    @property
    def balanced(self) -> bool | None:
        """Whether an evaluation was balanced (``None``: the env has no target to judge by)."""
        return None if self.target is None else self.steps_to_balance is not None

    def meets(self, mean_return: float, quality: Mapping[str, float]) -> bool:
        """Whether one evaluation is solved and within the target (no target: never)."""
        return self.target is not None and mean_return >= self.threshold and self.target.met_by(quality)

    def observe(self, steps: int, mean_return: float, quality: Mapping[str, float]) -> bool:
        """Take one evaluation's mean return and metrics; return whether training should go on.

        Example:
            >>> from polebench.envs.families import CARTPOLE
            >>> tracker = BalanceTracker(CARTPOLE.balance, 475.0, stop_on_balance=True, started_at=0.0)
            >>> still = {"rms_pole_angle_deg": 0.3, "mean_abs_cart_position_m": 0.05}
            >>> tracker.observe(2500, 480.0, {**still, "rms_pole_angle_deg": 2.0}), tracker.balanced
            (True, False)
            >>> tracker.observe(5000, 400.0, still), tracker.observe(7500, 500.0, still), tracker.steps_to_balance
            (True, False, 7500)
        """
        if not self.meets(mean_return, quality):
            return True
        if self.steps_to_balance is None:
            self.steps_to_balance = int(steps)
            self.time_to_balance_s = round(time.time() - self.started_at, 3)
        return not self.stop_on_balance


# kept_survived of an evaluation that was not balanced, so never played under the survival perturbations.
NOT_BALANCED = -1


class TimedEvalCallback(EvalCallback):
    """SB3's ``EvalCallback`` that also records, per evaluation, the seconds since the process started and
    each episode's behaviour metrics.

    ``evaluations.npz`` gains ``wall_time_s`` beside SB3's ``timesteps``, ``results`` and ``ep_lengths``,
    so learning curves can be drawn against wall time as well as against env steps, and one
    ``quality_<metric>`` array (evaluations x episodes) per metric of the env's family. It and
    ``best_model.zip`` are written through a temporary file and a rename, so an interrupt never leaves
    half of either.

    :param started_at: ``time.time()`` of the process start
    :param balance: told every evaluation; stops training when it says so
    :param best_by: which evaluation's model ``best_model.zip`` keeps (default: the best mean return, as SB3)
    :param threshold: the env's solved threshold, for objectives that keep only solved evaluations
    :param survival: envs under perturbations (``best_survives``), each playing its sub-envs' episodes
        side by side: the kept evaluation is, among the balanced ones (solved, within the family's balance
        target), the one whose model brings the most of those episodes to ``threshold``, and among as many
        the best by ``best_by``; the others rank below them by ``best_by``
    :param survival_seed: the seed of those episodes, the same for every evaluation
    :param best_model_save_path: the folder of ``best_model.zip`` (``None``: not kept)
    :param kwargs: everything ``EvalCallback`` takes; its env should record quality
        (:func:`polebench.envs.factory.measured`)
    """

    def __init__(
        self,
        eval_env: Any,
        *,
        started_at: float,
        balance: BalanceTracker | None = None,
        best_by: BestBy | None = None,
        threshold: float | None = None,
        survival: Sequence[Any] = (),
        survival_seed: int = 0,
        best_model_save_path: str | None = None,
        **kwargs: Any,
    ) -> None:
        # SB3 saves the best model in place; this class saves it atomically instead.
        super().__init__(eval_env, best_model_save_path=None, **kwargs)
        self.best_model_path = None if best_model_save_path is None else Path(best_model_save_path) / "best_model.zip"
        self.npz_path: Path | None = None
        if self.log_path is not None:
            # SB3 writes its own npz in place, from its lists; ours, written atomically, is the one kept.
            self.npz_path = Path(self.log_path + ".npz")
            self.log_path = str(self.npz_path.with_name(".evaluations.sb3"))
        self.started_at = started_at
        self.balance = balance
        self.best_by = best_by or BestBy(RETURN)
        self.threshold = threshold
        self.survival, self.survival_seed = list(survival), survival_seed
        self.kept: tuple[int, Score] | None = None  # (env steps, score) of the evaluation best_model.zip holds
        self.kept_survived: int | None = None  # how many survival episodes its model brought to the threshold
        self.kept_state: dict[str, Any] | None = None
        self.kept_obs_rms: Any = None
        self.evaluations_wall_s: list[float] = []
        self.evaluations_quality: list[list[dict[str, float]]] = []
        self._collector = QualityCollector()

    def _log_success_callback(self, locals_: dict[str, Any], globals_: dict[str, Any]) -> None:
        super()._log_success_callback(locals_, globals_)
        self._collector(locals_, globals_)

    def _on_step(self) -> bool:
        try:
            return self._evaluate_and_keep()
        finally:
            # An interrupt can land while SB3 writes its own npz, or just after: it never stays behind.
            # (The first Ctrl-C raises; later ones are held, so this cleanup is not itself cut short.)
            if self.npz_path is not None and self.eval_freq > 0 and self.n_calls % self.eval_freq == 0:
                Path(str(self.log_path) + ".npz").unlink(missing_ok=True)

    def _evaluate_and_keep(self) -> bool:
        done_before = len(self.evaluations_timesteps)
        try:
            keep_going = super()._on_step()
        except OSError as err:
            if err.filename is None and self.npz_path is not None:  # SB3's own npz (a full disk)
                err.filename = str(self.npz_path)
            raise
        if len(self.evaluations_timesteps) > done_before:
            self.evaluations_wall_s.append(round(time.time() - self.started_at, 3))
            self.evaluations_quality.append(self._collector.take())
            self._keep_if_best()
            if self.npz_path is not None:
                self._write(self.npz_path)
            if self.balance is not None:
                keep_going = (
                    self.balance.observe(self.num_timesteps, self.last_mean_reward, self.last_quality) and keep_going
                )
        return keep_going

    def _keep_if_best(self) -> None:
        """Save the model as ``best_model.zip`` when this evaluation beats the kept one: by the objective, or
        with ``survival``, by the survival episodes first (balanced evaluations only), then the objective."""
        score = self.best_by.score(float(self.last_mean_reward), self.threshold, self.last_quality)
        survived = None
        if self.survival and not self._balanced():
            # Survival ranks only balanced evaluations: an early, sluggish policy can outlast every kick
            # while the cart wanders a metre off the centre. Below them, the rest rank by score.
            survived = NOT_BALANCED
            kept_survived = NOT_BALANCED if self.kept_survived is None else self.kept_survived
            if self.kept is not None and (kept_survived, self.kept[1]) >= (survived, score):
                return
        elif self.survival:
            survived = self._survived(score)
            if survived is None:
                return
        elif self.kept is not None and score <= self.kept[1]:
            return
        self.kept, self.kept_survived = (int(self.num_timesteps), score), survived
        # What restore_kept needs: the weights, and the observation statistics they were evaluated with.
        self.kept_state = copy.deepcopy(self.model.policy.state_dict()) if hasattr(self.model, "policy") else None
        normalizer = self.model.get_vec_normalize_env()
        self.kept_obs_rms = copy.deepcopy(normalizer.obs_rms) if normalizer is not None else None
        if self.best_model_path is not None:
            with atomic_target(self.best_model_path) as tmp:
                self.model.save(tmp)

    def _balanced(self) -> bool:
        """Whether the latest evaluation is solved and within its family's balance target (no target: solved)."""
        if self.balance is not None and self.balance.target is not None:
            return self.balance.meets(float(self.last_mean_reward), self.last_quality)
        return self.threshold is not None and float(self.last_mean_reward) >= self.threshold

    def _survived(self, score: Score) -> int | None:
        """How many survival episodes this evaluation's model brings to the threshold (the same episodes
        each time), or ``None`` as soon as it cannot beat the kept one: it needs more survivors than the
        kept model, or as many and a better score. Stopping there plays the losers' episodes only as far
        as a loss shows, instead of every evaluation's all."""
        assert self.threshold is not None  # the plan refuses best_survives on an env without one
        total = sum(env.num_envs for env in self.survival)
        needed = 0
        if self.kept is not None and self.kept_survived is not None:
            needed = self.kept_survived + (0 if score > self.kept[1] else 1)
        failed = 0
        for env in self.survival:
            if failed > total - needed:
                return None
            sync_envs_normalization(self.training_env, env)
            env.seed(self.survival_seed)
            allowed, threshold = total - needed - failed, self.threshold

            def lost(episodes: Episodes, allowed: int = allowed, threshold: float = threshold) -> bool:
                return sum(r < threshold for r in episodes.returns) > allowed

            # A model that has already lost needs no more steps; under kicks most lose within a few.
            played = play(self.model, env, env.num_envs, self.deterministic, until=lost)
            failed += sum(r < self.threshold for r in played.returns)
        return None if failed > total - needed else total - failed

    def restore_kept(self) -> bool:
        """Put the kept evaluation's weights (and observation statistics) back into the model, so that the
        run ends with it; return whether there was one to restore (a plugin's model has no policy to set)."""
        if self.kept_state is None:
            return False
        self.model.policy.load_state_dict(self.kept_state)
        normalizer = self.model.get_vec_normalize_env()
        if normalizer is not None and self.kept_obs_rms is not None:
            normalizer.obs_rms = copy.deepcopy(self.kept_obs_rms)
        return True

    @property
    def last_quality(self) -> dict[str, float]:
        """The mean metrics of the latest evaluation (empty before the first)."""
        return mean_quality(self.evaluations_quality[-1]) if self.evaluations_quality else {}

    def _write(self, path: Path) -> None:
        names = list(dict.fromkeys(name for ev in self.evaluations_quality for ep in ev for name in ep))
        quality = {
            f"quality_{name}": np.array([[ep.get(name, np.nan) for ep in ev] for ev in self.evaluations_quality])
            for name in names
        }
        arrays: dict[str, Any] = {
            "timesteps": self.evaluations_timesteps,
            "results": self.evaluations_results,
            "ep_lengths": self.evaluations_length,
            "wall_time_s": self.evaluations_wall_s,
            **quality,
        }
        with atomic_target(path) as tmp:
            np.savez(tmp, **arrays)


class ShapedReturnLogger(BaseCallback):
    """Log the shaped episode return as ``rollout/shaped_ep_rew_mean`` beside SB3's true ``ep_rew_mean``.

    Reads the ``shaped_episode`` entry that :class:`polebench.wrappers.shaped_reward.ShapedReward` puts in the
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


class AtomicCheckpointCallback(CheckpointCallback):
    """SB3's ``CheckpointCallback`` (same files, same names) with every file written through a temporary
    file and a rename, so an interrupt mid-save never leaves a truncated checkpoint behind."""

    def _on_step(self) -> bool:
        if self.n_calls % self.save_freq != 0:
            return True
        model: Any = self.model
        with atomic_target(Path(self._checkpoint_path(extension="zip"))) as tmp:
            model.save(tmp)
        if self.save_replay_buffer and getattr(model, "replay_buffer", None) is not None:
            with atomic_target(Path(self._checkpoint_path("replay_buffer_", extension="pkl"))) as tmp:
                model.save_replay_buffer(tmp)
        vec_normalize = model.get_vec_normalize_env()
        if self.save_vecnormalize and vec_normalize is not None:
            with atomic_target(Path(self._checkpoint_path("vecnormalize_", extension="pkl"))) as tmp:
                vec_normalize.save(str(tmp))
        return True
