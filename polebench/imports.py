"""Classes named by import path, imported only when first used, so start-up stays light."""

from __future__ import annotations

import importlib
from typing import Any


def import_attribute(path: str) -> Any:
    """Import ``"package.module:Name"`` and return ``Name``.

    Example:
        >>> import_attribute("collections:OrderedDict").__name__
        'OrderedDict'
    """
    module_name, _, attr = path.partition(":")
    return getattr(importlib.import_module(module_name), attr)
