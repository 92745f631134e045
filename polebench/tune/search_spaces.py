"""What ``train.py --optimize`` may change, per algorithm: small functions of an Optuna trial.

Each returns hyperparameter overrides as plain YAML data, exactly as they would be written in
``polebench/hyperparams/<algo>.yml`` (a learning-rate schedule is ``lin_X``, a network is ``{net_arch: [...]}``),
so the best trial can be saved as a file ``train.py --conf-file`` takes. Everything not sampled keeps
the shipped value for the env.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from polebench.errors import ConfigError

Trial = Any  # optuna.Trial; optuna is imported only when tuning
NETWORKS = {"tiny": [32], "small": [64, 64], "medium": [128, 128], "large": [256, 256]}


def _learning_rate(trial: Trial, low: float = 1e-4, high: float = 1e-2) -> float | str:
    """A learning rate, constant or decaying linearly to 0 over the run (``lin_X``)."""
    rate = trial.suggest_float("learning_rate", low, high, log=True)
    return f"lin_{rate:.6g}" if trial.suggest_categorical("lr_schedule", ["constant", "linear"]) == "linear" else rate


def _network(trial: Trial, choices: tuple[str, ...] = ("tiny", "small", "medium")) -> dict[str, Any]:
    return {"net_arch": NETWORKS[trial.suggest_categorical("net_arch", list(choices))]}


def ppo(trial: Trial) -> dict[str, Any]:
    """PPO: rollout length, minibatch, epochs, discounting, clipping, entropy, learning rate, network."""
    n_steps = trial.suggest_categorical("n_steps", [16, 32, 64, 128, 256])
    return {
        "n_steps": n_steps,
        "batch_size": trial.suggest_categorical("batch_size", [64, 128, 256]),
        "n_epochs": trial.suggest_categorical("n_epochs", [4, 10, 20]),
        "gamma": trial.suggest_categorical("gamma", [0.95, 0.98, 0.99, 0.995]),
        "gae_lambda": trial.suggest_categorical("gae_lambda", [0.8, 0.9, 0.95, 0.98]),
        "clip_range": trial.suggest_categorical("clip_range", [0.1, 0.2, 0.3]),
        "ent_coef": trial.suggest_float("ent_coef", 1e-8, 0.05, log=True),
        "learning_rate": _learning_rate(trial),
        "policy_kwargs": _network(trial),
    }


def recurrent_ppo(trial: Trial) -> dict[str, Any]:
    """RecurrentPPO (LSTM or GRU): PPO's knobs that matter most, plus the memory's size."""
    return {
        "n_steps": trial.suggest_categorical("n_steps", [32, 64, 128]),
        "n_epochs": trial.suggest_categorical("n_epochs", [4, 10, 20]),
        "gamma": trial.suggest_categorical("gamma", [0.95, 0.98, 0.99]),
        "gae_lambda": trial.suggest_categorical("gae_lambda", [0.8, 0.9, 0.95]),
        "learning_rate": _learning_rate(trial),
        "policy_kwargs": {"lstm_hidden_size": trial.suggest_categorical("lstm_hidden_size", [32, 64, 128])},
    }


def dqn(trial: Trial) -> dict[str, Any]:
    """DQN: replay, update rate, n-step returns, target updates, exploration, learning rate, network."""
    return {
        "batch_size": trial.suggest_categorical("batch_size", [32, 64, 128, 256]),
        "buffer_size": trial.suggest_categorical("buffer_size", [10_000, 50_000, 100_000]),
        "train_freq": trial.suggest_categorical("train_freq", [4, 16, 32, 64]),
        "gradient_steps": trial.suggest_categorical("gradient_steps", [8, 16, 32, 64]),
        "n_steps": trial.suggest_categorical("n_steps", [1, 3, 5]),
        "target_update_interval": trial.suggest_categorical("target_update_interval", [10, 100, 1000]),
        "exploration_fraction": trial.suggest_float("exploration_fraction", 0.05, 0.5),
        "exploration_final_eps": trial.suggest_float("exploration_final_eps", 0.0, 0.1),
        "learning_rate": _learning_rate(trial),
        "policy_kwargs": _network(trial, ("small", "medium", "large")),
    }


def sacd(trial: Trial) -> dict[str, Any]:
    """Discrete SAC: batch, update rate, Polyak rate, target entropy, learning rate, network."""
    return {
        "batch_size": trial.suggest_categorical("batch_size", [64, 128, 256]),
        "train_freq": trial.suggest_categorical("train_freq", [1, 4, 8]),
        "gradient_steps": trial.suggest_categorical("gradient_steps", [1, 4, 8]),
        "tau": trial.suggest_categorical("tau", [0.005, 0.01, 0.02]),
        "gamma": trial.suggest_categorical("gamma", [0.98, 0.99, 0.995]),
        "target_entropy_ratio": trial.suggest_float("target_entropy_ratio", 0.1, 0.9),
        "learning_rate": _learning_rate(trial, 1e-4, 3e-3),
        "policy_kwargs": _network(trial),
    }


def qlearning(trial: Trial) -> dict[str, Any]:
    """Tabular Q-learning: step size, discount and how long exploration lasts."""
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.5, log=True),
        "gamma": trial.suggest_categorical("gamma", [0.95, 0.98, 0.99, 0.999]),
        "exploration_fraction": trial.suggest_float("exploration_fraction", 0.05, 0.5),
    }


def pid(trial: Trial) -> dict[str, Any]:
    """The PID loop's gains (polebench/agents/pid.py): each trial is only its evaluations, no env steps are learned."""
    return {
        "kp": trial.suggest_float("kp", 0.1, 10.0, log=True),
        "ki": trial.suggest_float("ki", 0.0, 2.0),
        "kd": trial.suggest_float("kd", 0.01, 3.0, log=True),
        "kx": trial.suggest_float("kx", 0.0, 1.0),
        "kv": trial.suggest_float("kv", 0.0, 1.0),
    }


