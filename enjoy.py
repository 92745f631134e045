"""Replay a trained agent: ``python enjoy.py --algo ppo --env CartPole-v1``.

The command itself is :mod:`polebench.commands.enjoy`; this file runs it from a checkout, as
``polebench enjoy`` and ``python -m polebench enjoy`` run it where polebench is installed.
"""

import sys
from collections.abc import Sequence

from polebench.errors import run_cli


def main(argv: Sequence[str] | None = None) -> int:
    # Imported here, inside run_cli: a Ctrl-C during the imports is then one line and exit 130 too.
    from polebench.commands.enjoy import main as enjoy

    return enjoy(argv)


if __name__ == "__main__":
    sys.exit(run_cli(main))
