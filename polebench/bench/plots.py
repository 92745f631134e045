"""The benchmark's plots (matplotlib, PNG), one set per env; each algorithm keeps one colour everywhere.

- ``curves_<env>.png``: true evaluation return against env steps and against wall time (log axes),
  IQM across seeds with a 95% bootstrap band. A run that stopped when solved keeps its last evaluation.
- ``final_iqm_<env>.png``: IQM of the final true return with its 95% confidence interval.
- ``profile_<env>.png``: rliable's performance profile of the final true return.
- ``time_to_solve_<env>.png``: every run's time-to-solve, with the median; unsolved runs marked.
- ``trajectories_<env>.png``: one episode per algorithm from the same initial state, on shared axes.
- ``robustness_<env>.png``: success against perturbation level, one panel per perturbation.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display is needed or wanted

import matplotlib.pyplot as plt
import numpy as np

from polebench.agents.registry import ALGOS, is_reference
from polebench.atomic import atomic_target
from polebench.bench.result_row import ResultRow
from polebench.bench.results import BOOTSTRAP_REPS, CellStats, interval_estimates, iqm
from polebench.bench.robustness import LadderStats
from polebench.envs.families import EnvFamily
from polebench.envs.perturbations import PERTURBATIONS, spelt_value
from polebench.replay.trajectory_plot import Trace
from polebench.replay.trajectory_plot import plot_trajectories as draw_traces
from polebench.run import folder as run_files

CURVE_POINTS = 100


def agent_colors(cells: Sequence[CellStats]) -> dict[str, Any]:
    """Each agent's colour. An algorithm with its shipped settings keeps its place in the registry's
    palette in every report; other variants take the remaining colours in grid order. Twins that differ
    only in the shaped reward share a colour (the shaped one is drawn dashed).
    """
    # More algorithms are registered than tab10 has colours: Dark2 carries the registry on, distinct from it.
    colours = [plt.get_cmap("tab10")(i) for i in range(10)] + [plt.get_cmap("Dark2")(i) for i in range(8)]
    registry, palette = colours[: len(ALGOS)], colours[len(ALGOS) :] + [plt.get_cmap("Set2")(i) for i in range(8)]
    by_variant: dict[tuple[str, tuple[str, ...]], Any] = {}
    colors = {}
    for cell in cells:
        variant = (cell.algo, cell.settings)
        if variant not in by_variant:
            shipped = not any(cell.settings) and cell.algo in ALGOS
            by_variant[variant] = (
                registry[list(ALGOS).index(cell.algo)]
                if shipped
                else palette[len([v for v in by_variant if any(v[1])]) % len(palette)]
            )
        colors[cell.agent] = by_variant[variant]
    return colors


def label_of(cell: CellStats) -> str:
    return cell.agent


def _iqm_band(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-point IQM of a (runs, points) matrix and its 95% bootstrap band."""
    point, interval = interval_estimates(scores, iqm, reps=BOOTSTRAP_REPS // 4)
    return point, interval[0], interval[1]


def _step_values(xs: np.ndarray, ys: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """The last value of ``ys`` at or before each grid point; NaN before the first one."""
    idx = np.searchsorted(xs, grid, side="right") - 1
    return np.where(idx >= 0, ys[np.clip(idx, 0, None)], np.nan)


def _curves(evals: Sequence[dict[str, np.ndarray]], key: str) -> tuple[np.ndarray, np.ndarray] | None:
    """A common x grid for every run's evaluations (by ``key``) and the runs' returns on it."""
    evals = [e for e in evals if len(e[key])]
    if not evals:
        return None
    start = max(float(e[key][0]) for e in evals)
    grid = np.geomspace(max(start, 1e-3), max(float(e[key][-1]) for e in evals), CURVE_POINTS)
    scores = np.stack([_step_values(e[key], e["results"].mean(axis=1), grid) for e in evals])
    return grid, scores


def load_evaluations(run_dir: str) -> dict[str, np.ndarray] | None:
    """A run's ``evaluations.npz`` as arrays, or ``None`` when it made no periodic evaluation, or its file
    is damaged or of another shape (the plot then leaves the run out rather than fail the report)."""
    path = Path(run_dir) / "evaluations.npz"
    if not path.is_file():
        return None
    try:
        with np.load(path) as data:
            if "wall_time_s" not in data:
                return None  # written before polebench recorded evaluation times
            arrays = {k: np.asarray(data[k], dtype=float) for k in ("timesteps", "results", "wall_time_s")}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    count = len(arrays["timesteps"])
    shaped_right = arrays["timesteps"].ndim == 1 and arrays["wall_time_s"].shape == (count,)
    return arrays if shaped_right and arrays["results"].ndim == 2 and len(arrays["results"]) == count else None


def plot_curves(cells: Sequence[CellStats], rows: Sequence[ResultRow], threshold: float | None, path: Path) -> None:
    """Learning curves against env steps and wall time, one line per algorithm."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    colors = agent_colors(cells)
    for cell in cells:
        runs = [r for r in rows if r.agent == cell.agent]
        evals = [e for r in runs if (e := load_evaluations(r.run_dir)) is not None]
        style = {"color": colors[cell.agent], "linestyle": "--" if cell.shaped else "-"}
        for ax, key in zip(axes, ("timesteps", "wall_time_s"), strict=True):
            curve = _curves(evals, key)
            if curve is None:  # no periodic evaluations (e.g. LQR): its final return is the reference
                ax.axhline(cell.final_iqm, label=f"{label_of(cell)} (final, reference)", alpha=0.8, **style)
                continue
            grid, scores = curve
            mid, low, high = _iqm_band(scores)
            ax.plot(grid, mid, label=label_of(cell), **style)
            ax.fill_between(grid, low, high, color=style["color"], alpha=0.2)
    for ax, xlabel in zip(axes, ("env steps", "wall time since process start (s)"), strict=True):
        if threshold is not None:
            ax.axhline(threshold, color="grey", linestyle=":", label=f"solved ({threshold:g})")
        # Agents differ by orders of magnitude in steps and seconds; a log axis keeps the fast ones visible.
        ax.set_xscale("log")
        readable_log_ticks(ax.xaxis)
        ax.set_xlabel(xlabel + " (log scale)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("true evaluation return (IQM over seeds, 95% CI)")
    axes[1].legend(loc="lower right", fontsize="small")
    _save(fig, path)


def readable_log_ticks(axis: Any) -> None:
    """Ticks at 1, 2 and 5 of each decade, written short (``2k``, ``10k``, ``0.5``), and no labels on
    the minor ticks: matplotlib's own ``3x10^3 4x10^3 ...`` overlap within a decade."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda value, _: short_number(value)))
    axis.set_minor_formatter(NullFormatter())


def short_number(value: float) -> str:
    """A tick label: thousands as ``k``, millions as ``M``.

    Example:
        >>> [short_number(v) for v in (0.5, 20, 2000, 50000, 1e6)]
        ['0.5', '20', '2k', '50k', '1M']
    """
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:g}{suffix}"
    return f"{value:g}"


def plot_final_iqm(cells: Sequence[CellStats], path: Path) -> None:
    """Horizontal bars: IQM of the final true return per algorithm, with 95% CIs."""
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(cells) + 1.5))
    ys = np.arange(len(cells))
    colors = agent_colors(cells)
    for y, cell in zip(ys, cells, strict=True):
        err = [[cell.final_iqm - cell.final_ci[0]], [cell.final_ci[1] - cell.final_iqm]]
        ax.barh(y, cell.final_iqm, xerr=err, color=colors[cell.agent], hatch="//" if cell.shaped else None, capsize=4)
    ax.set_yticks(ys, [label_of(c) for c in cells])
    ax.invert_yaxis()
    ax.set_xlabel("final true return: IQM over seeds, 95% bootstrap CI")
    ax.grid(axis="x", alpha=0.3)
    _save(fig, path)


