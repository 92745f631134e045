"""How a job's process ended, in one type for every runner: a ``train`` process, a job forked from a
preloaded worker, a Ray task."""

from __future__ import annotations

import os
from dataclasses import dataclass

from polebench.memory import maxrss_mb


@dataclass(frozen=True)
class Ended:
    """A job's exit code and its peak resident memory (its own, with anything it spawned)."""

    returncode: int
    peak_rss_mb: float


def wait_for(pid: int) -> Ended:
    """Wait for the child ``pid`` to end; ``wait4`` gives that child's own resource usage."""
    _, status, usage = os.wait4(pid, 0)
    return Ended(os.waitstatus_to_exitcode(status), maxrss_mb(usage.ru_maxrss))
