"""The benchmark's Markdown report: per env, a table of algorithms, their balance quality, the
shaped-vs-unshaped comparisons when both ran, their robustness when measured, the jobs that failed, and
the plots."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from polebench.agents.registry import is_reference
from polebench.atomic import write_texts
from polebench.bench import plots
from polebench.bench.clips import INTERRUPTED
from polebench.bench.grid import Protocol, job_label
from polebench.bench.page import (
    PAGE,
    Walls,
    inline_clips,
    missing_clips,
    publish_clips,
    remove_stale_clips,
    render_page,
    safe_name,
    wall,
)
from polebench.bench.resources import resources_table
from polebench.bench.result_row import ResultRow
from polebench.bench.results import CellStats, aggregate, median_iqr, metric_columns
from polebench.bench.robustness import JobRobustness, LadderStats, ladder_stats
from polebench.bench.untrusted import md
from polebench.config.provenance import describe as describe_machine
from polebench.config.seeds import FIRST_TEST_SEED, is_test_seed
from polebench.config.seeds import describe as describe_seeds
from polebench.envs.families import EnvFamily, family_of_id
from polebench.envs.perturbations import PERTURBATIONS, spelt_value
from polebench.envs.thresholds import reward_threshold

REPORT = "report.md"
RESULTS_CSV = "results.csv"
ROBUSTNESS_CSV = "robustness.csv"
# The one sentence that says what "balanced" means, wherever a table shows it.
BALANCED_MEANS = (
    "the run's final evaluation (fresh episodes, after training) reached the threshold with {target}; "
    '"first balanced at" is when an evaluation first did, and how many runs ever did.'
)
BUSY_RATIO = 1.5  # wall time above this multiple of a job's CPU time: it waited for the CPU


def _fmt(stat: tuple[float, float, float] | None, digits: int = 0) -> str:
    if stat is None:
        return "-"
    mid, low, high = stat
    return f"{mid:,.{digits}f} [{low:,.{digits}f}, {high:,.{digits}f}]"


def _shown_name(cell: CellStats) -> str:
    """The agent's name in the report's tables (escaped: a plugin names itself), the reference controller
    marked as such."""
    return md(plots.label_of(cell)) + (" (reference)" if is_reference(cell.algo) else "")


def _reference_first(cells: Sequence[CellStats]) -> list[CellStats]:
    return sorted(cells, key=lambda c: (not is_reference(c.algo), cells.index(c)))


def _row(cell: CellStats) -> str:
    name = _shown_name(cell)
    rss = f"{cell.max_peak_rss_mb:.0f}" if cell.max_peak_rss_mb is not None else "-"
    balanced = "-" if cell.balanced is None else f"{cell.balanced}/{cell.runs}"
    first = (
        ""
        if not cell.first_balanced
        else f" (first at {_fmt(cell.time_to_balance_s, 1)} s, {cell.first_balanced} runs)"
    )
    success = "-" if cell.final_success_rate is None else f"{cell.final_success_rate:.2f}"
    throughput = "-" if cell.steps_per_s is None else f"{cell.steps_per_s[0]:,.0f} → {cell.steps_per_s[1]:,.0f}"
    return (
        f"| {name} | {md(cell.algo)} | {cell.solved}/{cell.runs} | {_fmt(cell.steps_to_solve)} "
        f"| {_fmt(cell.time_to_solve_s, 1)} | {balanced}{first} "
        f"| {cell.final_iqm:.1f} [{cell.final_ci[0]:.1f}, {cell.final_ci[1]:.1f}] | {success} | {rss} "
        f"| {_wall_and_cpu(cell)} | {throughput} |"
    )


def _wall_and_cpu(cell: CellStats) -> str:
    cpu = "-" if cell.median_cpu_time_s is None else f"{cell.median_cpu_time_s:.1f}"
    return f"{cell.median_wall_time_s:.1f} / {cpu}"


def busy_machine_warning(rows: Sequence[ResultRow]) -> list[str]:
    """One line, when finished jobs waited for the CPU (wall time well above the CPU time they used):
    their seconds then measure the machine's load as much as the agent, and steps do not.

    Example:
        >>> from polebench.bench.grid import JobStatus
        >>> row = ResultRow(agent="ppo", algo="ppo", env="CartPole-v1", seed=0, status=JobStatus.FINISHED,
        ...                 wall_time_s=20.0, cpu_time_s=8.0, load_average=3.5)
        >>> busy_machine_warning([row])[0][:53]
        '**The machine was busy**: jobs took up to 2.5x their '
    """
    timed = [(r.wall_time_s, r.cpu_time_s) for r in rows if r.finished]
    finished = [(wall, cpu) for wall, cpu in timed if wall is not None and cpu is not None]
    # A second or two of waiting (start-up, a short job) says nothing about the load.
    waited = [wall / max(cpu, 1e-9) for wall, cpu in finished if wall - cpu > 2.0]
    if not waited or max(waited) < BUSY_RATIO:
        return []
    loads = [r.load_average for r in rows if r.finished and r.load_average is not None]
    load = f" (load average up to {max(loads):.1f} on {os.cpu_count()} cores)" if loads else ""
    return [
        f"**The machine was busy**: jobs took up to {max(waited):.1f}x their CPU time in wall time{load}, so "
        "their times measure the load as much as the agents; steps to solve do not depend on it.",
        "",
    ]


def _table(cells: Sequence[CellStats]) -> list[str]:
    return [
        "| agent | algorithm | solved | steps to solve: median [IQR] | time to solve (s): median [IQR] "
        "| balanced at the end (first balanced at, s: median [IQR]) | final true return: IQM [95% CI] "
        "| final success rate, median | peak RSS (MB), max | wall / CPU time (s), median "
        "| env steps/s, early → late: median |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *(_row(c) for c in _reference_first(cells)),
    ]


def shaped_twins(cells: Sequence[CellStats]) -> list[tuple[CellStats, CellStats]]:
    """(unshaped, shaped) pairs of agents that differ only in the reward shaping (of any form)."""
    plain = {(c.algo, c.settings): c for c in cells if not c.shaped}
    return [(plain[(c.algo, c.settings)], c) for c in cells if c.shaped and (c.algo, c.settings) in plain]


def _shaping_table(cells: Sequence[CellStats]) -> list[str]:
    """Each agent that ran both ways: unshaped beside shaped, every figure a true-return one."""
    both = shaped_twins(cells)
    if not both:
        return []
    lines = [
        "",
        "Shaped vs unshaped reward (every return here is the true, unshaped one):",
        "",
        "| agents (unshaped → shaped) | shaping | solved (unshaped / shaped) "
        "| steps to solve, median (unshaped / shaped) | final true return IQM (unshaped / shaped) |",
        "|---|---|---|---|---|",
    ]
    for plain, shaped in both:
        steps = " / ".join(f"{c.steps_to_solve[0]:,.0f}" if c.steps_to_solve else "-" for c in (plain, shaped))
        lines.append(
            f"| {_twins(plain, shaped)} | {md(shaped.shaped_reward)} | {plain.solved}/{plain.runs} / "
            f"{shaped.solved}/{shaped.runs} | {steps} | {plain.final_iqm:.1f} / {shaped.final_iqm:.1f} |"
        )
    return lines


def _balance_table(cells: Sequence[CellStats], family: EnvFamily | None) -> list[str]:
    """Median over seeds of each behaviour metric of the final evaluation, the reference first."""
    names = [m.name for m in family.metrics] if family is not None else []
    if not names or not any(cell.quality for cell in cells):
        return []
    lines = [
        "",
        "### Balance quality",
        "",
        "Median over seeds of each metric of the final evaluation, measured on the simulator's true state "
        "(lower is stiller, nearer the centre and calmer). Every one of these agents may score the same return.",
        "",
        "| agent | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for cell in _reference_first(cells):
        name = _shown_name(cell)
        values = [f"{cell.quality[n]:.3g}" if n in cell.quality else "-" for n in names]
        lines.append(f"| {name} | " + " | ".join(values) + " |")
    return lines


def _twins(plain: CellStats, shaped: CellStats) -> str:
    return f"{md(plain.agent)} → {md(shaped.agent)}"


def _change(plain: float | None, shaped: float | None, digits: str = ".3g") -> str:
    if plain is None or shaped is None:
        return "-"
    relative = f" ({(shaped - plain) / abs(plain):+.0%})" if plain else ""
    return f"{plain:{digits}} → {shaped:{digits}}{relative}"


def _shaped_quality_table(cells: Sequence[CellStats], family: EnvFamily | None) -> list[str]:
    """Does the shaped reward give a stiller pole and less drift, and what does it cost in time to solve?"""
    both = shaped_twins(cells)
    names = [m.name for m in family.metrics] if family is not None else []
    if not both or not names:
        return []
    lines = [
        "",
        "Shaped vs unshaped balance quality (unshaped → shaped, medians over seeds; the change in brackets):",
        "",
        "| agents (unshaped → shaped) | shaping | " + " | ".join(names) + " | time to solve (s) |",
        "|---|---|" + "---|" * (len(names) + 1),
    ]
    for plain, shaped in both:
        metrics = [_change(plain.quality.get(n), shaped.quality.get(n)) for n in names]
        times = [c.time_to_solve_s[0] if c.time_to_solve_s else None for c in (plain, shaped)]
        change = _change(times[0], times[1], digits=".1f")
        row = [_twins(plain, shaped), md(shaped.shaped_reward), *metrics, change]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def _robustness_section(
    cells: Sequence[CellStats], measured: Sequence[JobRobustness], threshold: float | None, plot: Path
) -> list[str]:
    """Per agent and perturbation: the highest level the median run survives, and the area under its
    success curve; and the plot of success against level."""
    if not measured or threshold is None:
        return []
    stats: dict[str, list[LadderStats]] = {}
    for cell in _reference_first(cells):
        runs_of_cell = [m.results for m in measured if m.job.agent.name == cell.agent]
        if runs_of_cell:
            stats[plots.label_of(cell)] = ladder_stats(runs_of_cell, threshold)
    shown = {plots.label_of(c): _shown_name(c) for c in cells}
    if not stats:
        return []
    names = list(dict.fromkeys(s.perturbation for per_cell in stats.values() for s in per_cell))
    plots.plot_robustness(cells, stats, plot)
    episodes = "the same episodes for every agent, seeded apart from training and evaluation"
    lines = [
        "",
        "### Robustness",
        "",
        f"Each finished run's final model under every perturbation level ({episodes}). Per perturbation: the "
        "highest level up to which the median run still reaches the threshold, its value in brackets, then "
        "the area under the success curve (fraction of episodes reaching the threshold, averaged over runs, "
        "against the level scaled to 0-1; 1.00 is perfect everywhere).",
        "",
        "| agent | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for label, per_cell in stats.items():
        by_name = {s.perturbation: s for s in per_cell}
        lines.append(f"| {shown[label]} | " + " | ".join(_ladder_cell(by_name.get(n)) for n in names) + " |")
    ladders = "; ".join(f"{n}: {', '.join(spelt_value(v) for v in PERTURBATIONS[n].values)}" for n in names)
    return [*lines, "", f"Ladders (level 0 first): {ladders}. See the README for what each means.", ""]


def _ladder_cell(stats: LadderStats | None) -> str:
    if stats is None:
        return "-"
    top = stats.highest_level
    level = "none" if top is None else f"{top} ({spelt_value(stats.values[top])})"
    return f"{level}, AUC {stats.auc:.2f}"


def _env_section(
    env: str,
    cells: Sequence[CellStats],
    rows: Sequence[ResultRow],
    folder: Path,
    measured: Sequence[JobRobustness],
    images: list[str],
) -> list[str]:
    """The env's part of the report; the plots it draws are added to ``images`` (the only images the page
    inlines)."""
    cells = _reference_first(cells)  # every table and plot lists the agents in the main table's order
    threshold = reward_threshold(env)
    env_rows = [r for r in rows if r.env == env and r.finished]
    kinds = ("curves", "final_iqm", "profile", "time_to_solve", "trajectories", "robustness")
    names = {kind: f"{kind}_{safe_name(env)}.png" for kind in kinds}
    plots.plot_curves(cells, env_rows, threshold, folder / names["curves"])
    plots.plot_final_iqm(cells, folder / names["final_iqm"])
    plots.plot_profile(cells, folder / names["profile"])
    plots.plot_time_to_solve(cells, env_rows, folder / names["time_to_solve"])
    family = family_of_id(env)
    drawn = family is not None and plots.plot_trajectories(cells, env_rows, family, folder / names["trajectories"])
    robustness = _robustness_section(cells, measured, threshold, folder / names["robustness"])
    images += [name for kind, name in names.items() if kind not in ("trajectories", "robustness")]
    images += [names["trajectories"]] * drawn + [names["robustness"]] * bool(robustness)
    solved_at = f"solved at a mean evaluation return >= {threshold:g}" if threshold is not None else "no threshold"
    return [
        f"## {md(env)}",
        "",
        f"{solved_at}. Steps and time to solve count solved runs only; time counts the whole process.",
        "",
        *_table(cells),
        *(
            [f"\n*Balanced*: {BALANCED_MEANS.format(target=family.balance.describe())}"]
            if family and family.balance
            else []
        ),
        *_shaping_table(cells),
        "",
        f"![learning curves]({names['curves']})",
        "",
        f"![final return]({names['final_iqm']}) ![performance profile]({names['profile']})",
        "",
        f"![time to solve]({names['time_to_solve']})",
        *resources_table([c.agent for c in cells], env_rows),
        *_balance_table(cells, family),
        *_shaped_quality_table(cells, family),
        *(["", f"![trajectories from one initial state]({names['trajectories']})"] if drawn else []),
        *robustness,
        *([f"![robustness]({names['robustness']})", ""] if robustness else [""]),
    ]


@dataclass(frozen=True)
class SeedSplit:
    """The finished runs on tuning seeds and on test seeds (``polebench/config/seeds.py``): the report's
    figures are the test seeds' whenever there are any."""

    tune: list[ResultRow]
    test: list[ResultRow]

    @classmethod
    def of(cls, rows: Sequence[ResultRow]) -> SeedSplit:
        finished = [r for r in rows if r.finished]  # the others: "Jobs without a result"
        test = [r for r in finished if is_test_seed(r.seed)]
        return cls([r for r in finished if not is_test_seed(r.seed)], test)

    @property
    def shown(self) -> list[ResultRow]:
        return self.test or self.tune

    def shows(self, seed: int) -> bool:
        return is_test_seed(seed) == bool(self.test)

    def describe(self) -> str:
        if not self.test:
            return (
                f"Seeds {describe_seeds(r.seed for r in self.tune)}, none of them a test seed (from "
                f"{FIRST_TEST_SEED:,} up): a recipe tuned on these seeds is scored here on seeds it has seen; "
                "add `--test-seeds K` to score it on seeds it has not."
            )
        tune = (
            f"; the other seeds ({describe_seeds(r.seed for r in self.tune)}) only in the gap tables"
            if self.tune
            else ""
        )
        seeds = describe_seeds(r.seed for r in self.test)
        return f"Every figure is on the test seeds {seeds} (never used in tuning){tune}."


