"""Hyperparameters as data: ``hyperparams/<algo>.yml`` keyed by env id, with a ``default:`` section.

Layers, later ones winning: the shipped ``default``, the shipped env entry, a ``--conf-file``'s
``default`` and env entry, then ``--hyperparams key=value`` overrides. ``policy_kwargs`` layers key by
key (so an entry that sets ``net_arch`` keeps the default's optimizer); every other key is replaced. Files are read with
``yaml.safe_load`` (YAML tags that would build Python objects are refused) and nothing is ``eval``ed:
schedules are strings such as ``lin_1e-3``; activation functions and optimizers are names such as
``tanh`` and ``lean_adam``.
"""

from __future__ import annotations

import collections.abc
import inspect
import itertools
import math
import re
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from polebench.config.yamlfile import load_yaml, parse_yaml
from polebench.errors import ConfigError
from polebench.imports import import_attribute
from polebench.limits import MAX_ENVS, MAX_EPISODE_STEPS, MAX_HIDDEN_WEIGHTS

# The shipped hyperparameter files, package data: a wheel carries them.
HYPERPARAMS_DIR = Path(__file__).resolve().parents[1] / "hyperparams"

# Keys polebench itself consumes; everything else goes to the algorithm's constructor.
RUN_KEYS = (
    "n_envs", "n_timesteps", "policy", "normalize", "env_wrapper", "shaped_reward", "train_perturb", "end_on_best",
    "best_survives", "survival_episodes", "training_horizon", "noise_type", "noise_std",
)  # fmt: skip
# rl-baselines3-zoo's noise_type values: exploration noise on the actions of TD3, DDPG and SAC.
NOISE_TYPES = ("normal", "ornstein-uhlenbeck")
# Constructor arguments that flags set, so a YAML file must not.
FLAG_ARGS = {"env": "--env", "seed": "--seed", "device": "--device", "verbose": "--verbose"}
NOT_SETTABLE = {"tensorboard_log", "_init_setup_model"}

# Nested mappings that later layers update key by key instead of replacing.
MERGED_KEYS = ("policy_kwargs",)
OPTIMIZERS = {"adam": "torch.optim:Adam", "adamw": "torch.optim:AdamW", "lean_adam": "polebench.optim:LeanAdam"}
ACTIVATIONS = {"tanh": "Tanh", "relu": "ReLU", "elu": "ELU", "leaky_relu": "LeakyReLU", "gelu": "GELU"}
SCHEDULE = re.compile(r"^lin_(?P<start>[-+0-9.eE]+)$")
# PyYAML follows YAML 1.1, which reads ``1e-3`` (no dot) as a string; such values are meant as numbers.
EXPONENT_FLOAT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")


def shipped_file(algo: str) -> Path:
    """Where the hyperparameters shipped for ``algo`` live (the file may not exist: a plugin has none)."""
    return HYPERPARAMS_DIR / f"{algo}.yml"


def read_table(path: Path, what: str = "config file") -> dict[str, Any]:
    """Read a hyperparameter file: a mapping from env id (or ``default``) to a mapping of values."""
    table = load_yaml(path, what)
    if table is None:
        return {}
    if not isinstance(table, dict) or not all(isinstance(v, dict) for v in table.values()):
        raise ConfigError(f"{path} must map env ids (or 'default') to mappings of hyperparameters")
    return table


KEY_VALUE = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*[=:](?P<value>.*)$", re.S)


def parse_overrides(items: Iterable[str], flag: str = "--hyperparams") -> dict[str, Any]:
    """Parse ``key=value`` strings, or rl-baselines3-zoo's ``key:value``; each value is read as a YAML
    scalar or flow collection. The key ends at the first ``=`` or ``:``.

    Example:
        >>> parse_overrides(["learning_rate=0.001", "policy_kwargs={net_arch: [64]}", "gamma:0.98"])
        {'learning_rate': 0.001, 'policy_kwargs': {'net_arch': [64]}, 'gamma': 0.98}
    """
    parsed: dict[str, Any] = {}
    for item in items:
        match = KEY_VALUE.match(item)
        if match is None:
            raise ConfigError(f"{flag} takes key=value (or the zoo's key:value) pairs, got {item!r}")
        key = match["key"]
        value = parse_yaml(match["value"], f"{flag} {key}")
        parsed[key] = float(value) if isinstance(value, str) and EXPONENT_FLOAT.match(value) else value
    return parsed


