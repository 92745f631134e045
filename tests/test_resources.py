"""Memory and pace over training (the resource trace of every run) and times counted from the process's own
clock."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import pytest

from polebench.bench.resources import resources_table
from polebench.bench.result_row import ResultRow
from polebench.run.summary import RunSummary
from tests.conftest import ROOT, run_script


@pytest.mark.slow
def test_a_leak_shows_as_growth_per_10k_steps_and_a_flat_run_does_not(tmp_path: Path) -> None:
    # Each in a process of its own: memory another test freed would absorb a leak into the heap it left.
    budget = ["-n", "30000", "--eval-freq", "0", "--final-eval-episodes", "1", "-f", str(tmp_path)]
    for plugin in ("Leaking", "Stepping"):
        result = run_script("train.py", "--algo", f"tests.plugin_agents:{plugin}", *budget, cwd=ROOT)
        assert result.returncode == 0, result.stderr[-2000:]
    leaking, flat = (RunSummary.read(next(tmp_path.glob(f"*{name}/CartPole-v1_1"))) for name in ("Leaking", "Stepping"))
    assert leaking is not None and flat is not None and leaking.trace is not None
    assert [int(point[0]) for point in leaking.trace] == [0, 10_000, 20_000, 30_000]
    assert all(later[2] >= earlier[2] for earlier, later in itertools.pairwise(leaking.trace))
    grows, stays = leaking.memory_growth(), flat.memory_growth()
    # 2 KB a step is 20 MB every 10,000 steps (Python's list and array headers add to it).
    assert grows["rss_growth_mb_per_10k_steps"] is not None and grows["rss_growth_mb_per_10k_steps"] > 15
    assert stays["rss_growth_mb_per_10k_steps"] is not None and stays["rss_growth_mb_per_10k_steps"] < 5


def test_the_report_table_names_each_agent_with_its_growth_and_every_mark(tmp_path: Path) -> None:
    summary = {
        "algo": "x", "env": "CartPole-v1", "seed": 0, "timesteps": 30_000, "solved": False, "steps_to_solve": None,
        "time_to_solve_s": None, "wall_time_s": 9.0, "best_mean_return": 10.0, "final_mean_return": 10.0,
        "threshold": 475.0, "peak_rss_mb": 400.0, "interrupted": False, "run_dir": str(tmp_path),
        "trace": [[0, 300.0, 0.0], [10_000, 320.0, 2.0], [20_000, 340.0, 6.0], [30_000, 360.0, 12.0]],
    }  # fmt: skip
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    growth = RunSummary.read(tmp_path).memory_growth()  # type: ignore[union-attr]
    row = ResultRow(agent="leaky", algo="x", env="CartPole-v1", seed=0, run_dir=str(tmp_path), **growth)
    table = resources_table(["leaky", "absent"], [row])
    assert "| leaky | 300 → 360 | +20.0 | 300 → 320 → 340 → 360 | █▅▃ 5,000 → 1,667 |" in table
    assert not any("absent" in line for line in table) and resources_table(["absent"], []) == []


@pytest.mark.slow
def test_a_runs_wall_time_is_no_longer_than_its_process_lived(tmp_path: Path) -> None:
    # Counted from the process's own clock: psutil's start time, derived from a boot time in whole seconds,
    # made every time up to a second too long, longer than the process itself lived.
    began = time.time()
    result = run_script("train.py", "--algo", "lqr", "--eval-freq", "0", "-f", str(tmp_path))
    lived = time.time() - began
    assert result.returncode == 0, result.stderr
    summary = RunSummary.read(next(tmp_path.glob("lqr/CartPole-v1_*")))
    assert summary is not None and 0 < summary.wall_time_s < lived