def plot_profile(cells: Sequence[CellStats], path: Path) -> None:
    """The performance profile (rliable's score distribution): the fraction of runs whose final true
    return exceeds tau, with its stratified-bootstrap band.

    When every run solves, every agent's line is the same; the lines are drawn from thickest to thinnest,
    so lines that coincide still show each colour, and the plot says that they coincide.
    """
    scores = {label_of(c): c.final_returns.reshape(-1, 1) for c in cells}
    top = max(float(np.max(s)) for s in scores.values())
    taus = np.linspace(0.0, max(top, 1.0) * 1.01, 101)

    def fraction_above(runs: np.ndarray) -> np.ndarray:
        # rliable's create_performance_profile computes the same through np.vectorize (0.56 ms a bootstrap
        # sample, and unseeded); with this, the seeded interval_estimates takes 0.03 ms a sample.
        return np.mean(runs.reshape(-1, 1) > taus, axis=0)

    profiles, cis = {}, {}
    for label, runs in scores.items():
        profiles[label], cis[label] = interval_estimates(runs, fraction_above, reps=BOOTSTRAP_REPS // 4)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    colors = agent_colors(cells)
    widths = np.linspace(5.0, 1.2, len(cells)) if len(cells) > 1 else [1.8]
    for width, cell in zip(widths, cells, strict=True):
        label = label_of(cell)
        shaped = " (shaped reward)" if cell.shaped and "shaped" not in label else ""
        style = {"color": colors[cell.agent], "linestyle": "--" if cell.shaped else "-"}
        ax.plot(taus, profiles[label], lw=width, label=label + shaped, alpha=0.85, **style)
        ax.fill_between(taus, cis[label][0], cis[label][1], color=style["color"], alpha=0.12, lw=0)
    if len(cells) > 1 and all(np.allclose(profiles[label_of(c)], profiles[label_of(cells[0])]) for c in cells):
        ax.set_title("every agent's line is the same: all their runs ended with the same return", fontsize="small")
    ax.set_xlabel(r"final true return $\tau$")
    ax.set_ylabel(r"fraction of runs with return > $\tau$")
    ax.set_ylim(-0.03, 1.03)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize="small")
    _save(fig, path)


