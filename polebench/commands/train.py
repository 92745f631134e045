"""Train any registered agent: ``python train.py --algo ppo --env CartPole-v1``.

Flags follow rl-baselines3-zoo. Each run gets its own folder ``<log-folder>/<algo>/<env>_<N>/`` with
the model, ``config.yml``, ``command.txt``, monitor files, evaluations, TensorBoard events and
``summary.json``. Ctrl-C or SIGTERM stops training, saves it, and exits with 130 or 143.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from polebench.agents.registry import ALGOS
from polebench.commands import flags as cli
from polebench.config.run_config import RunConfig, flagged
from polebench.errors import ConfigError


def build_parser() -> argparse.ArgumentParser:
    """The command line, with rl-baselines3-zoo's flag names: one flag per field of
    :class:`polebench.config.run_config.RunConfig`, made from the field, then the tuning flags."""
    p = cli.Parser(description=__doc__)
    cli.add_run_flags(p, helps={"algo": f"one of: {', '.join(ALGOS)}; or an agent of your own, package.module:Class"})
    _add_tuning_flags(p)
    return p


def _add_tuning_flags(p: argparse.ArgumentParser) -> None:
    """rl-baselines3-zoo's tuning flags; see polebench/tune/tuning.py."""
    g = p.add_argument_group("hyperparameter tuning (Optuna)")
    g.add_argument(
        "--optimize", "-optimize", "--optimize-hyperparameters", action="store_true", help="tune instead of training"
    )
    g.add_argument("--n-trials", type=cli.at_least("--n-trials"), default=10, help="trials this process runs (10)")
    g.add_argument("--n-jobs", type=cli.at_least("--n-jobs"), default=1, help="trials at a time in this process (1)")
    g.add_argument("--sampler", choices=("tpe", "random"), default="tpe", help="Optuna sampler (default: tpe)")
    g.add_argument("--pruner", choices=("median", "none"), default="median", help="Optuna pruner (default: median)")
    g.add_argument(
        "--n-startup-trials",
        type=cli.at_least("--n-startup-trials", 0),
        default=5,
        help="trials before the sampler and pruner act (default 5)",
    )
    g.add_argument(
        "--n-evaluations",
        type=cli.at_least("--n-evaluations"),
        default=4,
        help="evaluations per trial reported to the pruner (default 4)",
    )
    g.add_argument(
        "--sampler-seed",
        type=cli.seed("--sampler-seed"),
        help="seed of this worker's sampler (default: drawn from the OS, so workers never repeat each other)",
    )
    g.add_argument(
        "--storage", metavar="URL", help="study storage, any SQLAlchemy URL (default: sqlite in the log folder)"
    )
    g.add_argument("--study-name", help="study to create or join (default: <algo>-<env>[-<objective>])")
    g.add_argument(
        "--objective",
        default="return",
        metavar="METRIC",
        help="what to optimise: return (default, maximised) or a behaviour metric of the env, such as "
        "rms_pole_angle_deg (minimised; trials that do not solve the env fail)",
    )


def run_config(args: argparse.Namespace, argv: Sequence[str] | None) -> RunConfig:
    """The typed configuration of the run the flags ask for (a flag not given: the field's default)."""
    given = {name: getattr(args, name) for name, _, _ in flagged() if getattr(args, name) is not None}
    return RunConfig(**given, command=cli.command_line(argv))


def argv_of(config: RunConfig) -> list[str]:
    """The flags that make this parser build ``config`` again (all but its ``command``): the one way a
    benchmark job's configuration, whose digest decides its reuse, becomes the command it runs.

    Every flag's long name is its field's name with dashes; a field at its default is left out.

    Example:
        >>> argv_of(RunConfig(algo="ppo", seed=3, hyperparams={"gamma": 0.9}, stop_on_solve=True))
        ['--algo', 'ppo', '--seed', '3', '--hyperparams', 'gamma=0.9', '--stop-on-solve']
    """
    defaults = RunConfig(algo=config.algo)
    argv = ["--algo", config.algo]
    for name, spec, _ in flagged():
        value = getattr(config, name)
        if name == "algo" or value == getattr(defaults, name):
            continue
        flag = spec.names[0]
        if isinstance(value, bool):
            argv.append(flag)  # every boolean flag is a switch that is off by default
        elif spec.nargs == "+":  # key=value lists
            argv += [flag, *(f"{key}={_flow(item)}" for key, item in value.items())]
        elif name in ("shaped_reward", "train_perturb") and isinstance(value, Mapping):
            argv += [flag, _flow(dict(value)) if name == "shaped_reward" else _levels(value)]
        else:
            argv += [flag, str(value)]
    return argv


def _flow(value: Any) -> str:
    """A value as one line of YAML, as the flags read it back.

    Example:
        >>> _flow({"net_arch": [64, 64]}), _flow(0.001), _flow("lin_1e-3")
        ('{net_arch: [64, 64]}', '0.001', 'lin_1e-3')
    """
    return yaml.safe_dump([value], default_flow_style=True, width=10**6).strip()[1:-1]


def _levels(perturbations: Mapping[str, int]) -> str:
    return ",".join(f"{name}={level}" for name, level in perturbations.items())


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the flags, train, and print where the run went (the last line says if it was interrupted)."""
    from polebench import clock

    started_at = clock.started()
    from polebench import interrupts
    from polebench.run import folder as runs

    interrupts.install()
    interrupts.die_with_parent()
    args = build_parser().parse_args(argv)
    config = run_config(args, argv)
    if args.objective != "return" and not args.optimize:
        raise ConfigError(f"--objective {args.objective} chooses what --optimize optimises; add --optimize")
    if args.optimize:
        from polebench.tune.tuning import TuneConfig, optimize

        return optimize(config, TuneConfig.from_args(args))
    from polebench.run.training import train

    summary = train(config, started_at)
    state = f"solved at {summary.steps_to_solve} steps" if summary.solved else "not solved"
    if summary.final_balanced is not None:  # "balanced" is said of the end of the run, never of a moment in it
        first = f" (first at {summary.steps_to_balance} steps)" if summary.balanced else ""
        state += f", balanced at the end{first}" if summary.final_balanced else f", not balanced at the end{first}"
    final = "no finished evaluation" if summary.final_mean_return is None else f"{summary.final_mean_return:.2f}"
    if summary.final_success_rate is not None:
        final += f" ({summary.final_success_rate:.0%} of {summary.final_eval_episodes} episodes reached the threshold)"
    line = (
        f"{summary.algo} on {summary.env}: {state}, {summary.timesteps} steps in {summary.wall_time_s:.1f}s, "
        f"final mean return {final}; run folder {summary.run_dir}"
    )
    if summary.interrupted:
        run_dir = Path(summary.run_dir)
        model = runs.model_path(run_dir, summary.env)
        buffer = " with its replay buffer" if (run_dir / runs.REPLAY_BUFFER_FILE).is_file() else ""
        signal_name = interrupts.signal_name() or "a signal"
        print(f"{line}\ninterrupted by {signal_name}: saved; continue{buffer} with -i {model}")
        return interrupts.exit_code() or 130
    print(line)
    return 0
