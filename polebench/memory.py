"""Peak resident memory, measured the same way for a run (its own process) and a benchmark job (a child)."""

from __future__ import annotations

import resource
import sys


def maxrss_mb(maxrss: int) -> float:
    """``getrusage``'s ``ru_maxrss`` in MB, one decimal: kibibytes on Linux, bytes on macOS."""
    return round(maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def own_peak_rss_mb() -> float:
    """Peak resident memory of this process, in MB.

    Children are left out on purpose: a forked helper (``uname`` behind ``platform``) reports the
    parent's resident pages at fork as its own peak, which would count the same memory twice.
    """
    return maxrss_mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
