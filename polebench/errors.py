"""One exception type for mistakes a user can fix, :class:`ConfigError`, and the entry-point guard that
reports it."""

from __future__ import annotations

import errno
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any


def first_line(err: BaseException | None) -> str:
    """The first line of an exception's message, or its type's name when it has none.

    Example:
        >>> first_line(ValueError("bad value\\nmore detail"))
        'bad value'
    """
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


class ConfigError(ValueError):
    """Bad input from the command line, a config file or a Python call, which the user can fix: the
    scripts report it as one line (exit code 2), never a traceback; from Python it is a ``ValueError``."""


def run_cli(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Run a script's ``main``, turning a :class:`ConfigError` into one line on stderr and exit code 2, and
    a Ctrl-C or SIGTERM that reached no handler of the script's own (during start-up, say) into one line
    and 130 or 143.

    Any other exception is a programming error and keeps its traceback.
    """
    prog = sys.argv[0].rsplit("/", 1)[-1] or "polebench"
    if not getattr(threading.excepthook, "one_line_for_disk_errors", False):
        threading.excepthook = _one_line_for_disk_errors(prog, threading.excepthook)
    try:
        return main(argv)
    except ConfigError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        if err.errno not in DISK_ERRORS | PATH_ERRORS:
            raise
        print(f"{prog}: error: {describe_os_error(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return _interrupted(prog)
    except Exception as err:
        from polebench import interrupts

        if not interrupts.stopped_by_signal(err):  # a library's own error raised over a Ctrl-C is the Ctrl-C
            raise
        return _interrupted(prog)
    finally:
        _leaving()


def _interrupted(prog: str) -> int:
    _leaving()
    from polebench import interrupts

    print(f"{prog}: interrupted by {interrupts.signal_name() or 'SIGINT'}; nothing more was saved", file=sys.stderr)
    return interrupts.exit_code() or 130


# A full disk, a quota, a read-only or failing file system: the machine's state, not a bug, so one line.
WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG}
DISK_ERRORS = WRITE_ERRORS | {errno.EIO}
# A path the file system cannot take (too long, a file where a folder must be, a loop of links): the
# user's input, wherever it is first used, so one line too.
PATH_ERRORS = {errno.ENAMETOOLONG, errno.ENOTDIR, errno.EISDIR, errno.ELOOP}
# Paths in messages are cut to this many characters: a 100 KB path says nothing more in full.
SHOWN_PATH_CHARS = 200


def describe_os_error(err: OSError) -> str:
    """One line: the file that could not be written (or, on a failing disk, read or written), and why.

    Example:
        >>> describe_os_error(OSError(errno.ENOSPC, "No space left on device", "logs/run/model.zip"))
        'cannot write logs/run/model.zip: No space left on device'
    """
    where = f" {shown_path(err.filename)}" if err.filename else ""
    verb = (
        "cannot write"
        if err.errno in WRITE_ERRORS
        else "cannot use"
        if err.errno in PATH_ERRORS
        else "cannot read or write"
    )
    return f"{verb}{where}: {err.strerror or err}"


def shown_path(path: object) -> str:
    """A path for a message, cut in the middle when it is very long.

    Example:
        >>> shown_path("/a/" + "x" * 500)[:12], len(shown_path("/a/" + "x" * 500))
        ('/a/xxxxxxxxx', 201)
    """
    text = str(path)
    half = SHOWN_PATH_CHARS // 2
    return text if len(text) <= SHOWN_PATH_CHARS else f"{text[:half]}…{text[-half:]}"


def _one_line_for_disk_errors(prog: str, fallback: Any) -> Any:
    """A ``threading.excepthook`` that reports a disk error in a library's writer thread (TensorBoard's)
    as one line, and anything else as before."""

    def hook(args: Any) -> None:
        if isinstance(args.exc_value, OSError) and args.exc_value.errno in DISK_ERRORS:
            print(f"{prog}: error: {describe_os_error(args.exc_value)}", file=sys.stderr)
        else:
            fallback(args)

    hook.one_line_for_disk_errors = True  # type: ignore[attr-defined]
    return hook


def _leaving() -> None:
    """The script is about to exit: a further Ctrl-C or SIGTERM must not turn a clean exit (and its
    exit status) into a traceback or a death by signal."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
