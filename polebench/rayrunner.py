"""Run benchmark jobs as Ray tasks: the same ``train.py`` runs, on any node of a Ray cluster.

Each task runs one job in a temporary folder on its node (one CPU, PyTorch on one thread) and returns
that folder as a compressed archive through Ray's object store, so the nodes share no disk with the
driver. The driver unpacks each archive into the job's usual folder and judges it exactly as a local run
is judged, so the CSV, report and plots come out the same. The checkout is shipped to the nodes as Ray's
``working_dir``; each node's Python needs polebench's dependencies installed.
"""

from __future__ import annotations

import io
import logging
import shutil
import socket
import sys
import tarfile
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from polebench import runs
from polebench.errors import UserError
from polebench.grid import JOB_LOG, Job, Protocol
from polebench.jobrunner import TRAIN_SCRIPT, Finished, Outcome, judge, record_failure, run_process
from polebench.summary import RunSummary

ROOT = Path(__file__).resolve().parents[1]
# What the nodes need of the checkout is its code; run outputs and environments stay behind.
SHIPPING_EXCLUDES = [".git", ".venv", "logs", "bench", "*.egg-info", "__pycache__", ".ci"]
# Ray retries a task whose node or worker process died; a job that fails on its own is not retried.
NODE_LOSS_RETRIES = 2


def run_packed(job: Job, protocol: Protocol) -> tuple[int, float, bytes]:
    """Run ``job`` in a temporary folder here (a Ray worker); return its exit code, peak RSS and folder."""
    scratch = Path(tempfile.mkdtemp(prefix="polebench-job-"))
    try:
        ended = run_process([sys.executable, str(TRAIN_SCRIPT), *job.train_args(protocol, scratch)], scratch / JOB_LOG)
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            archive.add(scratch, arcname=".")
        return ended.returncode, ended.peak_rss_mb, buffer.getvalue()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def unpack(job: Job, bench: Path, packed: bytes) -> None:
    """Put a job's returned folder where a local run would have left it: new run folders get the next
    free numbers, and ``summary.json`` says where the run now lives."""
    folder = job.folder(bench)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as staging, tarfile.open(fileobj=io.BytesIO(packed), mode="r:gz") as archive:
        archive.extractall(staging, filter="data")
        shutil.copyfile(Path(staging) / JOB_LOG, folder / JOB_LOG)
        for run_id in runs.run_ids(Path(staging), job.algo, job.env):
            target = runs.new_run_dir(folder, job.algo, job.env)
            target.rmdir()
            shutil.move(str(runs.run_path(Path(staging), job.algo, job.env, run_id)), target)
            summary = RunSummary.read(target)
            if summary is not None:
                replace(summary, run_dir=str(target)).write(target)


def _check_reachable(address: str) -> None:
    """Fail fast on a ``host:port`` nobody answers at: ``ray.init`` would keep retrying for minutes."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        return  # "auto" and friends: Ray finds the local cluster, or says at once that there is none
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as err:
        raise UserError(f"cannot reach the Ray cluster at {address}: {err.strerror or err}") from None


class RayRunner:
    """Runs jobs as Ray tasks on the cluster at ``address`` (``auto``, ``host:port`` or ``ray://host:10001``)."""

    def __init__(self, bench: Path, protocol: Protocol, address: str) -> None:
        try:
            import ray
        except ImportError:
            raise UserError('--ray needs Ray; install it with: pip install -e ".[distributed]"') from None
        self.ray = ray
        self.bench = bench
        self.protocol = protocol
        _check_reachable(address)
        try:
            ray.init(
                address=address,
                runtime_env={"working_dir": str(ROOT), "excludes": SHIPPING_EXCLUDES},
                log_to_driver=False,
                logging_level=logging.ERROR,
            )
        except (ConnectionError, ValueError, RuntimeError) as err:
            raise UserError(f"cannot reach the Ray cluster at {address}: {str(err).splitlines()[0]}") from None

    def run(self, jobs: Sequence[Job], on_done: Callable[[Outcome], None]) -> list[Outcome]:
        """Submit every job, then collect each as it finishes; Ctrl-C cancels what has not finished."""
        task = self.ray.remote(num_cpus=1, max_retries=NODE_LOSS_RETRIES)(run_packed)
        pending: dict[Any, Job] = {task.remote(job, self.protocol): job for job in jobs}
        outcomes: list[Outcome] = []
        try:
            while pending:
                [ref], _ = self.ray.wait(list(pending), num_returns=1)
                outcomes.append(self._collect(pending.pop(ref), ref))
                on_done(outcomes[-1])
        except KeyboardInterrupt:
            for ref in pending:
                self.ray.cancel(ref)
            raise
        return outcomes

    def _collect(self, job: Job, ref: Any) -> Outcome:
        try:
            returncode, peak, packed = self.ray.get(ref)
        except self.ray.exceptions.RayError as err:
            return record_failure(job, self.bench, f"lost on the cluster: {str(err).strip().splitlines()[0]}")
        unpack(job, self.bench, packed)
        return judge(job, self.bench, Finished(returncode, 0.0, peak), stopping=False)
