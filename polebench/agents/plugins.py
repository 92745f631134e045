"""Agents of your own, from any package: ``--algo package.module:Class``, or a name that a package
registers in the ``polebench.algos`` entry-point group.

What such a class must provide is :class:`Agent`, and nothing more: SB3's ``learn / predict / save /
load`` and a constructor that takes ``policy, env, seed, verbose`` and the hyperparameters as keywords.
polebench wraps it in :class:`PluginAgent`, which gives it the rest of the surface that training,
evaluation, replay and benchmarks use, so none of them asks what kind of agent it holds.

A package registers names in its ``pyproject.toml``; each entry point loads either an
:class:`polebench.agents.registry.AlgoSpec` or an agent class (then registered under the entry point's name)::

    [project.entry-points."polebench.algos"]
    my_dqn = "my_package.agents:MyDQN"

Example (a plugin that always pushes left: it trains, and is judged, like any agent):
    >>> import numpy as np
    >>> class PushLeft:
    ...     def __init__(self, policy, env, seed=None, verbose=0):
    ...         self.num_timesteps = 0
    ...     def learn(self, total_timesteps, callback=None):
    ...         self.num_timesteps += total_timesteps
    ...         return self
    ...     def predict(self, observation, state=None, episode_start=None, deterministic=False):
    ...         return np.zeros(len(observation), dtype=int), state
    ...     def save(self, path): open(path, "w").close()
    ...     @classmethod
    ...     def load(cls, path, env=None): return cls(None, env)
    >>> check_agent_class(PushLeft, "PushLeft") is PushLeft
    True
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np

from polebench.errors import ConfigError

ENTRY_POINT_GROUP = "polebench.algos"


class Agent(Protocol):
    """The contract of an agent class of your own (checked when it is loaded).

    ``default_hyperparams`` (a class attribute, optional) supplies hyperparameters that no file or flag
    names, such as a budget ``n_timesteps``; everything else comes from ``--hyperparams`` and
    ``--conf-file``, since there is no shipped YAML for a plugin. ``num_timesteps`` (optional) is the
    number of env steps taken so far; without it polebench counts the ``callback.on_step()`` calls.
    """

    def __init__(self, policy: Any, env: Any, seed: int | None = None, verbose: int = 0, **hyperparams: Any) -> None:
        """``env`` is an SB3 ``VecEnv`` (``reset()`` returns observations only, ``step()`` four arrays and
        resets finished sub-envs by itself), every sub-env inside SB3's ``Monitor``, so the returns that
        polebench reports are the true ones whatever the agent does. ``policy`` is the YAML's ``policy``
        (default ``"MlpPolicy"``): use it or ignore it. A hyperparameter arrives as YAML wrote it (a number, a
        string, a list, a mapping), except a schedule such as ``lin_1e-3``, which arrives as SB3's do: a
        function of the progress remaining (1.0 at the start of training, 0.0 at the end) that returns the
        value; :func:`value_at` reads either kind."""

    def learn(self, total_timesteps: int, callback: Any = None) -> Any:
        """Take ``total_timesteps`` env steps. Call ``callback.on_step()`` after each step of the VecEnv
        (all its sub-envs at once) and stop when it returns ``False``: that gives periodic evaluations,
        early stopping and checkpoints. An agent that ignores ``callback`` still gets its final evaluation."""

    def predict(
        self, observation: np.ndarray, state: Any = None, episode_start: Any = None, deterministic: bool = False
    ) -> tuple[np.ndarray, Any]:
        """Actions for a batch of observations (one row per sub-env), and the next hidden state (``None``
        for an agent without one), as SB3's ``predict``."""

    def save(self, path: str) -> None:
        """Write the agent to exactly ``path``, in any format of its own."""

    @classmethod
    def load(cls, path: str, env: Any = None) -> Agent:
        """The agent that :meth:`save` wrote to ``path``."""


REQUIRED_METHODS = ("learn", "predict", "save", "load")
# How polebench calls each method: an agent whose method cannot take these arguments does not fit (the
# constructor and ``load`` are called on the class, so their arguments come without it).
CALLS: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {
    "__init__": (("MlpPolicy", None), {"seed": None, "verbose": 0}),
    "learn": ((None, 1), {"callback": None}),
    "predict": ((None, np.zeros(1)), {"state": None, "episode_start": None, "deterministic": True}),
    "save": ((None, "agent.zip"), {}),
    "load": (("agent.zip",), {"env": None}),
}
CONTRACT = "see polebench/agents/plugins.py, or start from examples/template_agent.py"


