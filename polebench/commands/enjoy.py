"""Replay a trained agent: ``python enjoy.py --algo ppo --env CartPole-v1``.

Actions are deterministic (no exploration) unless ``--stochastic``. ``--video out.mp4`` records
headless, through ``render_mode="rgb_array"``; no display is needed. ``--perturb push=2`` replays under
a perturbation, ``--plot out.png`` draws the first episode. Each episode's return, length and behaviour
metrics are printed, then ``quality:`` with their means, and last
``mean return: <mean> +/- <std> over <n> episodes``.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from polebench.agents.registry import ALGOS
from polebench.commands import flags as cli
from polebench.errors import ConfigError


def build_parser() -> argparse.ArgumentParser:
    """The command line, with rl-baselines3-zoo's flag names."""
    p = cli.Parser(description=__doc__)
    p.add_argument("--algo", metavar="ALGO", help=f"one of: {', '.join(ALGOS)} (not with --policy)")
    p.add_argument("--env", help="Gymnasium env id (default: CartPole-v1, or the exported policy's)")
    p.add_argument("--policy", metavar="FILE", help="replay a file written by export.py, without Stable-Baselines3")
    p.add_argument("-f", "--log-folder", default="logs", help="where the runs are (default: %(default)s)")
    cli.add_run_choice_flags(p)
    p.add_argument("-n", "--n-episodes", type=cli.at_least("-n/--n-episodes"), default=5, help="episodes (5)")
    p.add_argument("--seed", type=cli.seed(), default=0, help="seed of the replay env (default: 0)")
    p.add_argument("--no-render", action="store_true", help="do not open a window")
    p.add_argument("--video", metavar="PATH", help="write an MP4 of the episodes here (headless)")
    p.add_argument("--stochastic", action="store_true", help="sample actions instead of taking the best")
    p.add_argument(
        "--perturb",
        type=cli.PERTURBATION,
        metavar="FAMILY=LEVEL",
        help="replay under a perturbation (push, model_error, sensor_noise, actuator_fault), level 0 (none) to 5 "
        "or the level's value as the plots show it, with a decimal point (push=0.75 is push=3)",
    )
    p.add_argument("--plot", metavar="PATH.png", help="draw the first episode's state and actions against time")
    p.add_argument("--device", type=cli.DEVICE, default="cpu", help="PyTorch device (default: cpu)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Replay the episodes and print the mean true return last."""
    from polebench import interrupts

    # SIGTERM, like Ctrl-C, unwinds: a file being written (through a temporary beside it) is removed.
    interrupts.install()
    args = build_parser().parse_args(argv)
    if args.policy is not None:
        from polebench.replay.exported import replay_exported

        if args.algo is not None:
            raise ConfigError("--policy replays an exported file: drop --algo")
        played = replay_exported(Path(args.policy), args.env, args.n_episodes, args.seed, args.perturb)
    else:
        played = _replay_run(args)
    std = statistics.pstdev(played.returns)
    print(f"mean return: {statistics.fmean(played.returns):.2f} +/- {std:.2f} over {len(played.returns)} episodes")
    return 0


def _replay_run(args: argparse.Namespace) -> Any:
    from polebench.replay.play import ReplayConfig, enjoy

    if args.algo is None:
        raise ConfigError(f"give --algo (one of: {', '.join(ALGOS)}) or --policy FILE")
    config = ReplayConfig(
        algo=args.algo,
        env=args.env or "CartPole-v1",
        log_folder=Path(args.log_folder),
        exp_id=args.exp_id or None,  # 0 is the latest, as in rl-baselines3-zoo
        load_best=args.load_best,
        load_checkpoint=args.load_checkpoint,
        n_episodes=args.n_episodes,
        seed=args.seed,
        no_render=args.no_render,
        video=None if args.video is None else Path(args.video),
        stochastic=args.stochastic,
        device=args.device,
        perturb=args.perturb,
        plot=None if args.plot is None else Path(args.plot),
    )
    return enjoy(config)
