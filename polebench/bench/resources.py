"""Memory and pace over training, from each run's resource trace (``summary.json``'s ``trace``): what the
peak resident memory hides (PyTorch's own footprint dominates it) and a leak shows, memory that grows with
every 10,000 env steps, and a run that slows as it goes."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from polebench.bench.result_row import ResultRow
from polebench.bench.untrusted import md
from polebench.run.summary import RunSummary

BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float]) -> str:
    """``values`` as one bar each, from zero to the largest, so a bar's height is its share of the largest
    (a flat memory of 300 MB reads flat, a doubling reads as one).

    Example:
        >>> sparkline([300, 310, 600, 1200]), sparkline([])
        ('▃▃▅█', '')
    """
    top = max(values, default=0.0)
    if top <= 0:
        return BARS[0] * len(values)
    return "".join(BARS[min(int(v / top * len(BARS)), len(BARS) - 1)] if v > 0 else BARS[0] for v in values)


def every_mark(values: Sequence[float], most: int = 8) -> str:
    """``values`` as whole numbers joined by arrows, at most ``most`` of them (evenly spaced, first and last
    kept): memory is read in MB, where bars from zero would hide a growth of a tenth.

    Example:
        >>> every_mark([272.4, 280.0, 295.1]), every_mark(list(range(100)), most=3)
        ('272 → 280 → 295', '0 → 50 → 99')
    """
    if len(values) > most:
        values = [values[round(i * (len(values) - 1) / (most - 1))] for i in range(most)]
    return " → ".join(f"{v:,.0f}" for v in values)


def pace(trace: Sequence[Sequence[float]]) -> list[float]:
    """Env steps per second between consecutive points of a trace ``[steps, MB, seconds]``.

    Example:
        >>> pace([[0, 300.0, 0.0], [10_000, 310.0, 5.0], [20_000, 320.0, 15.0]])
        [2000.0, 1000.0]
    """
    return [(b[0] - a[0]) / (b[2] - a[2]) for a, b in itertools.pairwise(trace) if b[2] > a[2] and b[0] > a[0]]


def resources_table(agents: Sequence[str], rows: Sequence[ResultRow]) -> list[str]:
    """The report's table: per agent (in ``agents``' order), resident memory at the start and at the end of
    learning and its growth per 10,000 env steps (medians over its runs), and the median run's memory and
    pace over the run as bars. Empty when no run kept a trace."""
    lines = []
    for agent in agents:
        runs = [r for r in rows if r.agent == agent and r.rss_growth_mb_per_10k_steps is not None]
        if not runs:
            continue
        growth = [float(r.rss_growth_mb_per_10k_steps or 0.0) for r in runs]
        median_run = runs[int(np.argsort(growth)[len(growth) // 2])]
        summary = RunSummary.read(Path(median_run.run_dir))
        trace = (summary.trace if summary is not None else None) or []
        start = float(np.median([r.rss_start_mb for r in runs if r.rss_start_mb is not None]))
        end = float(np.median([r.rss_end_mb for r in runs if r.rss_end_mb is not None]))
        steps_per_s = pace(trace)
        speed = f"{sparkline(steps_per_s)} {steps_per_s[0]:,.0f} → {steps_per_s[-1]:,.0f}" if steps_per_s else "-"
        memory = every_mark([point[1] for point in trace]) or "-"
        lines.append(
            f"| {md(agent)} | {start:,.0f} → {end:,.0f} | {float(np.median(growth)):+,.1f} | {memory} | {speed} |"
        )
    if not lines:
        return []
    return [
        "",
        "Memory and pace over training: resident memory at the start of learning and at its end and its growth "
        "per 10,000 env steps (medians over runs); the median run's memory every 10,000 steps, and its env steps "
        "per second, as bars from zero to the largest. A replay buffer grows until it is full, then stops; a "
        "leak keeps growing.",
        "",
        "| agent | memory at start → end, MB | growth per 10k steps, MB | memory every 10k steps, MB "
        "| steps/s over the run |",
        "|---|---|---|---|---|",
        *lines,
    ]