def _gap_section(env: str, split: SeedSplit, family: EnvFamily | None) -> list[str]:
    """Per agent run on both: its median figures on the tuning seeds beside the test seeds', and a line for
    each tuned agent whose test figures are worse by more than the seed-to-seed spread (the IQR over all its
    seeds). A reference controller tunes nothing from seeds: its gap is the yardstick of seed noise."""
    # Plain medians of the rows: the bootstrapped statistics of aggregate() are not needed here.
    tune, test = ([r for r in part if r.env == env] for part in (split.tune, split.test))
    algos = {r.agent: r.algo for r in test}
    both = [agent for agent in algos if any(r.agent == agent for r in tune)]
    if not both:
        return []
    present = metric_columns([r.quality for r in test])
    metrics = [m for m in (family.metrics if family is not None else ()) if m.name in present]
    lines = [
        "",
        "### Tuning seeds vs test seeds",
        "",
        "Medians over seeds, tuning seeds → test seeds; ⚠ marks a test figure worse by more than the "
        "seed-to-seed spread (the interquartile range over all the agent's seeds). A reference controller "
        "learns nothing from its seeds: its gap shows how much the seeds alone move a figure.",
        "",
        "| agent | final true return | " + " | ".join(m.name for m in metrics) + " |",
        "|---|---|" + "---|" * len(metrics),
    ]
    flagged = []
    for agent in both:
        rows = {name: [r for r in part if r.agent == agent] for name, part in (("tune", tune), ("test", test))}
        cells, worse = [], []
        tuned = not is_reference(algos[agent])
        for name, higher in [("final_mean_return", True), *((m.name, m.higher_is_better) for m in metrics)]:
            text, bad = _gap(rows["tune"], rows["test"], name, higher)
            bad = bad and tuned
            cells.append(text + (" ⚠" if bad else ""))
            if bad:
                worse.append(name)
        lines.append(f"| {md(agent)} | " + " | ".join(cells) + " |")
        if worse:
            flagged.append(
                f"- ⚠ **{md(agent)}** is worse on the test seeds by more than the seed-to-seed spread: "
                + ", ".join(worse)
            )
    return [*lines, *(["", *flagged] if flagged else [])]


