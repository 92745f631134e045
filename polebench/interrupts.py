"""Ctrl-C and SIGTERM: stop what is running, save what was done, and say which signal it was.

A script calls :func:`install` once (the Python API :func:`handled` for each call); the run's
:class:`Signals` then moves between named phases: stoppable while it learns, holding while it saves.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from types import FrameType
from typing import Any

HANDLED = (signal.SIGINT, signal.SIGTERM)


class Phase(Enum):
    """What a SIGINT or SIGTERM does at a given moment of a run."""

    STOPPABLE = "stoppable"  # the first raises KeyboardInterrupt (training, the final evaluation, extras)
    HOLDING = "holding"  # held back and counted; the work goes on (saving, writing the summary)


class Signals:
    """The SIGINT and SIGTERM of one run: which arrived, which were held back, and the phase it is in.

    Training starts :attr:`Phase.STOPPABLE`; the first signal raises ``KeyboardInterrupt`` and moves to
    :attr:`Phase.HOLDING` by itself, so that a second Ctrl-C cannot cut the save that follows in half.
    Handlers belong to the main thread: elsewhere the phases change nothing and no signal arrives.
    """

    def __init__(self) -> None:
        self.received: list[int] = []  # every signal, in order: the first decides the exit status
        self.held: list[int] = []  # those held back since the last look (see holding)
        self.phase = Phase.HOLDING

    def enter(self, phase: Phase) -> None:
        if _main_thread():
            handler = self._raise if phase is Phase.STOPPABLE else self._hold
            for signum in HANDLED:
                signal.signal(signum, handler)
        self.phase = phase

    @contextmanager
    def holding(self) -> Iterator[list[int]]:
        """Hold signals for the block, then go back to the phase before it; yield the signals that arrived
        since the last such look (those held after an interrupt included), as they arrive."""
        before = self.phase
        self.enter(Phase.HOLDING)
        arrived = self.held
        try:
            yield arrived
        finally:
            self.held = []
            self.enter(before)

    def _raise(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        self.enter(Phase.HOLDING)
        raise KeyboardInterrupt

    def _hold(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        self.held.append(signum)

    def exit_code(self) -> int:
        """The conventional exit status of a process stopped by the first signal (128 + number), or 0
        when none arrived: 130 for Ctrl-C, 143 for SIGTERM."""
        return 128 + self.received[0] if self.received else 0

    def signal_name(self) -> str:
        """The name of the first signal received (e.g. ``SIGINT``), or an empty string."""
        return signal.Signals(self.received[0]).name if self.received else ""


_current = Signals()


def current() -> Signals:
    """The signals of the run under way (a fresh :class:`Signals` for each :func:`install`)."""
    return _current


def install() -> Signals:
    """Start a fresh :class:`Signals`, stoppable: the first SIGINT or SIGTERM raises ``KeyboardInterrupt``.

    SIGINT is set explicitly because a process started in the background by a shell inherits it ignored.
    """
    global _current
    _current = Signals()
    _current.enter(Phase.STOPPABLE)
    if sys.unraisablehook is not _redeliver:
        global _default_unraisablehook
        _default_unraisablehook = sys.unraisablehook
        sys.unraisablehook = _redeliver
    return _current


_default_unraisablehook = sys.unraisablehook


def _redeliver(unraisable: Any) -> None:
    """A signal that lands while Python runs a weakref callback or a finaliser (an import's module lock,
    say) raises there, where the exception is printed and dropped, and the Ctrl-C would be lost: send
    it again, a moment later, so that it is raised in the code that runs next (this hook has returned
    by then: the thread is started while signals are still held, and only then re-armed)."""
    if isinstance(unraisable.exc_value, KeyboardInterrupt) and _current.received and _main_thread():
        signum = _current.received.pop()
        threading.Timer(0.05, os.kill, (os.getpid(), signum)).start()
        _current.enter(Phase.STOPPABLE)
        return
    _default_unraisablehook(unraisable)


@contextmanager
def handled() -> Iterator[Signals]:
    """:func:`install` for a block (a library call such as ``polebench.train``), then the caller's own
    handlers back: SIGTERM then saves as Ctrl-C does, instead of killing the process."""
    if not _main_thread():
        yield _current
        return
    previous = {signum: signal.getsignal(signum) for signum in HANDLED}
    hook = sys.unraisablehook
    try:
        yield install()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        sys.unraisablehook = hook


def stopped_by_signal(err: BaseException) -> bool:
    """Whether ``err`` is our ``KeyboardInterrupt``, or an error a library raised while handling it: a
    signal that lands inside PyTorch's zip writer (a checkpoint being saved) surfaces as its
    ``RuntimeError`` from the writer's ``__exit__``, with the interrupt only as its context."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return bool(_current.received)
        seen = seen.__cause__ or seen.__context__
    return False


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


PARENT_VARIABLE = "POLEBENCH_DIE_WITH_PARENT"


def die_with_parent() -> None:
    """When started by a benchmark driver (which sets ``POLEBENCH_DIE_WITH_PARENT`` to its pid), get a
    SIGTERM the moment the driver dies, however it dies, so no job outlives it: Linux's
    ``PR_SET_PDEATHSIG``. Elsewhere this does nothing (the driver's own Ctrl-C handling still stops jobs).
    """
    import os
    import sys

    parent = os.environ.get(PARENT_VARIABLE)
    if not parent or not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
    if str(os.getppid()) != parent:  # the driver died before the request took hold
        os.kill(os.getpid(), signal.SIGTERM)


def exit_code() -> int:
    """:meth:`Signals.exit_code` of the run under way."""
    return _current.exit_code()


def signal_name() -> str:
    """:meth:`Signals.signal_name` of the run under way."""
    return _current.signal_name()
