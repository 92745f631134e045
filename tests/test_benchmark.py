"""benchmark.py: aggregation on known numbers, resume, failures, Ctrl-C, and a tiny grid end to end."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from polebench.bench import driver as benchmarking
from polebench.bench.grid import Agent, Job, JobStatus, Protocol, existing_jobs, finished_run, make_grid, shipped_agents
from polebench.bench.result_row import ResultRow
from polebench.bench.results import aggregate, cell_stats, job_row
from polebench.bench.runners.processes import Outcome
from polebench.envs.families import CARTPOLE
from polebench.envs.perturbations import PERTURBATIONS
from polebench.run import folder as runs
from polebench.run.summary import RunSummary
from tests.conftest import ROOT, run_script, tree_hash

PROTOCOL = Protocol(n_timesteps=600, eval_freq=300)


def _row(seed: int, solved: bool, steps: int, seconds: float, final: float, algo: str = "ppo") -> ResultRow:
    return ResultRow(
        agent=algo, algo=algo, env="CartPole-v1", seed=seed, status=JobStatus.FINISHED, solved=solved,
        steps_to_solve=steps if solved else None, time_to_solve_s=seconds if solved else None,
        wall_time_s=seconds, final_mean_return=final, peak_rss_mb=300.0 + seed,
    )  # fmt: skip


def test_cell_statistics_on_known_numbers() -> None:
    rows = [
        _row(0, True, 1000, 10.0, 500.0),
        _row(1, True, 2000, 20.0, 480.0),
        _row(2, True, 3000, 30.0, 490.0),
        _row(3, False, 0, 50.0, 100.0),
        _row(4, True, 5000, 40.0, 0.0),
    ]
    stats = cell_stats(rows)
    assert (stats.runs, stats.solved) == (5, 4)
    assert stats.steps_to_solve == (2500.0, 1750.0, 3500.0)  # median and quartiles of 1000, 2000, 3000, 5000
    assert stats.time_to_solve_s == (25.0, 17.5, 32.5)
    # IQM of 0, 100, 480, 490, 500 drops one run at each end: the mean of 100, 480 and 490.
    assert stats.final_iqm == pytest.approx((100 + 480 + 490) / 3)
    assert stats.final_ci[0] <= stats.final_iqm <= stats.final_ci[1]
    assert stats.final_ci[0] < stats.final_ci[1]
    assert stats.max_peak_rss_mb == 304.0
    assert stats.median_wall_time_s == 30.0


def test_aggregate_groups_cells_and_leaves_out_jobs_without_results() -> None:
    rows = [_row(0, True, 100, 1.0, 500.0), _row(0, False, 0, 1.0, 20.0, algo="dqn")]
    rows.append(replace(_row(1, False, 0, 1.0, 0.0, algo="dqn"), status=JobStatus.FAILED))
    cells = aggregate(rows)
    assert [(c.algo, c.runs, c.solved) for c in cells] == [("ppo", 1, 1), ("dqn", 1, 0)]
    assert cells[1].steps_to_solve is None


PPO = Agent("ppo", "ppo")


def _fake_run(bench: Path, job: Job, interrupted: bool, config_hash: str = "current") -> Path:
    """A run folder as train.py leaves it, without training."""
    run_dir = runs.new_run_dir(job.folder(bench), job.algo, job.env)
    runs.write_yaml(run_dir / runs.CONFIG_FILE, {"config_hash": config_hash})
    runs.model_path(run_dir, job.env).write_bytes(b"a model")
    summary = RunSummary(
        algo=job.algo, env=job.env, seed=job.seed, timesteps=600, solved=False, steps_to_solve=None,
        time_to_solve_s=None, wall_time_s=1.0, best_mean_return=9.0, final_mean_return=9.0,
        threshold=475.0, peak_rss_mb=300.0, interrupted=interrupted, run_dir=str(run_dir),
        config_hash=config_hash,
    )  # fmt: skip
    summary.write(run_dir)
    return run_dir


@pytest.mark.parametrize("removed", [runs.CONFIG_FILE, "CartPole-v1.zip"])
def test_a_run_missing_its_config_or_model_is_not_finished(tmp_path: Path, removed: str) -> None:
    job = Job(PPO, "CartPole-v1", 0, config_hash="current")
    run_dir = _fake_run(tmp_path, job, interrupted=False)
    assert finished_run(job, tmp_path) == run_dir
    (run_dir / removed).unlink()
    assert finished_run(job, tmp_path) is None


def test_resume_reruns_only_what_did_not_finish_with_the_same_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    done, interrupted, missing, changed = (Job(PPO, "CartPole-v1", seed) for seed in range(4))
    _fake_run(tmp_path, done, interrupted=False)
    _fake_run(tmp_path, interrupted, interrupted=True)
    old = _fake_run(tmp_path, changed, interrupted=False, config_hash="older")
    ran: list[Job] = []

    class RecordingRunner:
        def __init__(self, *args: Any) -> None:
            pass

        def run(self, jobs: list[Job], on_done: Any) -> list[Outcome]:
            for job in jobs:
                ran.append(job)
                _fake_run(tmp_path, job, interrupted=False)
                on_done(Outcome(job, JobStatus.FINISHED))
            return []

    monkeypatch.setattr(benchmarking, "LocalRunner", RecordingRunner)
    monkeypatch.setattr(benchmarking, "resolve_jobs", _resolve_here)
    ended = benchmarking.run_grid([done, interrupted, missing, changed], tmp_path, PROTOCOL, workers=2)
    assert (ended.exit_code, ended.jobs, ended.unfinished) == (0, 4, 0)
    assert sorted(job.seed for job in ran) == [1, 2, 3]
    resolved = _resolve_here([done, interrupted, missing, changed], tmp_path, PROTOCOL)
    assert all(finished_run(job, tmp_path) for job in resolved)
    assert job_row(resolved[1], tmp_path).status is JobStatus.FINISHED
    # The run of the old configuration is kept beside the new one.
    assert old.is_dir() and finished_run(resolved[3], tmp_path) != old


def _resolve_here(jobs: Any, bench: Path, protocol: Protocol, pool: Any = None) -> list[Job]:
    from dataclasses import replace

    return [replace(job, config_hash="current") for job in jobs]


def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_tiny_grid_end_to_end_then_resumes_without_training(tmp_path: Path) -> None:
    bench = tmp_path / "bench"
    args = ["--algos", "ppo", "qlearning", "--seeds", "2", "--workers", "2", "-n", "600", "--eval-freq", "300"]
    first = run_script("benchmark.py", *args, "-f", str(bench))
    assert first.returncode == 0, first.stderr[-2000:]
    rows = _read_csv(bench / "results.csv")
    assert sorted(r["algo"] + r["seed"] for r in rows) == ["ppo0", "ppo1", "qlearning0", "qlearning1"]
    assert {r["status"] for r in rows} == {"finished"}
    assert all(int(r["timesteps"]) >= 600 and float(r["peak_rss_mb"]) > 50 for r in rows)
    report = (bench / "report.md").read_text()
    assert "| ppo |" in report and "| qlearning |" in report and "IQM" in report
    pngs = sorted(p.name for p in bench.glob("*.png"))
    kinds = ("curves", "final_iqm", "profile", "time_to_solve", "trajectories")
    assert pngs == [f"{kind}_CartPole-v1.png" for kind in kinds]
    assert all((bench / name).stat().st_size > 5000 and f"({name})" in report for name in pngs)

    runs_before = tree_hash(bench / "runs")
    second = run_script("benchmark.py", *args, "-f", str(bench))
    assert second.returncode == 0, second.stderr[-2000:]
    assert "4 reused, 0 rerun because their configuration changed, 0 run for the first time" in second.stdout
    assert tree_hash(bench / "runs") == runs_before
    assert [r["run_dir"] for r in _read_csv(bench / "results.csv")] == [r["run_dir"] for r in rows]

    rebuilt = run_script("benchmark.py", "--report-only", "-f", str(bench))
    assert rebuilt.returncode == 0, rebuilt.stderr[-2000:]
    assert sorted(j.algo for j in existing_jobs(bench)[0]) == ["ppo", "ppo", "qlearning", "qlearning"]


@pytest.mark.slow
def test_balance_quality_shaping_and_robustness_in_a_tiny_grid(tmp_path: Path) -> None:
    bench = tmp_path / "bench"
    args = ["--algos", "ppo", "lqr", "--seeds", "2", "--workers", "2", "-n", "600", "--eval-freq", "300"]
    args += ["--shaped-reward", "both", "--robustness", "--robustness-episodes", "2", "-f", str(bench)]
    result = run_script("benchmark.py", *args)
    assert result.returncode == 0, result.stderr[-2000:]
    # The wall's clips are made by the preloaded workers (lqr and ppo's and ppo-shaped's median runs, plain
    # and under pushes), and the robustness runs show their progress line by line in a pipe.
    assert "rendering 6 clips for report.html on 2 workers" in result.stdout
    assert "[6/6] finished: " in result.stdout and "6/6 done, 0 running, 0 failed; all ended" in result.stdout
    rows = _read_csv(bench / "results.csv")
    # The reference controller learns nothing from a reward: it runs once per seed, unshaped.
    jobs = sorted((r["algo"], r["seed"], r["shaped_reward"]) for r in rows)
    assert jobs == [("lqr", s, "") for s in "01"] + [("ppo", s, v) for s in "01" for v in ("", "user")]
    for metric in CARTPOLE.metrics:
        assert all(float(r[metric.name]) >= 0 for r in rows), metric.name
    lqr = [float(r["mean_abs_cart_position_m"]) for r in rows if r["algo"] == "lqr"]
    assert max(lqr) < 0.2  # the controller holds the cart near the centre

    report = (bench / "report.md").read_text()
    balance = report.split("### Balance quality")[1].split("###")[0]
    assert balance.index("| lqr (reference) |") < balance.index("| ppo |") < balance.index("| ppo-shaped |")
    assert "Shaped vs unshaped balance quality" in balance and "None" not in report
    assert "Protocol: 600 env steps, an evaluation every 300 env steps" in report
    robustness = report.split("### Robustness")[1]
    assert all(f"| {name} |" in robustness for name in ("lqr (reference)", "ppo", "ppo-shaped"))

    measured = _read_csv(bench / "robustness.csv")
    assert len(measured) == 6 * sum(len(PERTURBATIONS[name].values) for name in CARTPOLE.perturbations)
    assert {int(r["level"]) for r in measured} == set(range(6))
    assert all(0.0 <= float(r["success_fraction"]) <= 1.0 and "rms_pole_angle_deg" in r for r in measured)
    for kind in ("trajectories", "robustness"):
        picture = bench / f"{kind}_CartPole-v1.png"
        assert picture.stat().st_size > 5000 and f"({picture.name})" in report

    # Scoring again, from --report-only, reuses what every run folder keeps.
    kept = {p: p.read_bytes() for p in bench.rglob("robustness.json")}
    assert len(kept) == 6
    again = run_script("benchmark.py", "--report-only", "--robustness", "--robustness-episodes", "2", "-f", str(bench))
    assert again.returncode == 0, again.stderr[-2000:]
    assert "robustness: 6 finished runs (6 measured before, kept)" in again.stdout
    assert {p: p.read_bytes() for p in bench.rglob("robustness.json")} == kept
    rescored = _read_csv(bench / "robustness.csv")
    assert sorted(map(str, rescored)) == sorted(map(str, measured))


@pytest.mark.slow
def test_a_failing_job_is_recorded_and_the_grid_goes_on(tmp_path: Path) -> None:
    bench = tmp_path / "bench"
    # The LQR controller is defined for CartPole only: its Acrobot job fails, its CartPole job still runs.
    args = ["--algos", "lqr", "--envs", "Acrobot-v1", "CartPole-v1", "--seeds", "1"]
    result = run_script("benchmark.py", *args, "-f", str(bench), "--workers", "2")
    assert result.returncode == benchmarking.EXIT_SOME_FAILED
    rows = {r["env"]: r for r in _read_csv(bench / "results.csv")}
    assert rows["CartPole-v1"]["status"] == "finished"
    assert rows["Acrobot-v1"]["status"] == "failed"
    assert "lqr cannot train on Acrobot-v1" in rows["Acrobot-v1"]["error"] and "\n" not in rows["Acrobot-v1"]["error"]
    assert "Acrobot-v1" in (bench / "report.md").read_text().split("Jobs without a result")[1]


@pytest.mark.slow
def test_ctrl_c_stops_the_grid_and_keeps_the_work(tmp_path: Path) -> None:
    bench = tmp_path / "bench"
    command = [sys.executable, str(ROOT / "benchmark.py"), "--algos", "ppo", "--seeds", "2", "--workers", "2"]
    command += ["-n", "200000", "--eval-freq", "0", "-f", str(bench)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    logs = [Job(PPO, "CartPole-v1", seed).folder(bench) / "ppo" / "CartPole-v1_1" for seed in (0, 1)]
    deadline = time.time() + 120
    # Press Ctrl-C once both jobs are training (their first episodes are in the monitor files).
    while not all(
        (d / "0.monitor.csv").is_file() and len((d / "0.monitor.csv").read_text().splitlines()) > 3 for d in logs
    ):
        assert time.time() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.5)
    os.kill(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == benchmarking.EXIT_INTERRUPTED, err[-2000:]
    assert "interrupted" in out
    for run_dir in logs:
        summary = json.loads((run_dir / runs.SUMMARY_FILE).read_text())
        assert summary["interrupted"] is True and 0 < summary["timesteps"] < 200000
        assert (run_dir / "CartPole-v1.zip").is_file()
    assert {r["status"] for r in _read_csv(bench / "results.csv")} == {"missing"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--algos", "nope"], "unknown algorithm 'nope'"),
        (["--algos", "ppo", "--envs", "Nope-v0"], "unknown env id 'Nope-v0'"),
        (["--algos", "ppo", "--seeds", "0"], "--seeds must be at least 1"),
        (["--algos", "ppo", "--seed-list", "1", "1"], "'seeds' must be distinct"),
        (["--algos", "ppo", "--workers", "0"], "--workers must be at least 1"),
        (["--envs", "CartPole-v1"], "give --algos"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    result = run_script("benchmark.py", *args, "-f", str(tmp_path / "bench"))
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "bench").exists()


def test_report_only_on_an_empty_folder_says_so(tmp_path: Path) -> None:
    result = run_script("benchmark.py", "--report-only", "-f", str(tmp_path))
    assert result.returncode == 2 and "no benchmark runs under" in result.stderr


def test_grid_jobs_are_the_train_py_runs_of_the_protocol(tmp_path: Path) -> None:
    jobs = make_grid(shipped_agents(["ppo", "dqn"], "on"), ["CartPole-v1"], [3])
    assert [(j.agent.name, j.algo, j.seed, j.shaped) for j in jobs] == [
        ("ppo-shaped", "ppo", 3, True),
        ("dqn-shaped", "dqn", 3, True),
    ]
    args = jobs[0].train_args(Protocol(n_timesteps=1000, stop_on_solve=True), tmp_path)
    from polebench.commands.train import build_parser

    parsed = build_parser().parse_args(args)
    assert (parsed.algo, parsed.env, parsed.seed, parsed.shaped_reward) == ("ppo", "CartPole-v1", 3, "user")
    assert {"--stop-on-solve", "--shaped-reward"} <= set(args) and args[args.index("--n-timesteps") + 1] == "1000"
    assert existing_jobs(tmp_path) == ([], [])


@pytest.mark.parametrize(
    "agent",
    [
        Agent("plain", "ppo"),
        Agent("user", "ppo", shaped_reward="user"),
        Agent("coefs", "dqn", {"gamma": 0.95}, shaped_reward={"form": "quadratic", "scales": [0.6, 1.0, 0.21, 1.0]}),
        Agent("pushed", "ppo", {"learning_rate": "lin_3e-3"}, shaped_reward="position", train_perturb={"push": 5}),
    ],
    ids=lambda agent: agent.name,
)
def test_a_job_runs_exactly_the_configuration_whose_digest_decides_reuse(tmp_path: Path, agent: Agent) -> None:
    from polebench.commands import train
    from polebench.run.plan import make_plan

    job = Job(agent, "CartPole-v1", 2)
    protocol = Protocol(n_timesteps=1000, stop_on_balance=True, final_eval_episodes=20)
    argv = job.train_args(protocol, tmp_path)
    ran = train.run_config(train.build_parser().parse_args(argv), argv)
    assert make_plan(ran).config_hash() == make_plan(job.run_config(protocol, tmp_path)).config_hash()
