"""When this process began its work, by its own clock: the first import of polebench, before PyTorch and the
rest are imported, so the times a run reports include them.

Not the operating system's process start time: psutil computes it from the boot time, which Linux gives in
whole seconds, so it was up to a second early and every reported time that much too long.
"""

from __future__ import annotations

import time

_started = time.time()


def started() -> float:
    """``time.time()`` when this process began (or, for a forked benchmark job, when it was forked)."""
    return _started


def restart() -> None:
    """Count from now: a job forked from a benchmark worker, whose imports were made once, beforehand."""
    global _started
    _started = time.time()