def _gap(tune: Sequence[ResultRow], test: Sequence[ResultRow], name: str, higher: bool) -> tuple[str, bool]:
    """One metric's tuning → test medians as text, and whether the test median is worse by more than the
    interquartile range over all the seeds."""
    values = {part: [float(r.value(name)) for r in rows if r.value(name) is not None] for part, rows in
              (("tune", tune), ("test", test))}  # fmt: skip
    before, after = median_iqr(values["tune"]), median_iqr(values["test"])
    pooled = median_iqr([*values["tune"], *values["test"]])
    if before is None or after is None or pooled is None:
        return "-", False
    worse_by = (before[0] - after[0]) if higher else (after[0] - before[0])
    return f"{before[0]:.3g} → {after[0]:.3g}", worse_by > 0 and worse_by > pooled[2] - pooled[1]


def _problems(rows: Sequence[ResultRow]) -> list[str]:
    bad = [r for r in rows if not r.finished]
    if not bad:
        return []
    lines = ["## Jobs without a result", "", "| job | status | error |", "|---|---|---|"]
    for r in bad:
        label, error = job_label(r.agent, r.env, r.seed), r.error or "-"
        lines.append(f"| {md(label)} | {md(r.status.value)} | {md(error)} |")
    return [*lines, ""]


def describe_protocol(protocol: Protocol | None) -> str:
    """The protocol as a sentence.

    Example:
        >>> text = describe_protocol(Protocol(n_timesteps=50_000, eval_freq=2500, eval_episodes=10, stop_on_solve=True))
        >>> for part in text.split(", "):
        ...     print(part)
        50,000 env steps
        an evaluation every 2,500 env steps of 10 episodes
        stopping at the first solved evaluation

    """
    if protocol is None:
        return "as found in each run (the report was rebuilt from existing runs)"
    budget = f"{protocol.n_timesteps:,} env steps" if protocol.n_timesteps else "each algorithm's own budget"
    episodes = (
        f"{protocol.eval_episodes} episodes" if protocol.eval_episodes else "the env's default number of episodes"
    )
    evaluation = (
        f"an evaluation every {protocol.eval_freq:,} env steps of {episodes}"
        if protocol.eval_freq
        else f"one evaluation at the end, of {episodes}"
    )
    stop = (
        ", stopping at the first solved evaluation"
        if protocol.stop_on_solve
        else ", stopping at the first solved and balanced evaluation"
        if protocol.stop_on_balance
        else ", training for the whole budget"
    )
    return f"{budget}, {evaluation}{stop}"


