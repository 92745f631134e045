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

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from polebench import clock  # noqa: F401  first: it notes when this process began its work
from polebench.config import run_config as checks
from polebench.config.run_config import RunConfig
from polebench.errors import ConfigError
from polebench.limits import MAX_ENVS, MAX_EPISODES, MAX_WORKERS
from polebench.run.summary import RunSummary

if TYPE_CHECKING:
    from polebench.replay.loading import LoadedRun

__all__ = ["BenchmarkResult", "ConfigError", "RunConfig", "RunSummary", "benchmark", "load_run", "train"]


def train(**kwargs: Any) -> RunSummary:
    """Train one run, as ``train.py`` would with the same flags, and return its summary.

    Takes :class:`RunConfig`'s keywords (``algo``, ``env``, ``seed``, ``n_timesteps``, ``log_folder``,
    ``hyperparams``, ``conf_file``, ``stop_on_solve``, ``stop_on_balance``, ``shaped_reward`` (a form's
    name or ``{"form": ..., coefficient: value}``), ``train_perturb`` (``"push=5"``), ...).

    Ctrl-C or SIGTERM stops training and saves, as the script does (``summary.json`` then says
    ``interrupted``); the signal then reaches the caller as if polebench had not caught it: Python's
    ``KeyboardInterrupt`` for Ctrl-C, and for SIGTERM the caller's own handler, or the end of the process
    (exit 143) without one. A caller that wants to go on catches that; the summary stays readable with
    ``RunSummary.read(run_dir)``.

    Raises:
        ConfigError: for any bad value, naming the keyword; nothing is written then
    """
    from polebench import interrupts
    from polebench.run.training import train as run

    with _config_errors():
        try:
            config = RunConfig(**kwargs)
        except TypeError as err:
            raise ConfigError(f"{err}; accepted keywords: {', '.join(RunConfig.keywords())}") from None
        with interrupts.handled() as signals:
            summary = run(config)
    if signals.received and threading.current_thread() is threading.main_thread():
        # Saved: now the caller's own handler (or Python's default) has its say.
        import signal

        signal.raise_signal(signals.received[0])
    return summary


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
    from polebench.replay.loading import load_run as load

    with _config_errors():
        checks.count(n_envs, "n_envs", maximum=MAX_ENVS)
        if exp_id is not None:
            checks.count(exp_id, "exp_id", minimum=0)
        checks.check_path(log_folder, "log_folder")
        return load(log_folder, algo, env, exp_id, load_best, n_envs, checks.seed(seed, "seed"))


def benchmark(
    grid: str | Path | Mapping[str, Any],
    log_folder: str | Path = "bench",
    workers: int | None = None,
    robustness_episodes: int | None = None,
) -> BenchmarkResult:
    """Run a benchmark grid as ``benchmark.py --grid`` does; say where its report is and how many jobs failed.

    :param grid: a grid file's path, or the same data as a mapping (see ``polebench/bench/gridfile.py``)
    :param workers: jobs at a time (default: one per CPU; never more than the grid has jobs)
    :param robustness_episodes: also measure robustness with this many episodes per perturbation level

    Raises:
        ConfigError: for a bad grid or argument (the message ``benchmark.py`` prints, naming the
            argument); nothing is written then
    """

    from polebench.bench.driver import EXIT_INTERRUPTED, run_grid
    from polebench.bench.gridfile import grid_from_mapping, load_grid

    _check_main_guard()

    with _config_errors():
        workers = (os.cpu_count() or 1) if workers is None else checks.count(workers, "workers", maximum=MAX_WORKERS)
        if robustness_episodes is not None:
            checks.count(robustness_episodes, "robustness_episodes", maximum=MAX_EPISODES)
        checks.check_path(log_folder, "log_folder")
        if not isinstance(grid, Mapping):
            checks.check_path(grid, "grid")
        spec = grid_from_mapping(grid) if isinstance(grid, Mapping) else load_grid(Path(grid))
        ended = run_grid(spec.jobs(), Path(log_folder), spec.protocol, workers, None, robustness_episodes)
    assert ended.report is not None
    return BenchmarkResult(ended.report, ended.jobs, ended.unfinished, ended.exit_code == EXIT_INTERRUPTED)


@dataclass(frozen=True)
class BenchmarkResult:
    """How a :func:`benchmark` call ended.

    :param report: the path of its ``report.md``
    :param jobs: the grid's jobs
    :param failed: how many of them did not finish (failed, missing or interrupted)
    :param interrupted: whether Ctrl-C or SIGTERM stopped it
    """

    report: Path
    jobs: int
    failed: int
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        """Every job finished."""
        return self.failed == 0 and not self.interrupted


def _check_main_guard() -> None:
    """Refuse a :func:`benchmark` call at the top level of a script without an ``if __name__ ==
    "__main__":`` guard: the workers are new Python processes (multiprocessing's spawn) that import the
    script again, where an unguarded call would start a grid of its own in each of them."""
    import ast
    import sys

    frame = sys._getframe(2)  # the caller of benchmark()
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if frame.f_code.co_name != "<module>" or frame.f_globals.get("__name__") != "__main__" or not path:
        return
    try:
        tree = ast.parse(Path(path).read_text())
    except (OSError, SyntaxError, ValueError):
        return
    guarded = [
        (node.lineno, node.end_lineno or node.lineno)
        for node in tree.body
        if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test) and "__name__" in ast.unparse(node.test)
    ]
    if not any(first <= frame.f_lineno <= last for first, last in guarded):
        raise ConfigError(
            f'polebench.benchmark() at the top level of {Path(path).name} needs an `if __name__ == "__main__":` '
            "guard: its workers are new processes that import the script again (multiprocessing's spawn)"
        )


@contextmanager
def _config_errors() -> Iterator[None]:
    """Every user mistake leaves as a :class:`ConfigError` whose message names keywords, not flags: the
    checks are the command line's, and each keyword is its flag's name (``--n-timesteps``: ``n_timesteps``)."""
    from polebench.errors import ConfigError

    try:
        yield
    except ConfigError as err:
        raise ConfigError(checks.as_keywords(str(err))) from None
