"""Tuning seeds and test seeds: seeds from :data:`FIRST_TEST_SEED` up are held out from tuning.

A recipe tuned on the seeds it is then scored on looks better than it is: the classic way RL results fail
to reproduce. polebench makes the split a property of the seed itself, so every tool can keep it without
being told: ``--optimize`` refuses a test seed, a grid's ``test_seeds`` must be test seeds (and its
``seeds`` must not), and the benchmark report gives its figures on the test seeds whenever it has them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from polebench.errors import ConfigError

FIRST_TEST_SEED = 10_000


def is_test_seed(seed: int) -> bool:
    """Whether ``seed`` is held out from tuning.

    Example:
        >>> is_test_seed(9_999), is_test_seed(10_000)
        (False, True)
    """
    return seed >= FIRST_TEST_SEED


def test_seeds(count: int) -> tuple[int, ...]:
    """The first ``count`` test seeds.

    Example:
        >>> test_seeds(3)
        (10000, 10001, 10002)
    """
    return tuple(range(FIRST_TEST_SEED, FIRST_TEST_SEED + count))


def check_split(tune: Iterable[int], test: Iterable[int], where: str) -> None:
    """Refuse tuning seeds from the test range, and test seeds below it."""
    held = [s for s in tune if is_test_seed(s)]
    if held:
        raise ConfigError(
            f"{where}: seeds {held} are test seeds (from {FIRST_TEST_SEED:,} up, held out from tuning); "
            f"name them in test_seeds (--test-seeds), or use seeds below {FIRST_TEST_SEED:,}"
        )
    seen = [s for s in test if not is_test_seed(s)]
    if seen:
        raise ConfigError(
            f"{where}: test seeds must be {FIRST_TEST_SEED:,} or more (seeds tuning never uses), got {seen}"
        )


def describe(seeds: Iterable[Any]) -> str:
    """Seeds as a short text: runs of consecutive seeds as ranges.

    Example:
        >>> describe([0, 1, 2, 3, 7, 10000, 10001])
        '0-3, 7, 10000-10001'
    """
    runs: list[list[int]] = []
    for seed in sorted({int(s) for s in seeds}):
        if runs and seed == runs[-1][-1] + 1:
            runs[-1].append(seed)
        else:
            runs.append([seed])
    return ", ".join(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}" for run in runs)
