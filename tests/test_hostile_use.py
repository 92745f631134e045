"""Used as a hostile user would: every classic-control env trains, files polebench reads back may be of any
shape, counts that size memory are bounded, a full disk and a dying worker lose nothing already saved, a
refused command changes nothing, and the Python API checks its arguments before doing anything."""

from __future__ import annotations

import errno
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import polebench
from polebench.config.run_config import ConfigError
from polebench.config.yamlfile import parse_yaml
from polebench.run import folder as runs
from polebench.run.summary import RunSummary
from tests.conftest import ROOT, one_line_error, run_script, tree_hash

# Every test here starts the scripts as a user would: `pytest -m "not integration"` leaves them out.
pytestmark = pytest.mark.integration

FAST = ["--eval-freq", "1500", "--eval-episodes", "2", "--final-eval-episodes", "3"]


# 1. Every discrete-action classic-control env Gymnasium registers trains, replays, exports and benchmarks.


@pytest.mark.slow
@pytest.mark.parametrize("env", ["CartPole-v1", "Acrobot-v1", "MountainCar-v0"])
def test_every_discrete_classic_control_env_trains_replays_exports_and_benchmarks(env: str, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    trained = run_script("train.py", "--algo", "dqn", "--env", env, "-n", "3000", *FAST, "-f", str(logs))
    assert trained.returncode == 0, trained.stderr[-2000:]
    summary = RunSummary.read(next(logs.glob(f"dqn/{env}_*")))
    assert summary is not None and summary.timesteps >= 3000 and summary.final_eval_episodes == 3
    replayed = run_script("enjoy.py", "--algo", "dqn", "--env", env, "-f", str(logs), "-n", "1", "--no-render")
    assert replayed.returncode == 0 and "mean return" in replayed.stdout, replayed.stderr[-2000:]
    policy = tmp_path / "not-yet" / "policy.pt"  # a folder that does not exist yet is made
    exported = run_script("export.py", "--algo", "dqn", "--env", env, "-f", str(logs), "--format", "torchscript",
                          "-o", str(policy))  # fmt: skip
    assert exported.returncode == 0 and policy.is_file(), exported.stderr[-2000:]
    bench = tmp_path / "bench"
    benched = run_script("benchmark.py", "--algos", "ppo", "--envs", env, "--seeds", "1", "-n", "2000", *FAST,
                         "--workers", "1", "-f", str(bench))  # fmt: skip
    assert benched.returncode == 0 and "1 of 1 jobs finished" in benched.stdout, benched.stdout + benched.stderr


def test_a_forked_job_that_crashes_leaves_its_traceback_in_its_log(tmp_path: Path) -> None:
    """A benchmark job forked by a preloaded worker leaves through ``os._exit``, which prints nothing."""
    import multiprocessing
    import types

    from polebench.bench.runners import preloaded

    def main(argv: Any) -> int:
        raise RuntimeError("a bug in the job")

    fake_train = types.SimpleNamespace(main=main, __file__=str(ROOT / "train.py"))
    log = tmp_path / "job.log"
    _, child = multiprocessing.Pipe()
    with open(log, "wb") as out:
        pid = os.fork()
        if pid == 0:
            preloaded._become_job(child, fake_train, [], out.fileno())
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 1
    text = log.read_text()
    assert "Traceback" in text and text.strip().splitlines()[-1] == "RuntimeError: a bug in the job"


# 2. Tracebacks where one line was promised: control characters, files of the wrong shape, dying workers.

CONTROL = ["\x00", "\x01", "\x07", "\x1b", "\x7f", "\ufffe"]


@pytest.mark.parametrize("character", CONTROL, ids=[f"U+{ord(c):04X}" for c in CONTROL])
def test_a_control_character_in_yaml_is_one_line_naming_where(character: str) -> None:
    with pytest.raises(ConfigError, match=rf"U\+{ord(character):04X} at line 2, column 12"):
        parse_yaml(f"default:\n  n_steps: {character}64\n", "conf.yml")


def test_control_characters_in_a_grid_or_conf_file_change_nothing(tmp_path: Path) -> None:
    grid = tmp_path / "grid.yml"
    grid.write_bytes(b"envs: [CartPole-v1]\nseeds: 1\nagents: {a: {algo: ppo}}\n\x01\n")
    one_line_error(run_script("benchmark.py", "--grid", str(grid), "-f", str(tmp_path / "bench")), "U+0001 at line 4")
    conf = tmp_path / "conf.yml"
    conf.write_bytes(b"default:\n  n_steps: 64\x1b\n")
    one_line_error(
        run_script("train.py", "--algo", "ppo", "--conf-file", str(conf), "-f", str(tmp_path / "logs")), "U+001B"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conf.yml", "grid.yml"]


def _summary(run_dir: Path, **fields: Any) -> None:
    base = {
        "algo": "ppo", "env": "CartPole-v1", "seed": 0, "timesteps": 10, "solved": False, "steps_to_solve": None,
        "time_to_solve_s": None, "wall_time_s": 1.0, "best_mean_return": 9.0, "final_mean_return": 9.0,
        "threshold": 475.0, "peak_rss_mb": 100.0, "interrupted": False, "run_dir": str(run_dir),
    }  # fmt: skip
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "summary.json").write_text(json.dumps({**base, **fields}))


@pytest.mark.parametrize(
    "fields",
    [
        {"final_mean_return": "abc"},
        {"timesteps": 1.5},
        {"solved": "yes"},
        {"quality": [1, 2]},
        {"quality": {"rms_pole_angle_deg": "low"}},
        {"train_perturb": {"push": "five"}},
        {"seed": None},
    ],
    ids=lambda f: next(iter(f)),
)
def test_a_summary_of_the_wrong_shape_reads_as_no_summary(tmp_path: Path, fields: dict[str, Any]) -> None:
    _summary(tmp_path, **fields)
    assert RunSummary.read(tmp_path) is None
    _summary(tmp_path)
    assert RunSummary.read(tmp_path) is not None


@pytest.mark.parametrize(
    "config",
    [{"algo": 5, "env": "CartPole-v1"}, {"algo": "ppo", "env": ["CartPole-v1"]}, {"algo": "ppo", "hyperparams": [1]}],
)
def test_a_config_of_the_wrong_shape_isone_line_error(tmp_path: Path, config: dict[str, Any]) -> None:
    (tmp_path / runs.CONFIG_FILE).write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match="is damaged"):
        runs.read_config(tmp_path)


