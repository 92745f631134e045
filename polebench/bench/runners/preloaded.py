"""Benchmark workers that pay the start-up once: each imports PyTorch, Stable-Baselines3, Gymnasium and
polebench when it starts, then forks one process per job.

A job is still its own process running ``train.py``'s ``main`` with the job's arguments: its own folder,
its output in the job's log, its own peak RSS (``wait4`` on the fork; it counts the libraries the fork
shares with its worker, as a standalone ``train.py`` counts them), its own session (a terminal's Ctrl-C
reaches the driver alone, which forwards one SIGINT). What it no longer pays is the 1.5-3 s of imports:
its times count from the fork. Multiprocessing's own forkserver could preload modules too, but its
children are the server's, not ours, so their exit status and peak RSS could not be read with ``wait4``.

Linux (and other systems with ``fork``) only; elsewhere the driver falls back to one ``train.py``
process per job.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from polebench.bench.runners.ended import Ended, wait_for

if TYPE_CHECKING:
    from polebench.bench.clips import ClipOrder

PRELOAD = (
    "torch",
    "stable_baselines3",
    "sb3_contrib",
    "gymnasium",
    "scipy.linalg",
    "torch.utils.tensorboard",
    "polebench.run.training",
    "polebench.commands.train",
    "polebench.run.callbacks",
    "polebench.replay.play",
)


# What the driver and a worker say to each other over their pipe, one dataclass a message.


@dataclass(frozen=True)
class DigestRequest:
    """Resolve these jobs' configurations and send back their digests (:class:`Digests`)."""

    jobs: list[Any]
    bench: Path
    protocol: Any


@dataclass(frozen=True)
class Digests:
    """The digests asked for, or the one-line error that refused a job."""

    digests: list[str]
    error: str | None = None


@dataclass(frozen=True)
class JobRequest:
    """Fork this ``train`` command line, its output to ``log``; answered by :class:`Started`, then :class:`Ended`."""

    argv: list[str]
    log: Path


@dataclass(frozen=True)
class Started:
    pid: int


@dataclass(frozen=True)
class ClipRequest:
    """Render these clips of the report's replay wall; answered by :class:`ClipsDone` (a clip that cannot
    be made is left for the report to say so)."""

    orders: list[ClipOrder]


@dataclass(frozen=True)
class ClipsDone:
    made: int


def available() -> bool:
    return hasattr(os, "fork") and sys.platform.startswith("linux")


def worker_main(conn: Connection, env: dict[str, str]) -> None:
    """A worker's life: preload, then serve requests until told to stop (``None``) or the driver dies."""
    os.environ.update(env)  # one thread per numeric library, before any of them is imported
    from polebench import interrupts

    os.environ[interrupts.PARENT_VARIABLE] = str(os.getppid())
    interrupts.die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the driver forwards Ctrl-C to the jobs themselves
    import importlib

    for module in PRELOAD:
        importlib.import_module(module)
    from polebench.agents.registry import ALGOS
    from polebench.commands import train

    for spec in ALGOS.values():
        spec.load_class()
    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        if request is None:
            return
        if isinstance(request, DigestRequest):
            conn.send(_digests(request))
        elif isinstance(request, ClipRequest):
            from polebench.bench.clips import render_clips

            conn.send(ClipsDone(sum(clip.path is not None for clip in render_clips(request.orders))))
        else:
            _run_job(conn, train, request)


def _digests(request: DigestRequest) -> Digests:
    from polebench.bench.digests import config_hashes
    from polebench.errors import ConfigError

    try:
        return Digests(config_hashes(request.jobs, request.bench, request.protocol))
    except ConfigError as err:
        return Digests([], str(err))


def _run_job(conn: Connection, train: Any, request: JobRequest) -> None:
    """Fork the job, report its pid, wait for it, and report its exit code and peak RSS."""
    with open(request.log, "wb") as out:
        pid = os.fork()
        if pid == 0:  # the job
            _become_job(conn, train, request.argv, out.fileno())
        conn.send(Started(pid))
    conn.send(wait_for(pid))


def _become_job(conn: Connection, train: Any, argv: list[str], log_fd: int) -> None:
    """In the fork: a process of its own, as if ``python train.py ARGV`` had been started; never returns."""
    code = 1
    try:
        conn.close()
        os.setsid()
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from polebench import clock, interrupts
        from polebench.errors import run_cli

        clock.restart()  # the job's time starts at the fork: its imports were made once, in the worker

        os.environ[interrupts.PARENT_VARIABLE] = str(os.getppid())  # die with the worker
        sys.argv = [str(Path(train.__file__)), *argv]
        code = run_cli(train.main, argv)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:
        # os._exit below skips the interpreter's own report of an uncaught exception: print it here,
        # so a failing job's traceback reaches its log (and the report's error line).
        import traceback

        with contextlib.suppress(Exception), os.fdopen(os.dup(2), "w") as log:  # the log, whatever sys.stderr is
            traceback.print_exc(file=log)
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


class Worker:
    """The driver's handle on one worker process."""

    def __init__(self, env: dict[str, str]) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=worker_main, args=(child, env), daemon=True)
        self.process.start()
        child.close()

    def hashes(self, jobs: Any, bench: Path, protocol: Any) -> list[str]:
        from polebench.errors import ConfigError

        self.conn.send(DigestRequest(list(jobs), bench, protocol))
        answer: Digests = self.conn.recv()
        if answer.error is not None:
            raise ConfigError(answer.error)
        return answer.digests

    def render(self, orders: list[ClipOrder]) -> ClipsDone:
        """Render these clips in the worker; raises ``EOFError`` or ``OSError`` if the worker dies."""
        self.conn.send(ClipRequest(orders))
        done: ClipsDone = self.conn.recv()
        return done

    def run(self, argv: list[str], log: Path, on_start: Callable[[int], None]) -> Ended:
        """Run one job; call ``on_start(pid)`` once it runs; say how it ended."""
        self.conn.send(JobRequest(argv, log))
        started: Started = self.conn.recv()
        on_start(started.pid)
        ended: Ended = self.conn.recv()
        return ended

    def close(self) -> None:
        with contextlib.suppress(OSError, BrokenPipeError):
            self.conn.send(None)
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()
