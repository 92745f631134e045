"""Robustness of a trained run: its final model evaluated under every perturbation of its env's family,
at every level of the ladder in ``polebench/envs/perturbations.py``.

Each (family, level) plays a fixed number of deterministic episodes side by side, seeded apart from
training and evaluation (seed + 20000), so every algorithm meets the same initial states and the same
perturbations. Level 0 is the unperturbed env, shared by every family. A run's results are kept in its
folder (``robustness.json``) with the ladders they were measured on, and reused while those stay the same.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from polebench.bench.grid import Job, finished_run
from polebench.envs.families import EnvFamily, family_of_id
from polebench.envs.perturbations import PERTURBATIONS, PUSH_EVERY, PerturbationUse
from polebench.envs.thresholds import reward_threshold
from polebench.run import folder as runs
from polebench.run.summary import RunSummary
from polebench.shapes import from_mapping

ROBUSTNESS_SEED_OFFSET = 20_000
ROBUSTNESS_FILE = "robustness.json"
DEFAULT_EPISODES = 10
ROBUSTNESS_COLUMNS = (
    "agent", "algo", "env", "seed", "shaped_reward", "perturbation", "level", "value", "mean_return",
    "success_fraction", "run_dir",
)  # fmt: skip


@dataclass(frozen=True)
class LevelResult:
    """How a run did under one perturbation at one level.

    :param success_fraction: the fraction of episodes whose true return reached the env's threshold
        (NaN for an env without one)
    :param quality: the mean behaviour metrics of the episodes
    """

    perturbation: str
    level: int
    value: float
    mean_return: float
    success_fraction: float
    quality: dict[str, float] = field(default_factory=dict)


def ladder_signature(family: EnvFamily) -> str:
    """A digest of everything the results depend on besides the model and the number of episodes."""
    described = {
        "ladders": {name: list(p.values) for name, p in PERTURBATIONS.items() if name in family.perturbations},
        "push_every": PUSH_EVERY,
        "noise_scale": list(family.noise_scale),
        "metrics": [m.name for m in family.metrics],
        "seed_offset": ROBUSTNESS_SEED_OFFSET,
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:16]


def evaluate_run(run_dir: Path, algo: str, env_id: str, seed: int, episodes: int) -> list[LevelResult]:
    """Every (perturbation, level) of ``env_id``'s family for the final model in ``run_dir``, reusing the
    results kept in the folder when they were measured the same way."""
    cached = _kept_or_nothing_to_measure(run_dir, env_id, episodes)
    if cached is not None:
        return cached
    family = family_of_id(env_id)
    assert family is not None  # an env without a family has nothing to measure (above)
    results = _measure(run_dir, algo, env_id, seed + ROBUSTNESS_SEED_OFFSET, episodes, family)
    kept = {"signature": ladder_signature(family), "episodes": episodes, "results": [asdict(r) for r in results]}
    runs.write_json(run_dir / ROBUSTNESS_FILE, kept)
    return results


def _measure(run_dir: Path, algo: str, env_id: str, seed: int, episodes: int, family: EnvFamily) -> list[LevelResult]:
    from polebench.agents.registry import get_algo
    from polebench.envs.factory import measured
    from polebench.run.evaluation import evaluate
    from polebench.run.evaluation_env import EvaluationEnv

    path = runs.model_path(run_dir, env_id)
    model = runs.load_model(get_algo(algo).load_class(), path, device="cpu")
    evaluation_env = EvaluationEnv.of_saved_model(run_dir, path)
    threshold = reward_threshold(env_id)
    results: list[LevelResult] = []
    unperturbed: LevelResult | None = None
    for name in family.perturbations:
        perturbation = PERTURBATIONS[name]
        for level in perturbation.levels:
            if level == 0 and unperturbed is not None:
                results.append(LevelResult(name, 0, perturbation.values[0], *_fields(unperturbed)))
                continue
            env = evaluation_env.build(episodes, seed, measured(PerturbationUse(perturbation, level)))
            played = evaluate(model, env, episodes)
            env.close()
            success = math.nan if threshold is None else sum(r >= threshold for r in played.returns) / episodes
            value = perturbation.values[level]
            result = LevelResult(name, level, value, played.mean_return, success, played.mean_quality)
            unperturbed = result if level == 0 else unperturbed
            results.append(result)
    return results


def _fields(result: LevelResult) -> tuple[float, float, dict[str, float]]:
    return result.mean_return, result.success_fraction, result.quality


def kept_results(run_dir: Path, family: EnvFamily, episodes: int | None = None) -> list[LevelResult] | None:
    """The results kept in ``run_dir`` if they were measured on today's ladders (and with ``episodes``
    episodes, unless ``None``), else ``None``."""
    path = run_dir / ROBUSTNESS_FILE
    try:
        kept = json.loads(path.read_text())
        if kept["signature"] != ladder_signature(family) or episodes not in (None, kept["episodes"]):
            return None
        return [from_mapping(LevelResult, row, str(path)) for row in kept["results"]]
    except (OSError, ValueError, KeyError, TypeError):  # missing, damaged or of another shape: measure again
        return None


@dataclass(frozen=True)
class JobRobustness:
    """The robustness results of one benchmark job's finished run."""

    job: Job
    run_dir: Path
    results: list[LevelResult]

    def rows(self) -> list[dict[str, Any]]:
        """One ``robustness.csv`` row per (perturbation, level), its mean metrics as columns."""
        # What the run recorded, as results.csv says it: a conf file may shape where the grid file does not.
        summary = RunSummary.read(self.run_dir)
        job = {
            "agent": self.job.agent.name,
            "algo": self.job.algo,
            "env": self.job.env,
            "seed": self.job.seed,
            "shaped_reward": summary.shaped_reward_form if summary else self.job.agent.shaped_reward_form,
        }
        return [
            {**job, **{k: v for k, v in asdict(r).items() if k != "quality"}, **r.quality, "run_dir": str(self.run_dir)}
            for r in self.results
        ]


