"""One driver per job: a benchmark locks each job folder it is about to run, so a second driver started
on the same folder refuses (naming the first one's pid) instead of training the same job twice at once.

The lock is the operating system's (``flock``), held by the driver process itself: it goes away with the
driver however the driver ends, so a killed driver never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from polebench.errors import ConfigError

LOCK_FILE = ".lock"


def _holder(handle: IO[str]) -> str:
    handle.seek(0)
    return handle.read().strip() or "unknown"


@contextlib.contextmanager
def job_locks(folders: Sequence[Path]) -> Iterator[None]:
    """Hold the lock of every folder for the block (creating the folders), or raise a
    :class:`ConfigError` naming the driver that holds one of them; then nothing is locked or changed."""
    handles: list[IO[str]] = []
    try:
        for folder in folders:
            # Only an existing folder can be locked by someone else: check those before creating any.
            if (folder / LOCK_FILE).is_file():
                handles.append(_lock(folder))
        for folder in folders:
            if not (folder / LOCK_FILE).is_file():
                folder.mkdir(parents=True, exist_ok=True)
                handles.append(_lock(folder))
        yield
    finally:
        for handle in handles:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()


def _lock(folder: Path) -> IO[str]:
    handle = open(folder / LOCK_FILE, "a+")  # noqa: SIM115 (held open for the lock's lifetime)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(handle)
        handle.close()
        raise ConfigError(
            f"{folder} is being run by another benchmark driver (pid {holder}); wait for it to finish or stop it"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle
