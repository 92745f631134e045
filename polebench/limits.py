"""Bounds on the counts that size memory, refused up front rather than met as an out-of-memory hours
later: a few hundred bytes of flags or YAML must never make polebench allocate gigabytes."""

MAX_SEED = 2**32 - 1  # NumPy's seeds are 32-bit
MAX_EPISODES = 10_000  # episodes of one evaluation (periodic, final or per robustness level), each its own env
MAX_ENVS = 1_024  # parallel envs of one run, for training or evaluation
MAX_SEEDS = 1_000  # seeds of one benchmark grid
MAX_WORKERS = 256  # benchmark jobs at a time on one machine, each a process
# 50 million weights (200 MB of float32, and as much again for each optimizer moment) is far beyond what
# a classic-control task needs.
MAX_HIDDEN_WEIGHTS = 50_000_000
