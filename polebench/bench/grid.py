"""A benchmark grid: agents x envs x seeds, each cell one ``train.py`` run in its own folder.

An agent is a name of the user's choosing for an algorithm with its settings (hyperparameters layered
over the shipped YAML, a conf file, the shaped reward). A job's folder is a function of the job alone,
``<bench>/runs/<agent>/<env>/seed<k>/``, used as that run's ``-f``. A job counts as finished when a run
in its folder finished with exactly the configuration the grid would run now (the digest of every
resolved hyperparameter, wrapper and the protocol, kept in the run's summary), so a changed setting
reruns its jobs into new run folders and keeps the old ones.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any

from polebench.bench.untrusted import one_line, read_capped
from polebench.config.run_config import EVAL_FREQ, RunConfig
from polebench.envs.wrapping import DEFAULT_SHAPING
from polebench.errors import ConfigError
from polebench.run import folder as runs
from polebench.run.summary import RunSummary

RUNS = "runs"
ERROR_FILE = "error.txt"
JOB_LOG = "train.log"
JOB_FILE = "job.json"


class JobStatus(Enum):
    """Where a job of the grid stands."""

    FINISHED = "finished"  # a run finished with the grid's configuration
    FAILED = "failed"  # its last attempt failed; error.txt says why
    INTERRUPTED = "interrupted"  # stopped by Ctrl-C or SIGTERM; run the grid again to finish it
    MISSING = "missing"  # not run (yet) with the grid's configuration


@dataclass(frozen=True)
class Protocol:
    """What every job of a grid shares, passed through to ``train.py`` unchanged.

    :param n_timesteps: budget override (``None``: each algorithm's YAML budget)
    :param eval_freq: evaluate every this many env steps
    :param eval_episodes: episodes per evaluation (``None``: the env's default)
    :param stop_on_solve: stop each job at its first solved evaluation
    :param stop_on_balance: stop each job at its first evaluation that is solved and balanced
    :param final_eval_episodes: episodes of each job's final evaluation (``None``: ``train.py``'s default)
    """

    n_timesteps: int | None = None
    eval_freq: int = EVAL_FREQ
    eval_episodes: int | None = None
    stop_on_solve: bool = False
    stop_on_balance: bool = False
    final_eval_episodes: int | None = None


@dataclass(frozen=True)
class Agent:
    """A contestant: an algorithm and its settings, under a name of the user's choosing.

    :param hyperparams: layered over the shipped YAML, like ``--hyperparams``
    :param conf_file: a YAML file layered like ``--conf-file``
    :param shaped_reward: learn from a shaped reward: a form name or ``{form: NAME, coefficient: value, ...}``
        (``None``: the env's own reward), like ``--shaped-reward``
    :param train_perturb: train under these perturbations (``{family: top level}``), like ``--train-perturb``
    :param envs: the grid's envs this agent runs on (``None``: all of them), for an agent that applies to some
        only (SAC needs a continuous force, DQN discrete actions)
    """

    name: str
    algo: str
    hyperparams: Mapping[str, Any] = field(default_factory=dict)
    conf_file: Path | None = None
    shaped_reward: str | Mapping[str, Any] | None = None
    train_perturb: Mapping[str, int] | None = None
    envs: tuple[str, ...] | None = None

    def __hash__(self) -> int:  # the mappings are not hashable; names are unique in a grid
        return hash(self.name)

    @property
    def shaped(self) -> bool:
        return self.shaped_reward is not None

    @property
    def shaped_reward_form(self) -> str:
        """The name of the shaped reward's form ("": the env's own reward)."""
        spec = self.shaped_reward
        if spec is None:
            return ""
        if isinstance(spec, str):
            return spec
        return str(spec["form"])

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.envs is None:  # as agents were written before some ran on some envs only
            del data["envs"]
        else:
            data["envs"] = list(self.envs)
        return {**data, "conf_file": None if self.conf_file is None else str(self.conf_file)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Agent:
        """An agent as :meth:`as_dict` wrote it (or an earlier version, whose ``shaping`` was a form or a
        mapping, and before that ``shaped`` true or false)."""
        from polebench.config.run_config import shaped_reward, train_perturb

        conf = data.get("conf_file")
        spec = data.get("shaped_reward", data.get("shaping", data.get("shaped")))
        return cls(
            str(data["name"]),
            str(data["algo"]),
            dict(data.get("hyperparams") or {}),
            Path(conf) if conf else None,
            shaped_reward(spec),
            train_perturb(data.get("train_perturb")),
            tuple(data["envs"]) if data.get("envs") else None,
        )


def shipped_agents(algos: Sequence[str], shaped: str) -> list[Agent]:
    """``--algos`` as agents named after the algorithms with their shipped settings (an agent of your own,
    ``package.module:Class``, after its class); ``shaped`` is ``off``, ``on`` or ``both`` (the shaped twin
    is named ``<name>-shaped``). A reference controller (LQR) learns nothing from a reward, so it runs
    once, unshaped, whatever ``shaped`` says.

    Example:
        >>> [a.name for a in shipped_agents(["ppo", "lqr", "examples.handwritten_dqn:HandwrittenDQN"], "both")]
        ['ppo', 'ppo-shaped', 'lqr', 'HandwrittenDQN', 'HandwrittenDQN-shaped']
    """
    from polebench.agents.registry import get_algo

    variants = {"off": [False], "on": [True], "both": [False, True]}[shaped]
    agents: list[Agent] = []
    named: dict[str, str] = {}
    for algo in algos:
        name = algo.rpartition(":")[2]  # a plugin's folder is named after its class
        if name in named:
            raise ConfigError(
                f"--algos: {named[name]} and {algo} would both be named {name!r}; name each agent in a grid file "
                "(benchmark.py --grid FILE.yml) instead"
            )
        named[name] = algo
        for is_shaped in [False] if get_algo(algo).reference else variants:
            form = DEFAULT_SHAPING if is_shaped else None
            agents.append(Agent(name + ("-shaped" if is_shaped else ""), algo, shaped_reward=form))
    return agents


@dataclass(frozen=True)
class Job:
    """One cell of the grid: one training run.

    :param config_hash: the digest of the configuration the grid runs it with (``None``: any finished
        run counts, as when a report is rebuilt from whatever is there)
    """

    agent: Agent
    env: str
    seed: int
    config_hash: str | None = field(default=None, compare=False)

    @property
    def algo(self) -> str:
        return self.agent.algo

    @property
    def shaped(self) -> bool:
        return self.agent.shaped

    @property
    def name(self) -> str:
        """A short label, e.g. ``ppo CartPole-v1 seed 0``."""
        return job_label(self.agent.name, self.env, self.seed)

    def folder(self, bench: Path) -> Path:
        """The job's own log folder: the ``-f`` of its ``train.py`` run."""
        return bench / RUNS / self.agent.name / self.env / f"seed{self.seed}"

    def run_config(self, protocol: Protocol, log_folder: Path) -> RunConfig:
        """The typed configuration of this job's ``train.py`` run."""
        return RunConfig(
            algo=self.algo,
            env=self.env,
            seed=self.seed,
            n_timesteps=protocol.n_timesteps,
            log_folder=log_folder,
            hyperparams=self.agent.hyperparams,
            conf_file=self.agent.conf_file,
            eval_freq=protocol.eval_freq,
            eval_episodes=protocol.eval_episodes,
            stop_on_solve=protocol.stop_on_solve,
            stop_on_balance=protocol.stop_on_balance,
            final_eval_episodes=protocol.final_eval_episodes,
            shaped_reward=self.agent.shaped_reward,
            train_perturb=self.agent.train_perturb,
            num_threads=1,
            verbose=0,
        )

    def train_args(self, protocol: Protocol, log_folder: Path) -> list[str]:
        """The full ``train.py`` argument list of this job: its :meth:`run_config`, as flags."""
        from polebench.commands.train import argv_of

        return argv_of(self.run_config(protocol, log_folder))


def job_label(agent: str, env: str, seed: int) -> str:
    """How a job is named in messages and reports.

    Example:
        >>> job_label("dqn-small", "CartPole-v1", 3)
        'dqn-small CartPole-v1 seed 3'
    """
    return f"{agent} {env} seed {seed}"


def make_grid(agents: Sequence[Agent], envs: Sequence[str], seeds: Iterable[int]) -> list[Job]:
    """Every job of the grid, grouped by env then agent.

    Example:
        >>> for job in make_grid(shipped_agents(["ppo"], "both"), ["CartPole-v1"], [0, 1]):
        ...     print(job.name)
        ppo CartPole-v1 seed 0
        ppo CartPole-v1 seed 1
        ppo-shaped CartPole-v1 seed 0
        ppo-shaped CartPole-v1 seed 1
    """
    return [Job(a, e, s) for e, a, s in itertools.product(envs, agents, seeds) if a.envs is None or e in a.envs]


def finished_run(job: Job, bench: Path) -> Path | None:
    """The latest run folder of ``job`` that finished (not interrupted) with its configuration, if any."""
    summary = finished_summary(job, bench)
    return None if summary is None else Path(summary.run_dir)


def finished_summary(job: Job, bench: Path, any_config: bool = False) -> RunSummary | None:
    """The summary of the latest run of ``job`` that finished with the job's configuration (with any
    configuration when ``any_config`` or the job has no digest)."""
    folder = job.folder(bench)
    for run_id in reversed(runs.run_ids(folder, job.algo, job.env)):
        run_dir = runs.run_path(folder, job.algo, job.env, run_id)
        summary = RunSummary.read(run_dir)
        if summary is None or not summary.finished:
            continue
        if not (run_dir / runs.CONFIG_FILE).is_file() or not runs.model_path(run_dir, job.env).is_file():
            continue  # a summary alone is not a run that can be replayed, reported or resumed
        if any_config or job.config_hash is None or summary.config_hash == job.config_hash:
            # Where the run is now, even if its folder was moved (a Ray job, a copied benchmark).
            return replace(summary, run_dir=str(run_dir))
    return None


def recorded_error(job: Job, bench: Path) -> str | None:
    """The one-line error of the job's last failed attempt, if it failed."""
    path = job.folder(bench) / ERROR_FILE
    return one_line(read_capped(path)) if path.is_file() else None


def write_job_file(job: Job, bench: Path, **measured: Any) -> None:
    """Describe the job in its folder (its agent, env and seed, and what the driver measured), so a
    report can be rebuilt from the folder alone."""
    path = job.folder(bench) / JOB_FILE
    kept = read_job_file(path) or {}
    runs.write_json(path, {**kept, "agent": job.agent.as_dict(), "env": job.env, "seed": job.seed, **measured})


def read_job_file(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def existing_jobs(bench: Path) -> tuple[list[Job], list[Path]]:
    """Every job that has a described folder under ``bench`` (for ``--report-only``), and the folders
    under ``runs/`` that are not benchmark jobs (left alone, and reported as such)."""
    jobs, strays = [], []
    for folder in sorted((bench / RUNS).glob("*/*/*")):
        data = read_job_file(folder / JOB_FILE)
        try:
            assert data is not None
            job = Job(Agent.from_dict(data["agent"]), data["env"], int(data["seed"]))
        except (AssertionError, KeyError, TypeError, ValueError, AttributeError):
            strays.append(folder)
            continue
        if job.folder(bench) != folder:
            strays.append(folder)
            continue
        jobs.append(job)
    return jobs, strays
