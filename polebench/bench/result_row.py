"""One row of a benchmark's ``results.csv``: a job's settings, where it stands and, once its run finished,
what the run's summary says, typed, so the report, plots and page read fields rather than string keys."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from polebench.bench.grid import JobStatus


@dataclass(kw_only=True, frozen=True)
class ResultRow:
    """One job (agent x env x seed). A job without a finished run has its status, its settings and,
    when its last attempt failed, the error; every figure is ``None``.

    :param shaped_reward: the form of the shaped reward the run learned from ("": the env's own reward), as
        ``--shaped-reward`` names it
    :param train_perturb: training perturbations as ``--train-perturb`` spells them ("" for none)
    :param final_balanced: balanced at the final evaluation (``None``: the env has no balance target);
        ``balanced``: at some evaluation, first at ``steps_to_balance``
    :param hyperparams: the agent's own hyperparameters as sorted JSON ("" for none)
    :param quality: the final evaluation's behaviour metrics (``polebench/envs/families.py``), each its own
        CSV column after the fixed ones
    """

    agent: str
    algo: str
    env: str
    seed: int
    shaped_reward: str = ""
    train_perturb: str = ""
    status: JobStatus = JobStatus.MISSING
    solved: bool = False
    steps_to_solve: int | None = None
    time_to_solve_s: float | None = None
    final_balanced: bool | None = None
    balanced: bool | None = None
    steps_to_balance: int | None = None
    time_to_balance_s: float | None = None
    wall_time_s: float | None = None
    cpu_time_s: float | None = None
    load_average: float | None = None
    timesteps: int | None = None
    final_mean_return: float | None = None
    final_success_rate: float | None = None
    final_eval_episodes: int | None = None
    best_mean_return: float | None = None
    peak_rss_mb: float | None = None
    rss_start_mb: float | None = None
    rss_end_mb: float | None = None
    rss_growth_mb_per_10k_steps: float | None = None
    early_steps_per_s: float | None = None
    late_steps_per_s: float | None = None
    threshold: float | None = None
    error: str | None = None
    run_dir: str = ""
    hyperparams: str = ""
    conf_file: str = ""
    config_hash: str | None = None
    quality: dict[str, float] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.status is JobStatus.FINISHED

    def value(self, name: str) -> Any:
        """A column by name, a fixed one or a behaviour metric (``None`` where the row has none): for
        tables whose columns are data.

        Example:
            >>> row = ResultRow(agent="ppo", algo="ppo", env="CartPole-v1", seed=0, quality={"rms_pole_angle_deg": 0.3})
            >>> row.value("seed"), row.value("rms_pole_angle_deg"), row.value("max_abs_cart_position_m")
            (0, 0.3, None)
        """
        if name in FIXED:
            return getattr(self, name)
        return self.quality.get(name)

    def as_csv(self) -> dict[str, Any]:
        """The row as ``results.csv`` writes it: the fixed columns, then each metric."""
        record = {name: getattr(self, name) for name in COLUMNS}
        return {**record, "status": self.status.value, **self.quality}


COLUMNS = tuple(f.name for f in fields(ResultRow) if f.name != "quality")  # results.csv's fixed columns, in order
FIXED = frozenset(COLUMNS)
