"""What ``benchmark.py`` does: skip the finished jobs, run the rest with one progress bar, then write the
CSV, the report and the plots (also after a Ctrl-C, from whatever finished)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from polebench.errors import UserError
from polebench.grid import Job, Protocol, existing_jobs, finished_run
from polebench.jobrunner import LocalRunner, Outcome
from polebench.report import RESULTS_CSV, ROBUSTNESS_CSV, write_report
from polebench.results import job_row, record_job, write_csv
from polebench.robustness import ROBUSTNESS_COLUMNS, kept_robustness

EXIT_SOME_FAILED = 1
EXIT_INTERRUPTED = 130


def write_results(jobs: Sequence[Job], bench: Path, protocol: Protocol | None) -> tuple[list[dict[str, Any]], Path]:
    """Write ``results.csv``, ``robustness.csv`` (when any run was measured) and ``report.md`` with its
    plots for ``jobs``; return the rows and the report."""
    rows = [job_row(job, bench, protocol) for job in jobs]
    write_csv(rows, bench / RESULTS_CSV)
    robustness = kept_robustness(jobs, bench, protocol)
    if robustness:
        write_csv(
            [row for measured in robustness for row in measured.rows()], bench / ROBUSTNESS_CSV, ROBUSTNESS_COLUMNS
        )
    return rows, write_report(rows, bench, protocol, robustness)


def measure_robustness(
    jobs: Sequence[Job], bench: Path, protocol: Protocol | None, workers: int, episodes: int
) -> None:
    """Evaluate every finished job's final model under every perturbation of its env (``--robustness``),
    ``workers`` runs at a time, each in a worker process that imported PyTorch once. Runs measured
    before on the same ladders are not measured again."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from tqdm import tqdm

    from polebench.robustness import run_in_worker

    done = [(job, run_dir) for job in jobs if (run_dir := finished_run(job, bench, protocol)) is not None]
    print(f"robustness: {len(done)} finished runs, {episodes} episodes per perturbation level")
    # spawn: the workers start clean, without this process's threads or its half-made state.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(run_in_worker, str(d), j.algo, j.env, j.seed, episodes) for j, d in done]
        try:
            for future in tqdm(as_completed(futures), total=len(futures), unit="run", dynamic_ncols=True):
                future.result()
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def run_grid(
    jobs: Sequence[Job],
    bench: Path,
    protocol: Protocol,
    workers: int,
    ray_address: str | None = None,
    robustness_episodes: int | None = None,
) -> int:
    """Run every job of the grid not yet finished under ``protocol``, then report on the whole grid.

    :param ray_address: run the jobs on this Ray cluster instead of ``workers`` local processes
    :param robustness_episodes: measure every finished run's robustness with this many episodes per level
    """
    from tqdm import tqdm

    pending = [job for job in jobs if finished_run(job, bench, protocol) is None]
    where = f"the Ray cluster at {ray_address}" if ray_address else f"{workers} workers"
    print(f"{len(jobs)} jobs: {len(jobs) - len(pending)} already finished, {len(pending)} to run on {where}")
    runner: Any
    if ray_address and pending:
        from polebench.rayrunner import RayRunner

        runner = RayRunner(bench, protocol, ray_address)
    else:
        runner = LocalRunner(bench, protocol, workers)
    bench.mkdir(parents=True, exist_ok=True)
    bar = tqdm(total=len(jobs), initial=len(jobs) - len(pending), unit="job", dynamic_ncols=True)

    def on_done(outcome: Outcome) -> None:
        record_job(outcome.job, bench, outcome.tree_peak_rss_mb)
        if outcome.status == "failed":
            bar.write(f"failed: {outcome.job.name}: {outcome.error}")
        bar.update()

    try:
        runner.run(pending, on_done)
    except KeyboardInterrupt:
        bar.close()
        _, report = write_results(jobs, bench, protocol)
        print(f"interrupted: finished jobs are kept ({report}); run the same command again to finish the grid")
        return EXIT_INTERRUPTED
    bar.close()
    if robustness_episodes is not None:
        try:
            measure_robustness(jobs, bench, protocol, workers, robustness_episodes)
        except KeyboardInterrupt:
            _, report = write_results(jobs, bench, protocol)
            print(f"interrupted: measured runs are kept ({report}); run the same command again to finish")
            return EXIT_INTERRUPTED
    rows, report = write_results(jobs, bench, protocol)
    failed = sum(row["status"] != "finished" for row in rows)
    print(f"report: {report} ({len(rows) - failed} of {len(rows)} jobs finished)")
    return EXIT_SOME_FAILED if failed else 0


def rebuild_report(bench: Path, workers: int = 1, robustness_episodes: int | None = None) -> int:
    """Rebuild the CSV, report and plots from the runs already under ``bench``, training nothing; with
    ``robustness_episodes``, first measure the robustness of every finished run not yet measured."""
    jobs = existing_jobs(bench)
    if not jobs:
        raise UserError(f"no benchmark runs under {bench}; run benchmark.py with --algos first")
    if robustness_episodes is not None:
        try:
            measure_robustness(jobs, bench, None, workers, robustness_episodes)
        except KeyboardInterrupt:
            write_results(jobs, bench, None)
            return EXIT_INTERRUPTED
    _, report = write_results(jobs, bench, None)
    print(f"report: {report}")
    return 0
