"""What ``benchmark.py`` does: resolve every job's configuration, reuse the jobs that finished with it,
run the rest with one progress bar, then write the CSV, the report and the plots (also after a Ctrl-C,
from whatever finished)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from polebench.bench.clips import INTERRUPTED, NOT_ASKED
from polebench.bench.digests import config_hashes
from polebench.bench.grid import Job, JobStatus, Protocol, existing_jobs, finished_run, finished_summary, write_job_file
from polebench.bench.locks import job_locks
from polebench.bench.runners.processes import LocalRunner, Outcome, WorkerPool
from polebench.errors import ConfigError
from polebench.run import folder as runs
from polebench.run.summary import RunSummary
from polebench.shapes import from_mapping

if TYPE_CHECKING:
    from polebench.bench.report import Report
    from polebench.bench.result_row import ResultRow

PROTOCOL_FILE = "protocol.yml"
EXIT_SOME_FAILED = 1
EXIT_INTERRUPTED = 130


def write_results(
    jobs: Sequence[Job],
    bench: Path,
    protocol: Protocol | None,
    clips_made: Callable[[], None] | None = None,
    skip_clips: str | None = None,
) -> tuple[list[ResultRow], Report]:
    """Write ``results.csv``, ``robustness.csv`` (when any run was measured) and ``report.md`` with its
    plots and page for ``jobs``; return the rows and the report. ``clips_made`` waits for the clips that
    workers render meanwhile (see :func:`_start_clips`); after an interrupt no clip is made, the page
    shows those already made."""
    # Imported here: statistics and plotting take a second to import, which the workers' start overlaps.
    from polebench.bench.report import RESULTS_CSV, ROBUSTNESS_CSV, write_report
    from polebench.bench.results import job_row, write_csv, write_results_csv
    from polebench.bench.robustness import ROBUSTNESS_COLUMNS, kept_robustness

    rows = [job_row(job, bench) for job in jobs]
    write_results_csv(rows, bench / RESULTS_CSV)
    robustness = kept_robustness(jobs, bench)
    if robustness:
        measured_rows = [row for measured in robustness for row in measured.rows()]
        write_csv(measured_rows, bench / ROBUSTNESS_CSV, ROBUSTNESS_COLUMNS)
    return rows, write_report(rows, bench, protocol, robustness, clips_made, skip_clips)


def measure_robustness(jobs: Sequence[Job], bench: Path, workers: int, episodes: int) -> None:
    """Evaluate every finished job's final model under every perturbation of its env (``--robustness``),
    ``workers`` runs at a time, each in a worker process that imported PyTorch once. Runs measured
    before on the same ladders are not measured again."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from polebench.bench.robustness import is_measured, run_in_worker
    from polebench.progress import Progress

    done = [(job, run_dir) for job in jobs if (run_dir := finished_run(job, bench)) is not None]
    pending = [(job, run_dir) for job, run_dir in done if not is_measured(run_dir, job.env, episodes)]
    kept = f" ({len(done) - len(pending)} measured before, kept)" if len(pending) < len(done) else ""
    print(f"robustness: {len(done)} finished runs{kept}, {episodes} episodes per perturbation level")
    if not pending:
        return
    # spawn: the workers start clean, without this process's threads or its half-made state.
    with (
        Progress(len(done), [job.agent.name for job, _ in pending], workers, noun="runs") as progress,
        ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool,
    ):
        futures = {pool.submit(run_in_worker, str(d), j.algo, j.env, j.seed, episodes): j for j, d in pending}
        try:
            for future in as_completed(futures):
                job = futures[future]
                try:
                    progress.finished(job.name, job.agent.name, False, seconds=future.result())
                except ConfigError as err:  # a damaged run folder: the others are still measured
                    progress.finished(job.name, job.agent.name, True, error=f"robustness not measured: {err}")
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def resolve_jobs(jobs: Sequence[Job], bench: Path, protocol: Protocol, pool: WorkerPool | None = None) -> list[Job]:
    """Each job with the digest of its fully resolved configuration, checked as ``train.py`` checks it
    (a bad hyperparameter of an agent is a :class:`ConfigError` naming the agent).

    The checks import PyTorch and the algorithms, so they run in a helper process: a driver that had
    imported them would hand every job it starts its own resident memory at fork, and the jobs' peak
    memory would be overstated by it.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    if pool is not None and pool.workers:  # a preloaded worker has the imports already
        hashes = pool.workers[0].hashes(jobs, bench, protocol)
    else:
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as helper:
            hashes = helper.submit(config_hashes, list(jobs), bench, protocol).result()
    return [replace(job, config_hash=digest) for job, digest in zip(jobs, hashes, strict=True)]


@dataclass(frozen=True)
class ResumePlan:
    """Which jobs a rerun reuses, reruns because their configuration changed, and runs for the first time."""

    reused: list[Job]
    changed: list[Job]
    new: list[Job]

    @classmethod
    def of(cls, jobs: Sequence[Job], bench: Path) -> ResumePlan:
        reused, changed, new = [], [], []
        for job in jobs:
            if finished_summary(job, bench) is not None:
                reused.append(job)
            elif finished_summary(job, bench, any_config=True) is not None:
                changed.append(job)
            else:
                new.append(job)
        return cls(reused, changed, new)

    @property
    def pending(self) -> list[Job]:
        return [*self.changed, *self.new]

    def describe(self) -> str:
        return (
            f"{len(self.reused)} reused, {len(self.changed)} rerun because their configuration changed, "
            f"{len(self.new)} run for the first time"
        )


@dataclass(frozen=True)
class GridOutcome:
    """How a grid run ended: its exit code (0, :data:`EXIT_SOME_FAILED` or :data:`EXIT_INTERRUPTED`),
    its jobs, how many of them did not finish (failed, missing or interrupted), and its report."""

    exit_code: int
    jobs: int
    unfinished: int
    report: Path | None


def run_grid(
    jobs: Sequence[Job],
    bench: Path,
    protocol: Protocol,
    workers: int,
    ray_address: str | None = None,
    robustness_episodes: int | None = None,
) -> GridOutcome:
    """Run every job of the grid not yet finished with its configuration, then report on the whole grid.

    :param workers: jobs at a time (never more than there are jobs)
    :param ray_address: run the jobs on this Ray cluster instead of ``workers`` local processes
    :param robustness_episodes: measure every finished run's robustness with this many episodes per level
    """
    workers = max(1, min(workers, len(jobs)))
    # Local workers start importing at once, while this process goes on; they also resolve the jobs.
    pool = WorkerPool(workers) if ray_address is None else None
    try:
        jobs = resolve_jobs(jobs, bench, protocol, pool)
        plan = ResumePlan.of(jobs, bench)
        where = f"the Ray cluster at {ray_address}" if ray_address else f"{workers} workers"
        # Nothing is written before the locks are held: a driver refused for a folder another one is
        # running must leave that driver's protocol (and everything else) as it was.
        with job_locks([job.folder(bench) for job in plan.pending]):
            runs.write_yaml(bench / PROTOCOL_FILE, asdict(protocol))
            print(f"{len(jobs)} jobs: {plan.describe()}; {len(plan.pending)} to run on {where}")
            code = _run_pending(jobs, plan.pending, bench, protocol, workers, ray_address, pool)
        if code == EXIT_INTERRUPTED:
            return _ended(jobs, bench, protocol, code)
        clips_made = _start_clips(jobs, bench, pool) if pool is not None and pool.workers else None
        if robustness_episodes is not None:
            # One thing at a time on the CPUs: the clips, then the workers go and the robustness runs come.
            if clips_made is not None:
                clips_made()
                clips_made = None
            if pool is not None:
                pool.close()
                pool = None
            try:
                measure_robustness(jobs, bench, workers, robustness_episodes)
            except KeyboardInterrupt:
                outcome = _ended(jobs, bench, protocol, EXIT_INTERRUPTED)
                print(f"interrupted: measured runs are kept ({outcome.report}); run the same command again to finish")
                return outcome
        outcome = _ended(jobs, bench, protocol, 0, clips_made)
    finally:
        if pool is not None:
            pool.close()
    print(f"report: {outcome.report} ({outcome.jobs - outcome.unfinished} of {outcome.jobs} jobs finished)")
    return outcome


def _ended(
    jobs: Sequence[Job], bench: Path, protocol: Protocol, code: int, clips_made: Callable[[], None] | None = None
) -> GridOutcome:
    """Write the results and report of ``jobs`` as they stand, and say how the grid ended."""
    skip = INTERRUPTED if code == EXIT_INTERRUPTED else None
    rows, report = write_results(jobs, bench, protocol, clips_made, skip)
    if report.interrupted:
        print(f"interrupted while making the clips: the report of what finished is written ({report.path})")
        code = EXIT_INTERRUPTED
    unfinished = sum(not row.finished for row in rows)
    if code == 0 and unfinished:
        code = EXIT_SOME_FAILED
    return GridOutcome(code, len(rows), unfinished, report.path)


def _run_pending(
    jobs: Sequence[Job],
    pending: Sequence[Job],
    bench: Path,
    protocol: Protocol,
    workers: int,
    ray: str | None,
    pool: WorkerPool | None,
) -> int:
    from polebench.progress import Progress

    runner: Any
    if ray and pending:
        from polebench.bench.runners.ray_cluster import RayRunner

        runner = RayRunner(bench, protocol, ray)
    else:
        runner = LocalRunner(bench, protocol, workers, pool)
    for job in pending:
        write_job_file(job, bench)
    kept: dict[str, list[float]] = {}
    for job in jobs:
        if job not in pending and (summary := finished_summary(job, bench)) is not None:
            kept.setdefault(job.agent.name, []).append(summary.wall_time_s)
    progress = Progress(len(jobs), [job.agent.name for job in pending], workers, kept, show_reused=True)
    if (estimate := progress.announce()) is not None:
        print(estimate, flush=True)

    def on_done(outcome: Outcome) -> None:
        if outcome.tree_peak_rss_mb is not None:  # what only the driver saw of the job
            write_job_file(outcome.job, bench, tree_peak_rss_mb=outcome.tree_peak_rss_mb)
        summary = RunSummary.read(outcome.run_dir) if outcome.run_dir is not None else None
        seconds = summary.wall_time_s if summary is not None else None
        failed = outcome.status is JobStatus.FAILED
        progress.finished(outcome.job.name, outcome.job.agent.name, failed, outcome.error, seconds)

    with progress:
        try:
            runner.run(pending, on_done)
        except KeyboardInterrupt:
            progress.close()
            print(f"interrupted: finished jobs are kept ({bench}); run the same command again to finish the grid")
            return EXIT_INTERRUPTED
    return 0


def _start_clips(jobs: Sequence[Job], bench: Path, pool: WorkerPool) -> Callable[[], None] | None:
    """Have the preloaded workers render the report's replay-wall clips, in parallel with each other and
    with the report this process writes meanwhile (it would make them one after another); only clips of
    runs that changed are made. Returns what waits for them (``None``: nothing to make)."""
    from polebench.bench.page import clip_orders
    from polebench.bench.report import SeedSplit
    from polebench.bench.results import job_row

    orders = clip_orders(SeedSplit.of([job_row(job, bench) for job in jobs]).shown)  # the runs the wall shows
    if not orders:
        return None
    print(f"rendering {len(orders)} clips for report.html on {len(pool.workers)} workers", flush=True)
    from concurrent.futures import wait

    rendering = pool.render_clips(orders)

    def made() -> None:
        wait(rendering)

    return made


def rebuild_report(
    bench: Path, workers: int = 1, robustness_episodes: int | None = None, render_clips: bool = False
) -> int:
    """Rebuild the CSV, report and plots from the runs already under ``bench``, training nothing; with
    ``robustness_episodes``, first measure the robustness of every finished run not yet measured.

    A model file runs code when it is loaded (SB3 and PyTorch unpickle), so a folder from elsewhere has
    none of its models loaded unless asked: ``render_clips`` (the missing replay clips) or
    ``robustness_episodes``."""
    jobs, strays = existing_jobs(bench)
    for folder in strays:
        print(f"warning: {folder} is not a benchmark job folder (no readable job.json); left out")
    if not jobs:
        raise ConfigError(f"no benchmark runs under {bench}; run benchmark.py with --algos or --grid first")
    if robustness_episodes is not None:
        try:
            measure_robustness(jobs, bench, workers, robustness_episodes)
        except KeyboardInterrupt:
            write_results(jobs, bench, None, skip_clips=INTERRUPTED)
            return EXIT_INTERRUPTED
    _, report = write_results(jobs, bench, _kept_protocol(bench), skip_clips=None if render_clips else NOT_ASKED)
    if report.interrupted:
        print(f"interrupted while making the clips: the report is written with those made ({report.path})")
        return EXIT_INTERRUPTED
    print(f"report: {report.path}")
    return 0


def _kept_protocol(bench: Path) -> Protocol | None:
    """The protocol the last grid run in ``bench`` used, if it is recorded there."""
    path = bench / PROTOCOL_FILE
    try:
        return from_mapping(Protocol, runs.read_yaml(path), str(path))
    except (ConfigError, ValueError):
        return None
