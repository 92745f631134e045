"""Compare agents head to head: ``python benchmark.py --algos ppo dqn --envs CartPole-v1 --seeds 5``,
or variants of them from a file: ``python benchmark.py --grid benchmarks/cartpole-dqn.yml``.

Every job (agent x env x seed) is one real ``train.py`` run in its own process and folder, under the
same evaluation protocol. Jobs run in parallel; a rerun reuses every job that finished with exactly the
configuration it would run now and reruns the others. The results land in ``<log-folder>/results.csv``
(one row per job) and ``<log-folder>/report.md`` with its plots.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from polebench.agents.registry import ALGOS
from polebench.commands import flags as cli
from polebench.config.run_config import flagged
from polebench.config.seeds import FIRST_TEST_SEED, check_split, is_test_seed
from polebench.errors import ConfigError
from polebench.limits import MAX_EPISODES, MAX_SEEDS, MAX_WORKERS

if TYPE_CHECKING:
    from polebench.bench.gridfile import GridSpec


def build_parser() -> argparse.ArgumentParser:
    """The command line; the protocol flags are ``train.py``'s, passed through to every job."""
    p = cli.Parser(description=__doc__)
    what = p.add_mutually_exclusive_group()
    what.add_argument(
        "--algos",
        nargs="+",
        metavar="ALGO",
        help=f"algorithms to compare, from: {', '.join(ALGOS)}; or an agent of your own, package.module:Class "
        "(named after its class)",
    )
    what.add_argument(
        "--grid",
        metavar="FILE.yml",
        help="a grid file: envs, seeds, protocol and named agents; or a shipped one by name (cartpole-balance)",
    )
    p.add_argument("--agents", nargs="+", metavar="NAME", help="with --grid: run only these agents of the file")
    p.add_argument("--envs", nargs="+", metavar="ENV", help="env ids (default: CartPole-v1)")
    seeds = p.add_mutually_exclusive_group()
    seeds.add_argument(
        "--seeds",
        type=cli.at_least("--seeds", maximum=MAX_SEEDS),
        metavar="K",
        help="run seeds 0..K-1 (default: 3, or the grid file's)",
    )
    seeds.add_argument(
        "--seed-list",
        type=cli.seed("--seed-list"),
        nargs="+",
        metavar="SEED",
        help="these seeds (over the grid file's, test seeds included unless --test-seeds names them)",
    )
    p.add_argument(
        "--test-seeds",
        type=cli.seed("--test-seeds"),
        nargs="+",
        metavar="SEED",
        help=f"seeds held out from tuning, {FIRST_TEST_SEED:,} and up (a single number K below that: the first K of "
        "them); the report gives its figures on these, and their gap to the other seeds",
    )
    p.add_argument(
        "--workers",
        type=cli.at_least("--workers", maximum=MAX_WORKERS),
        default=os.cpu_count() or 1,
        help="jobs at a time",
    )
    p.add_argument("-f", "--log-folder", default="bench", help="results folder (default: %(default)s)")
    # Unset: the grid file's, or the protocol's default.
    cli.add_run_flags(
        p, protocol=True, defaults=False, helps={"n_timesteps": "budget of every job (default: each algorithm's YAML)"}
    )
    p.add_argument(
        "--shaped-reward",
        choices=("off", "on", "both"),
        default="off",
        help="train on the shaped reward (train.py's default form): off (default), on, or both side by side",
    )
    p.add_argument(
        "--report-only",
        action="store_true",
        help="rebuild the report and plots from existing runs; loads no model unless --render-clips or --robustness",
    )
    p.add_argument(
        "--render-clips",
        action="store_true",
        help="with --report-only: render the missing replay clips (loads each run's model: trusted folders only)",
    )
    p.add_argument(
        "--robustness",
        action="store_true",
        help="also evaluate every finished run under every perturbation level (works with --report-only)",
    )
    p.add_argument(
        "--robustness-episodes",
        type=cli.at_least("--robustness-episodes", maximum=MAX_EPISODES),
        default=10,
        help="episodes per perturbation level (default: 10)",
    )
    p.add_argument(
        "--ray", metavar="ADDRESS", help="run the jobs on a Ray cluster (auto, host:port or ray://host:10001)"
    )
    return p


# Protocol values a flag overrides in a grid file, and the flag of each.
PROTOCOL_FLAGS = {name: spec.shown for name, spec, _ in flagged() if spec.protocol}


