"""``train.py --optimize``: tune hyperparameters with Optuna, on one machine or many.

Every trial is a real ``train.py`` run (the same validation, envs, wrappers and evaluation), with the
trial's sampled hyperparameters layered on top. Its objective is the true mean evaluation return at the
end; the periodic evaluations are reported to the pruner. The study lives in Optuna's relational
storage (SQLite by default, any SQLAlchemy URL such as ``postgresql://...``), so any number of
processes, on any number of hosts, join one study by its URL and name.

Outputs, in ``<log-folder>/<algo>/<study>/``, rewritten by each worker when it finishes: the best
trial's hyperparameters as ``best_hyperparams.yml`` (keyed by env id, for ``--conf-file``), every trial
in ``trials.csv``, and Optuna's optimisation-history and parameter-importance plots as PNG.
"""

from __future__ import annotations

import argparse
import copy
import os
import socket
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from polebench import runs
from polebench.errors import UserError
from polebench.search_spaces import search_space

BEST_FILE = "best_hyperparams.yml"
TRIALS_FILE = "trials.csv"
STORAGE_ATTEMPTS = 5


def _storage(args: argparse.Namespace, folder: Path) -> Any:
    import optuna

    url = args.storage or f"sqlite:///{(folder / 'study.db').resolve()}"
    # SQLite serialises writers; let a worker wait for the other's write instead of failing at once.
    engine_kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    from sqlalchemy.exc import DBAPIError

    for attempt in range(STORAGE_ATTEMPTS):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs)
        except DBAPIError:
            # Workers started together race to create the schema of a new database; the loser retries.
            if attempt == STORAGE_ATTEMPTS - 1:
                raise UserError(f"cannot open the study storage {url}: {_first_line(sys.exc_info()[1])}") from None
            time.sleep(0.5 * (attempt + 1))
        except Exception as err:  # SQLAlchemy raises many kinds for a malformed URL or a missing driver
            raise UserError(f"cannot open the study storage {url}: {_first_line(err)}") from None
    raise AssertionError("unreachable")


def _first_line(err: BaseException | None) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _study(args: argparse.Namespace, folder: Path) -> Any:
    import optuna

    sampler = {
        "tpe": lambda: optuna.samplers.TPESampler(n_startup_trials=args.n_startup_trials, seed=args.seed),
        "random": lambda: optuna.samplers.RandomSampler(seed=args.seed),
    }[args.sampler]()
    pruner = {
        "median": lambda: optuna.pruners.MedianPruner(n_startup_trials=args.n_startup_trials, n_warmup_steps=1),
        "none": optuna.pruners.NopPruner,
    }[args.pruner]()
    return optuna.create_study(
        storage=_storage(args, folder),
        study_name=args.study_name,
        sampler=sampler,
        pruner=pruner,
        direction="maximize",
        load_if_exists=True,
    )


def _report_callback(trial: Any) -> Any:
    """An SB3 callback, run after each evaluation, that reports its mean return and stops a pruned trial."""
    from stable_baselines3.common.callbacks import BaseCallback

    class ReportToTrial(BaseCallback):
        pruned = False

        def _on_step(self) -> bool:
            evaluation: Any = self.parent
            trial.report(float(evaluation.last_mean_reward), len(evaluation.evaluations_timesteps))
            self.pruned = trial.should_prune()
            return not self.pruned

    return ReportToTrial()


def _objective(args: argparse.Namespace, folder: Path, worker: str) -> Any:
    import optuna

    from polebench.training import train

    sample = search_space(args.algo)

    def objective(trial: optuna.Trial) -> float:
        sampled = sample(trial)
        trial.set_user_attr("worker", worker)
        trial_args = copy.copy(args)
        trial_args.log_folder = str(folder / "trials")
        trial_args.eval_freq = max(args.n_timesteps // args.n_evaluations, 1)
        trial_args.verbose = 0
        report = _report_callback(trial)
        try:
            summary = train(trial_args, time.time(), sampled=sampled, after_eval=report)
        except Exception as err:
            trial.set_user_attr("error", _first_line(err))
            raise
        if summary["interrupted"]:
            raise KeyboardInterrupt  # Ctrl-C during the trial: Optuna records it as failed, then we stop
        trial.set_user_attr("hyperparams", runs.read_config(Path(summary["run_dir"]))["hyperparams"])
        trial.set_user_attr("run_dir", summary["run_dir"])
        if report.pruned:
            raise optuna.TrialPruned()
        return float(summary["final_mean_return"])

    return objective


def check_optimize_flags(args: argparse.Namespace) -> None:
    """Refuse tuning flags that cannot work, before anything is written."""
    search_space(args.algo)
    if args.n_timesteps is None:
        raise UserError("--optimize needs -n/--n-timesteps, the budget of each trial")
    for flag, value in (
        ("--n-trials", args.n_trials),
        ("--n-jobs", args.n_jobs),
        ("--n-evaluations", args.n_evaluations),
    ):
        if value < 1:
            raise UserError(f"{flag} must be at least 1, got {value}")
    if args.trained_agent:
        raise UserError("--optimize starts every trial from scratch; drop -i/--trained-agent")


def optimize(args: argparse.Namespace) -> int:
    """Run ``--n-trials`` trials of the study in this process, then write the study's outputs."""
    check_optimize_flags(args)
    from polebench.training import make_plan

    make_plan(args)  # the algorithm, env and every shipped or given hyperparameter, checked before any trial
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    args.study_name = args.study_name or f"{args.algo}-{args.env}"
    folder = Path(args.log_folder) / args.algo / args.study_name
    folder.mkdir(parents=True, exist_ok=True)
    study = _study(args, folder)
    worker = f"{socket.gethostname()}:{os.getpid()}"
    objective = _objective(args, folder, worker)
    interrupted = False
    try:
        study.optimize(objective, n_trials=args.n_trials, n_jobs=args.n_jobs, catch=(Exception,))
    except KeyboardInterrupt:
        interrupted = True
    write_outputs(study, args.env, folder)
    _print_summary(study, worker, folder)
    return 130 if interrupted else 0


def write_outputs(study: Any, env_id: str, folder: Path) -> None:
    """``best_hyperparams.yml``, ``trials.csv`` and the plots, from every worker's trials so far."""
    finished = [t for t in study.trials if t.state.name == "COMPLETE" and "hyperparams" in t.user_attrs]
    if finished:
        best = max(finished, key=lambda t: t.value)
        hyperparams = {k: v for k, v in best.user_attrs["hyperparams"].items() if k != "n_timesteps"}
        runs.write_yaml(folder / BEST_FILE, {env_id: hyperparams})
    frame = study.trials_dataframe()
    tmp = folder / f".{TRIALS_FILE}.tmp"
    frame.to_csv(tmp, index=False)
    tmp.replace(folder / TRIALS_FILE)
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
        figure.savefig(folder / f"{name}.png", dpi=110)
        plt.close(figure)


def _print_summary(study: Any, worker: str, folder: Path) -> None:
    states = [t.state.name for t in study.trials]
    mine = sum(t.user_attrs.get("worker") == worker for t in study.trials)
    counts = ", ".join(f"{states.count(s)} {s.lower()}" for s in ("COMPLETE", "PRUNED", "FAIL") if s in states)
    print(f"study {study.study_name}: {len(states)} trials ({counts}), {mine} from this worker")
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    if complete:
        best = max(complete, key=lambda t: t.value)
        print(f"best trial {best.number}: mean return {best.value:.2f} with {best.params}")
        print(f"best hyperparameters: {folder / BEST_FILE} (train with --conf-file)")
