"""The one table that maps an algorithm name to everything needed to build, load and replay it.

Adding an algorithm means adding an :class:`AlgoSpec` here and a ``polebench/hyperparams/<name>.yml`` file;
no script branches on the name. Classes are named by import path and imported only when used, so
listing the names (``train.py --help``, an unknown-name error) never pays for importing PyTorch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from polebench.errors import ConfigError
from polebench.imports import import_attribute


@dataclass(frozen=True)
class AlgoSpec:
    """How polebench builds one algorithm.

    :param name: the name used on the command line and for ``polebench/hyperparams/<name>.yml``
    :param class_path: ``"module:Class"`` of a class with SB3's ``learn/predict/save/load``
    :param policy: the policy used when the YAML names none
    :param recurrent: whether ``predict`` carries a hidden state between steps
    :param off_policy: whether the algorithm keeps a replay buffer worth saving
    :param reference: a controller computed rather than learned, shown as the yardstick in benchmark reports
    """

    name: str
    class_path: str
    policy: str = "MlpPolicy"
    recurrent: bool = False
    off_policy: bool = False
    reference: bool = False

    def load_class(self) -> Any:
        """Import and return the algorithm class (the first call imports PyTorch)."""
        return import_attribute(self.class_path)


ALGOS: dict[str, AlgoSpec] = {
    spec.name: spec
    for spec in (
        AlgoSpec("ppo", "stable_baselines3:PPO"),
        AlgoSpec("dqn", "stable_baselines3:DQN", off_policy=True),
        AlgoSpec("sacd", "agents.discrete_sac:SACD", off_policy=True),
        AlgoSpec("ppo_lstm", "agents.recurrent:SequencePPO", policy="MlpLstmPolicy", recurrent=True),
        AlgoSpec("ppo_gru", "agents.recurrent:SequencePPO", policy="MlpGruPolicy", recurrent=True),
        AlgoSpec("qlearning", "agents.tabular_q:QLearning", policy="TabularPolicy"),
        AlgoSpec("lqr", "agents.lqr:LQR", policy="LinearGainPolicy", reference=True),
    )
}


def is_reference(name: str) -> bool:
    """Whether ``name`` is a registered reference controller (shown first, as the yardstick).

    Example:
        >>> is_reference("lqr"), is_reference("ppo"), is_reference("not-an-algo")
        (True, False, False)
    """
    return name in ALGOS and ALGOS[name].reference


def get_algo(name: str) -> AlgoSpec:
    """Return the spec registered as ``name``, or raise a :class:`ConfigError` listing the valid names.

    Example:
        >>> get_algo("ppo").class_path
        'stable_baselines3:PPO'
    """
    try:
        return ALGOS[name]
    except KeyError:
        raise ConfigError(f"unknown algorithm {name!r}; choose one of: {', '.join(sorted(ALGOS))}") from None
