"""``train.py --optimize``: tune hyperparameters with Optuna, on one machine or many.

Every trial is a real ``train.py`` run (the same validation, envs, wrappers and evaluation), with the
trial's sampled hyperparameters layered on top. Its objective is the true mean evaluation return at the
end, or with ``--objective METRIC`` one of the env family's behaviour metrics (``polebench/envs/families.py``,
minimised unless higher is better), so a search can look for an agent that balances well; a trial whose
final evaluation does not reach the env's threshold then fails, whatever its metric, and every trial's
true return is kept beside it. The periodic evaluations are reported to the pruner. The study lives in
Optuna's relational storage (SQLite by default, any SQLAlchemy URL such as ``postgresql://...``), so any number of
processes, on any number of hosts, join one study by its URL and name.

Outputs, in ``<log-folder>/<algo>/<study>/``, rewritten by each worker when it finishes: the best
trial's hyperparameters as ``best_hyperparams.yml`` (keyed by env id, for ``--conf-file``), every trial
in ``trials.csv``, and Optuna's optimisation-history and parameter-importance plots as PNG.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import socket
import sys
import time
import warnings
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from polebench.atomic import atomic_target
from polebench.config.run_config import RunConfig
from polebench.config.seeds import FIRST_TEST_SEED, is_test_seed
from polebench.errors import ConfigError, first_line
from polebench.imports import optional
from polebench.limits import check_path_length
from polebench.run import folder as runs
from polebench.run.summary import RunSummary
from polebench.tune.search_spaces import search_space

if TYPE_CHECKING:
    from polebench.envs.families import Metric


# The default objective: the true mean evaluation return.
RETURN = "return"


@dataclass(frozen=True)
class TuneConfig:
    """How to tune: rl-baselines3-zoo's tuning flags, typed.

    :param sampler_seed: this worker's sampler seed; ``None`` draws one from the OS, so workers sharing
        a study (or a rerun adding trials) never sample the same hyperparameters by accident
    :param objective: ``return`` (the true mean return, maximised) or a behaviour metric's name
    """

    n_trials: int = 10
    n_jobs: int = 1
    sampler: str = "tpe"
    pruner: str = "median"
    n_startup_trials: int = 5
    n_evaluations: int = 4
    sampler_seed: int | None = None
    storage: str | None = None
    study_name: str | None = None
    objective: str = RETURN

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> TuneConfig:
        return cls(**{f.name: getattr(args, f.name) for f in fields(cls)})


BEST_FILE = "best_hyperparams.yml"
TRIALS_FILE = "trials.csv"
STORAGE_ATTEMPTS = 5


def _storage(tune: TuneConfig, folder: Path) -> Any:
    import optuna

    url = tune.storage or f"sqlite:///{(folder / 'study.db').resolve()}"
    # SQLite serialises writers; let a worker wait for the other's write instead of failing at once.
    engine_kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    from sqlalchemy.exc import DBAPIError

    for attempt in range(STORAGE_ATTEMPTS):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs)
        except DBAPIError:
            # Workers started together race to create the schema of a new database; the loser retries.
            if attempt == STORAGE_ATTEMPTS - 1:
                raise ConfigError(f"cannot open the study storage {url}: {first_line(sys.exc_info()[1])}") from None
            time.sleep(0.5 * (attempt + 1))
        except Exception as err:  # SQLAlchemy raises many kinds for a malformed URL or a missing driver
            raise ConfigError(f"cannot open the study storage {url}: {first_line(err)}") from None
    raise AssertionError("unreachable")


def objective_metric(objective: str, env_id: str) -> Metric | None:
    """The behaviour metric ``objective`` names (``None`` for the return), or a :class:`ConfigError` naming
    the objectives ``env_id`` accepts."""
    from polebench.envs.families import family_of_id

    if objective == RETURN:
        return None
    family = family_of_id(env_id)
    metrics = {m.name: m for m in family.metrics} if family is not None else {}
    if objective not in metrics:
        raise ConfigError(
            f"--objective {objective!r} is not measured on {env_id}; choose one of: {', '.join([RETURN, *metrics])}"
        )
    return metrics[objective]


def _direction(metric: Metric | None) -> Literal["minimize", "maximize"]:
    return "maximize" if metric is None or metric.higher_is_better else "minimize"


def _study(
    tune: TuneConfig, name: str, folder: Path, sampler_seed: int, direction: Literal["minimize", "maximize"]
) -> Any:
    import optuna

    sampler = {
        "tpe": lambda: optuna.samplers.TPESampler(n_startup_trials=tune.n_startup_trials, seed=sampler_seed),
        "random": lambda: optuna.samplers.RandomSampler(seed=sampler_seed),
    }[tune.sampler]()
    pruner = {
        "median": lambda: optuna.pruners.MedianPruner(n_startup_trials=tune.n_startup_trials, n_warmup_steps=1),
        "none": optuna.pruners.NopPruner,
    }[tune.pruner]()
    return optuna.create_study(
        storage=_storage(tune, folder),
        study_name=name,
        sampler=sampler,
        pruner=pruner,
        direction=direction,
        load_if_exists=True,
    )


def _report_callback(trial: Any, metric: Metric | None) -> Any:
    """An SB3 callback, run after each evaluation, that reports its mean return (or ``metric``) and stops
    a pruned trial."""
    from stable_baselines3.common.callbacks import BaseCallback

    class ReportToTrial(BaseCallback):
        pruned = False

        def _on_step(self) -> bool:
            evaluation: Any = self.parent
            value = evaluation.last_mean_reward if metric is None else evaluation.last_quality.get(metric.name)
            if value is None:
                return True
            trial.report(float(value), len(evaluation.evaluations_timesteps))
            self.pruned = trial.should_prune()
            return not self.pruned

    return ReportToTrial()


def _objective(config: RunConfig, tune: TuneConfig, folder: Path, worker: str, budget: int) -> Any:
    """The trial function: ``budget`` env steps of training (0 for a controller: only its evaluation)."""
    import optuna

    from polebench.run.training import train

    sample = search_space(config.algo)
    metric = objective_metric(tune.objective, config.env)
    trial_config = config.but(log_folder=folder / "trials", eval_freq=max(budget // tune.n_evaluations, 1), verbose=0)

    def objective(trial: optuna.Trial) -> float:
        trial.set_user_attr("worker", worker)  # first: a trial whose sampling fails is this worker's too
        sampled = sample(trial)
        report = _report_callback(trial, metric)
        try:
            summary = train(trial_config, sampled=sampled, after_eval=report)
        except Exception as err:
            trial.set_user_attr("error", first_line(err))
            raise
        if summary.interrupted:
            raise KeyboardInterrupt  # Ctrl-C during the trial: Optuna records it as failed, then we stop
        trial.set_user_attr("hyperparams", runs.read_config(Path(summary.run_dir))["hyperparams"])
        trial.set_user_attr("run_dir", summary.run_dir)
        trial.set_user_attr("final_mean_return", summary.final_mean_return)
        if report.pruned:
            raise optuna.TrialPruned()
        return _value(summary, metric, trial)

    return objective


def _value(summary: RunSummary, metric: Metric | None, trial: Any) -> float:
    """A finished trial's objective; NaN (a failed trial, which the sampler leaves out) when it has none,
    or when a metric is the objective and the final evaluation did not reach the threshold: an agent
    that ran off the track may have held its pole very still."""
    if metric is None:
        return float(summary.final_mean_return if summary.final_mean_return is not None else float("nan"))
    solved = summary.final_mean_return is not None and summary.threshold is not None
    if not (solved and summary.final_mean_return >= summary.threshold):  # type: ignore[operator]
        trial.set_user_attr("error", f"final mean return {summary.final_mean_return} below the threshold")
        return float("nan")
    return float(summary.quality.get(metric.name, float("nan")))


def check_optimize(config: RunConfig, tune: TuneConfig | None = None) -> None:
    """Refuse a tuning request that cannot work, before anything is written."""
    optional("optuna", "tune", "--optimize")
    if is_test_seed(config.seed):
        raise ConfigError(
            f"--seed {config.seed} is a test seed ({FIRST_TEST_SEED:,} and up): tuning never uses one, so that "
            "a recipe is always scored on seeds it was not tuned on; tune on a seed below it"
        )
    search_space(config.algo)
    if config.trained_agent:
        raise ConfigError("--optimize starts every trial from scratch; drop -i/--trained-agent")
    if tune is not None:
        objective_metric(tune.objective, config.env)


def optimize(config: RunConfig, tune: TuneConfig) -> int:
    """Run ``tune.n_trials`` trials of the study in this process, then write the study's outputs."""
    check_optimize(config, tune)
    from polebench.run.plan import make_plan

    plan = make_plan(config)  # the algorithm, env and every shipped or given hyperparameter, checked before any trial
    # Each trial's budget is -n; a controller's shipped 0 steps need none (its trials are evaluations).
    if config.n_timesteps is None and plan.n_timesteps > 0:
        raise ConfigError("--optimize needs -n/--n-timesteps, the budget of each trial")
    budget = plan.n_timesteps
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    _one_line_for_interrupted_trials(optuna)
    metric = objective_metric(tune.objective, config.env)
    # A study optimises one objective in one direction: each objective gets its own by default.
    name = tune.study_name or f"{config.algo}-{config.env}" + ("" if metric is None else f"-{metric.name}")
    folder = config.log_folder / config.algo / name
    check_path_length(folder, "--study-name")
    folder.mkdir(parents=True, exist_ok=True)
    sampler_seed = tune.sampler_seed if tune.sampler_seed is not None else secrets.randbelow(2**32)
    study = _open_study(tune, name, folder, sampler_seed, _direction(metric))
    worker = f"{socket.gethostname()}:{os.getpid()} (sampler seed {sampler_seed})"
    objective = _objective(config, tune, folder, worker, budget)
    progress = _TrialProgress(tune, live=None if config.verbose else False)
    interrupted = False
    try:
        study.optimize(objective, n_trials=tune.n_trials, n_jobs=tune.n_jobs, catch=(Exception,), callbacks=[progress])
    except KeyboardInterrupt:
        interrupted = True
    finally:
        progress.close()
    write_outputs(study, config.env, folder)
    _print_summary(study, worker, folder, tune.objective)
    return 130 if interrupted else 0


