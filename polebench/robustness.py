"""Robustness of a trained run: its final model evaluated under every perturbation of its env's family,
at every level of the ladder in ``envs/perturbations.py``.

Each (family, level) plays a fixed number of deterministic episodes side by side, seeded apart from
training and evaluation (seed + 20000), so every algorithm meets the same initial states and the same
perturbations. Level 0 is the unperturbed env, shared by every family. A run's results are kept in its
folder (``robustness.json``) with the ladders they were measured on, and reused while those stay the same.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from envs.families import EnvFamily, family_of_id
from envs.perturbations import PERTURBATIONS, PUSH_EVERY, PerturbationUse
from envs.thresholds import reward_threshold
from polebench import runs

ROBUSTNESS_SEED_OFFSET = 20_000
ROBUSTNESS_FILE = "robustness.json"
DEFAULT_EPISODES = 10


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


def ladder_signature(family: EnvFamily, episodes: int) -> str:
    """A digest of everything the results depend on besides the model: ladders, family, episodes."""
    described = {
        "ladders": {name: list(p.values) for name, p in PERTURBATIONS.items() if name in family.perturbations},
        "push_every": PUSH_EVERY,
        "noise_scale": list(family.noise_scale),
        "metrics": [m.name for m in family.metrics],
        "episodes": episodes,
        "seed_offset": ROBUSTNESS_SEED_OFFSET,
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:16]


def evaluate_run(run_dir: Path, algo: str, env_id: str, seed: int, episodes: int) -> list[LevelResult]:
    """Every (perturbation, level) of ``env_id``'s family for the final model in ``run_dir``, reusing the
    results kept in the folder when they were measured the same way."""
    family = family_of_id(env_id)
    if family is None or not family.perturbations:
        return []
    signature = ladder_signature(family, episodes)
    cached = _read_cache(run_dir / ROBUSTNESS_FILE, signature)
    if cached is not None:
        return cached
    results = _measure(run_dir, algo, env_id, seed + ROBUSTNESS_SEED_OFFSET, episodes, family)
    runs.write_json(run_dir / ROBUSTNESS_FILE, {"signature": signature, "results": [asdict(r) for r in results]})
    return results


def _measure(run_dir: Path, algo: str, env_id: str, seed: int, episodes: int, family: EnvFamily) -> list[LevelResult]:
    from agents.registry import get_algo
    from envs.factory import measured
    from polebench.evaluation import evaluate
    from polebench.replay import run_env

    model = runs.load_model(get_algo(algo).load_class(), runs.model_path(run_dir, env_id), device="cpu")
    threshold = reward_threshold(env_id)
    results: list[LevelResult] = []
    unperturbed: LevelResult | None = None
    for name in family.perturbations:
        perturbation = PERTURBATIONS[name]
        for level in perturbation.levels:
            if level == 0 and unperturbed is not None:
                results.append(LevelResult(name, 0, perturbation.values[0], *_fields(unperturbed)))
                continue
            env = run_env(run_dir, env_id, episodes, seed, None, measured(PerturbationUse(perturbation, level)))
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


def _read_cache(path: Path, signature: str) -> list[LevelResult] | None:
    try:
        kept = json.loads(path.read_text())
        if kept["signature"] != signature:
            return None
        return [LevelResult(**row) for row in kept["results"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def run_in_worker(run_dir: str, algo: str, env_id: str, seed: int, episodes: int) -> list[LevelResult]:
    """:func:`evaluate_run` in a pool worker process: PyTorch on one thread, as benchmark jobs run."""
    import torch

    torch.set_num_threads(1)
    return evaluate_run(Path(run_dir), algo, env_id, seed, episodes)
