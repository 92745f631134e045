"""The one table that maps an algorithm name to everything needed to build, load and replay it.

Adding an algorithm means adding an :class:`AlgoSpec` here and a ``polebench/hyperparams/<name>.yml`` file;
no script branches on the name. Classes are named by import path and imported only when used, so
listing the names (``train.py --help``, an unknown-name error) never pays for importing PyTorch.
Agents of your own need neither: ``--algo package.module:Class`` or an entry point (see
:mod:`polebench.agents.plugins`).
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
    :param plugin: a class with :class:`polebench.agents.plugins.Agent`'s methods rather than an SB3 algorithm (an
        agent of the user's own, or the PID loop): it keeps its own save format, so it cannot be exported,
        and without a shipped YAML its hyperparameters start from the class's ``default_hyperparams``
    """

    name: str
    class_path: str
    policy: str = "MlpPolicy"
    recurrent: bool = False
    off_policy: bool = False
    reference: bool = False
    plugin: bool = False

    def load_class(self) -> Any:
        """Import and return the algorithm class (the first call imports PyTorch); a plugin's comes checked
        and wrapped (:class:`polebench.agents.plugins.PluginAgent`)."""
        if self.plugin:
            from polebench.agents.plugins import adapter_for, plugin_class

            return adapter_for(plugin_class(self.class_path))
        return import_attribute(self.class_path)

    def default_hyperparams(self) -> dict[str, Any] | None:
        """A plugin's hyperparameters when nothing else names them; ``None`` for a shipped algorithm, whose
        defaults are its ``polebench/hyperparams/<name>.yml``."""
        if not self.plugin:
            return None
        defaults = getattr(self.load_class().agent_class, "default_hyperparams", None)
        return dict(defaults) if isinstance(defaults, dict) else {}


ALGOS: dict[str, AlgoSpec] = {
    spec.name: spec
    for spec in (
        AlgoSpec("ppo", "stable_baselines3:PPO"),
        AlgoSpec("dqn", "stable_baselines3:DQN", off_policy=True),
        AlgoSpec("sac", "stable_baselines3:SAC", off_policy=True),
        AlgoSpec("td3", "stable_baselines3:TD3", off_policy=True),
        AlgoSpec("sacd", "polebench.agents.discrete_sac:SACD", off_policy=True),
        AlgoSpec("ars", "polebench.agents.ars:ARS", policy="LinearPolicy"),
        AlgoSpec("ppo_lstm", "polebench.agents.recurrent:SequencePPO", policy="MlpLstmPolicy", recurrent=True),
        AlgoSpec("ppo_gru", "polebench.agents.recurrent:SequencePPO", policy="MlpGruPolicy", recurrent=True),
        AlgoSpec("qlearning", "polebench.agents.tabular_q:QLearning", policy="TabularPolicy"),
        AlgoSpec("lqr", "polebench.agents.lqr:LQR", policy="LinearGainPolicy", reference=True),
        AlgoSpec("pid", "polebench.agents.pid:PID", reference=True, plugin=True),
        AlgoSpec("swingup", "polebench.agents.swingup:EnergySwingUp", reference=True, plugin=True),
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
    """The spec registered as ``name``, a package's entry point of that name, or a plugin's
    ``package.module:Class``; otherwise a :class:`ConfigError` listing the valid names.

    Example:
        >>> get_algo("ppo").class_path
        'stable_baselines3:PPO'
        >>> get_algo("collections:OrderedDict").plugin
        True
    """
    if name in ALGOS:
        return ALGOS[name]
    found = _registered(name)
    if found is not None:
        return found
    if ":" in name:
        return AlgoSpec(name, name, plugin=True)
    raise ConfigError(
        f"unknown algorithm {name!r}; choose one of: {', '.join(sorted(ALGOS))}, or an agent of your own "
        "as package.module:Class"
    )


def _registered(name: str) -> Any:
    """The :class:`polebench.agents.registry.AlgoSpec` that an installed package registers as ``name`` in the
    ``polebench.algos`` entry-point group, or ``None``; an entry point that fails to load is one line."""
    from importlib.metadata import entry_points

    from polebench.agents.plugins import ENTRY_POINT_GROUP, check_agent_class

    for point in entry_points(group=ENTRY_POINT_GROUP):
        if point.name != name:
            continue
        try:
            loaded = point.load()
        except Exception as err:  # the plugin package's own error, whatever it is
            raise ConfigError(
                f"the entry point {name} = {point.value} ({ENTRY_POINT_GROUP}) fails to load: {err}"
            ) from None
        if isinstance(loaded, AlgoSpec):
            return loaded
        check_agent_class(loaded, f"the entry point {name} = {point.value}")
        return AlgoSpec(name, point.value, plugin=True)
    return None