def resolve(
    algo: str,
    env_id: str,
    conf_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    base: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The merged hyperparameters of ``algo`` on ``env_id``, as plain YAML data.

    :param base: used instead of the shipped ``hyperparams/<algo>.yml`` (a resumed run's own config, or
        a plugin's ``default_hyperparams``)
    """
    tables = [{env_id: dict(base)} if base is not None else read_table(shipped_file(algo))]
    if conf_file is not None:
        tables.append(read_table(conf_file))
    merged: dict[str, Any] = {}
    for upper in [*(t.get(key, {}) for t in tables for key in ("default", env_id)), overrides or {}]:
        merged = layer(merged, upper)
    return {k: float(v) if isinstance(v, str) and EXPONENT_FLOAT.match(v) else v for k, v in merged.items()}


def layer(lower: Mapping[str, Any], upper: Mapping[str, Any]) -> dict[str, Any]:
    """``upper`` over ``lower``: keys in :data:`MERGED_KEYS` update key by key, the others are replaced.

    Example:
        >>> layer({"gamma": 0.9, "policy_kwargs": {"net_arch": [8]}}, {"policy_kwargs": {"activation_fn": "relu"}})
        {'gamma': 0.9, 'policy_kwargs': {'net_arch': [8], 'activation_fn': 'relu'}}
    """
    merged = dict(lower)
    for key, value in upper.items():
        if key in MERGED_KEYS and isinstance(value, dict) and isinstance(merged.get(key), dict):
            value = {**merged[key], **value}
        merged[key] = value
    return merged


def _count(hp: Mapping[str, Any], key: str, minimum: int = 1, maximum: int | None = None) -> int:
    value = hp.get(key)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ConfigError(f"{key} must be {kind}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{key} must be at most {maximum:,}, got {value:,}")
    return value


def n_envs(hp: Mapping[str, Any]) -> int:
    """The number of parallel training envs (1 unless the YAML says otherwise)."""
    return _count({"n_envs": hp.get("n_envs", 1)}, "n_envs", maximum=MAX_ENVS)


def training_horizon(hp: Mapping[str, Any]) -> int | None:
    """The steps after which every training episode is cut (``None``: the env's own limit)."""
    if hp.get("training_horizon") is None:
        return None
    return _count(hp, "training_horizon", maximum=MAX_EPISODE_STEPS)


def n_timesteps(hp: Mapping[str, Any]) -> int:
    """The training budget in env steps (0 for controllers that need no experience, such as LQR)."""
    if "n_timesteps" not in hp:
        raise ConfigError("no n_timesteps in the hyperparameters; pass -n STEPS")
    return _count(hp, "n_timesteps", minimum=0)


def end_on_best(hp: Mapping[str, Any]) -> bool:
    """Whether the run ends with the model of its best evaluation (``end_on_best: true``; by ``--best-by``)
    instead of its last one: the final evaluation, the saved model and everything after judge that one."""
    value = hp.get("end_on_best", False)
    if not isinstance(value, bool):
        raise ConfigError(f"end_on_best must be true or false, got {value!r}")
    return value


def action_noise(hp: Mapping[str, Any], n_actions: int) -> Any:
    """rl-baselines3-zoo's ``noise_type`` and ``noise_std`` (default 0.1) as SB3's action noise for an action of
    ``n_actions`` values, or ``None`` without ``noise_type``.

    Example:
        >>> action_noise({"noise_type": "normal", "noise_std": 0.2}, 1)
        NormalActionNoise(mu=[0.], sigma=[0.2])
    """
    kind, std = hp.get("noise_type"), hp.get("noise_std", 0.1)
    if kind is None:
        if "noise_std" in hp:
            raise ConfigError("noise_std needs noise_type (normal or ornstein-uhlenbeck)")
        return None
    if kind not in NOISE_TYPES:
        raise ConfigError(f"noise_type must be one of {', '.join(NOISE_TYPES)}, got {kind!r}")
    number = _number(std)
    if number is None or not 0 < number < math.inf:
        raise ConfigError(f"noise_std must be a positive number, got {std!r}")
    import numpy as np
    from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise

    noise = NormalActionNoise if kind == "normal" else OrnsteinUhlenbeckActionNoise
    return noise(mean=np.zeros(n_actions), sigma=number * np.ones(n_actions))


def normalize_kwargs(hp: Mapping[str, Any]) -> dict[str, Any] | None:
    """``VecNormalize`` keyword arguments (and polebench's ``center_obs``) when ``normalize`` is on (true or
    a mapping), else ``None``; a key neither takes is a :class:`ConfigError`."""
    value = hp.get("normalize", False)
    if value is False or value is None:
        return None
    if value is True:
        return {}
    if isinstance(value, dict):
        # Imported here: reading a config must not import SB3 and torch until a run needs them.
        from polebench.wrappers.normalization import check_normalize

        check_normalize(value)
        return dict(value)
    raise ConfigError(f"normalize must be true, false or a mapping of VecNormalize arguments, got {value!r}")


def _check_finite(key: str, value: Any) -> None:
    """Refuse a NaN or infinite number anywhere in a hyperparameter (``.inf``, ``lin_.nan``): accepted, it
    would only show as NaN logits mid-training, after the run folder was made."""
    if isinstance(value, dict):
        for inner, item in value.items():
            _check_finite(f"{key}.{inner}", item)
    elif isinstance(value, list):
        for item in value:
            _check_finite(key, item)
    else:
        text = value[4:] if isinstance(value, str) and value.startswith("lin_") else value
        number = _number(text)
        if number is not None and not math.isfinite(number):
            raise ConfigError(f"hyperparameter {key}={value!r}: numbers must be finite (not NaN or infinite)")


def _number(value: Any) -> float | None:
    if isinstance(value, float):
        return value
    if isinstance(value, str):
        try:
            return float(value.lower().replace(".nan", "nan").replace(".inf", "inf"))  # YAML's spellings too
        except ValueError:
            return None
    return None


def _schedule(value: Any) -> Any:
    if isinstance(value, str) and (match := SCHEDULE.match(value)):
        from stable_baselines3.common.utils import LinearSchedule

        return LinearSchedule(float(match["start"]), 0.0, 1.0)
    return value


def _policy_kwargs(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    kwargs = dict(value)
    name = kwargs.get("activation_fn")
    if isinstance(name, str):
        if name not in ACTIVATIONS:
            raise ConfigError(f"unknown activation_fn {name!r}; choose one of: {', '.join(ACTIVATIONS)}")
        import torch.nn

        kwargs["activation_fn"] = getattr(torch.nn, ACTIVATIONS[name])
    name = kwargs.get("optimizer_class")
    if isinstance(name, str):
        if name not in OPTIMIZERS:
            raise ConfigError(f"unknown optimizer_class {name!r}; choose one of: {', '.join(OPTIMIZERS)}")
        kwargs["optimizer_class"] = import_attribute(OPTIMIZERS[name])
    return kwargs


@dataclass(frozen=True)
class Range:
    """The values a hyperparameter may take: ``low`` to ``high`` (``None``: unbounded), each end open or
    closed, whole numbers only when ``whole``; ``meaning`` says what it is, for the message."""

    low: float | None
    high: float | None = None
    low_open: bool = False
    whole: bool = False
    meaning: str = ""

    def holds(self, number: float) -> bool:
        above = self.low is None or (number > self.low if self.low_open else number >= self.low)
        return above and (self.high is None or number <= self.high) and (not self.whole or float(number).is_integer())

    def describe(self) -> str:
        """The range in words.

        Example:
            >>> RANGES["gamma"].describe()
            'a discount in (0, 1]'
        """
        if self.low is not None and self.high is not None:
            low = "(" if self.low_open else "["
            return f"{self.meaning} in {low}{self.low:g}, {self.high:g}]"
        kind = "a whole number" if self.whole else "a number"
        return f"{self.meaning or kind} {'>' if self.low_open else '>='} {self.low:g}"


# The hyperparameters SB3's algorithms (and polebench's own, which share their names) take with the same
# meaning: a value outside its range is refused before the run folder exists, where SB3 would train on
# and learn nothing (batch_size 0, gamma 2) or fail mid-training (batch_size -5, n_epochs 0).
RANGES = {
    "gamma": Range(0, 1, low_open=True, meaning="a discount"),
    "gae_lambda": Range(0, 1, meaning="a GAE factor"),
    "tau": Range(0, 1, low_open=True, meaning="a soft-update factor"),
    "exploration_fraction": Range(0, 1, meaning="a fraction of the budget"),
    "exploration_initial_eps": Range(0, 1, meaning="a probability"),
    "exploration_final_eps": Range(0, 1, meaning="a probability"),
    "learning_rate": Range(0, low_open=True, meaning="a learning rate"),
    "clip_range": Range(0, low_open=True, meaning="a clip range"),
    "max_grad_norm": Range(0, low_open=True, meaning="a gradient norm"),
    "vf_coef": Range(0, meaning="a coefficient"),
    "batch_size": Range(1, whole=True),
    "n_steps": Range(1, whole=True),
    "n_epochs": Range(1, whole=True),
    "buffer_size": Range(1, whole=True),
    "learning_starts": Range(0, whole=True),
    "target_update_interval": Range(1, whole=True),
}


def check_ranges(hp: Mapping[str, Any]) -> None:
    """Refuse a hyperparameter of :data:`RANGES` outside its range (a schedule by its starting value).

    Example:
        >>> check_ranges({"gamma": 2})
        Traceback (most recent call last):
        ...
        polebench.errors.ConfigError: hyperparameter gamma=2 must be a discount in (0, 1]
    """
    for key, rule in RANGES.items():
        value = hp.get(key)
        text = value[4:] if isinstance(value, str) and value.startswith("lin_") else value
        number = None if isinstance(text, bool) else _number(text) if isinstance(text, str) else text
        if isinstance(number, int | float) and not rule.holds(number):
            raise ConfigError(f"hyperparameter {key}={value!r} must be {rule.describe()}")


def constructor_kwargs(hp: Mapping[str, Any]) -> dict[str, Any]:
    """The algorithm's keyword arguments: schedules, activation and optimizer names turned into objects."""
    for key, value in hp.items():
        _check_finite(key, value)
    check_ranges(hp)
    kwargs = {k: _schedule(v) for k, v in hp.items() if k not in RUN_KEYS}
    if isinstance(kwargs.get("train_freq"), list):  # YAML has no tuples; SB3 takes (1, "episode") only as one
        kwargs["train_freq"] = tuple(kwargs["train_freq"])
    if "policy_kwargs" in kwargs:
        kwargs["policy_kwargs"] = _policy_kwargs(kwargs["policy_kwargs"])
    return kwargs


def check_kwargs(algo_cls: type, kwargs: Mapping[str, Any]) -> None:
    """Refuse keys the constructor does not take and values of the wrong type, before anything runs."""
    params = inspect.signature(algo_cls).parameters
    accepted = sorted(k for k in params if k not in NOT_SETTABLE and k not in FLAG_ARGS and k != "policy")
    open_ended = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())  # a plugin's **kwargs
    for key, value in kwargs.items():
        if key in FLAG_ARGS:
            raise ConfigError(f"hyperparameter {key!r} is set by {FLAG_ARGS[key]}, not in the config")
        if key not in params and open_ended:
            continue
        if key not in params or key in NOT_SETTABLE:
            raise ConfigError(
                f"{algo_cls.__name__} takes no hyperparameter {key!r}; accepted: {', '.join([*RUN_KEYS, *accepted])}"
            )
        annotation = params[key].annotation
        if not _matches(value, annotation):
            raise ConfigError(
                f"hyperparameter {key}={value!r} has the wrong type; {algo_cls.__name__} expects "
                f"{_describe(annotation)}"
            )


def check_policy_kwargs(policy_cls: type, policy_kwargs: Any) -> None:
    """Refuse ``policy_kwargs`` the policy does not take, and a ``net_arch`` that is not layer sizes."""
    if policy_kwargs is None:
        return
    if not isinstance(policy_kwargs, dict):
        raise ConfigError(f"policy_kwargs must be a mapping, got {policy_kwargs!r}")
    params = inspect.signature(policy_cls).parameters
    open_ended = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    accepted = [k for k in params if k not in ("observation_space", "action_space", "lr_schedule")]
    unknown = sorted(k for k in policy_kwargs if k not in accepted)
    if unknown and not open_ended:
        raise ConfigError(
            f"policy_kwargs: {policy_cls.__name__} takes no {', '.join(unknown)}; accepted: {', '.join(accepted)}"
        )
    net_arch = policy_kwargs.get("net_arch")
    if net_arch is not None and not _layer_sizes(net_arch):
        raise ConfigError(
            "policy_kwargs net_arch must be a list of layer sizes such as [64, 64], or a mapping of such lists "
            f"such as {{pi: [64], vf: [64]}}; got {net_arch!r}"
        )
    if net_arch is not None and (weights := _hidden_weights(net_arch)) > MAX_HIDDEN_WEIGHTS:
        raise ConfigError(
            f"policy_kwargs net_arch {net_arch!r} has about {weights:,} weights between its layers; "
            f"the limit is {MAX_HIDDEN_WEIGHTS:,} (a network that size would not fit in memory, or train)"
        )


def _hidden_weights(net_arch: Any) -> int:
    """The weights between consecutive hidden layers (and of each layer's own biases), without the input
    and output layers, whose sizes come from the env.

    Example:
        >>> _hidden_weights([64, 64]), _hidden_weights({"pi": [200000, 200000], "vf": [64]})
        (4224, 40000400064)
    """
    if isinstance(net_arch, dict):
        return sum(_hidden_weights(sizes) for sizes in net_arch.values())
    return sum(net_arch) + sum(a * b for a, b in itertools.pairwise(net_arch))


def _layer_sizes(value: Any) -> bool:
    """Whether ``value`` is SB3's ``net_arch``: a list of positive ints, or a mapping of such lists.

    Example:
        >>> _layer_sizes([64, 64]), _layer_sizes({"pi": [32], "vf": [32]}), _layer_sizes(64), _layer_sizes([0])
        (True, True, False, False)
    """
    if isinstance(value, dict):
        return bool(value) and all(_layer_sizes(v) for v in value.values())
    return isinstance(value, list) and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in value)


def _describe(annotation: Any) -> str:
    text = annotation.__name__ if isinstance(annotation, type) else str(annotation)
    text = text.replace("collections.abc.Callable[[float], float]", "a schedule such as 'lin_1e-3'")
    return text.replace("typing.", "")


def _matches(value: Any, annotation: Any) -> bool:
    """Whether a YAML-born value fits a constructor annotation.

    Hand-written because YAML only yields a few shapes (scalars, lists, mappings) that must be checked
    loosely against rich annotations: a list for a tuple, an int for a float. Unknown forms pass.
    """
    if annotation is inspect.Parameter.empty or annotation is Any:
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return any(_matches(value, arm) for arm in typing.get_args(annotation))
    if annotation is None or annotation is type(None):
        return value is None
    if origin is not None:
        return _matches_generic(value, origin)
    if not isinstance(annotation, type):
        return True  # forward references and other forms YAML cannot produce anyway
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation in (str, bool):
        return isinstance(value, annotation)
    return isinstance(value, annotation) or not isinstance(value, (str, int, float, bool, list, dict))


def _matches_generic(value: Any, origin: Any) -> bool:
    if origin is collections.abc.Callable:
        return callable(value)
    if origin is type:
        return isinstance(value, type)
    if origin in (tuple, list):
        return isinstance(value, (tuple, list))
    if origin is dict:
        return isinstance(value, dict)
    return True
