"""One training run, end to end: the plan, training with its callbacks and evaluations, Ctrl-C and SIGTERM,
the run folder and its ``summary.json``."""
