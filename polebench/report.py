"""The benchmark's Markdown report: per env, a table of algorithms, the shaped-vs-unshaped comparison
when both ran, the jobs that failed, and links to the plots."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from agents.registry import ALGOS
from envs.thresholds import reward_threshold
from polebench import plots, runs
from polebench.grid import Protocol, protocol_dict
from polebench.results import CellStats, aggregate

REPORT = "report.md"
RESULTS_CSV = "results.csv"


def _fmt(stat: tuple[float, float, float] | None, digits: int = 0) -> str:
    if stat is None:
        return "-"
    mid, low, high = stat
    return f"{mid:,.{digits}f} [{low:,.{digits}f}, {high:,.{digits}f}]"


def _is_reference(algo: str) -> bool:
    return algo in ALGOS and ALGOS[algo].reference


def _row(cell: CellStats) -> str:
    name = plots.label_of(cell) + (" (reference)" if _is_reference(cell.algo) else "")
    rss = f"{cell.max_peak_rss_mb:.0f}" if cell.max_peak_rss_mb is not None else "-"
    return (
        f"| {name} | {cell.solved}/{cell.runs} | {_fmt(cell.steps_to_solve)} | {_fmt(cell.time_to_solve_s, 1)} "
        f"| {cell.final_iqm:.1f} [{cell.final_ci[0]:.1f}, {cell.final_ci[1]:.1f}] | {rss} "
        f"| {cell.median_wall_time_s:.1f} |"
    )


def _table(cells: Sequence[CellStats]) -> list[str]:
    ordered = sorted(cells, key=lambda c: (not _is_reference(c.algo), cells.index(c)))
    return [
        "| algorithm | solved | steps to solve: median [IQR] | time to solve (s): median [IQR] "
        "| final true return: IQM [95% CI] | peak RSS (MB), max | wall time (s), median |",
        "|---|---|---|---|---|---|---|",
        *(_row(c) for c in ordered),
    ]


def _shaping_table(cells: Sequence[CellStats]) -> list[str]:
    """Each algorithm that ran both ways: unshaped beside shaped, every figure a true-return one."""
    pairs: dict[str, dict[bool, CellStats]] = {}
    for cell in cells:
        pairs.setdefault(cell.algo, {})[cell.shaped] = cell
    both = [(p[False], p[True]) for p in pairs.values() if len(p) == 2]
    if not both:
        return []
    lines = [
        "",
        "Shaped vs unshaped reward (every return here is the true, unshaped one):",
        "",
        "| algorithm | solved (unshaped / shaped) | steps to solve, median (unshaped / shaped) "
        "| final true return IQM (unshaped / shaped) |",
        "|---|---|---|---|",
    ]
    for plain, shaped in both:
        steps = " / ".join(f"{c.steps_to_solve[0]:,.0f}" if c.steps_to_solve else "-" for c in (plain, shaped))
        lines.append(
            f"| {plain.algo} | {plain.solved}/{plain.runs} / {shaped.solved}/{shaped.runs} | {steps} "
            f"| {plain.final_iqm:.1f} / {shaped.final_iqm:.1f} |"
        )
    return lines


def _env_section(env: str, cells: Sequence[CellStats], rows: Sequence[dict[str, Any]], folder: Path) -> list[str]:
    threshold = reward_threshold(env)
    env_rows = [r for r in rows if r["env"] == env and r["status"] == "finished"]
    names = {kind: f"{kind}_{env}.png" for kind in ("curves", "final_iqm", "profile", "time_to_solve")}
    plots.plot_curves(cells, env_rows, threshold, folder / names["curves"])
    plots.plot_final_iqm(cells, folder / names["final_iqm"])
    plots.plot_profile(cells, folder / names["profile"])
    plots.plot_time_to_solve(cells, env_rows, folder / names["time_to_solve"])
    solved_at = f"solved at a mean evaluation return >= {threshold:g}" if threshold is not None else "no threshold"
    return [
        f"## {env}",
        "",
        f"{solved_at}. Steps and time to solve count solved runs only; time counts the whole process.",
        "",
        *_table(cells),
        *_shaping_table(cells),
        "",
        f"![learning curves]({names['curves']})",
        "",
        f"![final return]({names['final_iqm']}) ![performance profile]({names['profile']})",
        "",
        f"![time to solve]({names['time_to_solve']})",
        "",
    ]


def _problems(rows: Sequence[dict[str, Any]]) -> list[str]:
    bad = [r for r in rows if r["status"] != "finished"]
    if not bad:
        return []
    lines = ["## Jobs without a result", "", "| job | status | error |", "|---|---|---|"]
    for r in bad:
        job = f"{r['algo']} {r['env']} seed {r['seed']}" + (" (shaped)" if r["shaped"] else "")
        lines.append(f"| {job} | {r['status']} | {r.get('error') or '-'} |")
    return [*lines, ""]


def write_report(rows: Sequence[dict[str, Any]], folder: Path, protocol: Protocol | None) -> Path:
    """Write ``report.md`` and its plots into ``folder``; return the report's path."""
    cells = aggregate(rows)
    envs = list(dict.fromkeys(c.env for c in cells))
    done = sum(r["status"] == "finished" for r in rows)
    settings = ", ".join(f"{k}={v}" for k, v in protocol_dict(protocol).items()) if protocol else "as found"
    lines = [
        "# polebench benchmark",
        "",
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC. {done} of {len(rows)} jobs finished; "
        f"protocol: {settings}. One row per job: [{RESULTS_CSV}]({RESULTS_CSV}).",
        "",
        "Returns are true (unshaped) mean evaluation returns over deterministic episodes. IQM: interquartile"
        " mean over seeds; CI: 95% stratified bootstrap (rliable). IQR: 25th to 75th percentile.",
        "",
    ]
    for env in envs:
        lines += _env_section(env, [c for c in cells if c.env == env], rows, folder)
    lines += _problems(rows)
    path = folder / REPORT
    runs.atomic_write_text(path, "\n".join(lines))
    return path