class _NoInterruptTraceback(logging.Filter):
    """Optuna logs a trial stopped by Ctrl-C with the KeyboardInterrupt's traceback; the interrupt is the
    user's own doing, so its record keeps the message and drops the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], KeyboardInterrupt):
            record.exc_info, record.exc_text = None, None
        return True


def _one_line_for_interrupted_trials(optuna: Any) -> None:
    # On the handlers: a logger's own filters never see the records of its children (optuna.study...).
    for handler in optuna.logging.get_logger("optuna").handlers:
        if not any(isinstance(f, _NoInterruptTraceback) for f in handler.filters):
            handler.addFilter(_NoInterruptTraceback())


class _TrialProgress:
    """An Optuna callback that counts this worker's trials on a :class:`polebench.progress.Progress` line."""

    def __init__(self, tune: TuneConfig, live: bool | None) -> None:
        from polebench.progress import Progress

        self.progress = Progress(tune.n_trials, ["trial"] * tune.n_trials, tune.n_jobs, live=live, noun="trials")

    def __call__(self, _: Any, trial: Any) -> None:
        state = trial.state.name.lower()
        seconds = trial.duration.total_seconds() if trial.duration is not None else None
        value = "" if trial.value is None else f", value {trial.value:.4g}"
        error = trial.user_attrs.get("error") if state == "fail" else None
        name = f"trial {trial.number} ({state}{value})"
        self.progress.finished(name, "trial", state == "fail", error or "see the log above", seconds)

    def close(self) -> None:
        self.progress.close()


