"""polebench from Python: train a run, load it back, and everything the scripts are made of.

Example (the README runs it as a test)::

    import polebench

    summary = polebench.train(algo="ppo", env="CartPole-v1", seed=0, stop_on_solve=True, log_folder="logs")
    print(summary.solved, summary.steps_to_solve, summary.run_dir)
    run = polebench.load_run("logs", algo="ppo", env="CartPole-v1")
    action, _ = run.model.predict(run.env.reset(), deterministic=True)

Keyword names are those of ``train.py``'s flags; a bad value raises :class:`ConfigError` (a
``ValueError``) with the message the command line prints. Nothing here imports PyTorch or
Stable-Baselines3 until a run is trained or loaded, so ``train.py --help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from polebench.config import ConfigError, RunConfig
from polebench.summary import RunSummary

if TYPE_CHECKING:
    from polebench.loading import LoadedRun

__all__ = ["ConfigError", "RunConfig", "RunSummary", "benchmark", "load_run", "train"]


def train(**kwargs: Any) -> RunSummary:
    """Train one run, as ``train.py`` would with the same flags, and return its summary.

    Takes :class:`RunConfig`'s keywords (``algo``, ``env``, ``seed``, ``n_timesteps``, ``log_folder``,
    ``hyperparams``, ``conf_file``, ``stop_on_solve``, ``stop_on_balance``, ``shaped_reward`` (a form's
    name or ``{"form": ..., coefficient: value}``), ``train_perturb`` (``"push=5"``), ...). Ctrl-C stops
    training and still saves; the summary then says ``interrupted``.

    Raises:
        ConfigError: for any bad value, with the one-line message the command line prints
    """
    from polebench.errors import UserError
    from polebench.training import train as run

    try:
        return run(RunConfig(**kwargs))
    except TypeError as err:
        raise ConfigError(f"{err}; accepted keywords: {', '.join(RunConfig.keywords())}") from None
    except UserError as err:
        if isinstance(err, ConfigError):
            raise
        raise ConfigError(str(err)) from None


def load_run(
    log_folder: str = "logs",
    algo: str = "ppo",
    env: str = "CartPole-v1",
    exp_id: int | None = None,
    load_best: bool = False,
    n_envs: int = 1,
    seed: int = 0,
) -> LoadedRun:
    """A finished run, ready to use: its model and a matching env (observation wrappers and
    normalisation statistics included), its config and its summary. ``exp_id=None`` is the latest."""
    from polebench.loading import load_run as load

    return load(log_folder, algo, env, exp_id, load_best, n_envs, seed)


def benchmark(
    grid: str | Path | Mapping[str, Any],
    log_folder: str | Path = "bench",
    workers: int | None = None,
    robustness_episodes: int | None = None,
) -> Path:
    """Run a benchmark grid as ``benchmark.py --grid`` does and return the path of its ``report.md``.

    :param grid: a grid file's path, or the same data as a mapping (see ``polebench/gridfile.py``)
    :param robustness_episodes: also measure robustness with this many episodes per perturbation level

    Raises:
        ConfigError: for a bad grid (the message ``benchmark.py`` prints); nothing is written then
    """
    import os

    from polebench.benchmarking import run_grid
    from polebench.errors import UserError
    from polebench.gridfile import grid_from_mapping, load_grid
    from polebench.report import REPORT

    try:
        spec = grid_from_mapping(grid) if isinstance(grid, Mapping) else load_grid(Path(grid))
        bench = Path(log_folder)
        run_grid(spec.jobs(), bench, spec.protocol, workers or os.cpu_count() or 1, None, robustness_episodes)
    except UserError as err:
        raise err if isinstance(err, ConfigError) else ConfigError(str(err)) from None
    return bench / REPORT
