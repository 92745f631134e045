"""A benchmark grid: algorithms x envs x seeds (x shaped), each cell one ``train.py`` run in its own folder.

A job's folder is a function of the job alone, ``<bench>/runs/<algo>/<env>/seed<k>[-shaped]/``, used
as that run's ``-f``; so a rerun of the same grid finds what already finished there and skips it.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from polebench import runs

RUNS = "runs"
ERROR_FILE = "error.txt"
JOB_LOG = "train.log"


@dataclass(frozen=True)
class Protocol:
    """What every job of a grid shares, passed through to ``train.py`` unchanged.

    :param n_timesteps: budget override (``None``: each algorithm's YAML budget)
    :param eval_freq: evaluate every this many env steps
    :param eval_episodes: episodes per evaluation (``None``: the env's default)
    :param stop_on_solve: stop each job at its first solved evaluation
    """

    n_timesteps: int | None = None
    eval_freq: int = 2500
    eval_episodes: int | None = None
    stop_on_solve: bool = False

    def train_flags(self) -> list[str]:
        """The ``train.py`` flags for this protocol."""
        flags = ["--eval-freq", str(self.eval_freq)]
        if self.n_timesteps is not None:
            flags += ["-n", str(self.n_timesteps)]
        if self.eval_episodes is not None:
            flags += ["--eval-episodes", str(self.eval_episodes)]
        if self.stop_on_solve:
            flags.append("--stop-on-solve")
        return flags

    def matches(self, config: dict[str, Any]) -> bool:
        """Whether a run's ``config.yml`` was trained under this protocol."""
        return (
            config.get("eval_freq") == self.eval_freq
            and config.get("stop_on_solve") == self.stop_on_solve
            and (self.n_timesteps is None or config.get("n_timesteps") == self.n_timesteps)
            and (self.eval_episodes is None or config.get("eval_episodes") == self.eval_episodes)
        )


@dataclass(frozen=True, order=True)
class Job:
    """One cell of the grid: one training run."""

    algo: str
    env: str
    seed: int
    shaped: bool = False

    @property
    def name(self) -> str:
        """A short label, e.g. ``ppo CartPole-v1 seed 0 (shaped)``."""
        return f"{self.algo} {self.env} seed {self.seed}" + (" (shaped)" if self.shaped else "")

    def folder(self, bench: Path) -> Path:
        """The job's own log folder: the ``-f`` of its ``train.py`` run."""
        return bench / RUNS / self.algo / self.env / (f"seed{self.seed}" + ("-shaped" if self.shaped else ""))

    def train_args(self, protocol: Protocol, log_folder: Path) -> list[str]:
        """The full ``train.py`` argument list of this job."""
        args = ["--algo", self.algo, "--env", self.env, "--seed", str(self.seed), "-f", str(log_folder)]
        args += [*protocol.train_flags(), "--num-threads", "1", "-v", "0"]
        return args + (["--shaped-reward"] if self.shaped else [])


def make_grid(algos: Sequence[str], envs: Sequence[str], seeds: Iterable[int], shaped: str) -> list[Job]:
    """Every job of the grid, grouped by env then algorithm; ``shaped`` is ``off``, ``on`` or ``both``.

    A reference controller (LQR) learns nothing from a reward, so it runs once, unshaped, whatever
    ``shaped`` says.

    Example:
        >>> for job in make_grid(["ppo"], ["CartPole-v1"], [0, 1], "both"):
        ...     print(job.name)
        ppo CartPole-v1 seed 0
        ppo CartPole-v1 seed 0 (shaped)
        ppo CartPole-v1 seed 1
        ppo CartPole-v1 seed 1 (shaped)
        >>> [job.name for job in make_grid(["lqr"], ["CartPole-v1"], [0], "both")]
        ['lqr CartPole-v1 seed 0']
    """
    from agents.registry import get_algo

    variants = {"off": [False], "on": [True], "both": [False, True]}[shaped]
    return [
        Job(a, e, s, v)
        for e, a, s, v in itertools.product(envs, algos, seeds, variants)
        if not (v and get_algo(a).reference)
    ]


def finished_run(job: Job, bench: Path, protocol: Protocol | None) -> Path | None:
    """The latest run folder of ``job`` that finished (not interrupted) under ``protocol``, if any.

    ``protocol=None`` accepts any protocol (rebuilding a report from whatever is there).
    """
    folder = job.folder(bench)
    for run_id in reversed(runs.run_ids(folder, job.algo, job.env)):
        run_dir = folder / job.algo / f"{job.env}_{run_id}"
        summary = read_summary(run_dir)
        if summary is None or summary.get("interrupted", True):
            continue
        if protocol is None or protocol.matches(yaml.safe_load((run_dir / runs.CONFIG_FILE).read_text()) or {}):
            return run_dir
    return None


def read_summary(run_dir: Path) -> dict[str, Any] | None:
    """A run's ``summary.json``, or ``None`` when it has none (still running, crashed or killed)."""
    try:
        summary = json.loads((run_dir / runs.SUMMARY_FILE).read_text())
    except (OSError, ValueError):
        return None
    return summary if isinstance(summary, dict) else None


def recorded_error(job: Job, bench: Path) -> str | None:
    """The one-line error of the job's last failed attempt, if it failed."""
    path = job.folder(bench) / ERROR_FILE
    return path.read_text().strip() if path.is_file() else None


def existing_jobs(bench: Path) -> list[Job]:
    """Every job that has a folder under ``bench`` (for ``--report-only``)."""
    jobs = []
    for folder in sorted((bench / RUNS).glob("*/*/seed*")):
        algo, env, label = folder.parent.parent.name, folder.parent.name, folder.name[len("seed") :]
        seed, _, variant = label.partition("-")
        if seed.isdigit() and variant in ("", "shaped"):
            jobs.append(Job(algo, env, int(seed), variant == "shaped"))
    return jobs