def test_the_report_survives_damaged_files_of_every_kind(tmp_path: Path) -> None:
    """Edit a benchmark's files into other shapes: the report is rebuilt, leaving out what cannot be read."""
    bench = tmp_path / "bench"
    made = run_script("benchmark.py", "--algos", "lqr", "--seeds", "2", "--robustness", "--robustness-episodes", "2",
                      "-f", str(bench))  # fmt: skip
    assert made.returncode == 0, made.stderr[-2000:]
    first, second = sorted(bench.glob("runs/lqr/CartPole-v1/seed*/lqr/CartPole-v1_1"))
    summary = json.loads((first / "summary.json").read_text())
    (first / "summary.json").write_text(json.dumps({**summary, "final_mean_return": "abc"}))
    (second / "robustness.json").write_text(json.dumps({"signature": 1, "episodes": 2, "results": [{"level": "x"}]}))
    (second / "trajectory.npz").write_bytes(b"not a zip")
    job_file = next(bench.glob("runs/lqr/CartPole-v1/seed1/job.json"))
    job_file.write_text(json.dumps({**json.loads(job_file.read_text()), "tree_peak_rss_mb": "lots"}))
    (bench / "protocol.yml").write_text("eval_freq: often\n")
    rebuilt = run_script("benchmark.py", "--report-only", "-f", str(bench))
    assert rebuilt.returncode == 0, rebuilt.stderr[-2000:]
    with open(bench / "results.csv") as f:
        statuses = sorted(row["status"] for row in __import__("csv").DictReader(f))
    assert statuses == ["finished", "missing"]


def test_evaluations_of_the_wrong_shape_are_left_out_of_the_plots(tmp_path: Path) -> None:
    from polebench.bench.plots import load_evaluations

    np.savez(tmp_path / "evaluations.npz", timesteps=[1, 2], results=[1.0, 2.0], wall_time_s=[0.1, 0.2])
    assert load_evaluations(str(tmp_path)) is None
    (tmp_path / "evaluations.npz").write_bytes(b"PK\x03\x04 truncated")
    assert load_evaluations(str(tmp_path)) is None
    np.savez(tmp_path / "evaluations.npz", timesteps=[1, 2], results=[[1.0], [2.0]], wall_time_s=[0.1, 0.2])
    assert load_evaluations(str(tmp_path)) is not None


