"""Time-to-solve, every registered algorithm beside a reference, as whole processes: rl-baselines3-zoo's
tuned SB3 for the algorithms the zoo has (ppo, dqn, ppo_lstm; ppo_gru beside the zoo's ppo_lstm), and
polebench's own DQN for the others (sacd, qlearning, lqr). Recurrent agents run on CartPoleNoVel-v1,
the others on CartPole-v1.

    python scripts/time_to_solve.py                       # every algorithm, seeds 0 1 2, with the zoo if found
    python scripts/time_to_solve.py --seeds 0 1 2 3 4 5 6 7 8 9 --no-zoo
    python scripts/time_to_solve.py --throughput          # DQN env steps/s over 100k steps, early vs late

Each run is one ``train.py --stop-on-solve --eval-freq 2500 --eval-episodes 10`` process, timed from
start to exit, with its peak RSS from the kernel. The zoo's side runs ``scripts/zoo_reference.py`` (the
same protocol) in the zoo's own environment, made once by ``scripts/setup_zoo.sh``, seed by seed right
after ours, so both see the same machine. The table goes to stdout and to ``<folder>/time_to_solve.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from polebench.agents.registry import ALGOS  # noqa: E402
from polebench.bench.runners.ended import Ended  # noqa: E402
from polebench.bench.runners.processes import TRAIN_COMMAND, run_process  # noqa: E402
from polebench.errors import ConfigError, run_cli  # noqa: E402
from polebench.run.summary import RunSummary  # noqa: E402

PROTOCOL = ["--stop-on-solve", "--eval-freq", "2500", "--eval-episodes", "10"]
ENVS = {"ppo_lstm": "CartPoleNoVel-v1", "ppo_gru": "CartPoleNoVel-v1"}
# The zoo's algorithm each of ours is compared with; the others are compared with polebench's DQN.
ZOO_COUNTERPART = {"ppo": "ppo", "dqn": "dqn", "ppo_lstm": "ppo_lstm", "ppo_gru": "ppo_lstm"}
ZOO_SCRIPT = ROOT / "scripts" / "zoo_reference.py"
ZOO_PYTHON = Path.home() / ".cache" / "polebench-zoo" / "bin" / "python"  # where scripts/setup_zoo.sh puts it


@dataclass
class Timing:
    """One whole-process run."""

    steps: int | None
    seconds: float
    rss_mb: float
    solved: bool


def timed(command: list[str], log: Path, single_thread: bool = True) -> tuple[Ended, float]:
    """Run ``command`` whole; how it ended and its wall time from start to exit."""
    started = time.perf_counter()
    ended = run_process(command, log, single_thread=single_thread)
    return ended, time.perf_counter() - started


def ours(algo: str, seed: int, folder: Path) -> Timing:
    """One polebench run, timed whole."""
    logs, env = folder / "polebench", ENVS.get(algo, "CartPole-v1")
    command = [*TRAIN_COMMAND, "--algo", algo, "--env", env, "--seed", str(seed), "-f", str(logs)]
    ended, seconds = timed([*command, "-v", "0", *PROTOCOL], folder / f"{algo}-{seed}.log")
    if ended.returncode != 0:
        raise ConfigError(f"train.py --algo {algo} --seed {seed} failed; see {folder / f'{algo}-{seed}.log'}")
    run_dir = max((logs / algo).glob(f"{env}_*"), key=lambda p: int(p.name.rsplit("_", 1)[1]))
    summary = RunSummary.read(run_dir)
    if summary is None:
        raise ConfigError(f"{run_dir} has no readable summary.json")
    return Timing(summary.steps_to_solve, seconds, ended.peak_rss_mb, summary.solved)


def zoo(python: Path, algo: str, seed: int, folder: Path) -> Timing:
    """One reference run of the zoo's tuned SB3, timed whole the same way."""
    log = folder / f"zoo-{algo}-{seed}.log"
    command = [str(python), str(ZOO_SCRIPT), algo, ENVS.get(algo, "CartPole-v1"), str(seed)]
    command += ["--eval-freq", "2500", "--eval-episodes", "10"]
    ended, seconds = timed(command, log, single_thread=False)  # as the zoo runs out of the box
    result = json.loads(log.read_text().strip().splitlines()[-1]) if ended.returncode == 0 else {}
    return Timing(result.get("steps"), seconds, ended.peak_rss_mb, bool(result.get("solved")))


def _cell(t: Timing | None) -> str:
    if t is None:
        return "- | - | -"
    steps = f"{t.steps:,}" if t.solved and t.steps is not None else "not solved"
    return f"{steps} | {t.seconds:.1f} | {t.rss_mb:.0f}"