def check_agent_class(cls: Any, what: str) -> Any:
    """Refuse, in one line naming ``what`` and every problem at once, anything that is not a class with
    :class:`Agent`'s methods, callable as polebench calls them, ``load`` a classmethod."""
    if not inspect.isclass(cls):
        raise ConfigError(f"{what} is not a class but {type(cls).__name__}; --algo takes package.module:Class")
    problems = []
    missing = [name for name in REQUIRED_METHODS if not callable(getattr(cls, name, None))]
    if missing:
        problems.append(f"it has no {', '.join(name + '()' for name in missing)}")
    if "load" not in missing and not isinstance(inspect.getattr_static(cls, "load"), classmethod | staticmethod):
        problems.append("load() must be a @classmethod (polebench loads a saved agent without making one first)")
        missing.append("load")  # its signature says nothing until it is one
    for name, (args, kwargs) in CALLS.items():
        if name in missing:
            continue
        try:
            inspect.signature(cls if name == "__init__" else getattr(cls, name)).bind(*args, **kwargs)
        except TypeError as err:
            problems.append(f"{name}() cannot be called as polebench calls it ({err})")
        except ValueError:
            continue  # a builtin without a signature: trust it
    if problems:
        raise ConfigError(f"{what} is not an agent polebench can use: {'; '.join(problems)} ({CONTRACT})")
    return cls


def plugin_class(path: str) -> Any:
    """The agent class at ``"package.module:Class"``, checked; a module that does not import, a missing
    class or a class that is not an agent is one line naming the plugin."""
    import importlib

    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        hint = ""
        if err.name is not None and module_name.split(".")[0] == err.name.split(".")[0]:
            # The usual cause: the folder that holds the package is neither the current one nor on the path.
            hint = (
                f"; run from the folder that holds {err.name.split('.')[0]}/, or add that folder to PYTHONPATH "
                "(PYTHONPATH=/path/to/folder python train.py ...)"
            )
        raise ConfigError(f"cannot import the agent module {module_name!r} of {path}: {err}{hint}") from None
    except Exception as err:  # the plugin's own import error, whatever it is, is the user's to fix
        raise ConfigError(f"cannot import the agent module {module_name!r} of {path}: {err}") from None
    if not hasattr(module, attr):
        raise ConfigError(f"module {module_name!r} has no {attr!r}; --algo takes package.module:Class")
    return check_agent_class(getattr(module, attr), path)


