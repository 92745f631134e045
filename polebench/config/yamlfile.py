"""Reading the YAML files users hand to polebench (hyperparameters, conf files, benchmark grids), safely.

Always ``yaml.safe_load``'s rules (plain data, no Python objects), and besides:

- a file larger than :data:`MAX_BYTES` is refused before it is read;
- YAML that would expand past :data:`MAX_VALUES` values through aliases (the "billion laughs" file of a
  few hundred bytes) is refused before anything is built or written;
- a key given twice in one mapping is refused (``safe_load`` would silently keep the last one);
- nesting too deep for PyYAML's recursive reader is refused in one line;
- a syntax error names its line and column.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from polebench.errors import ConfigError

MAX_BYTES = 1_000_000
MAX_VALUES = 100_000


class _Loader(yaml.SafeLoader):
    """``SafeLoader`` that refuses duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                mark = key_node.start_mark
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} appears twice in one mapping", mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def expanded_size(node: yaml.Node, sizes: dict[int, int] | None = None) -> int:
    """How many values ``node`` stands for once every alias is copied out (counted without copying)."""
    sizes = {} if sizes is None else sizes
    if id(node) in sizes:
        return sizes[id(node)]
    sizes[id(node)] = 1  # a node that refers to itself counts once (YAML allows recursive aliases)
    size = 1
    if isinstance(node, yaml.SequenceNode):
        size += sum(expanded_size(child, sizes) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size += sum(expanded_size(k, sizes) + expanded_size(v, sizes) for k, v in node.value)
    sizes[id(node)] = min(size, MAX_VALUES + 1)
    return sizes[id(node)]


def parse_yaml(text: str, source: str) -> Any:
    """Parse ``text`` (named ``source`` in errors) as plain YAML data under the rules above."""
    loader: _Loader | None = None
    try:
        loader = _Loader(text)  # its reader already refuses control characters
        node = loader.get_single_node()
        if node is None:
            return None
        if expanded_size(node) > MAX_VALUES:
            raise ConfigError(f"{source} expands to more than {MAX_VALUES:,} values through YAML aliases; refused")
        return loader.construct_document(node)
    except yaml.YAMLError as err:
        raise ConfigError(f"{source} is not plain YAML data: {_describe(err, text)}") from None
    except RecursionError:  # PyYAML reads nesting by recursion: thousands of "[" exhaust Python's stack
        raise ConfigError(f"{source} nests lists or mappings too deeply (hundreds of levels); refused") from None
    finally:
        if loader is not None:
            loader.dispose()


def load_yaml(path: Path, what: str) -> Any:
    """Read and parse the file at ``path`` (a ``what``, for messages), refusing it as above."""
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise ConfigError(f"{what} {path} is not a file")
        if size > MAX_BYTES:
            raise ConfigError(f"{what} {path} is {size:,} bytes; the limit is {MAX_BYTES:,}")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{what} {path} does not exist") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{what} {path} is not a text file (YAML is UTF-8 text)") from None
    except OSError as err:
        raise ConfigError(f"cannot read {what} {path}: {err.strerror}") from None
    return parse_yaml(text, str(path))


def _describe(err: yaml.YAMLError, text: str) -> str:
    """One line: what is wrong and where (line and column, counted from 1)."""
    if isinstance(err, yaml.reader.ReaderError):
        line = text.count("\n", 0, err.position) + 1
        column = err.position - (text.rfind("\n", 0, err.position) + 1) + 1
        code = err.character if isinstance(err.character, int) else ord(err.character)
        return f"the character U+{code:04X} at line {line}, column {column} (YAML allows no control characters)"
    if isinstance(err, yaml.MarkedYAMLError):
        mark = err.problem_mark or err.context_mark
        problem = err.problem or err.context or "invalid YAML"
        if isinstance(err, yaml.constructor.ConstructorError) and "tag" in problem:
            problem = f"{problem} (YAML tags that would build Python objects are never accepted)"
        if mark is not None:
            return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
        return problem
    return str(err).splitlines()[0]
