"""Export a trained policy as one file: ``python export.py --algo ppo --env CartPole-v1 --format onnx -o policy.onnx``.

The command itself is :mod:`polebench.commands.export`; this file runs it from a checkout, as
``polebench export`` and ``python -m polebench export`` run it where polebench is installed.
"""

import sys
from collections.abc import Sequence

from polebench.errors import run_cli


def main(argv: Sequence[str] | None = None) -> int:
    # Imported here, inside run_cli: a Ctrl-C during the imports is then one line and exit 130 too.
    from polebench.commands.export import main as export

    return export(argv)


if __name__ == "__main__":
    sys.exit(run_cli(main))