def swingup(trial: Trial) -> dict[str, Any]:
    """The energy-based swing-up's gains (polebench/agents/swingup.py): as the PID's, only evaluations."""
    return {
        "k_energy": trial.suggest_float("k_energy", 0.5, 8.0, log=True),
        "k_position": trial.suggest_float("k_position", 0.0, 16.0),
        "k_velocity": trial.suggest_float("k_velocity", 0.0, 8.0),
        "catch_deg": trial.suggest_float("catch_deg", 10.0, 45.0),
    }


def sac(trial: Trial) -> dict[str, Any]:
    """SAC on a continuous force: rate, batch, discount, network and how many envs a gradient step serves."""
    return {
        "learning_rate": _learning_rate(trial, 1e-4, 3e-3),
        "batch_size": trial.suggest_categorical("batch_size", [64, 128, 256]),
        "gamma": trial.suggest_categorical("gamma", [0.98, 0.99, 0.995]),
        "tau": trial.suggest_categorical("tau", [0.005, 0.01, 0.02]),
        "train_freq": trial.suggest_categorical("train_freq", [1, 2, 4, 8]),
        "policy_kwargs": _network(trial, ("small", "medium", "large")),
    }


SEARCH_SPACES: dict[str, Callable[[Trial], dict[str, Any]]] = {
    "ppo": ppo,
    "ppo_lstm": recurrent_ppo,
    "ppo_gru": recurrent_ppo,
    "dqn": dqn,
    "sacd": sacd,
    "qlearning": qlearning,
    "pid": pid,
    "swingup": swingup,
    "sac": sac,
    "td3": sac,
}


def search_space(algo: str) -> Callable[[Trial], dict[str, Any]]:
    """The sampler of ``algo``, or a :class:`ConfigError` naming the algorithms that can be tuned."""
    if algo not in SEARCH_SPACES:
        raise ConfigError(f"{algo} has no search space to tune; --optimize takes: {', '.join(SEARCH_SPACES)}")
    return SEARCH_SPACES[algo]
