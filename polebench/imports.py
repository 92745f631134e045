"""Classes named by import path, imported only when first used, so start-up stays light."""

from __future__ import annotations

import importlib
from typing import Any

from polebench.errors import ConfigError


def import_attribute(path: str) -> Any:
    """Import ``"package.module:Name"`` and return ``Name``.

    Example:
        >>> import_attribute("collections:OrderedDict").__name__
        'OrderedDict'
    """
    module_name, _, attr = path.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def optional(module: str, extra: str, feature: str) -> Any:
    """Import ``module``, which ``feature`` needs from one of polebench's extras, or say in one line how
    to install it (for a wheel and for a checkout).

    Example:
        >>> try:
        ...     optional("no_such_module", "export", "--format onnx")
        ... except ConfigError as err:
        ...     print(str(err).split(": ", 1)[1])
        pip install "polebench[export]" (in a checkout: pip install -e ".[export]")
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(
            f'{feature} needs {module}: pip install "polebench[{extra}]" (in a checkout: pip install -e ".[{extra}]")'
        ) from None