def plot_time_to_solve(cells: Sequence[CellStats], rows: Sequence[ResultRow], path: Path) -> None:
    """Every run's time-to-solve (dots) and the median (bar); an x marks a run that never solved."""
    fig, ax = plt.subplots(figsize=(8, 0.55 * len(cells) + 1.5))
    colors = agent_colors(cells)
    for y, cell in enumerate(cells):
        runs = [r for r in rows if r.agent == cell.agent]
        solved = [r.time_to_solve_s for r in runs if r.solved and r.time_to_solve_s is not None]
        unsolved = [r.wall_time_s for r in runs if not r.solved and r.wall_time_s is not None]
        jitter = np.linspace(-0.15, 0.15, max(len(solved), 1))[: len(solved)]
        ax.scatter(solved, y + jitter, color=colors[cell.agent], s=25, zorder=3)
        ax.scatter(unsolved, [y] * len(unsolved), color="black", marker="x", s=40, zorder=3)
        if solved:
            ax.plot([np.median(solved)] * 2, [y - 0.3, y + 0.3], color=colors[cell.agent], linewidth=3)
    ax.set_yticks(range(len(cells)), [label_of(c) for c in cells])
    ax.invert_yaxis()
    ax.set_xlabel("time to solve, whole process (s); bar: median; x: not solved (at its end)")
    ax.set_xlim(left=0)
    ax.grid(axis="x", alpha=0.3)
    _save(fig, path)


def plot_trajectories(cells: Sequence[CellStats], rows: Sequence[ResultRow], family: EnvFamily, path: Path) -> bool:
    """One evaluation episode per algorithm, all from the same initial state (each run's
    ``trajectory.npz``, from its lowest seed that has one), each label naming the seed and saying whether
    that run's final evaluation was balanced; return whether anything was drawn."""
    traces = []
    colors = agent_colors(cells)
    for cell in sorted(cells, key=lambda c: not is_reference(c.algo)):
        runs = sorted((r for r in rows if r.agent == cell.agent), key=lambda r: r.seed)
        found = next((r for r in runs if (Path(r.run_dir) / run_files.TRAJECTORY_FILE).is_file()), None)
        if found is None:
            continue
        label = f"{label_of(cell)} (seed {found.seed}{_final_balance(found, family)})"
        try:
            with np.load(Path(found.run_dir) / run_files.TRAJECTORY_FILE) as data:
                states, actions = np.asarray(data["states"], dtype=float), np.asarray(data["actions"])
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            continue  # damaged: the plot leaves it out
        if states.ndim != 2 or len(actions) != len(states):
            continue
        traces.append(Trace(label, colors[cell.agent], states, actions, "--" if cell.shaped else "-"))
    if traces:
        title = "one evaluation episode per algorithm, all from the same initial state (deterministic actions)"
        draw_traces(traces, family, title, path)
    return bool(traces)


def _final_balance(row: ResultRow, family: EnvFamily) -> str:
    """Whether the run's final evaluation was within the family's balance target: the episode drawn is
    its final model's, which may balance worse than it did at the evaluation that first counted."""
    met = row.final_balanced
    if family.balance is None or met is None:
        return ""
    return "; final evaluation " + ("balanced" if met else "not balanced")


def plot_robustness(cells: Sequence[CellStats], stats: dict[str, list[LadderStats]], path: Path) -> None:
    """Success against perturbation level: one panel per perturbation, one line per algorithm, the
    legend beside the panels (inside, it would hide the curves)."""
    names = list(dict.fromkeys(s.perturbation for per_cell in stats.values() for s in per_cell))
    fig, axes = plt.subplots(
        1, len(names), figsize=(3.6 * len(names) + 2.5, 4.2), sharey=True, squeeze=False, layout="constrained"
    )
    by_label = {label_of(cell): cell for cell in cells}
    colors = agent_colors(cells)
    for ax, name in zip(axes[0], names, strict=True):
        for label, per_cell in stats.items():
            ladder = next((s for s in per_cell if s.perturbation == name), None)
            if ladder is None:
                continue
            cell = by_label[label]
            style = {"color": colors[cell.agent], "linestyle": "--" if cell.shaped else "-"}
            ax.plot(range(len(ladder.success)), ladder.success, marker="o", ms=3, label=label, **style)
        values = PERTURBATIONS[name].values
        # Both spellings of a level, as --perturb takes them: its number and its value.
        ax.set_xticks(range(len(values)), [f"{level}\n{spelt_value(v)}" for level, v in enumerate(values)])
        ax.set_title(name)
        ax.set_xlabel(f"level\n{PERTURBATIONS[name].unit}")
        ax.set_ylim(-0.03, 1.03)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("fraction of episodes reaching the threshold")
    fig.legend(*axes[0][0].get_legend_handles_labels(), loc="outside right upper", fontsize="small")
    _save(fig, path)


def _save(fig: Any, path: Path) -> None:
    if not fig.get_layout_engine():
        fig.tight_layout()
    with atomic_target(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
