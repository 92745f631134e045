"""Run benchmark jobs on a Ray cluster: the same ``train.py`` runs, on any node.

Jobs go to :class:`JobHost` actors, one per CPU the grid can use (at most one per job). Each host keeps
a preloaded worker (:mod:`polebench.bench.runners.preloaded`) on its node and forks every job from it, as
local workers do, so a node pays the imports of PyTorch, SB3 and Gymnasium once per host, not once per
job. A job runs in a temporary folder on its node (one CPU, PyTorch on one thread) and comes back as a
compressed archive through Ray's object store, so the nodes share no disk with the
driver. The driver unpacks each archive into the job's usual folder and judges it exactly as a local run
is judged, so the CSV, report and plots come out the same. The checkout is shipped to the nodes as Ray's
``working_dir``; each node's Python needs polebench's dependencies installed.
"""

from __future__ import annotations

import io
import logging
import shutil
import socket
import tarfile
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from polebench.bench.grid import JOB_LOG, Job, Protocol
from polebench.bench.runners.ended import Ended
from polebench.bench.runners.processes import (
    TRAIN_COMMAND,
    Outcome,
    judge,
    record_failure,
    run_process,
    single_thread_env,
)
from polebench.errors import ConfigError
from polebench.imports import optional
from polebench.run import folder as runs
from polebench.run.summary import RunSummary

# What the nodes need is the project's code, shipped as the installed packages (an editable install
# or a wheel alike); Ray puts them on the PYTHONPATH of its workers and of the jobs they start.
SHIPPED_PACKAGES = ("polebench",)
SHIPPING_EXCLUDES = ["__pycache__", "*.pyc"]
# Ray retries a task whose node or worker process died; a job that fails on its own is not retried.
NODE_LOSS_RETRIES = 2


def run_packed(job: Job, protocol: Protocol, worker: Any = None) -> tuple[Ended, bytes]:
    """Run ``job`` in a temporary folder here (a Ray node), forked from ``worker`` (a preloaded
    :class:`preloaded.Worker`) or else as a ``train`` process; return how it ended and its folder, packed."""
    scratch = Path(tempfile.mkdtemp(prefix="polebench-job-"))
    try:
        argv = job.train_args(protocol, scratch)
        if worker is not None:
            ended = worker.run(argv, scratch / JOB_LOG, on_start=lambda pid: None)
        else:
            ended = run_process([*TRAIN_COMMAND, *argv], scratch / JOB_LOG)
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            archive.add(scratch, arcname=".")
        return ended, buffer.getvalue()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


class JobHost:
    """A Ray actor (one CPU) that keeps one preloaded worker on its node and runs jobs sent to it, one at
    a time; where the node cannot fork, each job is a ``train.py`` process."""

    def __init__(self) -> None:
        from polebench.bench.runners import preloaded

        self.worker = preloaded.Worker(single_thread_env()) if preloaded.available() else None

    def run(self, job: Job, protocol: Protocol) -> tuple[Ended, bytes]:
        return run_packed(job, protocol, self.worker)


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
        raise ConfigError(f"cannot reach the Ray cluster at {address}: {err.strerror or err}") from None


def _shipped_modules() -> list[Any]:
    import importlib

    return [importlib.import_module(name) for name in SHIPPED_PACKAGES]


class RayRunner:
    """Runs jobs as Ray tasks on the cluster at ``address`` (``auto``, ``host:port`` or ``ray://host:10001``)."""

    def __init__(self, bench: Path, protocol: Protocol, address: str) -> None:
        ray = optional("ray", "distributed", "--ray")
        self.ray = ray
        self.bench = bench
        self.protocol = protocol
        _check_reachable(address)
        try:
            ray.init(
                address=address,
                runtime_env={"py_modules": _shipped_modules(), "excludes": SHIPPING_EXCLUDES},
                log_to_driver=False,
                logging_level=logging.ERROR,
            )
        except (ConnectionError, ValueError, RuntimeError) as err:
            raise ConfigError(f"cannot reach the Ray cluster at {address}: {str(err).splitlines()[0]}") from None

    def run(self, jobs: Sequence[Job], on_done: Callable[[Outcome], None]) -> list[Outcome]:
        """Start the hosts, give each a job whenever it is free, and collect each job as it finishes.

        The hosts are killed at the end, and on Ctrl-C: their workers and jobs die with them (each job
        saving what it has, as on SIGTERM)."""
        host_class = self.ray.remote(num_cpus=1, max_restarts=NODE_LOSS_RETRIES, max_task_retries=NODE_LOSS_RETRIES)(
            JobHost
        )
        cpus = int(self.ray.cluster_resources().get("CPU", 1))
        hosts: list[Any] = [host_class.remote() for _ in range(max(1, min(len(jobs), cpus)))]
        # Not ray.util.ActorPool: when a task fails (its node lost), the pool raises without saying which
        # job it was, and that job must be recorded as failed.
        waiting, idle = list(jobs), list(hosts)
        pending: dict[Any, tuple[Job, Any]] = {}
        outcomes: list[Outcome] = []
        try:
            while waiting or pending:
                while waiting and idle:
                    host, job = idle.pop(), waiting.pop(0)
                    pending[host.run.remote(job, self.protocol)] = (job, host)
                [ref], _ = self.ray.wait(list(pending), num_returns=1)
                job, host = pending.pop(ref)
                idle.append(host)
                outcomes.append(self._collect(job, ref))
                on_done(outcomes[-1])
        finally:
            for host in hosts:
                self.ray.kill(host, no_restart=True)
        return outcomes

    def _collect(self, job: Job, ref: Any) -> Outcome:
        try:
            ended, packed = self.ray.get(ref)
        except self.ray.exceptions.RayError as err:
            return record_failure(job, self.bench, f"lost on the cluster: {str(err).strip().splitlines()[0]}")
        unpack(job, self.bench, packed)
        return judge(job, self.bench, ended, stopping=False)
