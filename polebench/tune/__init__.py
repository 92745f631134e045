"""Hyperparameter tuning with Optuna (``train.py --optimize``): the search spaces and the study."""