@pytest.mark.slow
def test_a_killed_worker_fails_its_job_and_the_grid_still_reports(tmp_path: Path) -> None:
    import psutil

    bench = tmp_path / "bench"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg"}
    command = [sys.executable, str(ROOT / "benchmark.py"), "--algos", "ppo", "--seeds", "2", "-n", "30000",
               "--eval-freq", "0", "--workers", "1", "-f", str(bench)]  # fmt: skip
    driver = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline, worker = time.monotonic() + 120, None
        while time.monotonic() < deadline and worker is None:
            time.sleep(0.5)
            busy = [p for p in psutil.Process(driver.pid).children() if p.children()]  # a worker running a job
            worker = busy[0] if busy else None
        assert worker is not None, "no worker started a job"
        worker.kill()
        out, err = driver.communicate(timeout=300)
    finally:
        driver.kill()
    assert driver.returncode == 1 and "Traceback" not in err, err[-3000:]
    assert "worker running this job died" in out + err
    assert (bench / "report.md").is_file()


# 3. A full disk: one line naming the file, what was saved before kept, the summary recording the error.


def test_a_failed_write_keeps_what_was_saved_and_records_the_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stable_baselines3.common import off_policy_algorithm

    def full(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(off_policy_algorithm, "save_to_pkl", full)
    with pytest.raises(ConfigError, match=r"cannot write .*replay_buffer\.pkl: No space left on device"):
        polebench.train(
            algo="dqn", n_timesteps=600, eval_freq=300, eval_episodes=2, final_eval_episodes=2,
            save_replay_buffer=True, hyperparams={"learning_starts": 100}, log_folder=tmp_path, verbose=0,
        )  # fmt: skip
    run_dir = next(tmp_path.glob("dqn/CartPole-v1_*"))
    summary = RunSummary.read(run_dir)
    assert summary is not None and summary.error is not None and "replay_buffer.pkl" in summary.error
    runs.load_model(__import__("stable_baselines3").DQN, runs.model_path(run_dir, "CartPole-v1"))
    assert not [p for p in run_dir.iterdir() if p.name.startswith(".")]


@pytest.mark.slow
def test_a_real_full_disk_isone_line_error(tmp_path: Path) -> None:
    small = tmp_path / "small"
    small.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(small)], capture_output=True).returncode:
        pytest.skip("no tmpfs mount here; test_a_failed_write_keeps_what_was_saved_and_records_the_error covers it")
    try:
        result = run_script("train.py", "--algo", "dqn", "-n", "6000", "--eval-freq", "1000", "--save-replay-buffer",
                            "-f", str(small / "logs"))  # fmt: skip
        assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr[-2000:]
        assert "No space left on device" in result.stderr.strip().splitlines()[-1]
        assert not [p for p in small.rglob(".*") if p.is_file()]
        run_dir = next(small.glob("logs/dqn/CartPole-v1_*"))
        assert (summary := RunSummary.read(run_dir)) is not None and summary.error
    finally:
        subprocess.run(["umount", str(small)], check=False)


# 4. Counts that size memory are refused before anything is allocated or written.

HYPERPARAMETERS = [
    ({"learning_rate": math.inf}, "numbers must be finite"),
    ({"learning_rate": "lin_.nan"}, "numbers must be finite"),
    ({"gamma": math.nan}, "numbers must be finite"),
    ({"policy_kwargs": {"net_arch": [200000, 200000]}}, "the limit is 50,000,000"),
    ({"policy_kwargs": {"net_arch": {"pi": [64], "vf": [10**8]}}}, "the limit is 50,000,000"),
    ({"n_envs": 100_000}, "n_envs must be at most 1,024"),
]


@pytest.mark.parametrize(("hyperparams", "message"), HYPERPARAMETERS, ids=[str(h) for h, _ in HYPERPARAMETERS])
def test_impossible_hyperparameters_are_refused_before_a_run_folder(
    hyperparams: dict[str, Any], message: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=message):
        polebench.train(algo="ppo", n_timesteps=1000, hyperparams=hyperparams, log_folder=tmp_path / "logs")
    assert not (tmp_path / "logs").exists()


