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

from polebench.atomic import atomic_target
from polebench.envs.families import EnvFamily, action_kinds
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
    """One panel per state channel of ``family``, then two of the actions (their mean effort and how
    often they switch, each over a short sliding window), every trace on shared axes."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display is needed or wanted
    import matplotlib.pyplot as plt

    heights = [3.0] * len(family.channels) + [2.2, 2.2]
    fig, axes = plt.subplots(
        len(heights), 1, figsize=(11, sum(heights) + 0.8), sharex=True, height_ratios=heights, layout="constrained"
    )
    dt = family.step_seconds or 1.0
    window = action_window(family)
    for trace in traces:
        t = np.arange(1, len(trace.actions) + 1) * dt
        style = {"color": trace.color, "label": trace.label, "lw": 1.2, "linestyle": trace.linestyle}
        for ax, channel in zip(axes, family.channels, strict=False):
            values = trace.states[:, channel.index].astype(float)
            if channel.wraps:  # an angle wrapped to [-pi, pi): no line across the wrap
                values[1:][np.abs(np.diff(values)) > np.pi] = np.nan
            ax.plot(t, values * channel.scale, **style)
        mean_effort, switches = action_signals(trace.actions, family)
        axes[-2].plot(t, mean_effort, **style)
        axes[-1].plot(t, switches, **style)
    for ax, channel in zip(axes, family.channels, strict=False):
        ax.axhline(0.0, color="grey", lw=0.6)
        ax.set_ylabel(channel.label)
        ax.grid(alpha=0.3)
    span = f"{window * dt:g} s" if family.step_seconds else f"{window} steps"
    axes[-2].axhline(0.0, color="grey", lw=0.6)
    # The mean force of a balancing agent stays near zero: zoom in on it, symmetrically, so a lean shows.
    leans = [np.nanmax(np.abs(line.get_ydata()), initial=0.0) for line in axes[-2].get_lines()]
    axes[-2].set_ylim(-max(0.2, *leans) * 1.15, max(0.2, *leans) * 1.15)
    axes[-2].set_ylabel(f"mean action over {span}\n{family.effort_label}", fontsize="small")
    axes[-1].set_ylim(bottom=0.0)
    per = "s" if family.step_seconds else "step"
    axes[-1].set_ylabel(f"action switches per {per}\nover {span} (chatter)", fontsize="small")
    for ax in axes[-2:]:
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("time (s)" if family.step_seconds else "step")
    fig.suptitle(title)
    if len(traces) > 1:
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(traces), 3), fontsize="small")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_target(path) as tmp:
            fig.savefig(tmp, dpi=110)
    except OSError as err:
        raise ConfigError(f"cannot write the figure {path}: {err.strerror}") from None
    finally:
        plt.close(fig)


ACTION_WINDOW_SECONDS = 0.6  # long enough to average out a controller's alternation, short enough to show a lean
ACTION_WINDOW_STEPS = 30  # for families without a time step


def action_window(family: EnvFamily) -> int:
    """The sliding window of the action panels, in steps (0.6 s of simulated time where known), always
    an even count, so that an agent alternating left and right averages to zero."""
    steps = round(ACTION_WINDOW_SECONDS / family.step_seconds) if family.step_seconds else ACTION_WINDOW_STEPS
    return max(2, steps + steps % 2)


def action_signals(actions: np.ndarray, family: EnvFamily) -> tuple[np.ndarray, np.ndarray]:
    """What the action panels draw at each step: the mean signed effort over the last
    :func:`action_window` steps (which way the agent has been pushing), and how often the action changed
    in them, per second (per step where the family has no time step): how much it chatters."""
    actions = np.asarray(actions)
    window = action_window(family)
    # Discrete actions index the family's efforts; a force the simulator applied is its own effort.
    indexed = bool(family.action_effort) and actions.dtype.kind in "iub"
    effort = np.asarray(family.action_effort, dtype=float)[actions.astype(int)] if indexed else actions.astype(float)
    kinds = action_kinds(actions)
    switched = np.concatenate([[0.0], (kinds[1:] != kinds[:-1]).astype(float)])
    # Each panel starts once its window is full: a lone first action would read as a full push.
    return sliding_mean(effort, window), sliding_mean(switched, window) / (family.step_seconds or 1.0)


def sliding_mean(values: np.ndarray, window: int) -> np.ndarray:
    """A Hann-weighted mean of each value and the ``window - 1`` before it, NaN until the window is full.

    Trailing, so a sustained push shows where it happens rather than ahead of it; weighted, because a
    plain mean of +-1 actions steps by 2/window each time one action enters and another leaves, which
    draws a band of noise around zero.

    Example:
        >>> sliding_mean(np.array([1.0, 1.0, 1.0, -1.0, -1.0, -1.0]), 2).round(2).tolist()
        [nan, 1.0, 1.0, 0.0, -1.0, -1.0]
    """
    weights = np.hanning(window + 2)[1:-1]
    weights /= weights.sum()
    smoothed = np.convolve(np.asarray(values, dtype=float), weights)[: len(values)]
    smoothed[: window - 1] = np.nan
    return smoothed
