"""Training throughput from a run's ``monitor.csv`` files: does a run slow down as it goes?

Each Monitor row is one finished episode with its length ``l`` and its end time ``t`` (seconds since
that env started). Merging the envs' rows by time gives the env steps done by each moment, so the
steps per second of any stretch of the run can be read off without touching the training loop.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from polebench.run import folder as runs

MIN_EPISODES = 10  # fewer finished episodes than this: no throughput is reported


def steps_over_time(run_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """Seconds since start and the cumulative env steps (all envs) at the end of every episode."""
    with warnings.catch_warnings():  # a controller's monitor.csv has a header and no episode: no rows, no warning
        warnings.filterwarnings("ignore", message=".*input contained no data")
        rows = [
            np.loadtxt(path, delimiter=",", skiprows=2, usecols=(1, 2), ndmin=2)
            for path in sorted(run_dir.glob("*.monitor.csv"))
        ]
    episodes = np.concatenate(rows) if rows else np.zeros((0, 2))
    episodes = episodes[np.argsort(episodes[:, 1])]
    return episodes[:, 1], np.cumsum(episodes[:, 0])


def steps_per_second(run_dir: Path, fraction: float = 0.2) -> tuple[float, float]:
    """Env steps per second over the first and the last ``fraction`` of the steps after learning starts.

    Example (a run at a steady 1,000 steps/s, one 100-step episode each 0.1 s, learning from step 1,000):
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> rows = "".join(f"100.0,100,{0.1 * (i + 1):.3f}\\n" for i in range(200))
        >>> _ = (folder / "0.monitor.csv").write_text('#{"t_start": 0}\\nr,l,t\\n' + rows)
        >>> runs.write_yaml(folder / runs.CONFIG_FILE, {"hyperparams": {"learning_starts": 1000}})
        >>> [round(x) for x in steps_per_second(folder)]
        [1000, 1000]
    """
    seconds, steps = steps_over_time(run_dir)
    start = float(runs.read_config(run_dir).get("hyperparams", {}).get("learning_starts", 0))
    end = float(steps[-1])
    span = (end - start) * fraction

    def rate(lo: float, hi: float) -> float:
        return span / float(np.interp(hi, steps, seconds) - np.interp(lo, steps, seconds))

    return rate(start, start + span), rate(end - span, end)


def early_and_late(run_dir: Path) -> tuple[float | None, float | None]:
    """:func:`steps_per_second`, or ``None`` twice where there is nothing to measure: a controller takes
    no env steps, and a run of a handful of episodes has no early and late stretch to tell apart."""
    try:
        _, steps = steps_over_time(run_dir)
        if len(steps) < MIN_EPISODES:
            return None, None
        early, late = steps_per_second(run_dir)
    except (OSError, ValueError, IndexError, ZeroDivisionError):  # a damaged or foreign monitor.csv
        return None, None
    finite = np.isfinite([early, late]).all() and min(early, late) > 0
    return (round(early, 1), round(late, 1)) if finite else (None, None)
