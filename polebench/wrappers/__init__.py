"""Gymnasium wrappers polebench adds to environments."""
