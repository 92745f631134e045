"""Benchmark results: one row per job (the CSV), and per env and algorithm the statistics of the report.

Steps- and time-to-solve are summarised by median and interquartile range over the runs that solved;
the final true return by the interquartile mean with a 95% stratified-bootstrap confidence interval
from rliable (Agarwal et al. 2021, "Deep RL at the Edge of the Statistical Precipice"); each behaviour
metric of the final evaluation by its median over seeds.
"""

from __future__ import annotations

import csv
import json
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from polebench.atomic import atomic_target
from polebench.bench.grid import JOB_FILE, Job, JobStatus, finished_summary, read_job_file, recorded_error
from polebench.bench.result_row import COLUMNS, FIXED, ResultRow
from polebench.bench.throughput import early_and_late
from polebench.envs.families import METRIC_NAMES

BOOTSTRAP_REPS = 2000


def job_row(job: Job, bench: Path) -> ResultRow:
    """The CSV row of ``job``: its finished run's summary, or its status and error."""
    agent = job.agent
    # The columns a job's settings fill. A finished run's summary keeps them, but for the shaped reward and the
    # training perturbations, which it refills below from what the run recorded.
    own: dict[str, Any] = dict(
        agent=agent.name, algo=job.algo, env=job.env, seed=job.seed, shaped_reward=agent.shaped_reward_form,
        train_perturb=describe_perturb(agent.train_perturb),
        hyperparams=json.dumps(dict(agent.hyperparams), sort_keys=True) if agent.hyperparams else "",
        conf_file=str(agent.conf_file or ""),
    )  # fmt: skip
    settings = ResultRow(**own)
    summary = finished_summary(job, bench)
    if summary is None:
        error = recorded_error(job, bench)
        return replace(settings, status=JobStatus.FAILED if error else JobStatus.MISSING, error=error)
    recorded = {k: v for k, v in summary.as_row().items() if k in FIXED and k not in own}
    tree = (read_job_file(job.folder(bench) / JOB_FILE) or {}).get("tree_peak_rss_mb")
    if isinstance(tree, int | float) and not isinstance(tree, bool):  # a damaged job file may hold anything
        # The process tree's peak (the job and anything it spawned) is the one the driver measured.
        recorded["peak_rss_mb"] = max(summary.peak_rss_mb or 0.0, tree)
    # Env steps per second early and late in training: does the agent slow down as it goes?
    early, late = early_and_late(Path(summary.run_dir))
    # One mapping, later keys winning, so a summary field of the same name never collides with these.
    recorded.update(
        status=JobStatus.FINISHED,
        # What the run itself recorded, wherever it was asked for (the agent's own keys, a conf file, the YAML).
        shaped_reward=summary.shaped_reward_form,
        train_perturb=describe_perturb(summary.train_perturb),
        final_balanced=summary.final_balanced,
        early_steps_per_s=early,
        late_steps_per_s=late,
        quality=dict(summary.quality),
    )
    return replace(settings, **recorded)


def describe_perturb(levels: Mapping[str, int] | None) -> str:
    """Training perturbations as ``--train-perturb`` spells them ("" for none).

    Example:
        >>> describe_perturb({"push": 5, "sensor_noise": 1}), describe_perturb(None)
        ('push=5,sensor_noise=1', '')
    """
    return ",".join(f"{name}={level}" for name, level in (levels or {}).items())


