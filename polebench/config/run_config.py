"""One training run, typed: what ``train.py``, tuning trials, benchmark jobs and the Python API all build.

The checks here are the only checks of a run's settings: the command line's ``type=`` functions
(:mod:`polebench.commands.flags`) call the same functions, so a bad value gets the same one-line message from the
command line (exit 2) and from Python (a :class:`ConfigError`, which is a ``ValueError``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from polebench.config.shipped import find_yaml
from polebench.errors import ConfigError
from polebench.limits import MAX_ENVS, MAX_EPISODES, MAX_SEED, check_path_length

# Evaluate every this many env steps unless told otherwise: for train.py, the API and every benchmark.
EVAL_FREQ = 2500
DEVICE = re.compile(r"^(cpu|auto|mps|cuda(:\d+)?)$")


def as_keywords(message: str) -> str:
    """A message about flags, about the keywords of the same names instead (for Python callers): every
    keyword is its flag's long name with underscores.

    Example:
        >>> as_keywords("-n/--n-timesteps must be a positive number of env steps, got 0")
        'n_timesteps must be a positive number of env steps, got 0'
    """
    return re.sub(r"(?<![\w-])(?:-\w/)?--([a-z][a-z-]*)", lambda m: m[1].replace("-", "_"), message)


def check_path(value: Any, name: str) -> None:
    """Refuse anything but a path (a ``str`` or an ``os.PathLike``) for ``name``."""
    if not isinstance(value, str | os.PathLike):
        raise ConfigError(f"{name} must be a path (a str or a Path), got {value!r}")
    check_path_length(Path(value), name)


def max_threads() -> int:
    """The most PyTorch threads a run may ask for: this machine's cores (more only wait for each other)."""
    return os.cpu_count() or 1


def env_steps(value: Any, flag: str, allow_zero: bool = False) -> int:
    """A number of env steps: a positive whole number (or 0 where 0 means off).

    Example:
        >>> env_steps("2500", "--eval-freq", allow_zero=True)
        2500
    """
    number = whole_number(value, flag)
    if number < 0 or (number == 0 and not allow_zero):
        accepted = "0 (off) or a positive number of env steps" if allow_zero else "a positive number of env steps"
        raise ConfigError(f"{flag} must be {accepted}, got {value}")
    return number


def at_least(value: Any, flag: str, minimum: int = 1, maximum: int | None = None) -> int:
    """A whole number of at least ``minimum`` (and at most ``maximum``, when given).

    Example:
        >>> at_least("50000000", "--eval-episodes", maximum=MAX_EPISODES)
        Traceback (most recent call last):
        ...
        polebench.errors.ConfigError: --eval-episodes must be at most 10,000, got 50000000
    """
    number = whole_number(value, flag)
    if number < minimum:
        raise ConfigError(f"{flag} must be at least {minimum}, got {value}")
    if maximum is not None and number > maximum:
        raise ConfigError(f"{flag} must be at most {maximum:,}, got {value}")
    return number


def count(value: Any, name: str, minimum: int = 1, maximum: int | None = None) -> int:
    """:func:`at_least` for a value given from Python, which must be an ``int`` already (not ``"3"``).

    Example:
        >>> count("3", "workers")
        Traceback (most recent call last):
        ...
        polebench.errors.ConfigError: workers must be a whole number, got '3'
    """
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(f"{name} must be a whole number, got {value!r}")
    return at_least(value, name, minimum, maximum)


def seed(value: Any, flag: str = "--seed") -> int:
    """A seed: a whole number from 0 to 2**32 - 1 (NumPy's range)."""
    number = whole_number(value, flag)
    if not 0 <= number <= MAX_SEED:
        raise ConfigError(f"{flag} must be a whole number from 0 to {MAX_SEED}, got {value}")
    return number


