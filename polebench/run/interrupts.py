"""Ctrl-C and SIGTERM: stop what is running, save what was done, and say which signal it was.

A script installs :func:`install` once; training then sees a ``KeyboardInterrupt`` for the first
SIGINT or SIGTERM, and from that moment further signals are held back (counted, not raised) so that a
second Ctrl-C cannot cut the save that follows in half; :func:`rearm` makes them raise again (for an
optional step such as the final evaluation). :func:`deferred` holds signals for any block of code.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

HANDLED = (signal.SIGINT, signal.SIGTERM)
received: list[int] = []


held: list[int] = []


def _raise(signum: int, frame: FrameType | None) -> None:
    received.append(signum)
    for handled in HANDLED:  # from now on hold: the saving that follows must not be cut short
        signal.signal(handled, _hold)
    raise KeyboardInterrupt


def _hold(signum: int, frame: FrameType | None) -> None:
    received.append(signum)
    held.append(signum)


def install() -> None:
    """Make the first SIGINT or SIGTERM raise ``KeyboardInterrupt`` here (and hold later ones back),
    remembering which arrived.

    SIGINT is set explicitly because a process started in the background by a shell inherits it ignored.
    """
    rearm()
    if sys.unraisablehook is not _redeliver:
        global _default_unraisablehook
        _default_unraisablehook = sys.unraisablehook
        sys.unraisablehook = _redeliver


_default_unraisablehook = sys.unraisablehook


def _redeliver(unraisable: Any) -> None:
    """A signal that lands while Python runs a weakref callback or a finaliser (an import's module lock,
    say) raises there, where the exception is printed and dropped, and the Ctrl-C would be lost: send
    it again, a moment later, so that it is raised in the code that runs next (this hook has returned
    by then: the thread is started while signals are still held, and only then re-armed)."""
    if isinstance(unraisable.exc_value, KeyboardInterrupt) and received and _main_thread():
        signum = received.pop()
        threading.Timer(0.05, os.kill, (os.getpid(), signum)).start()
        rearm()
        return
    _default_unraisablehook(unraisable)


@contextmanager
def handled() -> Iterator[None]:
    """:func:`install` for a block (a library call such as ``polebench.train``), from a clean slate, then
    the caller's own handlers back: SIGTERM then saves as Ctrl-C does, instead of killing the process."""
    if not _main_thread():
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in HANDLED}
    hook = sys.unraisablehook
    received.clear()
    held.clear()
    install()
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        sys.unraisablehook = hook


def rearm() -> None:
    """Let the next SIGINT or SIGTERM raise ``KeyboardInterrupt`` again (main thread only)."""
    if _main_thread():
        for signum in HANDLED:
            signal.signal(signum, _raise)


def stopped_by_signal(err: BaseException) -> bool:
    """Whether ``err`` is our ``KeyboardInterrupt``, or an error a library raised while handling it: a
    signal that lands inside PyTorch's zip writer (a checkpoint being saved) surfaces as its
    ``RuntimeError`` from the writer's ``__exit__``, with the interrupt only as its context."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return bool(received)
        seen = seen.__cause__ or seen.__context__
    return False


def take_held() -> list[int]:
    """The signals held back since the last call, forgetting them."""
    taken = list(held)
    held.clear()
    return taken


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def deferred() -> Iterator[list[int]]:
    """Hold SIGINT and SIGTERM back for the block; yield the list of those that arrived meanwhile."""
    arrived: list[int] = []
    if not _main_thread():  # signal handlers belong to the main thread; elsewhere nothing can arrive
        yield arrived
        return

    def hold(signum: int, frame: FrameType | None) -> None:
        _hold(signum, frame)
        arrived.append(signum)

    previous = {signum: signal.signal(signum, hold) for signum in HANDLED}
    try:
        yield arrived
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


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
    """The conventional exit status of a process stopped by the first signal received (128 + number),
    or 0 when none arrived: 130 for Ctrl-C, 143 for SIGTERM."""
    return 128 + received[0] if received else 0


def signal_name() -> str:
    """The name of the first signal received (e.g. ``SIGINT``), or an empty string."""
    return signal.Signals(received[0]).name if received else ""
