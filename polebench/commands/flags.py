"""The command line's shared parts: a parser whose mistakes are one line, and ``type=`` functions that
validate each flag with the same checks (and messages) as :class:`polebench.config.run_config.RunConfig`.

Nothing past this module sees an ``argparse.Namespace``: the scripts turn it into a typed config here.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from polebench.config import run_config as checks
from polebench.errors import ConfigError
from polebench.limits import MAX_EPISODES


class Parser(argparse.ArgumentParser):
    """``argparse`` with every mistake reported as one line (exit 2 through ``run_cli``), not usage + error."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)

    def error(self, message: str) -> NoReturn:
        # "argument -n/--n-timesteps: -n/--n-timesteps must be ..." says the flag twice.
        prefix, _, rest = message.partition(": ")
        flag = prefix.removeprefix("argument ").split("/")[-1]
        text = rest if prefix.startswith("argument ") and flag in rest else message
        raise ConfigError(f"{text} (see --help)" if "invalid choice" in text or "required" in text else text)


def typed(check: Callable[[str], Any]) -> Callable[[str], Any]:
    """A ``type=`` function from a check that raises :class:`~polebench.config.run_config.ConfigError`."""

    def convert(text: str) -> Any:
        try:
            return check(text)
        except ConfigError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    convert.__name__ = getattr(check, "__name__", "value")
    return convert


def steps(flag: str, allow_zero: bool = False) -> Callable[[str], int]:
    return typed(lambda text: checks.env_steps(text, flag, allow_zero))


def at_least(flag: str, minimum: int = 1, maximum: int | None = None) -> Callable[[str], int]:
    return typed(lambda text: checks.at_least(text, flag, minimum, maximum))


def seed(flag: str = "--seed") -> Callable[[str], int]:
    return typed(lambda text: checks.seed(text, flag))


DEVICE = typed(checks.device)


def _perturbation(text: str) -> Any:
    from polebench.envs.perturbations import parse_perturb  # NumPy only when the flag is used

    return parse_perturb(text)


PERTURBATION = typed(_perturbation)


def _shaping(text: str) -> Any:
    if text.lstrip().startswith("{"):  # a form with its coefficients, as YAML: {form: position, position_coef: 1.5}
        from polebench.config.yamlfile import parse_yaml

        return checks.shaping(parse_yaml(text, "--shaped-reward"))
    return checks.shaping(text)


SHAPING = typed(_shaping)
TRAIN_PERTURB = typed(checks.train_perturb)


def command_line(argv: Sequence[str] | None) -> str:
    """The command that started this process, as a shell would run it again (for ``command.txt``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    return shlex.join([Path(sys.executable).name, sys.argv[0], *args])


def add_run_choice_flags(p: argparse.ArgumentParser) -> None:
    """Which run and which of its models, as rl-baselines3-zoo's ``enjoy.py`` asks."""
    p.add_argument(
        "--exp-id",
        type=at_least("--exp-id", 0),
        default=0,
        help="run number N of <env>_<N>; 0 (default): the latest",
    )
    model = p.add_mutually_exclusive_group()
    model.add_argument("--load-best", action="store_true", help="load best_model.zip instead of the final model")
    model.add_argument(
        "--load-checkpoint",
        type=steps("--load-checkpoint"),
        metavar="STEPS",
        help="load the checkpoint saved at STEPS env steps (train.py --save-freq)",
    )


def add_protocol_flags(p: argparse.ArgumentParser, budget_help: str) -> None:
    """The evaluation protocol's flags, the same for ``train.py`` and ``benchmark.py``."""
    p.add_argument("-n", "--n-timesteps", type=steps("-n/--n-timesteps"), help=budget_help)
    p.add_argument(
        "--eval-freq",
        type=steps("--eval-freq", allow_zero=True),
        default=checks.EVAL_FREQ,
        help=f"evaluate every this many env steps, all envs counted; 0: only at the end (default: {checks.EVAL_FREQ})",
    )
    p.add_argument(
        "--eval-episodes",
        type=at_least("--eval-episodes", maximum=MAX_EPISODES),
        help="episodes per evaluation (default: 10, or the env's entry in polebench/envs/thresholds.py)",
    )
    p.add_argument(
        "--final-eval-episodes",
        type=at_least("--final-eval-episodes", maximum=MAX_EPISODES),
        help="episodes of the final evaluation (default: 100, Gymnasium's own criterion)",
    )
    p.add_argument("--stop-on-solve", action="store_true", help="stop at the first evaluation that solves the env")
    p.add_argument(
        "--stop-on-balance",
        action="store_true",
        help="stop at the first evaluation that solves the env and meets its balance target (envs/families.py)",
    )
