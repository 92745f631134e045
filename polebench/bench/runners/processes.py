"""Run benchmark jobs: each one a real ``train.py`` process, several at a time, resumable, interruptible.

The pool is a thread pool on purpose: every job already is its own process (so it is measured exactly
like a hand-run ``train.py``), and a thread only waits for it. Each child gets its own session, so a
Ctrl-C in the terminal reaches the driver alone, which then forwards exactly one SIGINT to every job:
a second signal could interrupt a job while it saves.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from polebench import interrupts
from polebench.bench.grid import ERROR_FILE, JOB_LOG, Job, JobStatus, Protocol, finished_run
from polebench.bench.runners.ended import Ended, wait_for
from polebench.run import folder as runs

if TYPE_CHECKING:
    from polebench.bench.clips import ClipOrder
    from polebench.bench.runners import preloaded

# A job run as a process of its own: the train command, as installed (a checkout's train.py runs the same).
TRAIN_COMMAND = (sys.executable, "-m", "polebench", "train")


@dataclass
class Outcome:
    """How one job ended in this invocation."""

    job: Job
    status: JobStatus
    run_dir: Path | None = None
    error: str | None = None
    tree_peak_rss_mb: float | None = None


def single_thread_env() -> dict[str, str]:
    """The environment of a job: every numeric library on one thread, so parallel jobs do not fight."""
    one = {name: "1" for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    # The job ends when this driver ends, however it ends (see interrupts.die_with_parent).
    parent = {interrupts.PARENT_VARIABLE: str(os.getpid())}
    return {**os.environ, **one, **parent, "PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg"}


def run_process(
    command: Sequence[str],
    log: Path,
    on_start: Callable[[subprocess.Popen[bytes]], None] | None = None,
    on_end: Callable[[subprocess.Popen[bytes]], None] | None = None,
    single_thread: bool = True,
) -> Ended:
    """Run ``command`` (with one thread per numeric library unless told otherwise), output to ``log``,
    and measure it whole.

    The peak RSS is never below this process's own resident memory at the spawn: Linux carries the
    spawning copy's peak across ``exec``. Spawn from a small process (the benchmark driver is one).
    """
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=single_thread_env() if single_thread else None,
            start_new_session=True,
        )
        if on_start is not None:
            on_start(proc)
        ended = wait_for(proc.pid)
        proc.returncode = ended.returncode
        if on_end is not None:
            on_end(proc)
    return ended


# A train.py stopped by Ctrl-C or SIGTERM saves, says so, and exits 128 + the signal's number; one
# killed outright by a signal has a negative return code.
INTERRUPTED_EXITS = {130, 143, -signal.SIGINT, -signal.SIGTERM}


def judge(job: Job, bench: Path, ended: Ended, stopping: bool) -> Outcome:
    """How a job's ``train.py`` process ended, from what it left in the job's folder."""
    folder = job.folder(bench)
    run_dir = finished_run(job, bench)
    if run_dir is not None:
        return Outcome(job, JobStatus.FINISHED, run_dir, tree_peak_rss_mb=ended.peak_rss_mb)
    if ended.returncode in INTERRUPTED_EXITS or stopping:
        return Outcome(job, JobStatus.INTERRUPTED, tree_peak_rss_mb=ended.peak_rss_mb)
    return record_failure(job, bench, f"exit {ended.returncode}: {_last_line(folder / JOB_LOG)}")


def record_failure(job: Job, bench: Path, error: str) -> Outcome:
    """Keep a failed job's one-line error in its folder, for the report and for ``--report-only``."""
    folder = job.folder(bench)
    folder.mkdir(parents=True, exist_ok=True)
    runs.write_text(folder / ERROR_FILE, error + "\n")
    return Outcome(job, JobStatus.FAILED, error=error)


def _last_line(path: Path) -> str:
    lines = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