def describe_final(rows: Sequence[ResultRow]) -> str:
    """How many episodes the finished runs' final evaluations played, as the runs recorded it.

    Example:
        >>> from dataclasses import replace
        >>> from polebench.bench.grid import JobStatus
        >>> run = ResultRow(agent="ppo", algo="ppo", env="CartPole-v1", seed=0, status=JobStatus.FINISHED)
        >>> describe_final([replace(run, final_eval_episodes=100), run])
        'a final evaluation of 100 episodes (unknown for 1 run made before it was recorded)'
    """
    finished = [r for r in rows if r.finished]
    counts = sorted({r.final_eval_episodes for r in finished if r.final_eval_episodes is not None})
    unknown = sum(r.final_eval_episodes is None for r in finished)
    text = f"a final evaluation of {' or '.join(map(str, counts))} episodes" if counts else "final evaluations"
    if unknown:
        text += f" (unknown for {unknown} run{'s' if unknown > 1 else ''} made before it was recorded)"
    return text


@dataclass(frozen=True)
class Report:
    """Where the report was written, and whether a Ctrl-C stopped the clips it waited for (the report
    then shows the clips made before it)."""

    path: Path
    interrupted: bool = False


def write_report(
    rows: Sequence[ResultRow],
    folder: Path,
    protocol: Protocol | None,
    robustness: Sequence[JobRobustness] = (),
    clips_made: Callable[[], None] | None = None,
    skip_clips: str | None = None,
) -> Report:
    """Write ``report.md`` and its plots into ``folder``, and ``report.html`` with it (the two together or
    neither); a Ctrl-C while the clips are made still writes both, with the clips made by then.

    :param clips_made: waits until clips rendered elsewhere meanwhile are made, before the page needs them
    :param skip_clips: why the wall's clips not yet made are not rendered now (after an interrupt, or a
        ``--report-only`` not asked to load models); the page says it in their place
    """
    split = SeedSplit.of(rows)
    cells = aggregate(split.shown)
    envs = list(dict.fromkeys(c.env for c in cells))
    done = sum(r.finished for r in rows)
    settings = f"{describe_protocol(protocol)}; {describe_final(rows)}"
    lines = [
        "# polebench benchmark",
        "",
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC. {done} of {len(rows)} jobs finished. "
        f"Protocol: {settings}. One row per job: [{RESULTS_CSV}]({RESULTS_CSV})"
        + (f"; robustness: [{ROBUSTNESS_CSV}]({ROBUSTNESS_CSV})." if robustness else "."),
        "",
        f"{describe_machine()} Each run's own versions are in its config.yml.",
        "",
        "Returns are true (unshaped) mean evaluation returns over deterministic episodes. IQM: interquartile"
        " mean over seeds; CI: 95% stratified bootstrap (rliable). IQR: 25th to 75th percentile.",
        "",
        split.describe(),
        "",
        *busy_machine_warning(rows),
    ]
    images: list[str] = []
    for env in envs:
        measured = [m for m in robustness if m.job.env == env and split.shows(m.job.seed)]
        section = _env_section(env, [c for c in cells if c.env == env], split.shown, folder, measured, images)
        lines += section + _gap_section(env, split, family_of_id(env))
    lines += _problems(rows)
    text = "\n".join(lines)
    interrupted = False
    try:
        if clips_made is not None:
            clips_made()
        walls = _walls(cells, split.shown, envs, skip_clips)
    except KeyboardInterrupt:  # the report of what finished, with the clips made so far, is still due
        interrupted = True
        walls = _walls(cells, split.shown, envs, INTERRUPTED)
    _write_both(folder, text, images, walls)
    return Report(folder / REPORT, interrupted)


def _walls(cells: Sequence[CellStats], rows: Sequence[ResultRow], envs: list[str], skip: str | None) -> Walls:
    """Each env's replay walls (the second, under pushes, where pushes apply)."""
    from polebench.bench.clips import pushes_apply

    walls = {}
    for env in envs:
        ordered = _reference_first([c for c in cells if c.env == env])
        pushed = wall(env, ordered, rows, True, skip) if pushes_apply(env) else []
        walls[env] = (wall(env, ordered, rows, False, skip), pushed)
    return walls


def _write_both(folder: Path, text: str, images: Sequence[str], walls: Walls) -> None:
    """``report.md`` and ``report.html`` together; a clip that cannot be shown is said on the page and in
    one line here."""
    inline = inline_clips(walls)
    publish_clips(folder, walls, inline)
    write_texts({folder / REPORT: text, folder / PAGE: render_page(folder, text, images, walls, inline)})
    remove_stale_clips(folder, walls, inline)
    missing = missing_clips(walls)
    if not walls:
        print("report.html: no finished run yet, so no plots or replay wall; the page says so")
    elif missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        print(f"report.html: no clip for {missing[0]}{more}; the page says so in its place")
