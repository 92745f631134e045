"""One exception type for mistakes a user can fix, and the entry-point guard that reports it."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence


def first_line(err: BaseException | None) -> str:
    """The first line of an exception's message, or its type's name when it has none.

    Example:
        >>> first_line(ValueError("bad value\\nmore detail"))
        'bad value'
    """
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


class UserError(Exception):
    """Bad input from the command line or a config file: reported as one line, never a traceback."""


def run_cli(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Run a script's ``main``, turning a :class:`UserError` into one line on stderr and exit code 2, and
    a Ctrl-C or SIGTERM that reached no handler of the script's own (during start-up, say) into one line
    and 130 or 143.

    Any other exception is a programming error and keeps its traceback.
    """
    prog = sys.argv[0].rsplit("/", 1)[-1] or "polebench"
    try:
        return main(argv)
    except UserError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        _leaving()
        from polebench import interrupts

        print(f"{prog}: interrupted by {interrupts.signal_name() or 'SIGINT'}; nothing more was saved", file=sys.stderr)
        return interrupts.exit_code() or 130
    finally:
        _leaving()


def _leaving() -> None:
    """The script is about to exit: a further Ctrl-C or SIGTERM must not turn a clean exit (and its
    exit status) into a traceback or a death by signal."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
