"""Train any registered agent: ``python train.py --algo ppo --env CartPole-v1``.

Flags follow rl-baselines3-zoo. Each run gets its own folder ``<log-folder>/<algo>/<env>_<N>/`` with
the model, ``config.yml``, monitor files, evaluations, TensorBoard events and ``summary.json``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

# The scripts run from any working directory: the checkout's packages come first on the path.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from agents.registry import ALGOS
from polebench.errors import run_cli


def build_parser() -> argparse.ArgumentParser:
    """The command line, with rl-baselines3-zoo's flag names."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--algo", required=True, metavar="ALGO", help=f"one of: {', '.join(ALGOS)}")
    p.add_argument("--env", default="CartPole-v1", help="Gymnasium env id (default: %(default)s)")
    p.add_argument("-n", "--n-timesteps", type=int, help="training budget in env steps (overrides the YAML)")
    p.add_argument("--seed", type=int, default=0, help="seed of training, envs and evaluation (default: 0)")
    p.add_argument("-f", "--log-folder", default="logs", help="where run folders go (default: %(default)s)")
    p.add_argument("--hyperparams", nargs="+", metavar="KEY=VALUE", help="override hyperparameters (YAML values)")
    p.add_argument("--conf-file", metavar="FILE", help="YAML file in the format of hyperparams/<algo>.yml")
    p.add_argument("-i", "--trained-agent", metavar="ZIP", help="continue training this model (steps continue)")
    p.add_argument(
        "--eval-freq", type=int, default=2500, help="evaluate every this many env steps, all envs counted; 0: off"
    )
    p.add_argument(
        "--eval-episodes",
        type=int,
        help="episodes per evaluation (default: 10, or the env's entry in envs/thresholds.py)",
    )
    p.add_argument("--stop-on-solve", action="store_true", help="stop at the first evaluation that solves the env")
    p.add_argument(
        "--shaped-reward",
        action="store_true",
        help="learn from a reward penalising pole angle and cart velocity; every reported return stays the true one",
    )
    p.add_argument(
        "--save-freq", type=int, default=0, help="keep a checkpoint every this many env steps (default 0: none)"
    )
    p.add_argument(
        "--save-replay-buffer",
        action="store_true",
        help="off-policy agents: save the replay buffer with the model (and checkpoints); -i reloads it",
    )
    p.add_argument("--progress", action="store_true", help="show a progress bar")
    p.add_argument("--device", default="cpu", help="PyTorch device (default: cpu)")
    p.add_argument(
        "--num-threads", type=int, default=1, help="PyTorch CPU threads; small networks run fastest on 1 (default)"
    )
    p.add_argument("-v", "--verbose", type=int, default=1, help="0: quiet, 1: evaluations, 2: SB3's log tables")
    _add_tuning_flags(p)
    return p


def _add_tuning_flags(p: argparse.ArgumentParser) -> None:
    """rl-baselines3-zoo's tuning flags; see polebench/tuning.py."""
    g = p.add_argument_group("hyperparameter tuning (Optuna)")
    g.add_argument(
        "--optimize", "--optimize-hyperparameters", action="store_true", help="tune instead of training once"
    )
    g.add_argument("--n-trials", type=int, default=10, help="trials this process runs (default: 10)")
    g.add_argument("--n-jobs", type=int, default=1, help="trials at a time in this process (default: 1)")
    g.add_argument("--sampler", choices=("tpe", "random"), default="tpe", help="Optuna sampler (default: tpe)")
    g.add_argument("--pruner", choices=("median", "none"), default="median", help="Optuna pruner (default: median)")
    g.add_argument(
        "--n-startup-trials", type=int, default=5, help="trials before the sampler and pruner act (default 5)"
    )
    g.add_argument(
        "--n-evaluations", type=int, default=4, help="evaluations per trial reported to the pruner (default 4)"
    )
    g.add_argument(
        "--storage", metavar="URL", help="study storage, any SQLAlchemy URL (default: sqlite in the log folder)"
    )
    g.add_argument("--study-name", help="study to create or join (default: <algo>-<env>)")


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the flags, train, and print where the run went."""
    started_at = _process_start()
    args = build_parser().parse_args(argv)
    # Ctrl-C and a SIGTERM (a scheduler stopping the job) both save the work. SIGINT is set explicitly
    # because a process started in the background by a shell inherits it ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    if args.optimize:
        from polebench.tuning import optimize

        return optimize(args)
    from polebench.training import train

    summary = train(args, started_at)
    state = f"solved at {summary['steps_to_solve']} steps" if summary["solved"] else "not solved"
    print(
        f"{args.algo} on {args.env}: {state}, {summary['timesteps']} steps in {summary['wall_time_s']:.1f}s, "
        f"final mean return {summary['final_mean_return']:.2f}; run folder {summary['run_dir']}"
    )
    return 0


def _process_start() -> float:
    """Wall-clock time this process started, so reported times include interpreter and imports."""
    try:
        import psutil

        return float(psutil.Process().create_time())
    except Exception:  # psutil unavailable in a stripped environment: count from here instead
        return time.time()


if __name__ == "__main__":
    sys.exit(run_cli(main))
