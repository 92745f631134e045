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
    """Run a script's ``main``, turning a :class:`UserError` into one line on stderr and exit code 2.

    Any other exception is a programming error and keeps its traceback.
    """
    try:
        return main(argv)
    except UserError as err:
        prog = sys.argv[0].rsplit("/", 1)[-1] or "polebench"
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2
