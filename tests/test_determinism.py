"""The same --seed gives the same episodes, for every registered algorithm (SB3's test_deterministic)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from polebench.agents.registry import ALGOS
from polebench.commands.train import build_parser, run_config
from polebench.run.training import train
from tests.conftest import env_for

BUDGET = {
    "ppo": "512",
    "dqn": "800",
    "sacd": "500",
    "qlearning": "3000",
    "lqr": "1",
}  # LQR takes no steps whatever the budget
EXTRA = {
    "dqn": ["--hyperparams", "learning_starts=200", "train_freq=4", "gradient_steps=1"],
    "sacd": ["--hyperparams", "learning_starts=200", "policy_kwargs={net_arch: [16]}"],
    "sac": ["--hyperparams", "learning_starts=200", "policy_kwargs={net_arch: [16]}"],
    "td3": ["--hyperparams", "learning_starts=200", "policy_kwargs={net_arch: [16]}"],
}


def _episodes(run_dir: Path) -> np.ndarray:
    """(return, length) of every training episode, from the monitor files (their time column differs)."""
    rows = [
        line.split(",")[:2] for m in sorted(run_dir.glob("*.monitor.csv")) for line in m.read_text().splitlines()[2:]
    ]
    return np.asarray(rows, dtype=float).reshape(-1, 2)


@pytest.mark.parametrize("algo", sorted(ALGOS))
def test_same_seed_same_run(algo: str, tmp_path: Path) -> None:
    summaries = []
    for _ in range(2):
        argv = ["--algo", algo, "--env", env_for(algo), "--seed", "7", "-n", BUDGET.get(algo, "500")]
        argv += ["--eval-freq", "400", "-v", "0", "--eval-episodes", "3", "-f", str(tmp_path), *EXTRA.get(algo, [])]
        summaries.append(train(run_config(build_parser().parse_args(argv), argv), time.time()))
    first, second = (Path(s.run_dir) for s in summaries)
    assert first != second
    np.testing.assert_array_equal(_episodes(first), _episodes(second))
    assert summaries[0].final_mean_return == summaries[1].final_mean_return
    assert summaries[0].config_hash == summaries[1].config_hash
    if ALGOS[algo].reference:  # a computed controller takes no steps: no training episodes, no periodic evaluation
        return
    assert len(_episodes(first)) > 0
    first_results, second_results = (np.load(run / "evaluations.npz")["results"] for run in (first, second))
    assert len(first_results) > 0
    np.testing.assert_array_equal(first_results, second_results)
