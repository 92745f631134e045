"""``summary.json``, typed: the one place that writes and reads a run's summary."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from polebench.atomic import write_text

SUMMARY_FILE = "summary.json"


@dataclass(frozen=True)
class RunSummary:
    """How one training run went. Every return is the true one.

    :param timesteps: env steps trained
    :param solved: whether an evaluation reached the env's threshold
    :param steps_to_solve: env steps at the first solved evaluation (``None``: never solved)
    :param time_to_solve_s: seconds from the process start to that evaluation
    :param wall_time_s: seconds from the process start to the end of training and the final evaluation
    :param best_mean_return: the best mean evaluation return (``None``: no evaluation finished)
    :param final_mean_return: the mean return of the final evaluation, or of the latest one when a second
        interrupt skipped it (``None``: no evaluation finished)
    :param final_success_rate: the fraction of the final evaluation's episodes that reached the threshold
        (``None``: unknown, as in runs made before it was recorded, or no threshold)
    :param final_eval_episodes: how many episodes the final evaluation played (``None``: unknown)
    :param balanced: whether an evaluation was both solved and within the env family's balance target
        (``None``: the env has no target, or the run predates it)
    :param steps_to_balance: env steps at the first such evaluation (``None``: never, or unknown)
    :param time_to_balance_s: seconds from the process start to that evaluation
    :param quality: the final evaluation's mean behaviour metrics (``polebench/envs/families.py``)
    :param threshold: the env's 'solved' threshold (``None``: it has none)
    :param peak_rss_mb: the process's peak resident memory
    :param cpu_time_s: the CPU time (user and system) the run's process used, over the same span as
        ``wall_time_s``: a wall time well above it means the run waited for a busy CPU (``None``: unknown;
        tuning trials run side by side in threads, ``--n-jobs``, count each other's too)
    :param load_average: the machine's one-minute load average when the run ended (``None``: unknown)
    :param shaped_reward: the shaped reward it learned from, its form and every coefficient (``None``: the
        env's own reward), as ``config.yml``'s ``hyperparams`` hold it
    :param train_perturb: the perturbations it trained under, ``{family: top level}`` (``None``: none)
    :param interrupted: whether Ctrl-C or SIGTERM stopped it early
    :param run_dir: its run folder
    :param device: the PyTorch device it ran on
    :param config_hash: the digest of its fully resolved configuration (benchmark resume compares it)
    :param error: why it stopped early when a write failed (a full disk), the files before it kept
    :param best_by: the objective that chose ``best_model.zip`` (``return``, ``balance`` or a metric)
    :param best_model_steps: the env steps of the evaluation ``best_model.zip`` holds (``None``: none kept)
    :param best_model_score: that evaluation by the objective, in words (``balance 1.08x the lqr``)
    :param trace: ``[env steps, resident MB, seconds since learning began]`` at the start of learning, every
        10,000 env steps and at its end: memory that grows with the steps, and the pace (``None``: unknown)
    """

    algo: str
    env: str
    seed: int
    timesteps: int
    solved: bool
    steps_to_solve: int | None
    time_to_solve_s: float | None
    wall_time_s: float
    best_mean_return: float | None
    final_mean_return: float | None
    threshold: float | None
    peak_rss_mb: float
    interrupted: bool
    run_dir: str
    quality: dict[str, float] = field(default_factory=dict)
    shaped_reward: dict[str, Any] | None = None
    train_perturb: dict[str, int] | None = None
    final_success_rate: float | None = None
    final_eval_episodes: int | None = None
    balanced: bool | None = None
    steps_to_balance: int | None = None
    time_to_balance_s: float | None = None
    device: str = "cpu"
    config_hash: str | None = None
    error: str | None = None
    cpu_time_s: float | None = None
    load_average: float | None = None
    best_by: str | None = None
    best_model_steps: int | None = None
    best_model_score: str | None = None
    trace: list[list[float]] | None = None

    def write(self, run_dir: Path) -> None:
        """Write ``summary.json`` into ``run_dir``, atomically."""
        write_text(run_dir / SUMMARY_FILE, json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def read(cls, run_dir: Path) -> RunSummary | None:
        """The summary of ``run_dir``, or ``None`` when it has none that polebench can read (still
        running, killed, damaged, edited into another shape, or written by another program)."""
        from polebench.shapes import from_mapping

        path = run_dir / SUMMARY_FILE
        try:
            summary = from_mapping(cls, _earlier_keys(json.loads(path.read_text())), str(path))
        except (OSError, ValueError):
            return None
        # Python's json reads NaN and Infinity, which polebench never writes (a missing figure is null).
        numbers = [v for v in asdict(summary).values() if isinstance(v, float)]
        return summary if all(math.isfinite(v) for v in numbers) else None

    @property
    def shaped(self) -> bool:
        """Whether the run learned from a shaped reward."""
        return self.shaped_reward is not None

    @property
    def shaped_reward_form(self) -> str:
        """The name of the shaped reward's form ("": the env's own reward), as results.csv shows it."""
        return str((self.shaped_reward or {}).get("form", ""))

    @property
    def final_balanced(self) -> bool | None:
        """Whether the final evaluation was balanced: it reached the threshold, and its metrics are within
        the env family's balance target (``None``: the env has no target). ``balanced`` says whether any
        evaluation was; a run can be balanced once and drift off by the end."""
        from polebench.envs.families import family_of_id

        family = family_of_id(self.env)
        if family is None or family.balance is None or self.threshold is None:
            return None
        solved = self.final_mean_return is not None and self.final_mean_return >= self.threshold
        return solved and family.balance.met_by(self.quality)

    @property
    def finished(self) -> bool:
        """Whether the run ended as planned, with a final return to report (not stopped by a signal, a
        failed write or its own error)."""
        return not self.interrupted and self.error is None and self.final_mean_return is not None

    def as_row(self) -> dict[str, Any]:
        """The summary as a flat mapping: its fields, with each quality metric as its own column."""
        row = {k: v for k, v in asdict(self).items() if k not in ("quality", "shaped_reward", "train_perturb", "trace")}
        return {**row, **self.quality, **self.memory_growth()}

    def memory_growth(self) -> dict[str, float | None]:
        """Resident memory at the start and the end of learning, and its growth per 10,000 env steps.

        Example:
            >>> base = dict(algo="dqn", env="CartPole-v1", seed=0, timesteps=40_000, solved=True, steps_to_solve=1,
            ...             time_to_solve_s=1.0, wall_time_s=9.0, best_mean_return=500.0, final_mean_return=500.0,
            ...             threshold=475.0, peak_rss_mb=400.0, interrupted=False, run_dir="r")
            >>> RunSummary(**base, trace=[[0, 300.0, 0.0], [20_000, 340.0, 4.0], [40_000, 380.0, 8.0]]).memory_growth()
            {'rss_start_mb': 300.0, 'rss_end_mb': 380.0, 'rss_growth_mb_per_10k_steps': 20.0}
        """
        points = self.trace or []
        if not points:
            return {"rss_start_mb": None, "rss_end_mb": None, "rss_growth_mb_per_10k_steps": None}
        (start, rss_start, _), (end, rss_end, _) = points[0], points[-1]
        per_10k = round((rss_end - rss_start) / (end - start) * 10_000, 2) if end > start else None
        return {"rss_start_mb": rss_start, "rss_end_mb": rss_end, "rss_growth_mb_per_10k_steps": per_10k}


def _earlier_keys(data: Any) -> Any:
    """A summary as earlier versions wrote it, in today's keys: ``shaping`` (the form and coefficients)
    and ``shaped`` (before forms existed, ``true`` meant the ``user`` form) are now ``shaped_reward``.

    Example:
        >>> _earlier_keys({"shaped": True}), _earlier_keys({"shaped": True, "shaping": {"form": "position"}})
        ({'shaped_reward': {'form': 'user'}}, {'shaped_reward': {'form': 'position'}})
    """
    if not isinstance(data, dict) or "shaped_reward" in data:
        return data
    shaped, shaping = data.pop("shaped", None), data.pop("shaping", None)
    return {**data, "shaped_reward": shaping or ({"form": "user"} if shaped is True else None)}
