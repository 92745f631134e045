"""One line for every mistake: each class of bad input (argument values, paths, files, hyperparameters,
models, benchmark folders) ends with one line naming what was wrong, exit 2, no traceback, and nothing
saved changed."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import run_script, tree_hash

# Every test here starts the scripts as a user would: `pytest -m "not integration"` leaves them out.
pytestmark = pytest.mark.integration

TRAIN_VALUES = [
    (["--seed", "-1"], "--seed must be a whole number from 0"),
    (["--seed", str(2**33)], "--seed must be a whole number from 0"),
    (["-n", "0"], "-n/--n-timesteps must be a positive number"),
    (["-n", "1e9x"], "-n/--n-timesteps must be a whole number"),
    (["--eval-freq", "-1"], "--eval-freq must be 0 (off) or a positive"),
    (["--eval-episodes", "0"], "--eval-episodes must be at least 1"),
    (["--save-freq", "-5"], "--save-freq must be 0 (off)"),
    (["--num-threads", "0"], "--num-threads must be at least 1"),
    (["--device", "banana"], "--device must be cpu, auto, cuda, cuda:N or mps"),
    (["--device", "cuda"], "this machine has no CUDA device"),
    (["-v", "-1"], "-v/--verbose must be at least 0"),
    (["--env", "LunarLander-v3"], "LunarLander-v3 needs a package that is not installed"),
    (["--algo2", "x"], "unrecognized arguments"),
    (["--shaped-reward", "quadratik"], "unknown shaping form 'quadratik'; choose one of: user, position, quadratic"),
    (["--hyperparams", "shaped_reward={form: position, position_coef: -1}"], "position_coef must be finite and >= 0"),
    (["--hyperparams", "shaped_reward={form: quadratic, scales: [1, 1, .nan, 1]}"], "scales must be finite and >= 0"),
    (["--hyperparams", "shaped_reward={form: dm_control, margin: 2}"], "shaped_reward dm_control takes no margin"),
    (["--train-perturb", "pushh=2"], "--train-perturb: unknown perturbation 'pushh=2'; use FAMILY=LEVEL"),
    (["--train-perturb", "push=9"], "--train-perturb: push level must be a whole number from 0 (none) to 5"),
    (["--train-perturb", "push=2,push=3"], "--train-perturb names push twice"),
    (["--env", "Acrobot-v1", "--train-perturb", "push=2"], "push does not apply to Acrobot-v1"),
    (["--env", "Acrobot-v1", "--stop-on-balance"], "--stop-on-balance: Acrobot-v1 has no balance target"),
    (["--final-eval-episodes", "0"], "--final-eval-episodes must be at least 1"),
    (["--objective", "rms_pole_angle_deg"], "--objective rms_pole_angle_deg chooses what --optimize optimises"),
    (["--optimize", "--objective", "stillness"], "--objective 'stillness' is not measured on CartPole-v1; choose"),
]
TRAIN_HYPERPARAMETERS = [
    (["--hyperparams", "gamm=0.9"], "PPO takes no hyperparameter 'gamm'"),
    (["--hyperparams", "gamma=high"], "gamma='high' has the wrong type"),
    (["--hyperparams", "policy_kwargs={bogus_kw: 1}"], "ActorCriticPolicy takes no bogus_kw"),
    (["--hyperparams", "policy_kwargs={net_arch: 64}"], "net_arch must be a list of layer sizes"),
    (["--hyperparams", "policy_kwargs={activation_fn: sigmoidal}"], "unknown activation_fn 'sigmoidal'"),
    (["--hyperparams", "gamma"], "--hyperparams takes key=value (or the zoo's key:value) pairs"),
    (["--hyperparams", "gamma=[0.9"], "not plain YAML data"),
    (["--hyperparams", "normalize={norm_ob: true}"], "normalize: VecNormalize takes no norm_ob; accepted: norm_obs"),
    (["--hyperparams", "normalize={center_obs: no-thanks}"], "normalize: center_obs must be true or false"),
    (["--hyperparams", "normalize={norm_obs: false, center_obs: false}"], "but norm_obs is false"),
]


def _assert_one_line(result: subprocess.CompletedProcess, needle: str) -> None:
    assert result.returncode == 2, result.stdout[-1000:] + result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], result.stderr


@pytest.mark.parametrize(("args", "needle"), TRAIN_VALUES + TRAIN_HYPERPARAMETERS)
def test_train_argument_values(trained_ppo: Path, args: list[str], needle: str) -> None:
    before = tree_hash(trained_ppo)
    _assert_one_line(run_script("train.py", "--algo", "ppo", "-n", "500", *args, "-f", str(trained_ppo)), needle)
    assert tree_hash(trained_ppo) == before


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--seed", "-1"], "--seed must be"),
        (["-n", "0"], "-n/--n-episodes must be at least 1"),
        (["--exp-id", "-2"], "--exp-id must be at least 0"),
        (["--device", "banana"], "--device must be"),
        (["--video", "clip.gif"], "--video clip.gif: the file must end in one of .mp4"),
        (["--video", "/proc/clips/out.mp4"], "cannot write in /proc"),
        (["--plot", "/proc/plot.png"], "cannot write in /proc"),
    ],
)
def test_enjoy_argument_values_and_targets(trained_ppo: Path, args: list[str], needle: str) -> None:
    before = tree_hash(trained_ppo)
    _assert_one_line(run_script("enjoy.py", "--algo", "ppo", "--no-render", *args, "-f", str(trained_ppo)), needle)
    assert tree_hash(trained_ppo) == before


def test_video_into_a_folder_or_a_file_path_is_refused(trained_ppo: Path, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    (tmp_path / "clip.mp4").mkdir()
    cases = [
        (tmp_path, "must end in one of"),
        (tmp_path / "clip.mp4", "is a folder"),
        (tmp_path / "afile" / "v.mp4", "is a file"),
    ]
    for target, needle in cases:
        result = run_script("enjoy.py", "--algo", "ppo", "--video", str(target), "-f", str(trained_ppo))
        _assert_one_line(result, needle)


def test_log_folder_paths(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    for folder, needle in ((afile, "is a file, not a folder"), (afile / "sub", "is a file, not a folder")):
        _assert_one_line(run_script("train.py", "--algo", "ppo", "-f", str(folder)), needle)
        _assert_one_line(run_script("benchmark.py", "--algos", "lqr", "--seeds", "1", "-f", str(folder)), needle)
    _assert_one_line(run_script("train.py", "--algo", "ppo", "-f", "/proc/logs"), "cannot write in /proc")
    assert afile.read_text() == "not a folder"


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is not a text file"),
        ("CartPole-v1:\n  gamma: [0.9\n", "at line 3, column 1"),
        ("CartPole-v1:\n  gamma: 0.9\n  gamma: 0.8\n", "the key 'gamma' appears twice"),
        ("- just\n- a list\n", "must map env ids"),
        ("CartPole-v1: !!python/object/apply:os.system ['touch PWNED']\n", "never accepted"),
        ("x" * 1_000_001, "the limit is 1,000,000"),
    ],
)
def test_conf_files(trained_ppo: Path, tmp_path: Path, content: bytes | str, needle: str) -> None:
    conf = tmp_path / "conf.yml"
    conf.write_bytes(content) if isinstance(content, bytes) else conf.write_text(content)
    before = tree_hash(trained_ppo)
    _assert_one_line(run_script("train.py", "--algo", "ppo", "--conf-file", str(conf), "-f", str(trained_ppo)), needle)
    assert tree_hash(trained_ppo) == before and not (tmp_path / "PWNED").exists()


def test_a_yaml_bomb_is_refused_quickly_with_bounded_memory(tmp_path: Path) -> None:
    letters = "abcdefghi"
    parts = ["&a [1,1,1,1,1,1,1,1,1]"] + [
        f"&{letters[i]} [{','.join(['*' + letters[i - 1]] * 9)}]" for i in range(1, 9)
    ]
    bomb = tmp_path / "bomb.yml"
    bomb.write_text("CartPole-v1: {policy_kwargs: {net_arch: [" + ", ".join(parts) + "]}}\n")
    assert bomb.stat().st_size < 1000  # a few hundred bytes that would expand to 9**9 values
    import sys

    from tests.conftest import ROOT

    log = tmp_path / "bomb.log"
    # A child's peak RSS (wait4) starts at its parent's resident memory when it was spawned, and this
    # pytest worker may hold hundreds of MB by now: a bare interpreter, a few MB, spawns train.py.
    launcher = [
        sys.executable,
        "-c",
        "import sys; from polebench.bench.runners.processes import run_process; "
        "from pathlib import Path; ended = run_process(sys.argv[2:], Path(sys.argv[1])); "
        "print(ended.returncode, ended.peak_rss_mb)",
    ]
    command = [sys.executable, str(ROOT / "train.py"), "--algo", "ppo", "--conf-file", str(bomb),
               "-f", str(tmp_path / "logs")]  # fmt: skip
    started = time.perf_counter()
    measured = subprocess.run([*launcher, str(log), *command], capture_output=True, text=True, cwd=ROOT, check=True)
    elapsed_s = time.perf_counter() - started
    returncode, peak_rss_mb = int(measured.stdout.split()[0]), float(measured.stdout.split()[1])
    assert returncode == 2 and "expands to more than 100,000 values" in log.read_text()
    assert elapsed_s < 30 and peak_rss_mb < 600
    assert not (tmp_path / "logs").exists()


def _copy_run(source: Path, logs: Path, algo: str) -> Path:
    target = logs / algo / "CartPole-v1_1"
    shutil.copytree(source, target)
    return target


def test_another_algorithms_model_in_a_run_folder(trained_ppo: Path, tmp_path: Path) -> None:
    """A PPO model renamed into a DQN run folder: refused by enjoy and by -i, one line each."""
    logs = tmp_path / "logs"
    run = _copy_run(trained_ppo / "ppo" / "CartPole-v1_1", logs, "dqn")
    (run / "config.yml").write_text("algo: dqn\nenv: CartPole-v1\nhyperparams: {}\n")
    before = tree_hash(logs)
    _assert_one_line(run_script("enjoy.py", "--algo", "dqn", "-f", str(logs), "--no-render"), "another algorithm")
    resumed = run_script("train.py", "--algo", "dqn", "-n", "100", "-i", str(run / "CartPole-v1.zip"), "-f", str(logs))
    _assert_one_line(resumed, "another algorithm")
    assert tree_hash(logs) == before


def test_damaged_benchmark_folders_are_reported_not_crashed_on(tmp_path: Path) -> None:
    bench = tmp_path / "bench"
    first = run_script("benchmark.py", "--algos", "lqr", "--seeds", "3", "--workers", "2", "-f", str(bench))
    assert first.returncode == 0, first.stderr[-2000:]
    runs = sorted(bench.glob("runs/lqr/CartPole-v1/seed*/lqr/CartPole-v1_1"))
    (runs[0] / "config.yml").unlink()  # a run that lost its config
    summary = json.loads((runs[1] / "summary.json").read_text())
    (runs[1] / "summary.json").write_text(json.dumps({k: v for k, v in summary.items() if k != "solved"}))
    (bench / "runs" / "junk" / "x" / "y").mkdir(parents=True)  # not a job folder at all
    rebuilt = run_script(
        "benchmark.py", "--report-only", "--robustness", "--robustness-episodes", "1", "-f", str(bench)
    )
    assert rebuilt.returncode == 0 and "Traceback" not in rebuilt.stderr, rebuilt.stderr[-2000:]
    assert "junk/x/y is not a benchmark job folder" in rebuilt.stdout
    report = (bench / "report.md").read_text()
    assert "| lqr CartPole-v1 seed 1 | missing |" in report  # its summary lacks keys: not a finished run
    assert "junk" not in report


def test_a_second_driver_on_the_same_jobs_refuses(tmp_path: Path) -> None:
    import os
    import signal
    import sys

    from tests.conftest import ROOT

    bench = tmp_path / "bench"
    args = ["--algos", "ppo", "--seeds", "1", "-n", "5000000", "--eval-freq", "0", "-f", str(bench)]
    first = subprocess.Popen([sys.executable, str(ROOT / "benchmark.py"), *args], stdout=subprocess.PIPE, text=True)
    try:
        lock = bench / "runs" / "ppo" / "CartPole-v1" / "seed0" / ".lock"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (lock.is_file() and lock.read_text().strip()):
            time.sleep(0.1)
        second = run_script("benchmark.py", *args)
        _assert_one_line(second, f"being run by another benchmark driver (pid {first.pid})")
    finally:
        os.kill(first.pid, signal.SIGINT)
        first.communicate(timeout=120)


def test_jobs_die_with_their_driver_however_it_dies(tmp_path: Path) -> None:
    import os
    import signal
    import sys

    import psutil

    from tests.conftest import ROOT

    bench = tmp_path / "bench"
    args = ["--algos", "ppo", "--seeds", "2", "--workers", "2", "-n", "300000", "--eval-freq", "0", "-f", str(bench)]
    driver = subprocess.Popen([sys.executable, str(ROOT / "benchmark.py"), *args], stdout=subprocess.DEVNULL)
    monitors = [
        bench / "runs" / "ppo" / "CartPole-v1" / f"seed{s}" / "ppo" / "CartPole-v1_1" / "0.monitor.csv" for s in (0, 1)
    ]
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not all(
        m.is_file() and len(m.read_text().splitlines()) > 3 for m in monitors
    ):
        time.sleep(0.2)  # both jobs are training
    descendants = psutil.Process(driver.pid).children(recursive=True)  # its workers and the jobs they forked
    assert len(descendants) >= 2
    os.kill(driver.pid, signal.SIGKILL)  # no chance to clean up
    driver.wait()
    _, alive = psutil.wait_procs(descendants, timeout=60)
    for process in alive:
        process.kill()
    assert not alive, "processes outlived their driver"
    for summary in bench.rglob("summary.json"):  # each job saved on its way out
        assert json.loads(summary.read_text())["interrupted"] is True