def metric_columns(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """The behaviour metrics any of ``records`` has, in the order of ``polebench/envs/families.py``."""
    return [name for name in METRIC_NAMES if any(name in record for record in records)]


def write_results_csv(rows: Sequence[ResultRow], path: Path) -> None:
    """``results.csv``: one row per job, its fixed columns and then the metrics any job has."""
    write_csv([row.as_csv() for row in rows], path, COLUMNS)


def write_csv(records: Sequence[Mapping[str, Any]], path: Path, columns: Sequence[str]) -> None:
    """One record per line (a job, or a ``robustness.csv`` measurement), ``columns`` then the metrics."""
    with atomic_target(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=[*columns, *metric_columns(records)], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(records)


@dataclass
class CellStats:
    """The statistics of one agent on one env over its seeds.

    :param settings: the agent's hyperparameters, conf file and training perturbations, as written in the
        CSV (twins that differ only in their reward shaping have equal settings)
    :param shaped_reward: the shaped reward's form ("": the env's own reward)
    :param balanced: how many runs were balanced at their final evaluation (``None``: the env has no target)
    :param first_balanced: how many runs were balanced at some evaluation (``time_to_balance_s``: when first)
    :param final_success_rate: the median over runs of the final evaluation's success rate (``None``: unknown)
    """

    agent: str
    algo: str
    env: str
    settings: tuple[str, str, str]
    runs: int
    solved: int
    steps_to_solve: tuple[float, float, float] | None  # median, 25th and 75th percentiles
    time_to_solve_s: tuple[float, float, float] | None
    final_iqm: float
    final_ci: tuple[float, float]
    max_peak_rss_mb: float | None
    median_wall_time_s: float
    median_cpu_time_s: float | None  # None: runs made before CPU time was recorded
    steps_per_s: tuple[float, float] | None  # median env steps per second early and late in training
    final_returns: np.ndarray = field(repr=False)
    shaped_reward: str = ""
    balanced: int | None = None
    first_balanced: int | None = None
    time_to_balance_s: tuple[float, float, float] | None = None
    final_success_rate: float | None = None
    quality: dict[str, float] = field(default_factory=dict)  # median over seeds of each final metric

    @property
    def shaped(self) -> bool:
        """Whether the agent learned from a shaped reward."""
        return bool(self.shaped_reward)


def median_iqr(values: Iterable[float]) -> tuple[float, float, float] | None:
    """Median and interquartile range, or ``None`` for no values.

    Example:
        >>> median_iqr([1, 2, 3, 4, 5])
        (3.0, 2.0, 4.0)
    """
    data = np.asarray(list(values), dtype=float)
    if data.size == 0:
        return None
    q25, q50, q75 = np.percentile(data, [25, 50, 75])
    return float(q50), float(q25), float(q75)


def interval_estimates(
    scores: np.ndarray, statistic: Callable[[np.ndarray], np.ndarray], reps: int = BOOTSTRAP_REPS
) -> tuple[np.ndarray, np.ndarray]:
    """``statistic`` of a (runs, tasks) score matrix and its 95% stratified-bootstrap interval (rliable).

    The bootstrap is seeded, so the same results give the same report. Where every run scored the same
    (every seed solved at 500, a reference controller), every resample is that same sample: the interval
    is the point itself, and the bootstrap is skipped.
    """
    point = np.asarray(statistic(scores), dtype=float)
    if np.all(np.ptp(scores, axis=0) == 0):
        return point, np.stack([point, point])
    from rliable import library as rly  # here: importing it (and arch, statsmodels) takes 1.5 s

    with warnings.catch_warnings():
        # rliable still hands arch a RandomState, which arch accepts but has deprecated.
        warnings.simplefilter("ignore", FutureWarning)
        points, interval = rly.get_interval_estimates(
            {"x": scores}, statistic, reps=reps, random_state=np.random.RandomState(0)
        )
    return points["x"], interval["x"]


def iqm(scores: np.ndarray) -> np.ndarray:
    """Interquartile mean of each column of a (runs, tasks) matrix: the mean of its middle 50%, trimmed
    as ``scipy.stats.trim_mean(scores, 0.25, axis=0)`` trims (``int(0.25 * runs)`` from each end).

    Written with NumPy because the bootstrap calls it 2,000 times a cell: SciPy's version spends 0.4 ms
    a call in its argument handling, this one 0.02 ms (a test checks that the two agree).

    Example:
        >>> iqm(np.array([[0.0], [100.0], [200.0], [300.0], [1000.0]]))
        array([200.])
    """
    scores = np.asarray(scores, dtype=float)
    cut = int(0.25 * scores.shape[0])
    return np.sort(scores, axis=0)[cut : scores.shape[0] - cut].mean(axis=0)


def iqm_with_ci(finals: np.ndarray) -> tuple[float, tuple[float, float]]:
    """Interquartile mean of one algorithm's final returns and its 95% bootstrap confidence interval."""
    point, interval = interval_estimates(finals.reshape(-1, 1), iqm)
    return float(point[0]), (float(interval[0, 0]), float(interval[1, 0]))


def cell_stats(rows: Sequence[ResultRow]) -> CellStats:
    """Statistics over the finished rows of one (env, agent) cell."""
    solved = [r for r in rows if r.solved]
    finals = np.array([_number(r.final_mean_return) for r in rows])
    iqm, ci = iqm_with_ci(finals)
    rss = [r.peak_rss_mb for r in rows if r.peak_rss_mb is not None]
    judged = [r for r in rows if r.final_balanced is not None]
    ever = [r for r in rows if r.balanced]
    success = [r.final_success_rate for r in rows if r.final_success_rate is not None]
    first = rows[0]
    return CellStats(
        agent=first.agent,
        algo=first.algo,
        env=first.env,
        settings=(first.hyperparams, first.conf_file, first.train_perturb),
        runs=len(rows),
        solved=len(solved),
        steps_to_solve=median_iqr(_number(r.steps_to_solve) for r in solved),
        time_to_solve_s=median_iqr(_number(r.time_to_solve_s) for r in solved),
        shaped_reward=first.shaped_reward,
        balanced=sum(bool(r.final_balanced) for r in judged) if judged else None,
        first_balanced=len(ever) if judged else None,
        time_to_balance_s=median_iqr(_number(r.time_to_balance_s) for r in ever),
        final_success_rate=float(np.median(success)) if success else None,
        final_iqm=iqm,
        final_ci=ci,
        max_peak_rss_mb=max(rss) if rss else None,
        steps_per_s=_median_throughput(rows),
        median_wall_time_s=float(np.median([_number(r.wall_time_s) for r in rows])),
        median_cpu_time_s=_median([r.cpu_time_s for r in rows]),
        final_returns=finals,
        quality={
            name: float(np.median([r.quality[name] for r in rows if r.quality.get(name) is not None]))
            for name in metric_columns([r.quality for r in rows])
        },
    )


def _number(value: float | None) -> float:
    """A figure a finished run always has (NaN, never a crash, should a damaged summary lack it)."""
    return float("nan") if value is None else float(value)


def _median(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(np.median(known)) if known else None


def _median_throughput(rows: Sequence[ResultRow]) -> tuple[float, float] | None:
    measured = [r for r in rows if r.early_steps_per_s is not None and r.late_steps_per_s is not None]
    if not measured:
        return None
    early = _median(r.early_steps_per_s for r in measured)
    late = _median(r.late_steps_per_s for r in measured)
    return (early, late) if early is not None and late is not None else None


def aggregate(rows: Sequence[ResultRow]) -> list[CellStats]:
    """One :class:`CellStats` per (env, agent) with at least one finished run, in grid order."""
    cells: dict[tuple[str, str], list[ResultRow]] = {}
    for row in rows:
        if row.finished:
            cells.setdefault((row.env, row.agent), []).append(row)
    return [cell_stats(cell) for cell in cells.values()]
