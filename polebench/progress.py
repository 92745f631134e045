"""How far long work has got (a benchmark's jobs, its robustness runs, a study's trials): how many are
done, running, failed and reused, and roughly how long the rest will take.

In a terminal it is one live line drawn by rich; in a pipe or a log file, one plain line per finished
item, so the output reads the same in CI as on screen. The time left is estimated from the median wall
time of each agent's items finished so far (in this run, or kept from an earlier one), times the rounds
left; items of agents not yet timed are counted, not guessed.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Mapping, Sequence
from typing import Any


def describe_seconds(seconds: float) -> str:
    """A duration as a person says it.

    Example:
        >>> describe_seconds(0.3), describe_seconds(42), describe_seconds(125), describe_seconds(4000)
        ('under 1 s', '42 s', '2 min 5 s', '1 h 6 min')
    """
    if seconds < 0.5:
        return "under 1 s"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


class Progress:
    """Counts and shows the items of one piece of work; ``finished(...)`` after each one.

    :param total: every item, those reused from an earlier run included
    :param pending: the kind (agent) of each item to run, in order: items of a kind take alike long
    :param workers: items at a time
    :param known_times: wall times (s) of items already finished, by kind, for the first estimate
    :param live: draw a live line (default: when stdout is a terminal)
    :param noun: what an item is called ("jobs", "runs", "trials")
    :param show_reused: count the items reused from an earlier run even when there are none

    Use it as a context manager: the live line is stopped however the work ends.
    """

    def __init__(
        self,
        total: int,
        pending: Sequence[str],
        workers: int,
        known_times: Mapping[str, Sequence[float]] | None = None,
        live: bool | None = None,
        noun: str = "jobs",
        show_reused: bool = False,
    ) -> None:
        self.total, self.workers, self.noun, self.show_reused = total, max(1, workers), noun, show_reused
        self.waiting = list(pending)
        self.reused = total - len(pending)
        self.done = self.failed = 0
        self.times: dict[str, list[float]] = {agent: list(t) for agent, t in (known_times or {}).items()}
        self.live = sys.stdout.isatty() if live is None else live
        self._progress: Any = None
        if self.live:
            from rich.progress import BarColumn, TextColumn
            from rich.progress import Progress as RichProgress

            columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[state]}"))
            self._progress = RichProgress(*columns)
            self._task = self._progress.add_task(noun, total=total, completed=self.reused, state=self.state())
            self._progress.start()

    def time_left(self) -> float | None:
        """Seconds until the waiting items of agents already timed end: each one's agent's median wall
        time, shared among the workers (``None``: no waiting item has a timed agent). Items of agents not
        yet timed are left out rather than guessed: a reference controller's second says nothing of how
        long a learning agent takes (see :meth:`untimed`)."""
        own = {agent: statistics.median(times) for agent, times in self.times.items() if times}
        timed = [own[agent] for agent in self.waiting if agent in own]
        if not timed:
            return None
        return sum(timed) / min(self.workers, max(len(self.waiting), 1))

    def untimed(self) -> int:
        """Waiting items whose agent has no finished item yet."""
        return sum(not self.times.get(agent) for agent in self.waiting)

    def state(self) -> str:
        running = min(self.workers, len(self.waiting))
        reused = f", {self.reused} reused" if self.reused or self.show_reused else ""
        counts = f"{self.reused + self.done}/{self.total} done, {running} running, {self.failed} failed{reused}"
        return f"{counts}; {self._eta()}"

    def _eta(self) -> str:
        if not self.waiting:
            return "all ended"
        left, untimed = self.time_left(), self.untimed()
        if left is None:
            return "time left unknown until one ends"
        return f"about {describe_seconds(left)} left" + (f" + {untimed} not yet timed" if untimed else "")

    def announce(self) -> str | None:
        """The first estimate of the time the grid will take, when items already finished give one."""
        left, untimed = self.time_left(), self.untimed()
        if left is None or not self.waiting:
            return None
        to_run = f"{len(self.waiting)} {self.noun} to run"
        if untimed:
            to_run = f"{len(self.waiting) - untimed} of the {to_run} (the other {untimed}: agents not yet timed)"
        return f"roughly {describe_seconds(left)} for the {to_run}, from those already ended"

    def finished(
        self, name: str, agent: str, failed: bool, error: str | None = None, seconds: float | None = None
    ) -> None:
        """Count an item of ``agent`` that ended (``seconds``: its wall time, when it has one)."""
        self.done += 1
        self.failed += failed
        if agent in self.waiting:
            self.waiting.remove(agent)
        if seconds is not None and seconds > 0:
            self.times.setdefault(agent, []).append(seconds)
        line = f"failed: {name}: {error}" if failed else f"finished: {name}"
        if self._progress is not None:
            if failed:
                self._progress.console.print(line, markup=False, highlight=False)
            self._progress.update(self._task, advance=1, state=self.state())
        else:
            print(f"[{self.reused + self.done}/{self.total}] {line}; {self.state()}", flush=True)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
