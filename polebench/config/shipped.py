"""Grid files and recipes shipped with polebench, found by name: ``--grid cartpole-balance`` and
``--conf-file ppo-balance`` work from a wheel in any folder, where ``benchmarks/...`` paths do not.

A value that names an existing file is that file; a bare name (no folder, no suffix) that names no file
is looked up among the shipped ones.
"""

from __future__ import annotations

import re
from pathlib import Path

from polebench.errors import ConfigError

# Package data: a wheel carries them (pyproject.toml's package-data).
SHIPPED_DIR = Path(__file__).resolve().parents[1] / "benchmarks"
BARE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def shipped_names() -> list[str]:
    """The names of the shipped YAML files.

    Example:
        >>> "cartpole-balance" in shipped_names()
        True
    """
    return sorted(path.stem for path in SHIPPED_DIR.glob("*.yml"))


def find_yaml(value: str | Path, flag: str) -> Path:
    """The file ``value`` names: a path as given when it exists, else a shipped file of that name.

    Example:
        >>> find_yaml("ppo-balance", "--conf-file").name
        'ppo-balance.yml'
    """
    path = Path(value)
    if path.exists() or not BARE_NAME.match(str(value)) or path.suffix in (".yml", ".yaml"):
        return path
    shipped = SHIPPED_DIR / f"{value}.yml"
    if shipped.is_file():
        return shipped
    raise ConfigError(
        f"{flag}: no file {value!r}, and no shipped file of that name; shipped: {', '.join(shipped_names())}"
    )
