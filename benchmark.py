"""Compare agents head to head: ``python benchmark.py --algos ppo dqn --envs CartPole-v1 --seeds 5``.

Every job (algorithm x env x seed, with and/or without the shaped reward) is one real ``train.py`` run
in its own process and folder, under the same evaluation protocol. Jobs run in parallel; a rerun of the
same command skips the jobs that finished. The results land in ``<log-folder>/results.csv`` (one row
per job) and ``<log-folder>/report.md`` with its plots.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from agents.registry import ALGOS
from polebench.errors import UserError, run_cli


def build_parser() -> argparse.ArgumentParser:
    """The command line; the protocol flags are ``train.py``'s, passed through to every job."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--algos", nargs="+", metavar="ALGO", help=f"algorithms to compare, from: {', '.join(ALGOS)}")
    p.add_argument("--envs", nargs="+", default=["CartPole-v1"], metavar="ENV", help="env ids (default: CartPole-v1)")
    seeds = p.add_mutually_exclusive_group()
    seeds.add_argument("--seeds", type=int, default=3, metavar="K", help="run seeds 0..K-1 (default: 3)")
    seeds.add_argument("--seed-list", type=int, nargs="+", metavar="SEED", help="run exactly these seeds")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="jobs at a time (default: CPU cores)")
    p.add_argument("-f", "--log-folder", default="benchmarks", help="results folder (default: %(default)s)")
    p.add_argument("-n", "--n-timesteps", type=int, help="budget of every job (default: each algorithm's YAML)")
    p.add_argument("--eval-freq", type=int, default=2500, help="evaluate every this many env steps (default 2500)")
    p.add_argument("--eval-episodes", type=int, help="episodes per evaluation (default: the env's, 10 for most)")
    p.add_argument("--stop-on-solve", action="store_true", help="stop each job when solved: measures time-to-solve")
    p.add_argument(
        "--shaped", choices=("off", "on", "both"), default="off", help="train on the shaped reward (default: off)"
    )
    p.add_argument("--report-only", action="store_true", help="rebuild the report and plots from existing runs")
    p.add_argument(
        "--robustness",
        action="store_true",
        help="also evaluate every finished run under every perturbation level (works with --report-only)",
    )
    p.add_argument("--robustness-episodes", type=int, default=10, help="episodes per perturbation level (default: 10)")
    p.add_argument(
        "--ray", metavar="ADDRESS", help="run the jobs on a Ray cluster (auto, host:port or ray://host:10001)"
    )
    return p


def _check(args: argparse.Namespace) -> list[int]:
    """Validate every flag before anything is written; return the seeds."""
    from agents.registry import get_algo
    from envs.factory import check_env_id

    if not args.report_only and not args.algos:
        raise UserError("--algos is required (one or more of: " + ", ".join(ALGOS) + ") unless --report-only")
    for algo in args.algos or []:
        get_algo(algo)
    for env in args.envs:
        check_env_id(env)
    seeds = args.seed_list if args.seed_list is not None else list(range(args.seeds))
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise UserError(f"seeds must be distinct and >= 0, and at least one; got {seeds}")
    least = {"--workers": (args.workers, 1), "-n": (args.n_timesteps, 1), "--eval-freq": (args.eval_freq, 0)}
    least["--eval-episodes"] = (args.eval_episodes, 1)
    least["--robustness-episodes"] = (args.robustness_episodes, 1)
    for flag, (value, minimum) in least.items():
        if value is not None and value < minimum:
            raise UserError(f"{flag} must be at least {minimum}, got {value}")
    return seeds


def main(argv: Sequence[str] | None = None) -> int:
    """Run the grid (or only rebuild its report) and print where the report is."""
    args = build_parser().parse_args(argv)
    # Ctrl-C (and SIGTERM) stop the grid cleanly, even when started in the background with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    seeds = _check(args)
    from polebench.benchmarking import rebuild_report, run_grid
    from polebench.grid import Protocol, make_grid

    bench = Path(args.log_folder)
    robustness = args.robustness_episodes if args.robustness else None
    if args.report_only:
        return rebuild_report(bench, args.workers, robustness)
    protocol = Protocol(args.n_timesteps, args.eval_freq, args.eval_episodes, args.stop_on_solve)
    grid = make_grid(args.algos, args.envs, seeds, args.shaped)
    return run_grid(grid, bench, protocol, args.workers, args.ray, robustness)


if __name__ == "__main__":
    sys.exit(run_cli(main))