@pytest.mark.parametrize(
    ("script", "args", "message"),
    [
        ("train.py", ["--algo", "ppo", "--eval-episodes", "50000000"], "--eval-episodes must be at most 10,000"),
        ("train.py", ["--algo", "ppo", "--final-eval-episodes", "10001"], "--final-eval-episodes must be at most"),
        ("train.py", ["--algo", "ppo", "--n-eval-envs", "5000"], "--n-eval-envs must be at most 1,024"),
        ("benchmark.py", ["--algos", "lqr", "--robustness", "--robustness-episodes", "5000000"], "must be at most"),
        ("benchmark.py", ["--algos", "lqr", "--seeds", "10000000"], "--seeds must be at most 1,000"),
        ("benchmark.py", ["--algos", "lqr", "--workers", "100000"], "--workers must be at most 256"),
    ],
)
def test_counts_that_size_memory_are_refused_at_once(
    script: str, args: list[str], message: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    one_line_error(run_script(script, *args, "-f", str(tmp_path / "out")), message)
    assert time.monotonic() - started < 20 and not (tmp_path / "out").exists()


def test_a_grid_of_ten_million_seeds_is_refused() -> None:
    from polebench.bench.gridfile import grid_from_mapping

    for seeds in (10_000_000, list(range(1001))):
        with pytest.raises(ConfigError, match="1,000"):
            grid_from_mapping({"envs": ["CartPole-v1"], "seeds": seeds, "agents": {"a": {"algo": "lqr"}}})


def test_never_more_workers_than_jobs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from polebench.bench import driver as benchmarking
    from polebench.bench.grid import Agent, Job, Protocol

    sizes: list[int] = []

    class Pool:
        def __init__(self, size: int) -> None:
            sizes.append(size)
            raise RuntimeError("stop here")

    monkeypatch.setattr(benchmarking, "WorkerPool", Pool)
    with pytest.raises(RuntimeError, match="stop here"):
        benchmarking.run_grid([Job(Agent("lqr", "lqr"), "CartPole-v1", 0)], tmp_path, Protocol(), workers=1000)
    assert sizes == [1]


# 5. A refused command changes nothing; flags override a grid file (tests/test_variants.py).


def test_a_refused_second_driver_leaves_the_first_ones_protocol(tmp_path: Path) -> None:
    from polebench.bench.grid import Agent, Job
    from polebench.bench.locks import job_locks

    bench = tmp_path / "bench"
    bench.mkdir()
    (bench / "protocol.yml").write_text("eval_freq: 2500\n")
    job = Job(Agent("lqr", "lqr"), "CartPole-v1", 0)
    before = tree_hash(bench)
    with job_locks([job.folder(bench)]):  # another driver runs this job now
        locked = tree_hash(bench)
        refused = run_script("benchmark.py", "--algos", "lqr", "--seeds", "1", "--eval-freq", "100", "-f", str(bench))
        one_line_error(refused, "is being run by another benchmark driver")
        assert tree_hash(bench) == locked
    assert (bench / "protocol.yml").read_text() == "eval_freq: 2500\n" and before != locked


# 6. Signals: SIGTERM saves from Python as from the script.


@pytest.mark.slow
@pytest.mark.parametrize("caught", [False, True], ids=["default-sigterm", "callers-own-handler"])
def test_sigterm_during_the_python_api_saves_then_reaches_the_caller(caught: bool, tmp_path: Path) -> None:
    # A loop of runs, as a user's script would: the SIGTERM must reach it, not end with the run under way.
    handler = "lambda *_: print('caller got it', flush=True)" if caught else "signal.SIG_DFL"
    train = f"polebench.train(algo='dqn', seed=seed, n_timesteps=200000, eval_freq=0, log_folder={str(tmp_path)!r})"
    code = (
        "import polebench, signal\n"
        f"signal.signal(signal.SIGTERM, {handler})\n"  # a test runner's worker may pass SIGTERM on ignored
        "for seed in range(3):\n"
        f"    s = {train}\n"
        "    print('interrupted' if s.interrupted else 'finished', s.run_dir, flush=True)\n"
        "    break\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(tmp_path.glob("dqn/CartPole-v1_*/config.yml")):
        time.sleep(0.2)
    time.sleep(2)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)
    (run_dir,) = tmp_path.glob("dqn/CartPole-v1_*")
    assert (summary := RunSummary.read(run_dir)) is not None and summary.interrupted
    assert runs.model_path(run_dir, "CartPole-v1").is_file()
    if caught:  # the caller's handler ran once the run was saved, and the caller carried on
        assert process.returncode == 0 and out.split("\n")[-3:-1] == ["caller got it", f"interrupted {run_dir}"], out
    else:  # no handler of the caller's: the process ends as SIGTERM ends it, after the run was saved
        assert process.returncode == -signal.SIGTERM, out + err[-2000:]


# 7. The Python API checks every argument first and names it.

API_CASES = [
    (polebench.train, {"algo": "ppo", "stop_on_solve": "no"}, "stop_on_solve"),
    (polebench.train, {"algo": "ppo", "log_folder": 123}, "log_folder"),
    (polebench.train, {"algo": "ppo", "hyperparams": [1, 2]}, "hyperparams"),
    (polebench.train, {"algo": "ppo", "n_timesteps": "many"}, "n_timesteps"),
    (polebench.train, {"algo": "ppo", "eval_episodes": 10**8}, "eval_episodes"),
    (polebench.train, {"algo": "ppo", "progress": 1}, "progress"),
    (polebench.load_run, {"log_folder": "nowhere", "algo": "ppo"}, "nowhere"),
    (polebench.load_run, {"log_folder": "logs", "algo": "ppo", "n_envs": 0}, "n_envs"),
    (polebench.load_run, {"log_folder": "logs", "algo": "ppo", "n_envs": "2"}, "n_envs"),
    (polebench.load_run, {"log_folder": 5, "algo": "ppo"}, "log_folder"),
    (polebench.benchmark, {"workers": 0}, "workers"),
    (polebench.benchmark, {"workers": -1}, "workers"),
    (polebench.benchmark, {"workers": "2"}, "workers"),
    (polebench.benchmark, {"robustness_episodes": 0}, "robustness_episodes"),
    (polebench.benchmark, {"log_folder": 3.5}, "log_folder"),
]


@pytest.mark.parametrize(("function", "kwargs", "named"), API_CASES, ids=[f"{f.__name__}-{n}" for f, _, n in API_CASES])
def test_the_api_raises_config_error_naming_the_argument_before_writing(
    function: Any, kwargs: dict[str, Any], named: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    if function is polebench.benchmark:
        kwargs = {"grid": {"envs": ["CartPole-v1"], "seeds": 1, "agents": {"a": {"algo": "lqr"}}}, **kwargs}
        kwargs.setdefault("log_folder", "bench")
    elif function is polebench.train:
        kwargs.setdefault("log_folder", "logs")
    with pytest.raises(ConfigError) as raised:
        function(**kwargs)
    assert named in str(raised.value) and "--" not in str(raised.value)
    assert list(tmp_path.iterdir()) == []


def test_a_benchmark_says_how_many_jobs_did_not_finish(tmp_path: Path) -> None:
    broken = {"algo": "lqr", "hyperparams": {"state_cost": [1, 1]}}
    grid = {
        "envs": ["CartPole-v1"],
        "seeds": 1,
        "protocol": {"eval_freq": 0},
        "agents": {"lqr": {"algo": "lqr"}, "broken": broken},
    }
    ended = polebench.benchmark(grid, log_folder=tmp_path / "bench", workers=1)
    assert (ended.jobs, ended.failed, ended.ok) == (2, 1, False) and ended.report.is_file()


# 8. Honest output: the same seed plays the same episodes in every replay path.


@pytest.mark.slow
def test_an_exported_policy_replays_the_episodes_its_model_replays(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    trained = run_script("train.py", "--algo", "ppo", "-n", "3000", *FAST, "-f", str(logs))
    assert trained.returncode == 0, trained.stderr[-2000:]
    policy = tmp_path / "policy.pt"
    exported = run_script("export.py", "--algo", "ppo", "-f", str(logs), "--format", "torchscript", "-o", str(policy))
    assert exported.returncode == 0, exported.stderr[-2000:]
    by_model = run_script("enjoy.py", "--algo", "ppo", "-f", str(logs), "-n", "4", "--seed", "7", "--no-render")
    by_policy = run_script("enjoy.py", "--policy", str(policy), "-n", "4", "--seed", "7", "--no-render")

    def returns(out: str) -> list[str]:
        return [line.split(",")[0] for line in out.splitlines() if line.startswith("episode ")]

    assert len(returns(by_model.stdout)) == 4 and returns(by_model.stdout) == returns(by_policy.stdout)
