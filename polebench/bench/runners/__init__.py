"""Where a benchmark's jobs run: each a process of this machine (started as ``polebench train`` or forked
by a preloaded worker), or on a Ray cluster."""