def _open_study(
    tune: TuneConfig, name: str, folder: Path, sampler_seed: int, direction: Literal["minimize", "maximize"]
) -> Any:
    """The study, or a :class:`ConfigError` when an existing study of that name optimises the other way."""
    try:
        return _study(tune, name, folder, sampler_seed, direction)
    except ValueError as err:  # Optuna: the stored study's direction differs from the one asked for
        raise ConfigError(f"study {name}: {first_line(err)}; give --study-name for a new study") from None


def _best(study: Any, trials: list[Any]) -> Any:
    """The best of ``trials`` in the study's direction."""
    return (max if study.direction.name == "MAXIMIZE" else min)(trials, key=lambda t: t.value)


def write_outputs(study: Any, env_id: str, folder: Path) -> None:
    """``best_hyperparams.yml``, ``trials.csv`` and the plots, from every worker's trials so far."""
    finished = [t for t in study.trials if t.state.name == "COMPLETE" and "hyperparams" in t.user_attrs]
    if finished:
        best = _best(study, finished)
        hyperparams = {k: v for k, v in best.user_attrs["hyperparams"].items() if k != "n_timesteps"}
        runs.write_yaml(folder / BEST_FILE, {env_id: hyperparams})
    frame = study.trials_dataframe()
    with atomic_target(folder / TRIALS_FILE) as tmp:
        frame.to_csv(tmp, index=False)
    _plots(study, folder)


def _plots(study: Any, folder: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna.visualization.matplotlib as ovm

    for name, plot in (
        ("optimization_history", ovm.plot_optimization_history),
        ("param_importances", ovm.plot_param_importances),
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Optuna marks its matplotlib plots experimental
            try:
                axes: Any = plot(study)
            except (ValueError, RuntimeError, ZeroDivisionError):
                continue  # e.g. importances need two finished trials that differ
        figure: Any = axes.figure if hasattr(axes, "figure") else axes[0].figure
        figure.set_size_inches(8, 5)
        figure.tight_layout()
        with atomic_target(folder / f"{name}.png") as tmp:
            figure.savefig(tmp, dpi=110)
        plt.close(figure)


def _print_summary(study: Any, worker: str, folder: Path, objective: str) -> None:
    states = [t.state.name for t in study.trials]
    mine = sum(t.user_attrs.get("worker") == worker for t in study.trials)
    counts = ", ".join(f"{states.count(s)} {s.lower()}" for s in ("COMPLETE", "PRUNED", "FAIL") if s in states)
    print(f"study {study.study_name}: {len(states)} trials ({counts}), {mine} from this worker")
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    if complete:
        best = _best(study, complete)
        what = f"{objective} {best.value:.4g}, mean return {best.user_attrs.get('final_mean_return')}"
        print(f"best trial {best.number}: {what} with {best.params}")
        print(f"best hyperparameters: {folder / BEST_FILE} (train with --conf-file)")
