"""Head-to-head benchmarks: grids of agents x envs x seeds (from flags or a grid file), the driver that runs
and resumes them, and the results, statistics, robustness ladders, plots and report."""
