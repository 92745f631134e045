"""The ``env_wrapper`` hyperparameter: Gymnasium wrappers named by string, never by import path or code.

In YAML it is a list whose items are a wrapper name or a one-key mapping from a name to its keyword
arguments::

    env_wrapper:
      - discretize: {bins: [1, 1, 6, 12], low: [-2.4, -3, -0.21, -3.5], high: [2.4, 3, 0.21, 3.5]}
      - shaped_reward: {angle_coef: 1.0}
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from polebench.errors import UserError
from polebench.imports import import_attribute


@dataclass(frozen=True)
class WrapperKind:
    """One entry of the table: where the class lives and whether evaluation and replay get it too.

    Observation wrappers change what the agent sees, so every env gets them; reward shaping changes only
    what it learns from, so evaluation and replay keep the true reward.
    """

    class_path: str
    training_only: bool

    def load_class(self) -> Any:
        return import_attribute(self.class_path)


WRAPPERS: dict[str, WrapperKind] = {
    "discretize": WrapperKind("wrappers.discretize:DiscretizeObservation", training_only=False),
    "shaped_reward": WrapperKind("wrappers.shaped_reward:ShapedReward", training_only=True),
}


@dataclass(frozen=True)
class WrapperUse:
    """A wrapper to apply: its name, its keyword arguments (defaults filled in) and its kind."""

    name: str
    kwargs: dict[str, Any]
    kind: WrapperKind


def parse_env_wrapper(value: Any) -> list[WrapperUse]:
    """Turn the YAML ``env_wrapper`` value into wrappers with every keyword argument spelled out."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    uses = []
    for item in items:
        name, kwargs = (item, {}) if isinstance(item, str) else _single_entry(item)
        if name not in WRAPPERS:
            raise UserError(f"unknown env_wrapper {name!r}; choose from: {', '.join(WRAPPERS)}")
        kind = WRAPPERS[name]
        params = inspect.signature(kind.load_class()).parameters
        unknown = set(kwargs) - set(params) - {"env"}
        if unknown:
            accepted = ", ".join(p for p in params if p != "env")
            raise UserError(f"env_wrapper {name} takes no {', '.join(sorted(unknown))}; accepted: {accepted}")
        defaults = {k: p.default for k, p in params.items() if k != "env" and p.default is not inspect.Parameter.empty}
        uses.append(WrapperUse(name, {**defaults, **kwargs}, kind))
    return uses


def _single_entry(item: Any) -> tuple[str, dict[str, Any]]:
    if isinstance(item, dict) and len(item) == 1:
        ((name, kwargs),) = item.items()
        if isinstance(kwargs, dict) or kwargs is None:
            return str(name), dict(kwargs or {})
    raise UserError(f"each env_wrapper item is a name or a {{name: {{keyword: value}}}} mapping, got {item!r}")


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

    wrap = wrapper_chain(uses, training=True)
    if wrap is None:
        return
    env = gym.make(env_id)
    try:
        wrap(env)
    except (ValueError, TypeError) as err:
        raise UserError(f"env_wrapper on {env_id}: {err}") from None
    finally:
        env.close()
