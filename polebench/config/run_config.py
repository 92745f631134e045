"""One training run, typed: what ``train.py``, tuning trials, benchmark jobs and the Python API all build.

The checks here are the only checks of a run's settings: the command line's ``type=`` functions
(:mod:`polebench.commands.flags`) call the same functions, so a bad value gets the same one-line message from the
command line (exit 2) and from Python (a :class:`ConfigError`, which is a ``ValueError``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
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


def shaped_reward(value: Any, name: str = "--shaped-reward") -> str | dict[str, Any] | None:
    """A shaping request checked and normalised (see :func:`polebench.envs.wrapping.shaping_form`); as a
    flag gives it, a form with its coefficients is YAML text (``{form: position, position_coef: 1.5}``)."""
    from polebench.envs.wrapping import shaping_form

    if isinstance(value, str) and value.lstrip().startswith("{"):
        from polebench.config.yamlfile import parse_yaml

        value = parse_yaml(value, name)
    return shaping_form(dict(value) if isinstance(value, Mapping) else value)


def train_perturb(value: Any) -> dict[str, int] | None:
    """Training perturbations checked and normalised (see :func:`polebench.envs.perturbations.parse_train_perturb`)."""
    from polebench.envs.perturbations import parse_train_perturb

    return parse_train_perturb(dict(value) if isinstance(value, Mapping) else value) or None


def _path(value: Any, name: str) -> Path:
    check_path(value, name)
    return Path(value)


@dataclass(frozen=True)
class Flag:
    """How one :class:`RunConfig` field is given on the command line, checked, and explained: ``train.py``'s
    parser, the protocol flags ``benchmark.py`` shares, the checks of the Python API and the flag table of
    ``docs/training.md`` are all made from these, so a field is declared once.

    :param names: the long name first (``--log-folder``), then its aliases (``-f``, rl-baselines3-zoo's)
    :param help: the line ``--help`` shows
    :param doc: the table cell of ``docs/training.md`` (default: ``help``)
    :param metavar: what the flag's value is called in ``--help``
    :param check: ``(value, shown name) -> value``, raising :class:`ConfigError`: the one check of the field,
        for a flag's text and a Python caller's value alike
    :param nargs: ``"+"`` for ``key=value`` lists, ``"?"`` for a flag whose value may be left out (``const``)
    :param protocol: ``benchmark.py`` takes it too, for every job (the evaluation protocol)
    """

    names: tuple[str, ...]
    help: str
    doc: str = ""
    metavar: str | None = None
    check: Callable[[Any, str], Any] | None = None
    nargs: str | None = None
    const: Any = None
    protocol: bool = False

    @property
    def shown(self) -> str:
        """The flag as messages name it: its one-letter alias and long name (``-n/--n-timesteps``), or the
        long name alone."""
        short = [name for name in self.names[1:] if len(name) == 2]
        return f"{short[0]}/{self.names[0]}" if short else self.names[0]


def flag(*names: str, help: str, **details: Any) -> dict[str, Flag]:
    """A field's metadata: its :class:`Flag`."""
    return {"flag": Flag(names, help, **details)}


def flag_of(name: str) -> Flag:
    """The :class:`Flag` of the field ``name``."""
    return next(f.metadata["flag"] for f in fields(RunConfig) if f.name == name)


def flagged() -> list[tuple[str, Flag, Any]]:
    """Every field given by a flag: its name, its :class:`Flag` and its default (``MISSING``: required)."""
    from dataclasses import MISSING

    found = []
    for f in fields(RunConfig):
        if "flag" in f.metadata:
            default = f.default_factory() if f.default_factory is not MISSING else f.default
            found.append((f.name, f.metadata["flag"], default))
    return found


@dataclass(frozen=True)
class RunConfig:
    """Everything one training run needs. Built by ``train.py`` from its flags, or directly::

        RunConfig(algo="ppo", env="CartPole-v1", seed=0, stop_on_solve=True)

    Each field is one ``train.py`` flag (its long name with dashes) and one keyword of
    :func:`polebench.train`; what it means is its :class:`Flag` (``docs/training.md`` lists them all).
    ``command`` is the command line (or call) that asked for the run, kept in ``command.txt``.
    """

    algo: str = field(
        metadata=flag(
            "--algo", help="a registered algorithm, or an agent of your own as package.module:Class", metavar="ALGO",
            doc="registered algorithm name, or an agent of your own as `package.module:Class` "
            "([examples/README.md](../examples/README.md))",
        )
    )  # fmt: skip
    env: str = field(default="CartPole-v1", metadata=flag("--env", metavar="ENV", help="Gymnasium env id"))
    seed: int = field(
        default=0,
        metadata=flag(
            "--seed", metavar="SEED", help="seed of training, envs and evaluation", check=lambda v, name: seed(v, name),
            doc="seed of the agent, the training envs and the (separately seeded) evaluation envs; seeds from "
            "10,000 up are *test seeds*, which `--optimize` refuses (see [Tuning seeds and test seeds]"
            "(benchmarks.md#tuning-seeds-and-test-seeds))",
        ),
    )  # fmt: skip
    n_timesteps: int | None = field(
        default=None,
        metadata=flag(
            "--n-timesteps", "-n", help="training budget in env steps (default: the YAML's)", protocol=True,
            metavar="STEPS",
            check=lambda v, name: env_steps(v, name),
        ),
    )  # fmt: skip
    log_folder: Path = field(
        default=Path("logs"),
        metadata=flag("--log-folder", "-f", metavar="FOLDER", help="where run folders go", check=_path),
    )
    hyperparams: Mapping[str, Any] = field(
        default_factory=dict,
        metadata=flag(
            "--hyperparams", "-params", nargs="+", metavar="KEY=VALUE",
            help="override hyperparameters (YAML values; key:value too)", check=lambda v, name: overrides(v, name),
            doc="override hyperparameters; values are YAML (`policy_kwargs={net_arch: [64]}`); the zoo's `k:v` "
            "works too",
        ),
    )  # fmt: skip
    conf_file: Path | None = field(
        default=None,
        metadata=flag(
            "--conf-file", "-conf", metavar="FILE", check=lambda v, name: find_yaml(_path(v, name), name),
            help="YAML file in the format of polebench/hyperparams/<algo>.yml, or a shipped recipe by name "
            "(ppo-balance)",
            doc="a YAML file in the format of `polebench/hyperparams/<algo>.yml`, layered over the shipped one, "
            "or a shipped recipe by name (`ppo-balance`)",
        ),
    )  # fmt: skip
    trained_agent: Path | None = field(
        default=None,
        metadata=flag(
            "--trained-agent", "-i", metavar="ZIP", check=_path,
            help="continue training this model in a new run folder (the step count continues)",
        ),
    )  # fmt: skip
    eval_freq: int = field(
        default=EVAL_FREQ,
        metadata=flag(
            "--eval-freq", metavar="STEPS", protocol=True, check=lambda v, name: env_steps(v, name, allow_zero=True),
            help="evaluate every this many env steps, all envs counted; 0: only at the end",
        ),
    )  # fmt: skip
    eval_episodes: int | None = field(
        default=None,
        metadata=flag(
            "--eval-episodes", metavar="K", protocol=True,
            check=lambda v, name: at_least(v, name, maximum=MAX_EPISODES),
            help="episodes per evaluation (default: 10, or the env's entry in polebench/envs/thresholds.py)",
        ),
    )  # fmt: skip
    stop_on_solve: bool = field(
        default=False,
        metadata=flag("--stop-on-solve", protocol=True, help="stop at the first evaluation that solves the env"),
    )
    stop_on_balance: bool = field(
        default=False,
        metadata=flag(
            "--stop-on-balance", protocol=True,
            help="stop at the first evaluation that solves the env and meets its balance target (envs/families.py)",
            doc="stop at the first evaluation that is solved *and* balanced (see [Balancing like the controller]"
            "(balance.md#balancing-like-the-controller))",
        ),
    )  # fmt: skip
    best_by: str | None = field(
        default=None,
        metadata=flag(
            "--best-by", metavar="OBJECTIVE",
            help="which evaluation best_model.zip keeps: return (SB3's rule), balance (the solved evaluation whose "
            "angle and drift are nearest the reference controller's; the default where there is one) or a metric",
            doc="which evaluation `best_model.zip` keeps: `return` (SB3's rule: the first evaluation with the best "
            "mean return), `balance` (the solved evaluation whose RMS pole angle and mean distance from the "
            "centre, each over the reference controller's, are smallest at their larger; the default on "
            "CartPole) or any behaviour metric; `summary.json` records the evaluation kept and its score "
            "(`best_by`, `best_model_steps`, `best_model_score`), and `enjoy.py --load-best` says it",
        ),
    )  # fmt: skip
    final_eval_episodes: int | None = field(
        default=None,
        metadata=flag(
            "--final-eval-episodes", metavar="K", protocol=True,
            check=lambda v, name: at_least(v, name, maximum=MAX_EPISODES),
            help="episodes of the final evaluation (default: 100, Gymnasium's own criterion)",
        ),
    )  # fmt: skip
    shaped_reward: bool | str | Mapping[str, Any] | None = field(
        default=None,
        metadata=flag(
            "--shaped-reward", nargs="?", const=True, metavar="FORM", check=shaped_reward,
            help="learn from a shaped reward of a form (user, position, quadratic, dm_control; no FORM: the "
            "default form, penalties on pole angle and cart velocity); every reported return stays the true one",
            doc="learn from a shaped reward: `user` (the default), `position`, `quadratic` or `dm_control` (see "
            "below), or a form with its coefficients as YAML (`\"{form: position, position_coef: 1.5}\"`); "
            "reported returns stay true. From Python: `True`, a form's name or a mapping",
        ),
    )  # fmt: skip
    train_perturb: str | Mapping[str, int] | None = field(
        default=None,
        metadata=flag(
            "--train-perturb", metavar="FAMILY=LEVEL[,...]", check=lambda v, _: train_perturb(v),
            help="train under perturbations (push, model_error, sensor_noise, actuator_fault, ...), each episode at "
            "a level drawn from 0 to LEVEL (a level 0-5, or its value: push=0.75); evaluation stays unperturbed",
            doc="train under perturbations (`push=5`, or by value `push=1.5`): each training episode draws each "
            "family's level from 0 to LEVEL; for a wrong model (`model_error`, `pole_length`, `pole_mass`, "
            "`cart_mass`) each constant it scales is drawn anew every episode, anywhere from 1 to the level's "
            "factor (domain randomisation); evaluation stays unperturbed",
        ),
    )  # fmt: skip
    save_freq: int = field(
        default=0,
        metadata=flag(
            "--save-freq", metavar="STEPS", check=lambda v, name: env_steps(v, name, allow_zero=True),
            help="keep a checkpoint every this many env steps in checkpoints/ (0: none)",
            doc="keep a checkpoint every this many env steps in `checkpoints/` (SB3's `CheckpointCallback`; 0: none)",
        ),
    )  # fmt: skip
    save_replay_buffer: bool = field(
        default=False,
        metadata=flag(
            "--save-replay-buffer",
            help="off-policy agents: save the replay buffer with the model (and checkpoints); -i reloads it",
        ),
    )
    progress: bool = field(default=False, metadata=flag("--progress", "-P", help="show a progress bar"))
    device: str = field(
        default="cpu",
        metadata=flag(
            "--device",
            metavar="DEVICE",
            help="PyTorch device: cpu, auto, cuda[:N] or mps",
            check=lambda v, _: device(v),
        ),
    )
    num_threads: int = field(
        default=1,
        metadata=flag(
            "--num-threads", metavar="N", check=lambda v, name: at_least(v, name, maximum=max_threads()),
            help="PyTorch CPU threads (at most the machine's cores); small networks run fastest on 1",
        ),
    )  # fmt: skip
    verbose: int = field(
        default=1,
        metadata=flag(
            "--verbose", "-v", metavar="LEVEL", check=lambda v, name: at_least(v, name, minimum=0),
            help="0: quiet, 1: evaluations, 2: SB3's log tables too",
        ),
    )  # fmt: skip
    env_kwargs: Mapping[str, Any] = field(
        default_factory=dict,
        metadata=flag(
            "--env-kwargs", nargs="+", metavar="KEY=VALUE", check=lambda v, name: overrides(v, name),
            help="keyword arguments for the env (gym.make; on CartPole its physical constants too)",
            doc="keyword arguments for the env's constructor (`gym.make`), recorded and used by replay and export "
            "too; on CartPole also its physical constants, `length` (half the pole, m), `masspole`, `masscart` "
            "(kg), `force_mag` (N) and `gravity`, set on the simulator once it is made: a real robot's pole "
            "length is `--env-kwargs length=1.0`, and a controller built from the env (the LQR) is built for it",
        ),
    )  # fmt: skip
    n_eval_envs: int | None = field(
        default=None,
        metadata=flag(
            "--n-eval-envs", metavar="N", check=lambda v, name: at_least(v, name, maximum=MAX_ENVS),
            help="evaluation envs side by side (default: one per evaluation episode)",
        ),
    )  # fmt: skip
    log_interval: int | None = field(
        default=None,
        metadata=flag(
            "--log-interval", metavar="N", check=lambda v, name: at_least(v, name),
            help="SB3's log_interval for learn (default: SB3's)",
        ),
    )  # fmt: skip
    tensorboard_log: Path | None = field(
        default=None,
        metadata=flag(
            "--tensorboard-log", "-tb", metavar="FOLDER", check=_path,
            help="TensorBoard events in FOLDER/<env>/<algo>_<N> (default: the run folder)",
            doc="TensorBoard events in `FOLDER/<env>/<algo>_<N>/`, as rl-baselines3-zoo (default: the run folder)",
        ),
    )  # fmt: skip
    command: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.algo, str) or not isinstance(self.env, str):
            raise ConfigError(f"algo and env are names, got {self.algo!r} and {self.env!r}")
        for name, spec, default in flagged():
            value = getattr(self, name)
            if isinstance(default, bool):
                if not isinstance(value, bool):
                    raise ConfigError(f"{name} must be True or False, got {value!r}")
            elif value is not None and spec.check is not None:
                object.__setattr__(self, name, spec.check(value, spec.shown))

    def but(self, **changes: Any) -> RunConfig:
        """A copy with ``changes`` (checked like the original)."""
        return replace(self, **changes)

    @classmethod
    def keywords(cls) -> list[str]:
        """The keyword names, as the Python API takes them."""
        return [f.name for f in fields(cls)]