def check_contract(model: PluginAgent, env: Any) -> None:
    """Try the agent as polebench will use it, before it trains: ``predict`` on a real batch of ``env``'s
    observations, then a save and a load, and ``predict`` on the loaded agent. Every problem found is listed
    in one :class:`ConfigError`, so a plugin is put right in one go rather than one error a run."""
    import tempfile

    cls = type(model)
    name = _name(cls.agent_class)
    problems: list[str] = []

    def attempt(what: str, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except ConfigError as err:
            problems.append(f"{what}{err}")
        except Exception as err:  # the plugin's own code: whatever it raises is a problem to list
            problems.append(f"{what}{name} raised {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}")
        return None

    observation = env.reset()
    answered = attempt("", lambda: model.predict(observation, deterministic=True)) is not None
    with tempfile.TemporaryDirectory(prefix="polebench-contract-") as folder:
        path = Path(folder) / "agent.zip"

        def save() -> bool:
            model.save(path)
            return True

        saved = attempt("", save)
        loaded = attempt("", lambda: cls.agent_class.load(str(path), env=env)) if saved else None
        if saved and loaded is not None and not isinstance(loaded, cls.agent_class):
            problems.append(f"{name}.load returned {_shown(loaded)}, not a {name}")
        elif loaded is not None and answered:  # a predict already wrong is said once
            again = cls(None, env, _agent=loaded)
            attempt("after a save and a load: ", lambda: again.predict(observation, deterministic=True))
    if problems:
        raise ConfigError(f"{name} does not keep the agent contract: {'; '.join(problems)} ({CONTRACT})")


class _Steps:
    """What the plugin's ``learn`` is given as ``callback``: SB3's callbacks, stepped."""

    def __init__(self, wrapper: PluginAgent, callbacks: Any) -> None:
        self.wrapper, self.callbacks = wrapper, callbacks

    def on_step(self) -> bool:
        self.wrapper.counted_steps += self.wrapper.n_envs
        return bool(self.callbacks.on_step())

    def __call__(self, *args: Any, **kwargs: Any) -> bool:  # SB3 also accepts a function as a callback
        return self.on_step()


class PluginAgent:
    """An :class:`Agent` with the rest of SB3's surface that polebench uses (spaces, step count, logger,
    normalisation, callbacks). Made for each plugin class by :func:`adapter_for`."""

    agent_class: ClassVar[Any] = None
    policy_aliases: ClassVar[dict[str, Any]] = {}

    def __init__(
        self,
        policy: Any,
        env: Any,
        seed: int | None = None,
        device: str = "cpu",
        verbose: int = 0,
        _agent: Any = None,
        **hyperparams: Any,
    ) -> None:
        self.env = env
        self.observation_space = getattr(env, "observation_space", None)
        self.action_space = getattr(env, "action_space", None)
        self.n_envs = getattr(env, "num_envs", 1)
        self.device = "cpu"  # what polebench reports; the agent picks its own device
        self.counted_steps = 0
        self.checked = False  # check_contract has run (before the first learn)
        self.logger: Any = None
        self.agent = (
            _agent if _agent is not None else self.agent_class(policy, env, seed=seed, verbose=verbose, **hyperparams)
        )

    @property
    def num_timesteps(self) -> int:
        own = getattr(self.agent, "num_timesteps", None)
        return int(own) if isinstance(own, (int, np.integer)) and not isinstance(own, bool) else self.counted_steps

    def learn(self, total_timesteps: int, callback: Any = None, progress_bar: bool = False, **_: Any) -> PluginAgent:
        # As SB3's own _init_callback turns what learn() was given into one callback.
        from stable_baselines3.common.callbacks import BaseCallback, CallbackList, ConvertCallback, ProgressBarCallback

        given = callback if isinstance(callback, list) else [] if callback is None else [callback]
        chosen = [c if isinstance(c, BaseCallback) else ConvertCallback(c) for c in given]
        callbacks = CallbackList(chosen + ([ProgressBarCallback()] if progress_bar else []))
        if not self.checked:
            check_contract(self, self.env)
            self.checked = True
        callbacks.init_callback(self)  # type: ignore[arg-type]
        callbacks.on_training_start(locals(), globals())
        self.agent.learn(total_timesteps, callback=_Steps(self, callbacks))
        callbacks.on_training_end()
        return self

    def predict(
        self, observation: Any, state: Any = None, episode_start: Any = None, deterministic: bool = False
    ) -> tuple[np.ndarray, Any]:
        answer = self.agent.predict(observation, state=state, episode_start=episode_start, deterministic=deterministic)
        what = f"{_name(self.agent_class)}.predict"
        if not (isinstance(answer, tuple) and len(answer) == 2):
            raise ConfigError(f"{what} returned {_shown(answer)}; it must return (actions, state), as SB3's predict")
        actions = np.asarray(answer[0])
        problem = action_problem(actions, np.asarray(observation), self.observation_space, self.action_space)
        if problem:
            raise ConfigError(f"{what} returned {_shown(answer[0])}: {problem}")
        return actions, answer[1]

    def save(self, path: str | Path) -> None:
        self.agent.save(str(path))
        if not Path(path).is_file():
            raise ConfigError(
                f"{_name(self.agent_class)}.save({str(path)!r}) wrote nothing at that path; an agent's save "
                "must write exactly the path it is given"
            )

    @classmethod
    def load(cls, path: str | Path, env: Any = None, **_: Any) -> PluginAgent:
        """The saved agent, with ``env`` (or ``None``: replay gives it the env later through predict alone)."""
        return cls(None, env, _agent=cls.agent_class.load(str(path), env=env))

    def set_logger(self, logger: Any) -> None:
        self.logger = logger

    def set_random_seed(self, seed: int | None = None) -> None:
        own: Callable[..., Any] | None = getattr(self.agent, "set_random_seed", None)
        if own is not None:
            own(seed)

    def get_env(self) -> Any:
        return self.env

    def get_vec_normalize_env(self) -> Any:
        from stable_baselines3.common.vec_env import VecNormalize, unwrap_vec_wrapper

        return unwrap_vec_wrapper(self.env, VecNormalize) if self.env is not None else None


@functools.cache
def adapter_for(cls: Any) -> type[PluginAgent]:
    """A :class:`PluginAgent` class for the agent class ``cls``: building it checks the hyperparameters
    against ``cls``'s own constructor."""
    policies = getattr(cls, "policy_aliases", None)
    signature = inspect.signature(cls)
    adapter = type(
        f"{cls.__name__}Agent",
        (PluginAgent,),
        {
            "agent_class": cls,
            "policy_aliases": dict(policies) if isinstance(policies, dict) else {"MlpPolicy": None},
            "__signature__": signature,
            "__doc__": cls.__doc__,
        },
    )
    return adapter


def action_problem(actions: np.ndarray, observation: np.ndarray, observation_space: Any, action_space: Any) -> str:
    """What is wrong with ``actions`` as the answer to the batch ``observation`` ("": nothing): an env
    would fail on it with an assertion deep in Gymnasium, naming neither the agent nor the rule.

    Example:
        >>> from gymnasium import spaces
        >>> box, two = spaces.Box(-1, 1, (4,)), spaces.Discrete(2)
        >>> action_problem(np.array([0, 1]), np.zeros((2, 4)), box, two)
        ''
        >>> action_problem(np.array([0.4, 1]), np.zeros((2, 4)), box, two)
        'Discrete(2) takes whole numbers 0 to 1, one per observation'
        >>> action_problem(np.array([[0, 0, 0]]), np.zeros((1, 4)), box, two)
        'expected 1 action for 1 observation, got an array of shape (1, 3)'
    """
    from gymnasium import spaces

    own_dims = len(getattr(observation_space, "shape", None) or ())
    batch = observation.shape[0] if observation.ndim > own_dims else None
    if isinstance(action_space, spaces.Discrete):
        expected: tuple[int, ...] = () if batch is None else (batch,)
    elif isinstance(action_space, spaces.Box):
        expected = action_space.shape if batch is None else (batch, *action_space.shape)
    else:
        return ""  # other spaces: Gymnasium's own check is the only one
    if actions.shape != expected and actions.size != int(np.prod(expected)):
        count = "1 action" if batch is None else f"{batch} action{'s' * (batch != 1)}"
        observations = "1 observation" if batch is None else f"{batch} observation{'s' * (batch != 1)}"
        return f"expected {count} for {observations}, got an array of shape {actions.shape}"
    if not np.issubdtype(actions.dtype, np.number) or not np.all(np.isfinite(actions)):
        return f"actions must be finite numbers for {action_space}"
    if isinstance(action_space, spaces.Discrete):
        low, high = int(action_space.start), int(action_space.start + action_space.n - 1)
        if np.any(actions != np.round(actions)) or np.any(actions < low) or np.any(actions > high):
            return f"{action_space} takes whole numbers {low} to {high}, one per observation"
    return ""


def value_at(value: float | Callable[[float], float], progress_remaining: float) -> float:
    """A hyperparameter that may be a schedule, at ``progress_remaining`` (1.0 at the start, 0.0 at the end),
    as SB3 reads its learning rates.

    Example:
        >>> from polebench.config.hyperparams import constructor_kwargs
        >>> rate = constructor_kwargs({"learning_rate": "lin_3e-3"})["learning_rate"]
        >>> value_at(3e-3, 0.5), value_at(rate, 0.5)
        (0.003, 0.0015)
    """
    return float(value(progress_remaining)) if callable(value) else float(value)


def _shown(value: Any) -> str:
    text = " ".join(repr(value).split())  # NumPy writes a 2-D array on several lines
    return text if len(text) <= 80 else text[:77] + "..."


def _name(cls: Any) -> str:
    return getattr(cls, "__qualname__", repr(cls))
