"""The digest of each benchmark job's fully resolved configuration: what honest resume compares.

A module of its own, below both the benchmark driver and its preloaded workers, which compute the
digests where PyTorch is already imported.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from polebench.bench.grid import Job, Protocol
from polebench.errors import ConfigError


def config_hashes(jobs: Sequence[Job], bench: Path, protocol: Protocol) -> list[str]:
    """The digest of each job's resolved configuration, checked as ``train.py`` checks it (a bad
    hyperparameter of an agent is a :class:`ConfigError` naming the agent)."""
    from polebench.run.plan import make_plan

    digests = []
    for job in jobs:
        try:
            plan = make_plan(job.run_config(protocol, job.folder(bench)))
        except ConfigError as err:
            raise ConfigError(f"agent {job.agent.name} on {job.env}: {err}") from None
        digests.append(plan.config_hash())
    return digests