def reference(algo: str, python: Path | None) -> str:
    """What ``algo`` is compared with: the zoo's counterpart (when the zoo is installed) or our DQN."""
    if algo in ZOO_COUNTERPART:
        return f"zoo {ZOO_COUNTERPART[algo]}" if python else "-"
    return "polebench dqn"


def compare(algos: Sequence[str], seeds: Sequence[int], python: Path | None, folder: Path) -> list[str]:
    """Run every (algo, seed) beside its reference and return the Markdown table, printing rows as they come."""
    lines = [
        "| algo | seed | polebench steps | s | peak RSS MB | reference | steps | s | peak RSS MB | time ratio |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    summary, own_dqn = [], {}
    for algo in algos:
        pairs = []
        for seed in seeds:
            mine = ours(algo, seed, folder)
            ref: Timing | None = None
            if algo in ZOO_COUNTERPART and python:
                ref = zoo(python, ZOO_COUNTERPART[algo], seed, folder)
            elif algo not in ZOO_COUNTERPART:
                if seed not in own_dqn:
                    own_dqn[seed] = ours("dqn", seed, folder)
                ref = own_dqn[seed]
            pairs.append((mine, ref))
            ratio = f"{mine.seconds / ref.seconds:.2f}x" if ref else "-"
            lines.append(f"| {algo} | {seed} | {_cell(mine)} | {reference(algo, python)} | {_cell(ref)} | {ratio} |")
            print(lines[-1], flush=True)
        summary.append(_median_line(algo, pairs, reference(algo, python)))
    return [*lines, "", *summary]


def _median_line(algo: str, pairs: list[tuple[Timing, Timing | None]], against: str) -> str:
    mine = statistics.median(t.seconds for t, _ in pairs)
    solved = sum(t.solved for t, _ in pairs)
    peak = max(t.rss_mb for t, _ in pairs)
    line = f"{algo}: polebench median {mine:.1f} s, {solved}/{len(pairs)} solved, peak {peak:.0f} MB"
    refs = [r for _, r in pairs if r is not None]
    if refs:
        theirs = statistics.median(r.seconds for r in refs)
        line += (
            f"; {against} median {theirs:.1f} s, peak {max(r.rss_mb for r in refs):.0f} MB; ratio {mine / theirs:.2f}x"
        )
    return line


def throughput(folder: Path, steps: int = 100_000) -> str:
    """Env steps per second of a DQN run without early stop: the first 20% after learning starts vs the last 20%."""
    from polebench.bench.throughput import steps_per_second

    logs = folder / "throughput"
    command = [*TRAIN_COMMAND, "--algo", "dqn", "-n", str(steps), "-f", str(logs), "-v", "0"]
    command += ["--eval-freq", "0"]  # the training loop alone: evaluations of a better agent take longer
    ended = run_process(command, folder / "throughput.log")
    if ended.returncode != 0:
        raise ConfigError(f"the throughput run failed; see {folder / 'throughput.log'}")
    early, late = steps_per_second(next((logs / "dqn").glob("CartPole-v1_*")))
    return (
        f"dqn {steps:,} steps: {early:,.0f} env steps/s in the first 20% after learning starts, "
        f"{late:,.0f} in the last 20% ({late / early - 1:+.1%}); peak RSS {ended.peak_rss_mb:.0f} MB"
    )


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--algos", nargs="+", default=list(ALGOS), help="algorithms (default: every registered one)")
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], help="seeds (default: 0 1 2)")
    p.add_argument(
        "--zoo-python", type=Path, default=ZOO_PYTHON, help="Python of the zoo's environment (scripts/setup_zoo.sh)"
    )
    p.add_argument("--no-zoo", action="store_true", help="time polebench only")
    p.add_argument("--throughput", action="store_true", help="also measure DQN throughput over 100k steps")
    p.add_argument("-f", "--folder", type=Path, help="where runs and the table go (default: a temporary folder)")
    args = p.parse_args(argv)
    folder = args.folder or Path(tempfile.mkdtemp(prefix="time-to-solve-"))
    folder.mkdir(parents=True, exist_ok=True)
    python = None if args.no_zoo else _zoo_python(args.zoo_python)
    lines = compare(args.algos, args.seeds, python, folder)
    if args.throughput:
        lines += ["", throughput(folder)]
    (folder / "time_to_solve.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines[lines.index("") :]))
    print(f"table: {folder / 'time_to_solve.md'}")
    return 0


def _zoo_python(python: Path) -> Path | None:
    if python.is_file() and os.access(python, os.X_OK) and ZOO_SCRIPT.is_file():
        return python
    print(f"no zoo environment at {python}: timing polebench only; make one with scripts/setup_zoo.sh")
    return None


if __name__ == "__main__":
    sys.exit(run_cli(main))
