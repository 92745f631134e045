"""Write-then-rename: the one way polebench writes a file that someone may read or resume from.

The new content goes to a temporary file beside the target (same folder, so the rename is atomic) and
replaces the target only once it is complete. A crash, a Ctrl-C or a full disk mid-write leaves the
previous version, never half of a new one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path


@contextmanager
def atomic_target(path: Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path``, on any failure it is removed.
    The folder of ``path`` is created if missing (an output named in a folder not made yet).

    The temporary name keeps ``path``'s suffix, so writers that pick a format by suffix (NumPy, SB3,
    matplotlib) write the same format.

    Example:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "notes.txt"
        >>> with atomic_target(target) as tmp:
        ...     _ = tmp.write_text("complete")
        >>> target.read_text(), sorted(p.name for p in target.parent.iterdir())
        ('complete', ['notes.txt'])
    """
    # The process id keeps two processes that write the same file at once (two tuning workers sharing a
    # study, both drawing its plots) from renaming each other's temporary away.
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as err:
        if err.filename is None:  # a failed write (a full disk) names no file; say which one it was
            err.filename = str(path)
        raise
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_target(path) as tmp:
        tmp.write_text(text)


def write_texts(texts: Mapping[Path, str]) -> None:
    """Write several files together or not at all: every one is written to its temporary first, and
    only when all are complete do they replace their targets (a full disk keeps every old version)."""
    with ExitStack() as stack:
        for path, text in texts.items():
            stack.enter_context(atomic_target(path)).write_text(text)
