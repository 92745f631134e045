"""Environment construction and the table of 'solved' thresholds."""
