"""Pictures of how an episode went: the family's state variables and the actions against time.

``enjoy.py --plot`` draws one episode; the benchmark draws one episode per agent from the same initial
state on shared axes (``trajectories_<env>.png``). Matplotlib is imported only when a picture is drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from envs.families import EnvFamily
from polebench.atomic import atomic_target
from polebench.errors import ConfigError

FIGURE_SUFFIXES = (".png", ".pdf", ".svg", ".jpg", ".jpeg")


@dataclass(frozen=True)
class Trace:
    """One episode to draw: its label, its colour and its true states and actions."""

    label: str
    color: Any
    states: np.ndarray
    actions: np.ndarray
    linestyle: str = "-"


def check_figure_path(path: Path, flag: str) -> None:
    """Refuse, before anything runs, a figure path that cannot be written; nothing is created here."""
    from polebench.run.folder import check_output_file

    check_output_file(path, flag, FIGURE_SUFFIXES)


def plot_trajectory(trajectory: dict[str, np.ndarray], family: EnvFamily, title: str, path: Path) -> None:
    """Draw one episode (``{"states", "actions"}`` as the quality recorder keeps it) to ``path``."""
    plot_trajectories([Trace("episode", "tab:blue", trajectory["states"], trajectory["actions"])], family, title, path)


def plot_trajectories(traces: Sequence[Trace], family: EnvFamily, title: str, path: Path) -> None:
    """One panel per state channel of ``family`` and one of actions, every trace on shared axes."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display is needed or wanted
    import matplotlib.pyplot as plt

    heights = [3.0] * len(family.channels) + [0.6 + 0.25 * len(traces)]
    fig, axes = plt.subplots(
        len(heights), 1, figsize=(11, sum(heights) + 0.8), sharex=True, height_ratios=heights, layout="constrained"
    )
    dt = family.step_seconds or 1.0
    for trace in traces:
        t = np.arange(1, len(trace.actions) + 1) * dt
        for ax, channel in zip(axes, family.channels, strict=False):
            values = trace.states[:, channel.index] * channel.scale
            ax.plot(t, values, color=trace.color, label=trace.label, lw=1.2, linestyle=trace.linestyle)
    for ax, channel in zip(axes, family.channels, strict=False):
        ax.axhline(0.0, color="grey", lw=0.6)
        ax.set_ylabel(channel.label)
        ax.grid(alpha=0.3)
    _actions_panel(axes[-1], traces, dt, family)
    axes[-1].set_xlabel("time (s)" if family.step_seconds else "step")
    fig.suptitle(title)
    if len(traces) > 1:
        fig.legend(*axes[0].get_legend_handles_labels(), loc="outside right upper", fontsize="small")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_target(path) as tmp:
            fig.savefig(tmp, dpi=110)
    except OSError as err:
        raise ConfigError(f"cannot write the figure {path}: {err.strerror}") from None
    finally:
        plt.close(fig)


def _actions_panel(ax: Any, traces: Sequence[Trace], dt: float, family: EnvFamily) -> None:
    """One row per trace, one cell per step, coloured by the action's signed effort (blue: left or
    negative, red: right or positive): fine stripes are chatter, long blocks sustained pushes."""
    effort_of = np.asarray(family.action_effort, dtype=float)
    longest = max(len(trace.actions) for trace in traces)
    raster = np.full((len(traces), longest), np.nan)
    for row, trace in enumerate(traces):
        raster[row, : len(trace.actions)] = effort_of[np.asarray(trace.actions, dtype=int)]
    extent = (0.5 * dt, (longest + 0.5) * dt, len(traces) - 0.5, -0.5)
    ax.imshow(raster, aspect="auto", cmap="coolwarm", vmin=-1, vmax=1, interpolation="nearest", extent=extent)
    ax.set_yticks(range(len(traces)), [trace.label for trace in traces], fontsize="small")
    ax.set_ylabel(f"actions: {family.effort_label}", fontsize="small")
