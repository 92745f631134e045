"""Bounds on the counts that size memory, refused up front rather than met as an out-of-memory hours
later: a few hundred bytes of flags or YAML must never make polebench allocate gigabytes."""

import os
from pathlib import Path

from polebench.errors import ConfigError

MAX_SEED = 2**32 - 1  # NumPy's seeds are 32-bit
MAX_EPISODES = 10_000  # episodes of one evaluation (periodic, final or per robustness level), each its own env
MAX_ENVS = 1_024  # parallel envs of one run, for training or evaluation
MAX_SEEDS = 1_000  # seeds of one benchmark grid
MAX_WORKERS = 256  # benchmark jobs at a time on one machine, each a process
# 50 million weights (200 MB of float32, and as much again for each optimizer moment) is far beyond what
# a classic-control task needs.
MAX_HIDDEN_WEIGHTS = 50_000_000
# A Q-table (float64, one row per discretized cell, one column per action) or the one-hot observation a
# discretizer hands a network: 1 GB is some 60 million cells of CartPole, thousands of times what it needs.
MAX_TABLE_BYTES = 1_000_000_000
# Steps of one episode (--env-kwargs max_episode_steps): 200 times CartPole-v1's 500. A controller that never
# fails plays every step of every evaluation episode; with no bound, one evaluation could run for days.
MAX_EPISODE_STEPS = 100_000

# Linux's limits (NAME_MAX, PATH_MAX); most file systems elsewhere allow no more.
MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 4096


def check_path_length(path: Path, flag: str) -> None:
    """Refuse a path the file system cannot take, before it is used anywhere.

    Example:
        >>> check_path_length(Path("logs") / ("x" * 300), "-f/--log-folder")
        Traceback (most recent call last):
        ...
        polebench.errors.ConfigError: -f/--log-folder: a name in the path is 300 bytes long; at most 255 are allowed
    """
    encoded = os.fsencode(path.absolute())
    longest = max((len(part) for part in encoded.split(b"/")), default=0)
    if longest > MAX_NAME_BYTES:
        raise ConfigError(f"{flag}: a name in the path is {longest} bytes long; at most {MAX_NAME_BYTES} are allowed")
    if len(encoded) > MAX_PATH_BYTES:
        raise ConfigError(f"{flag}: the path is {len(encoded):,} bytes long; at most {MAX_PATH_BYTES:,} are allowed")
