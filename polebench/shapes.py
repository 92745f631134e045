"""Reading back what polebench wrote: a JSON or YAML mapping becomes a dataclass only if every field has
the type its annotation says.

A file polebench reads back (``summary.json``, a job file, ``protocol.yml``) may have been edited, damaged
or written by another version. Valid JSON of the wrong shape (``"final_mean_return": "abc"``) must be
refused where it is read, not crash a report three modules later. The standard library's ``typing``
introspection is enough for the plain annotations these dataclasses use (scalars, ``X | None``,
``dict[str, float]``, ``list[int]``); a validation library would be a dependency for twenty lines.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from dataclasses import fields
from typing import Any, TypeVar

T = TypeVar("T")


def matches(value: Any, annotation: Any) -> bool:
    """Whether ``value`` has the type ``annotation`` names (``int`` is a ``float``; ``bool`` is neither).

    Example:
        >>> matches(3, float), matches(True, int), matches({"a": 1.5}, dict[str, float]), matches(None, int | None)
        (True, False, True, True)
    """
    if annotation is Any:
        return True
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(matches(value, option) for option in typing.get_args(annotation))
    if annotation is type(None):
        return value is None
    if annotation is bool:
        return isinstance(value, bool)
    if annotation in (int, float):
        numbers = (int,) if annotation is int else (int, float)
        return isinstance(value, numbers) and not isinstance(value, bool)
    if origin is dict or annotation is dict:
        key, item = typing.get_args(annotation) or (Any, Any)
        return isinstance(value, dict) and all(matches(k, key) and matches(v, item) for k, v in value.items())
    if origin in (list, tuple) or annotation in (list, tuple):
        (item, *_) = typing.get_args(annotation) or (Any,)
        return isinstance(value, list | tuple) and all(matches(v, item) for v in value)
    return isinstance(value, annotation)


def from_mapping(cls: type[T], data: Any, source: str) -> T:
    """Build the dataclass ``cls`` from ``data`` (read from ``source``), ignoring keys it does not know.

    Raises:
        ValueError: naming the first field that is missing or has the wrong type, and ``source``
    """
    if not isinstance(data, Mapping):
        raise ValueError(f"{source} holds {type(data).__name__}, not a mapping")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    kept = {k: v for k, v in data.items() if k in known}
    for name, value in kept.items():
        if not matches(value, hints[name]):
            raise ValueError(f"{source}: {name} is {value!r}, not {_name(hints[name])}")
    try:
        return cls(**kept)
    except TypeError as err:  # a required field is missing
        raise ValueError(f"{source}: {err}") from None


def _name(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")
