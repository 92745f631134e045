"""Gymnasium wrappers polebench adds to environments, and its observation normalisation for VecEnvs."""
