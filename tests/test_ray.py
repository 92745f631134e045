"""benchmark.py --ray: the same grid on a local Ray cluster gives the same CSV and report as a local run."""

from __future__ import annotations

import csv
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from polebench.bench.driver import EXIT_SOME_FAILED
from tests.conftest import run_script

RAY = shutil.which("ray", path=str(Path(sys.executable).parent)) or "ray"
TIMING_COLUMNS = {
    "time_to_solve_s", "time_to_balance_s", "wall_time_s", "cpu_time_s", "load_average", "peak_rss_mb",
    "early_steps_per_s", "late_steps_per_s", "rss_start_mb", "rss_end_mb", "rss_growth_mb_per_10k_steps",
}  # fmt: skip
# Two CartPole jobs that run and an LQR job on Acrobot that fails (the controller is CartPole's only).
GRID = ["--algos", "ppo", "lqr", "--envs", "CartPole-v1", "Acrobot-v1", "--seeds", "1", "-n", "600"]
GRID += ["--eval-freq", "300"]


@pytest.fixture
def ray_cluster() -> Iterator[str]:
    """A Ray head on 127.0.0.1 with 2 CPUs, stopped after the test."""
    # Ray's Unix sockets live under its temp dir, whose path must stay short (a socket path has ~107 bytes).
    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = [RAY, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port), "--num-cpus", "2"]
    start += ["--include-dashboard=false", "--disable-usage-stats", "--temp-dir", temp]
    subprocess.run(start, check=True, capture_output=True, timeout=180)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([RAY, "stop", "--force"], capture_output=True, timeout=120)
        shutil.rmtree(temp, ignore_errors=True)


def _rows(bench: Path) -> list[dict[str, str]]:
    with open(bench / "results.csv") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        row["run_dir"] = str(Path(row["run_dir"]).relative_to(bench)) if row["run_dir"] else ""
        for column in TIMING_COLUMNS:
            row.pop(column)
    return rows


def _tables(bench: Path) -> list[list[str]]:
    """The report's table rows without the time and memory columns (and without the dated header)."""
    lines, memory_table = [], False
    for line in (bench / "report.md").read_text().splitlines():
        memory_table = line.startswith("| agent | memory at start") or (memory_table and line.startswith("|"))
        if not memory_table:  # memory and pace over training: every cell is a measurement
            lines.append(line)
    rows = [line.split("|") for line in lines if line.startswith("| ")]
    timing = (5, 9, 10, 11)  # time to solve, peak RSS, wall / CPU time, env steps/s
    # "balanced at the end" keeps its count; when it was first balanced is a time
    return [
        [re.sub(r" \(first at .*\)$", "", cell.strip()) for i, cell in enumerate(row) if i not in timing]
        for row in rows
    ]


@pytest.mark.slow
def test_a_ray_grid_matches_the_local_grid_and_records_the_failing_job(tmp_path: Path, ray_cluster: str) -> None:
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert run_script("benchmark.py", *GRID, "--workers", "2", "-f", str(local)).returncode == EXIT_SOME_FAILED
    result = run_script("benchmark.py", *GRID, "--ray", ray_cluster, "-f", str(remote), timeout=600)
    assert result.returncode == EXIT_SOME_FAILED, result.stderr[-3000:]
    rows = _rows(remote)
    assert rows == _rows(local)
    assert [r["status"] for r in rows] == ["finished", "finished", "finished", "failed"]
    assert "lqr cannot train on Acrobot-v1" in rows[-1]["error"]
    assert _tables(remote) == _tables(local)
    summaries = sorted(remote.rglob("summary.json"))
    assert len(summaries) == 3 and all(str(remote) in p.read_text() for p in summaries)

    again = run_script("benchmark.py", *GRID, "--ray", ray_cluster, "-f", str(remote))
    assert "3 reused, 0 rerun because their configuration changed, 1 run for the first time" in again.stdout


def test_ray_missing_or_unreachable_is_one_line(tmp_path: Path) -> None:
    result = run_script("benchmark.py", "--algos", "lqr", "--seeds", "1", "--ray", "127.0.0.1:1", "-f", str(tmp_path))
    assert result.returncode == 2
    assert "Ray" in result.stderr and len(result.stderr.strip().splitlines()) == 1