def whole_number(value: Any, flag: str) -> int:
    if isinstance(value, bool):
        raise ConfigError(f"{flag} must be a whole number, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    try:
        return int(str(value).replace("_", ""))
    except ValueError:
        raise ConfigError(f"{flag} must be a whole number, got {value!r}") from None


def device(value: Any) -> str:
    """A PyTorch device name: ``cpu``, ``auto``, ``cuda``, ``cuda:N`` or ``mps``."""
    text = str(value).strip().lower()
    if not DEVICE.match(text):
        raise ConfigError(f"--device must be cpu, auto, cuda, cuda:N or mps, got {value!r}")
    return text


def existing_file(value: Any, flag: str) -> Path:
    path = Path(value)
    if not path.is_file():
        raise ConfigError(f"{flag} {path} is not an existing file")
    return path


def overrides(value: Mapping[str, Any] | Iterable[str] | None, flag: str = "--hyperparams") -> dict[str, Any]:
    """Keyword values: a mapping, or ``key=value`` (or ``key:value``) strings as ``--hyperparams`` takes them."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str):
        value = [value]
    items = list(value) if isinstance(value, Iterable) else None
    if items is None or not all(isinstance(item, str) for item in items):
        raise ConfigError(f"{flag} takes a mapping or key=value strings, got {value!r}")
    value = items
    from polebench.config.hyperparams import parse_overrides

    return parse_overrides(value, flag)


def shaping(value: Any) -> str | dict[str, Any] | None:
    """A shaping request checked and normalised (see :func:`polebench.envs.wrapping.shaping_form`)."""
    from polebench.envs.wrapping import shaping_form

    return shaping_form(dict(value) if isinstance(value, Mapping) else value)


def train_perturb(value: Any) -> dict[str, int] | None:
    """Training perturbations checked and normalised (see :func:`polebench.envs.perturbations.parse_train_perturb`)."""
    from polebench.envs.perturbations import parse_train_perturb

    return parse_train_perturb(dict(value) if isinstance(value, Mapping) else value) or None


@dataclass(frozen=True)
class RunConfig:
    """Everything one training run needs. Built by ``train.py`` from its flags, or directly::

        RunConfig(algo="ppo", env="CartPole-v1", seed=0, stop_on_solve=True)

    :param algo: a registered algorithm name
    :param env: a Gymnasium env id
    :param seed: seed of the agent, the training envs and (offset) the evaluation envs
    :param n_timesteps: the budget in env steps (``None``: the YAML's)
    :param log_folder: where run folders go
    :param hyperparams: overrides layered over everything else (a mapping, or ``key=value`` strings)
    :param conf_file: a YAML file in the format of ``polebench/hyperparams/<algo>.yml``, layered over the shipped one
    :param trained_agent: a saved model to continue training
    :param eval_freq: evaluate every this many env steps (0: only at the end)
    :param eval_episodes: episodes per evaluation (``None``: the env's default)
    :param stop_on_solve: stop at the first evaluation that solves the env
    :param best_by: which evaluation's model ``best_model.zip`` keeps: ``return``, ``balance`` or a metric
        (``None``: balance on a family with a reference controller, else return)
    :param stop_on_balance: stop at the first evaluation that solves the env and meets its family's balance
        target (``polebench/envs/families.py``)
    :param final_eval_episodes: episodes of the final evaluation (``None``: 100, Gymnasium's own criterion)
    :param shaped_reward: learn from a shaped reward (every reported return stays true): ``True`` or a
        form name (``user``, ``position``, ``quadratic``, ``dm_control``), or a mapping ``{form: NAME,
        coefficient: value, ...}``; ``None``/``False``: the YAML's ``shaped_reward``, if any
    :param train_perturb: perturb the training envs (never evaluation): ``"push=2,sensor_noise=1"`` or
        ``{"push": 2}``, each episode drawing each family's level uniformly from 0 to the one given
    :param save_freq: keep a checkpoint every this many env steps (0: none)
    :param save_replay_buffer: off-policy agents: save the replay buffer with the model
    :param progress: show a progress bar
    :param device: PyTorch device
    :param num_threads: PyTorch CPU threads
    :param verbose: 0 quiet, 1 evaluations, 2 SB3's log tables too
    :param env_kwargs: keyword arguments for ``gym.make`` (``--env-kwargs``)
    :param n_eval_envs: evaluation envs side by side (``None``: one per evaluation episode)
    :param log_interval: SB3's ``log_interval`` for ``learn`` (``None``: SB3's default)
    :param tensorboard_log: write TensorBoard events to ``<folder>/<env>/<algo>_<N>`` instead of the run
        folder (rl-baselines3-zoo's ``-tb``)
    :param command: the command line (or call) that asked for the run, kept in ``command.txt``
    """

    algo: str
    env: str = "CartPole-v1"
    seed: int = 0
    n_timesteps: int | None = None
    log_folder: Path = Path("logs")
    hyperparams: Mapping[str, Any] = field(default_factory=dict)
    conf_file: Path | None = None
    trained_agent: Path | None = None
    eval_freq: int = EVAL_FREQ
    eval_episodes: int | None = None
    stop_on_solve: bool = False
    stop_on_balance: bool = False
    best_by: str | None = None
    final_eval_episodes: int | None = None
    shaped_reward: bool | str | Mapping[str, Any] | None = None
    train_perturb: str | Mapping[str, int] | None = None
    save_freq: int = 0
    save_replay_buffer: bool = False
    progress: bool = False
    device: str = "cpu"
    num_threads: int = 1
    verbose: int = 1
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    n_eval_envs: int | None = None
    log_interval: int | None = None
    tensorboard_log: Path | None = None
    command: str | None = None

    def __post_init__(self) -> None:
        for name in ("stop_on_solve", "stop_on_balance", "save_replay_buffer", "progress"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be True or False, got {getattr(self, name)!r}")
        check_path(self.log_folder, "log_folder")
        for name in ("conf_file", "trained_agent", "tensorboard_log"):
            if getattr(self, name) is not None:
                check_path(getattr(self, name), name)
        checked: dict[str, Any] = {
            "seed": seed(self.seed),
            "n_timesteps": None if self.n_timesteps is None else env_steps(self.n_timesteps, "-n/--n-timesteps"),
            "log_folder": Path(self.log_folder),
            "hyperparams": overrides(self.hyperparams),
            "conf_file": None if self.conf_file is None else find_yaml(self.conf_file, "--conf-file"),
            "trained_agent": None if self.trained_agent is None else Path(self.trained_agent),
            "eval_freq": env_steps(self.eval_freq, "--eval-freq", allow_zero=True),
            "eval_episodes": None
            if self.eval_episodes is None
            else at_least(self.eval_episodes, "--eval-episodes", maximum=MAX_EPISODES),
            "final_eval_episodes": None
            if self.final_eval_episodes is None
            else at_least(self.final_eval_episodes, "--final-eval-episodes", maximum=MAX_EPISODES),
            "shaped_reward": shaping(self.shaped_reward),
            "train_perturb": train_perturb(self.train_perturb),
            "save_freq": env_steps(self.save_freq, "--save-freq", allow_zero=True),
            "device": device(self.device),
            "num_threads": at_least(self.num_threads, "--num-threads", maximum=max_threads()),
            "verbose": at_least(self.verbose, "-v/--verbose", minimum=0),
            "env_kwargs": overrides(self.env_kwargs, "--env-kwargs"),
            "n_eval_envs": None
            if self.n_eval_envs is None
            else at_least(self.n_eval_envs, "--n-eval-envs", maximum=MAX_ENVS),
            "log_interval": None if self.log_interval is None else at_least(self.log_interval, "--log-interval"),
            "tensorboard_log": None if self.tensorboard_log is None else Path(self.tensorboard_log),
        }
        for name, value in checked.items():
            object.__setattr__(self, name, value)
        if not isinstance(self.algo, str) or not isinstance(self.env, str):
            raise ConfigError(f"algo and env are names, got {self.algo!r} and {self.env!r}")

    def but(self, **changes: Any) -> RunConfig:
        """A copy with ``changes`` (checked like the original)."""
        return replace(self, **changes)

    @classmethod
    def keywords(cls) -> list[str]:
        """The keyword names, as the Python API takes them."""
        return [f.name for f in fields(cls)]
