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


def add_run_flags(
    p: argparse.ArgumentParser, protocol: bool | None = None, defaults: bool = True, helps: dict[str, str] | None = None
) -> None:
    """:class:`polebench.config.run_config.RunConfig`'s flags, made from its fields' :class:`Flag`s: all of them,
    or only the evaluation protocol's (``protocol=True``, what ``benchmark.py`` passes to every job) or all
    but those (``False``). Without ``defaults`` a flag not given is ``None`` (a grid file's value stands);
    ``helps`` replaces the help of the fields it names.

    Each flag's value is checked as it is parsed, by the field's own check, so the command line and Python
    callers get the same one-line message; lists of ``key=value`` are checked once whole, by the config.
    """
    from dataclasses import MISSING

    for name, spec, default in checks.flagged():
        if protocol is not None and spec.protocol != protocol:
            continue
        text = (helps or {}).get(name, spec.help)
        kwargs: dict[str, Any] = {"dest": name}
        if isinstance(default, bool):
            kwargs["action"] = "store_true"
        else:
            kwargs.update(metavar=spec.metavar, nargs=spec.nargs, const=spec.const)
            if spec.check is not None and spec.nargs != "+":
                kwargs["type"] = typed(_checked_as(spec))
            if default is MISSING:
                kwargs["required"] = True
            elif defaults and default not in (None, {}):
                kwargs["default"] = default
                text += f" (default: {default})"
        p.add_argument(*spec.names, help=text, **{k: v for k, v in kwargs.items() if v is not None})


def _checked_as(spec: checks.Flag) -> Callable[[str], Any]:
    """The flag's text through its field's check, named as messages name the flag."""
    check = spec.check
    assert check is not None

    def convert(text: str) -> Any:
        return check(text, spec.shown)

    return convert


# Where docs/training.md holds the generated flag table; tests/test_api.py checks it is current.
TABLE_START = "<!-- flag-table: made by `python -m polebench.commands.flags`; do not edit by hand -->"
TABLE_END = "<!-- /flag-table -->"


def flag_table() -> str:
    """``train.py``'s flags as the Markdown table of ``docs/training.md``, made from
    :class:`~polebench.config.run_config.RunConfig`'s :class:`~polebench.config.run_config.Flag`s."""
    from dataclasses import MISSING

    rows = ["| flag | default | meaning |", "|---|---|---|"]
    for _, spec, default in checks.flagged():
        aliases = [name for name in spec.names[1:] if name not in spec.shown.split("/")]
        shown = spec.shown + (f" {spec.metavar}" if spec.metavar else "") + (" ..." if spec.nargs == "+" else "")
        cell = f"`{shown}`" + (f" (`{'`, `'.join(aliases)}`)" if aliases else "")
        rows.append(f"| {cell} | {_default_cell(default, MISSING)} | {spec.doc or spec.help} |")
    return "\n".join(rows)


def _default_cell(default: Any, missing: Any) -> str:
    if default is missing:
        return "required"
    if default is None or default == {} or default is False:
        return ""  # off, or the YAML's or the env's own: the meaning says which
    return f"`{default}`"


def write_flag_table(markdown: Path) -> bool:
    """Put :func:`flag_table` between the markers of ``markdown``; return whether the file changed."""
    from polebench.atomic import write_text

    text = markdown.read_text()
    before, _, rest = text.partition(TABLE_START)
    _, _, after = rest.partition(TABLE_END)
    updated = f"{before}{TABLE_START}\n{flag_table()}\n{TABLE_END}{after}"
    if updated != text:
        write_text(markdown, updated)
    return updated != text


if __name__ == "__main__":
    docs = Path(__file__).resolve().parents[2] / "docs" / "training.md"
    print(f"{docs}: " + ("flag table updated" if write_flag_table(docs) else "flag table already current"))
