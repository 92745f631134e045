"""The ``env_wrapper`` hyperparameter: Gymnasium wrappers named by string, never by import path or code.

In YAML it is a list whose items are a wrapper name or a one-key mapping from a name to its keyword
arguments::

    env_wrapper:
      - discretize: {bins: [1, 1, 6, 12], low: [-2.4, -3, -0.21, -3.5], high: [2.4, 3, 0.21, 3.5]}

Reward shaping has a key of its own, ``shaped_reward: {form: quadratic, ...}`` (see :data:`SHAPING_FORMS`);
the ``shaped_reward`` item of ``env_wrapper`` is its ``user`` form, as earlier versions wrote it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from polebench.errors import ConfigError
from polebench.imports import import_attribute


@dataclass(frozen=True)
class WrapperKind:
    """One entry of the table: where the class lives and whether evaluation and replay get it too.

    Observation wrappers change what the agent sees, so every env gets them; reward shaping changes only
    what it learns from, so evaluation and replay keep the true reward.
    """

    class_path: str
    training_only: bool
    presets: tuple[tuple[str, Any], ...] = ()
    form: str | None = None

    def load_class(self) -> Any:
        return import_attribute(self.class_path)


WRAPPERS: dict[str, WrapperKind] = {
    "discretize": WrapperKind("polebench.wrappers.discretize:DiscretizeObservation", training_only=False),
    # The reward shaping of earlier versions' YAML (``env_wrapper: [shaped_reward]``): the ``user`` form.
    "shaped_reward": WrapperKind("polebench.wrappers.shaped_reward:ShapedReward", training_only=True, form="user"),
}

# Reward shaping, by form (``--shaped-reward FORM``, ``shaped_reward: {form: FORM, ...}``); each form is
# a wrapper of ``polebench/wrappers/shaped_reward.py`` with its own defaults, documented there with its formula.
SHAPING_FORMS: dict[str, WrapperKind] = {
    "user": WrapperKind("polebench.wrappers.shaped_reward:ShapedReward", training_only=True, form="user"),
    "position": WrapperKind(
        "polebench.wrappers.shaped_reward:ShapedReward",
        training_only=True,
        presets=(("position_coef", 0.5),),
        form="position",
    ),
    "quadratic": WrapperKind("polebench.wrappers.shaped_reward:QuadraticReward", training_only=True, form="quadratic"),
    "dm_control": WrapperKind(
        "polebench.wrappers.shaped_reward:DMControlReward", training_only=True, form="dm_control"
    ),
}
DEFAULT_SHAPING = "user"


@dataclass(frozen=True)
class WrapperUse:
    """A wrapper to apply: its name, its keyword arguments (defaults filled in) and its kind."""

    name: str
    kwargs: dict[str, Any]
    kind: WrapperKind

    @property
    def shaped_reward(self) -> dict[str, Any] | None:
        """A shaping wrapper's form and every coefficient (``shaped_reward`` in ``config.yml``'s
        ``hyperparams``), else ``None``."""
        return {"form": self.kind.form, **self.kwargs} if self.kind.form is not None else None


def parse_env_wrapper(value: Any) -> list[WrapperUse]:
    """Turn the YAML ``env_wrapper`` value into wrappers with every keyword argument spelled out."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    uses = []
    for item in items:
        name, kwargs = (item, {}) if isinstance(item, str) else _single_entry(item)
        if name not in WRAPPERS:
            raise ConfigError(f"unknown env_wrapper {name!r}; choose from: {', '.join(WRAPPERS)}")
        uses.append(_use(name, WRAPPERS[name], kwargs, f"env_wrapper {name}"))
    return uses


def _use(name: str, kind: WrapperKind, kwargs: dict[str, Any], what: str) -> WrapperUse:
    """``kind`` with ``kwargs`` checked against its constructor and every other argument spelled out."""
    params = inspect.signature(kind.load_class()).parameters
    unknown = set(kwargs) - set(params) - {"env"}
    if unknown:
        accepted = ", ".join(p for p in params if p != "env")
        raise ConfigError(f"{what} takes no {', '.join(sorted(unknown))}; accepted: {accepted}")
    defaults = {k: p.default for k, p in params.items() if k != "env" and p.default is not inspect.Parameter.empty}
    spelled = {k: list(v) if isinstance(v, tuple) else v for k, v in {**defaults, **dict(kind.presets)}.items()}
    return WrapperUse(name, {**spelled, **kwargs}, kind)


def shaping_form(value: Any) -> str | dict[str, Any] | None:
    """A shaping request as the flag, the Python API or a grid file gives it, checked and normalised:
    ``None``/``False`` (none), ``True`` (the default form), a form name, or a mapping ``{form: NAME,
    coefficient: value, ...}``. Coefficients are checked when the wrapper is built.

    Example:
        >>> shaping_form(True), shaping_form("quadratic"), shaping_form({"form": "position", "position_coef": 1})
        ('user', 'quadratic', {'form': 'position', 'position_coef': 1})
    """
    if value is None or value is False:
        return None
    if value is True:
        return DEFAULT_SHAPING
    name = value.get("form", DEFAULT_SHAPING) if isinstance(value, dict) else value
    if not isinstance(name, str) or name not in SHAPING_FORMS:
        raise ConfigError(f"unknown shaping form {name!r}; choose one of: {', '.join(SHAPING_FORMS)}")
    return {"form": name, **{k: v for k, v in value.items() if k != "form"}} if isinstance(value, dict) else name


def parse_shaping(value: Any) -> WrapperUse | None:
    """The shaping wrapper a request asks for (see :func:`shaping_form`), every coefficient spelled out."""
    form = shaping_form(value)
    if form is None:
        return None
    name, kwargs = (
        (form, {}) if isinstance(form, str) else (form["form"], {k: v for k, v in form.items() if k != "form"})
    )
    return _use(name, SHAPING_FORMS[name], kwargs, f"shaped_reward {name}")


def _single_entry(item: Any) -> tuple[str, dict[str, Any]]:
    if isinstance(item, dict) and len(item) == 1:
        ((name, kwargs),) = item.items()
        if isinstance(kwargs, dict) or kwargs is None:
            return str(name), dict(kwargs or {})
    raise ConfigError(f"each env_wrapper item is a name or a {{name: {{keyword: value}}}} mapping, got {item!r}")


def wrapper_chain(uses: Sequence[WrapperUse], training: bool) -> Callable[[Any], Any] | None:
    """A function that applies the wrappers in order (the training-only ones only when ``training``)."""
    chosen = [use for use in uses if training or not use.kind.training_only]
    if not chosen:
        return None
    classes = [(use.kind.load_class(), use.kwargs) for use in chosen]

    def wrap(env: Any) -> Any:
        for cls, kwargs in classes:
            env = cls(env, **kwargs)
        return env

    return wrap


def check_wrappers(uses: Sequence[WrapperUse], env_id: str) -> None:
    """Build the wrappers once on a throwaway env so bad arguments fail before anything is written."""
    import gymnasium as gym

    env = gym.make(env_id)
    try:
        for use in uses:
            what = f"shaped_reward {use.kind.form}" if use.kind.form else f"env_wrapper {use.name}"
            try:
                env = use.kind.load_class()(env, **use.kwargs)
            except (ValueError, TypeError) as err:
                raise ConfigError(f"{what} on {env_id}: {err}") from None
    finally:
        env.close()