def grid_spec(args: argparse.Namespace) -> GridSpec:
    """The grid the flags ask for: a grid file (flags given on the command line override its envs, seeds
    and protocol; ``--agents`` narrows its agents), or ``--algos`` with their shipped settings."""
    from polebench.bench.grid import Protocol, shipped_agents
    from polebench.bench.gridfile import GridSpec, envs_of, grid_from_mapping, load_grid, seeds_of
    from polebench.config.shipped import find_yaml

    seeds = args.seed_list if args.seed_list is not None else args.seeds
    if args.grid:
        if args.shaped_reward != "off":
            raise ConfigError(
                f"--shaped-reward: the agents of the grid file {args.grid} set their own shaped_reward; edit it instead"
            )
        spec = load_grid(find_yaml(args.grid, "--grid"))
        given = {name: getattr(args, name) for name in PROTOCOL_FLAGS if getattr(args, name) not in (None, False)}
        changed = [
            f"{PROTOCOL_FLAGS[name]} {value} (the file: {getattr(spec.protocol, name)})"
            for name, value in given.items()
        ]
        spec = replace(spec, protocol=replace(spec.protocol, **given))
        if args.envs:
            changed.append(f"--envs {' '.join(args.envs)} (the file: {' '.join(spec.envs)})")
            spec = replace(spec, envs=envs_of(args.envs, "--envs"))
        if seeds is not None:
            spec = replace(spec, seeds=seeds_of(seeds, "--seeds/--seed-list"), test_seeds=())
        if args.test_seeds is not None:
            spec = replace(spec, test_seeds=_test_seeds(args.test_seeds))
        check_split(spec.seeds, spec.test_seeds, "--seeds/--seed-list/--test-seeds")
        if changed:
            print(f"overriding the grid file {args.grid}: {'; '.join(changed)}")
        return spec.only(args.agents, args.grid) if args.agents else spec
    if not args.algos:
        raise ConfigError("give --algos (one or more of: " + ", ".join(ALGOS) + ") or --grid FILE, or --report-only")
    if args.agents:
        raise ConfigError("--agents picks agents of a --grid file; with --algos, name the algorithms instead")
    shipped = shipped_agents(args.algos, args.shaped_reward)
    agents = {a.name: {"algo": a.algo, "shaped_reward": a.shaped_reward} for a in shipped}
    protocol = Protocol(
        args.n_timesteps,
        Protocol.eval_freq if args.eval_freq is None else args.eval_freq,
        args.eval_episodes,
        args.stop_on_solve,
        args.stop_on_balance,
        args.final_eval_episodes,
    )
    test = _test_seeds(args.test_seeds) if args.test_seeds is not None else []
    grid = {
        "envs": args.envs or ["CartPole-v1"],
        "seeds": seeds or 3,
        "test_seeds": list(test) or None,
        "agents": agents,
    }
    spec = grid_from_mapping(grid)
    return GridSpec(spec.envs, spec.seeds, protocol, spec.agents, spec.test_seeds)


def _test_seeds(values: list[int]) -> tuple[int, ...]:
    """``--test-seeds``: a count (one number below the first test seed) or the seeds themselves."""
    from polebench.bench.gridfile import seeds_of, test_seeds_of

    if len(values) == 1 and not is_test_seed(values[0]):
        return test_seeds_of(values[0], "--test-seeds")
    return seeds_of(values, "--test-seeds")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the grid (or only rebuild its report) and print where the report is."""
    from polebench import interrupts

    # Ctrl-C (and SIGTERM) stop the grid cleanly, even when started in the background with SIGINT ignored.
    interrupts.install()
    args = build_parser().parse_args(argv)
    from polebench.bench.driver import rebuild_report, run_grid

    bench = Path(args.log_folder)
    from polebench.run.folder import check_writable_folder

    check_writable_folder(bench, "-f/--log-folder")
    robustness = args.robustness_episodes if args.robustness else None
    if args.render_clips and not args.report_only:
        raise ConfigError(
            "--render-clips rebuilds a report's missing clips: add --report-only (a grid run makes its clips)"
        )
    if args.report_only:
        return rebuild_report(bench, args.workers, robustness, args.render_clips)
    spec = grid_spec(args)
    return run_grid(spec.jobs(), bench, spec.protocol, args.workers, args.ray, robustness).exit_code