class WorkerPool:
    """``size`` preloaded workers (:mod:`polebench.bench.runners.preloaded`), each lent to one job at a time;
    empty where ``fork`` is missing, and then jobs start as processes of their own."""

    def __init__(self, size: int) -> None:
        from polebench.bench.runners import preloaded

        self.idle: queue.SimpleQueue[preloaded.Worker] = queue.SimpleQueue()
        self.workers = [preloaded.Worker(single_thread_env()) for _ in range(size)] if preloaded.available() else []
        # One thread a worker, waiting on it while the driver goes on (see render_clips).
        self._background = ThreadPoolExecutor(max(1, len(self.workers)))
        for worker in self.workers:
            self.idle.put(worker)

    def replace(self, dead: preloaded.Worker) -> preloaded.Worker:
        """A fresh worker in place of ``dead`` (killed, or out of memory), lent out like the others."""
        from polebench.bench.runners import preloaded

        dead.close()
        fresh = preloaded.Worker(single_thread_env())
        self.workers[self.workers.index(dead)] = fresh
        return fresh

    def render_clips(self, orders: Sequence[ClipOrder]) -> list[Future[None]]:
        """Share the clips of ``orders`` among the workers, which render them at once, one future a worker.
        A worker that dies leaves its clips unmade: the report makes them, or says why it cannot."""

        def render(worker: preloaded.Worker, share: list[ClipOrder]) -> None:
            with contextlib.suppress(EOFError, OSError):
                worker.render(share)

        shares = [list(orders[i :: len(self.workers)]) for i in range(len(self.workers))]
        return [self._background.submit(render, w, share) for w, share in zip(self.workers, shares, strict=True)]

    def close(self) -> None:
        self._background.shutdown(wait=True)
        for worker in self.workers:
            worker.close()


class LocalRunner:
    """Runs jobs as processes of this machine, ``workers`` at a time: forked by preloaded workers when a
    :class:`WorkerPool` is given and can fork, else each a ``train.py`` process of its own."""

    def __init__(self, bench: Path, protocol: Protocol, workers: int, pool: WorkerPool | None = None) -> None:
        self.bench = bench
        self.protocol = protocol
        self.workers = workers
        self.pool = pool if pool is not None and pool.workers else None
        self._running: set[int] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def run_one(self, job: Job) -> Outcome:
        """Run ``job`` to the end (or until the grid is stopped) and say how it went."""
        if self._stopping.is_set():
            return Outcome(job, JobStatus.INTERRUPTED)
        folder = job.folder(self.bench)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / ERROR_FILE).unlink(missing_ok=True)
        argv = job.train_args(self.protocol, folder)
        if self.pool is None:
            command = [*TRAIN_COMMAND, *argv]
            ended = run_process(command, folder / JOB_LOG, on_start=self._started, on_end=self._ended)
        else:
            ended = self._forked(argv, folder / JOB_LOG)
        return judge(job, self.bench, ended, self._stopping.is_set())

    def _forked(self, argv: list[str], log: Path) -> Ended:
        assert self.pool is not None
        worker = self.pool.idle.get()
        pid = 0

        def on_start(job_pid: int) -> None:
            nonlocal pid
            pid = job_pid
            with self._lock:
                self._running.add(job_pid)
            if self._stopping.is_set():  # the grid was stopped while this job was being started
                with contextlib.suppress(ProcessLookupError):
                    os.kill(job_pid, signal.SIGINT)

        try:
            ended = worker.run(argv, log, on_start)
        except (EOFError, OSError):
            # The worker died mid-job (kill -9, the OOM killer); the job died with it (die_with_parent).
            worker.process.join(timeout=10)
            ended = Ended(worker.process.exitcode or 1, 0.0)
            with open(log, "a") as out:
                out.write(f"\nthe benchmark worker running this job died (exit {worker.process.exitcode})\n")
            worker = self.pool.replace(worker)
        finally:
            with self._lock:
                self._running.discard(pid)
            self.pool.idle.put(worker)
        return ended

    def _started(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._running.add(proc.pid)

    def _ended(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._running.discard(proc.pid)

    def stop(self) -> None:
        """Ask every running job to save and stop (one SIGINT each); start no new ones."""
        self._stopping.set()
        with self._lock:
            for pid in self._running:
                # os.kill, not proc.send_signal: that polls, and a poll could reap the child before wait4 does.
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGINT)

    def run(self, jobs: Sequence[Job], on_done: Callable[[Outcome], None]) -> list[Outcome]:
        """Run ``jobs`` in parallel, calling ``on_done`` as each ends; Ctrl-C stops them all cleanly."""
        outcomes: list[Outcome] = []
        pool = ThreadPoolExecutor(max_workers=self.workers)
        futures = [pool.submit(self.run_one, job) for job in jobs]
        try:
            for future in as_completed(futures):
                outcomes.append(future.result())
                on_done(outcomes[-1])
        except KeyboardInterrupt:
            self.stop()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown()
        return outcomes