def kept_robustness(jobs: Sequence[Job], bench: Path) -> list[JobRobustness]:
    """The robustness kept in each finished job's run folder (measured on today's ladders), in job order."""
    families: dict[str, EnvFamily | None] = {}
    measured = []
    for job in jobs:
        run_dir = finished_run(job, bench)
        if job.env not in families:
            families[job.env] = family_of_id(job.env)
        family = families[job.env]
        results = kept_results(run_dir, family) if run_dir is not None and family is not None else None
        if run_dir is not None and results:
            measured.append(JobRobustness(job, run_dir, results))
    return measured


def run_in_worker(run_dir: str, algo: str, env_id: str, seed: int, episodes: int) -> float:
    """:func:`evaluate_run` in a pool worker process (PyTorch on one thread, as benchmark jobs run); the
    results stay in the run folder, the seconds it took come back for the progress line."""
    import time

    import torch

    torch.set_num_threads(1)
    started = time.monotonic()
    evaluate_run(Path(run_dir), algo, env_id, seed, episodes)
    return time.monotonic() - started


def is_measured(run_dir: Path, env_id: str, episodes: int) -> bool:
    """Whether ``run_dir`` keeps results measured with ``episodes`` on today's ladders (or has none to measure)."""
    return _kept_or_nothing_to_measure(run_dir, env_id, episodes) is not None


def _kept_or_nothing_to_measure(run_dir: Path, env_id: str, episodes: int) -> list[LevelResult] | None:
    """The results ``run_dir`` keeps for ``episodes`` on today's ladders, ``[]`` where the env has no
    ladder, ``None`` where they are still to be measured."""
    family = family_of_id(env_id)
    if family is None or not family.perturbations:
        return []
    return kept_results(run_dir, family, episodes)


@dataclass(frozen=True)
class LadderStats:
    """One agent's robustness to one perturbation over its runs.

    :param success: per level, the mean over runs of the fraction of successful episodes
    :param highest_level: the highest level up to which the median run succeeds at every level (a run
        succeeds at a level when its mean true return reaches the env's threshold); ``None``: not even
        unperturbed
    :param auc: the area under ``success`` against the level scaled to [0, 1]: 1 is perfect at every level
    """

    perturbation: str
    values: tuple[float, ...]
    success: tuple[float, ...]
    highest_level: int | None
    auc: float


def ladder_stats(per_run: Sequence[Sequence[LevelResult]], threshold: float) -> list[LadderStats]:
    """Summarise several runs' results (same env, same ladders) per perturbation.

    Example:
        >>> a = [LevelResult("push", 0, 0.0, 500, 1.0), LevelResult("push", 1, 0.5, 300, 0.4)]
        >>> b = [LevelResult("push", 0, 0.0, 500, 1.0), LevelResult("push", 1, 0.5, 490, 0.9)]
        >>> stats = ladder_stats([a, b], threshold=475)[0]
        >>> stats.success, stats.highest_level, round(stats.auc, 3)
        ((1.0, 0.65), 0, 0.825)
    """
    import numpy as np

    names = list(dict.fromkeys(r.perturbation for results in per_run for r in results))
    stats = []
    for name in names:
        table = [sorted((r for r in results if r.perturbation == name), key=lambda r: r.level) for results in per_run]
        levels = min(len(rows) for rows in table)
        success = tuple(float(np.mean([rows[lv].success_fraction for rows in table])) for lv in range(levels))
        median_ok = [float(np.median([rows[lv].mean_return for rows in table])) >= threshold for lv in range(levels)]
        highest = next((lv - 1 for lv, ok in enumerate(median_ok) if not ok), levels - 1)
        auc = float(np.trapezoid(success, dx=1.0 / (levels - 1))) if levels > 1 else success[0]
        values = tuple(rows_value.value for rows_value in table[0][:levels])
        stats.append(LadderStats(name, values, success, None if highest < 0 else highest, auc))
    return stats
