"""Compare agents head to head: ``python benchmark.py --algos ppo dqn --envs CartPole-v1 --seeds 5``,

The command itself is :mod:`polebench.bench.cli`; this file runs it from a checkout, as
``polebench benchmark`` and ``python -m polebench benchmark`` run it where polebench is installed.
"""

import sys
from collections.abc import Sequence

from polebench.errors import run_cli


def main(argv: Sequence[str] | None = None) -> int:
    # Imported here, inside run_cli: a Ctrl-C during the imports is then one line and exit 130 too.
    from polebench.bench.cli import main as benchmark

    return benchmark(argv)


if __name__ == "__main__":
    sys.exit(run_cli(main))
