"""Train any registered agent: ``python train.py --algo ppo --env CartPole-v1``.

The command itself is :mod:`polebench.commands.train`; this file runs it from a checkout, as
``polebench train`` and ``python -m polebench train`` run it where polebench is installed.
"""

import sys
from collections.abc import Sequence

from polebench.errors import run_cli


def main(argv: Sequence[str] | None = None) -> int:
    # Imported here, inside run_cli: a Ctrl-C during the imports is then one line and exit 130 too.
    from polebench.commands.train import main as train

    return train(argv)


if __name__ == "__main__":
    sys.exit(run_cli(main))
