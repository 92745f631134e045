"""train.py and enjoy.py run as a user runs them: real subprocesses, tiny budgets, tmp folders."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from polebench.envs.families import CARTPOLE
from tests.conftest import ROOT, read_summary, run_script, tree_hash

# Every test here starts the scripts as a user would: `pytest -m "not integration"` leaves them out.
pytestmark = pytest.mark.integration

SUMMARY_KEYS = {
    "algo", "env", "seed", "timesteps", "solved", "steps_to_solve", "time_to_solve_s", "wall_time_s",
    "best_mean_return", "final_mean_return", "peak_rss_mb", "shaped_reward",
}  # fmt: skip


def test_train_writes_a_complete_run_folder(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    result = run_script(
        "train.py", "--algo", "dqn", "-n", "600", "--eval-freq", "300", "--eval-episodes", "3", "-f", str(logs),
        "--hyperparams", "learning_starts=100", "policy_kwargs={net_arch: [32]}", "n_envs=1",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    run = logs / "dqn" / "CartPole-v1_1"
    for name in ("CartPole-v1.zip", "best_model.zip", "config.yml", "evaluations.npz", "0.monitor.csv"):
        assert (run / name).is_file(), name
    assert list(run.glob("events.out.tfevents.*")), "no TensorBoard events"
    summary = read_summary(run)
    assert summary.keys() >= SUMMARY_KEYS
    # DQN collects train_freq (256) steps at a time, so it may overshoot the budget, never undershoot.
    assert summary["timesteps"] >= 600 and summary["algo"] == "dqn" and summary["shaped_reward"] is None
    assert summary["solved"] is False and summary["steps_to_solve"] is None
    assert 0 < summary["peak_rss_mb"] < 2000
    config = yaml.safe_load((run / "config.yml").read_text())
    assert config["hyperparams"]["learning_starts"] == 100
    assert config["hyperparams"]["policy_kwargs"] == {"optimizer_class": "lean_adam", "net_arch": [32]}
    evaluations = np.load(run / "evaluations.npz")
    assert list(evaluations["timesteps"]) == [300, 600]
    assert 0 < evaluations["wall_time_s"][0] < evaluations["wall_time_s"][1] <= summary["wall_time_s"]
    assert evaluations["results"].shape == (2, 3)
    # Beside every evaluation's returns, each episode's behaviour metrics; the final ones in the summary.
    assert set(summary["quality"]) == {m.name for m in CARTPOLE.metrics}
    for metric in CARTPOLE.metrics:
        assert evaluations[f"quality_{metric.name}"].shape == (2, 3)
    quality = summary["quality"]
    assert 0 < quality["rms_pole_angle_deg"] < 15  # CartPole ends an episode past 12 degrees
    assert 0 <= quality["mean_abs_cart_position_m"] <= quality["max_abs_cart_position_m"] <= 2.5
    assert 0 <= quality["action_switch_rate"] <= 1 and quality["mean_abs_cart_velocity_mps"] > 0
    trajectory = np.load(run / "trajectory.npz")
    assert trajectory["states"].shape == (len(trajectory["actions"]), 4)


def test_second_run_gets_the_next_number_and_resume_continues_steps(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    args = ("--algo", "ppo", "-n", "256", "--eval-freq", "0", "-f", str(logs))
    assert run_script("train.py", *args).returncode == 0
    first = logs / "ppo" / "CartPole-v1_1"
    before = tree_hash(first)
    resumed = run_script("train.py", *args, "-i", str(first / "CartPole-v1.zip"))
    assert resumed.returncode == 0, resumed.stderr
    assert read_summary(logs / "ppo" / "CartPole-v1_2")["timesteps"] == 512
    assert tree_hash(first) == before


def test_enjoy_prints_episodes_and_the_mean_last(trained_ppo: Path) -> None:
    result = run_script("enjoy.py", "--algo", "ppo", "-f", str(trained_ppo), "-n", "3", "--no-render")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    episodes = [line for line in lines if line.startswith("episode ")]
    assert len(episodes) == 3 and all("rms_pole_angle_deg=" in line for line in episodes)
    assert lines[-2].startswith("quality: ") and "mean_abs_cart_position_m=" in lines[-2]
    assert lines[-1].startswith("mean return: ") and lines[-1].endswith("over 3 episodes")


def test_enjoy_plots_an_episode_under_a_perturbation(trained_ppo: Path, tmp_path: Path) -> None:
    picture = tmp_path / "pictures" / "episode.png"
    args = ("--algo", "ppo", "-f", str(trained_ppo), "-n", "1", "--no-render", "--plot", str(picture))
    result = run_script("enjoy.py", *args, "--perturb", "actuator_fault=5")
    assert result.returncode == 0, result.stderr
    assert "under actuator_fault=5: the chosen action is replaced by a random one with probability 0.5" in result.stdout
    assert picture.stat().st_size > 5000 and not list(picture.parent.glob(".*"))


def test_enjoy_records_a_video_headless(trained_ppo: Path, tmp_path: Path) -> None:
    video = tmp_path / "clips" / "out.mp4"
    result = run_script("enjoy.py", "--algo", "ppo", "-f", str(trained_ppo), "-n", "1", "--video", str(video))
    assert result.returncode == 0, result.stderr
    assert video.stat().st_size > 1000
    import imageio.v2 as imageio

    frames = imageio.mimread(video, memtest=False)
    assert frames[0].shape == (400, 600, 3)


def _assert_user_error(result, *needles: str) -> None:  # type: ignore[no-untyped-def]
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    message = result.stderr.strip().splitlines()
    assert len(message) == 1, result.stderr
    for needle in needles:
        assert needle in message[0]


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("--algo", "nope"), ("nope", "ppo", "dqn")),
        (("--algo", "ppo", "--env", "CartPol-v9"), ("CartPol-v9", "CartPole-v1")),
        (("--algo", "ppo", "-n", "-5"), ("-n", "positive")),
        (("--algo", "ppo", "--hyperparams", "learning_rate=abc"), ("learning_rate", "schedule")),
        (("--algo", "ppo", "--hyperparams", "gamm=0.9"), ("gamm", "gamma")),
        (("--algo", "dqn", "--env", "Pendulum-v1", "-n", "100"), ("dqn", "Pendulum-v1")),
        (("--algo", "ppo", "--env", "Pendulum-v1", "--stop-on-solve"), ("Pendulum-v1", "no reward threshold")),
    ],
)
def test_train_bad_input_changes_nothing(trained_ppo: Path, args: tuple[str, ...], needles: tuple[str, ...]) -> None:
    before = tree_hash(trained_ppo)
    _assert_user_error(run_script("train.py", *args, "-f", str(trained_ppo)), *needles)
    assert tree_hash(trained_ppo) == before


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("--algo", "ppo", "-f", "/nonexistent/logs"), ("does not exist",)),
        (("--algo", "dqn"), ("no dqn runs",)),
        (("--algo", "ppo", "--exp-id", "42"), ("--exp-id 42", "existing ids")),
        (("--algo", "ppo", "-n", "0"), ("-n",)),
        (("--algo", "ppo", "--perturb", "gust=1"), ("unknown perturbation 'gust=1'", "push=0..5")),
        (("--algo", "ppo", "--perturb", "push=9"), ("push level", "0 (none) to 5")),
        (("--algo", "ppo", "--perturb", "push=strong"), ("push level", "whole number")),
        (("--algo", "ppo", "--env", "Acrobot-v1", "--perturb", "push=1"), ("push does not apply to Acrobot-v1",)),
        (("--algo", "ppo", "--plot", "/proc/no/plot.png"), ("--plot", "cannot write")),
        (("--algo", "ppo", "--plot", "trajectory.txt"), ("--plot", ".png")),
        (("--algo", "ppo", "--env", "Pendulum-v1", "--plot", "p.png"), ("--plot", "Pendulum-v1")),
    ],
)
def test_enjoy_bad_input(trained_ppo: Path, args: tuple[str, ...], needles: tuple[str, ...]) -> None:
    if "-f" not in args:
        args = (*args, "-f", str(trained_ppo))
    before = tree_hash(trained_ppo)
    _assert_user_error(run_script("enjoy.py", *args, "--no-render"), *needles)
    assert tree_hash(trained_ppo) == before


def test_help_lists_every_algorithm_without_importing_torch() -> None:
    """``--help`` answers at once: it must not pay PyTorch's import (measured speed lives in scripts/)."""
    from polebench.agents.registry import ALGOS

    for script in ("train.py", "enjoy.py", "benchmark.py", "export.py"):
        probe = (
            "import runpy, sys\n"
            f"sys.argv = [{script!r}, '--help']\n"
            "try:\n"
            f"    runpy.run_path({str(ROOT / script)!r}, run_name='__main__')\n"
            "except SystemExit:\n"
            "    pass\n"
            "print('torch imported' if 'torch' in sys.modules else 'torch not imported')\n"
        )
        result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
        assert result.returncode == 0 and result.stdout.strip().endswith("torch not imported"), script + result.stderr
        if script in ("train.py", "enjoy.py"):
            assert all(name in result.stdout for name in ALGOS), result.stdout


def test_lqr_trains_in_zero_steps_and_replays_perfectly(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    assert run_script("train.py", "--algo", "lqr", "-f", str(logs)).returncode == 0
    summary = read_summary(logs / "lqr" / "CartPole-v1_1")
    assert (summary["timesteps"], summary["solved"], summary["steps_to_solve"]) == (0, True, 0)
    replay = run_script("enjoy.py", "--algo", "lqr", "-f", str(logs), "-n", "3", "--no-render")
    assert replay.stdout.strip().splitlines()[-1] == "mean return: 500.00 +/- 0.00 over 3 episodes"


def test_qlearning_on_taxi_uses_the_env_table(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    result = run_script("train.py", "--algo", "qlearning", "--env", "Taxi-v4", "-n", "2000", "--eval-freq", "1000",
                        "-f", str(logs))  # fmt: skip
    assert result.returncode == 0, result.stderr
    run = logs / "qlearning" / "Taxi-v4_1"
    summary = read_summary(run)
    assert summary["threshold"] == 7.0 and summary["timesteps"] == 2000
    assert np.load(run / "evaluations.npz")["results"].shape == (2, 100)  # Taxi is judged on 100 episodes
    replay = run_script(
        "enjoy.py", "--algo", "qlearning", "--env", "Taxi-v4", "-f", str(logs), "-n", "2", "--no-render"
    )
    assert replay.returncode == 0, replay.stderr
    assert replay.stdout.strip().splitlines()[-1].endswith("over 2 episodes")


def test_shaped_reward_keeps_true_returns_and_records_shaping(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    result = run_script("train.py", "--algo", "dqn", "--shaped-reward", "-n", "1500", "--eval-freq", "0",
                        "--hyperparams", "learning_starts=200", "n_envs=1", "-f", str(logs))  # fmt: skip
    assert result.returncode == 0, result.stderr
    run = logs / "dqn" / "CartPole-v1_1"
    monitor = np.genfromtxt(run / "0.monitor.csv", delimiter=",", skip_header=2)
    assert len(monitor) > 5 and np.array_equal(monitor[:, 0], monitor[:, 1])  # return == length
    config = yaml.safe_load((run / "config.yml").read_text())
    shaped_reward = config["hyperparams"]["shaped_reward"]
    assert shaped_reward["form"] == "user" and shaped_reward["angle_coef"] == 1.0
    summary = read_summary(run)
    assert summary["shaped_reward"] == shaped_reward and summary["shaped_reward"]["velocity_coef"] == 0.1


@pytest.mark.parametrize(
    ("value", "needles"),
    [
        ("env_wrapper=[nope]", ("nope", "discretize", "shaped_reward")),
        ("env_wrapper=[{shaped_reward: {angle_coef: -1}}]", ("angle_coef", ">= 0")),
        ("env_wrapper=[{shaped_reward: {gain: 2}}]", ("gain", "angle_coef")),
    ],
)
def test_bad_env_wrapper_is_refused(tmp_path: Path, value: str, needles: tuple[str, ...]) -> None:
    logs = tmp_path / "logs"
    _assert_user_error(run_script("train.py", "--algo", "ppo", "--hyperparams", value, "-f", str(logs)), *needles)
    assert not list(logs.rglob("*.zip"))


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_training_and_keeps_the_work(tmp_path: Path, signum: int) -> None:
    logs = tmp_path / "logs"
    command = [sys.executable, str(ROOT / "train.py"), "--algo", "dqn", "-n", "1000000", "--eval-freq", "0",
               "-f", str(logs)]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    monitor = logs / "dqn" / "CartPole-v1_1" / "0.monitor.csv"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not monitor.exists() or len(monitor.read_text().splitlines()) < 12):
        time.sleep(0.2)  # wait until it has really trained a while
    process.send_signal(signum)
    try:
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()  # never leave a million-step run behind if the signal was not honoured
    assert process.returncode == 128 + signum, err
    assert "interrupted at" in out
    last = out.strip().splitlines()[-1]
    run = logs / "dqn" / "CartPole-v1_1"
    assert last == f"interrupted by {signal.Signals(signum).name}: saved; continue with -i {run / 'CartPole-v1.zip'}"
    summary = read_summary(run)
    assert summary["interrupted"] is True and 0 < summary["timesteps"] < 1_000_000
    resumed = run_script("train.py", "--algo", "dqn", "-n", "300", "--eval-freq", "0", "-f", str(logs),
                         "-i", str(run / "CartPole-v1.zip"))  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert read_summary(logs / "dqn" / "CartPole-v1_2")["timesteps"] >= summary["timesteps"] + 300


def test_resume_refuses_a_corrupt_model(trained_ppo: Path, tmp_path: Path) -> None:
    run = trained_ppo / "ppo" / "CartPole-v1_1"
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.yml").write_bytes((run / "config.yml").read_bytes())
    (broken / "CartPole-v1.zip").write_bytes((run / "CartPole-v1.zip").read_bytes()[:500])
    before = tree_hash(trained_ppo)
    result = run_script("train.py", "--algo", "ppo", "-f", str(trained_ppo), "-i", str(broken / "CartPole-v1.zip"))
    _assert_user_error(result, "cannot load the model")
    assert tree_hash(trained_ppo) == before


def test_checkpoints_and_replay_buffer_are_kept_and_reloaded(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    common = ("--algo", "dqn", "--eval-freq", "0", "--save-replay-buffer", "-f", str(logs),
              "--hyperparams", "learning_starts=100", "train_freq=50", "gradient_steps=1", "n_envs=1")  # fmt: skip
    assert run_script("train.py", *common, "-n", "600", "--save-freq", "200").returncode == 0
    run = logs / "dqn" / "CartPole-v1_1"
    checkpoints = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert "CartPole-v1_200_steps.zip" in checkpoints and "CartPole-v1_replay_buffer_600_steps.pkl" in checkpoints
    assert (run / "replay_buffer.pkl").is_file()
    resumed = run_script("train.py", *common, "-n", "100", "-i", str(run / "CartPole-v1.zip"), "-v", "2")
    assert resumed.returncode == 0, resumed.stderr
    assert "saved replay buffer (600 transitions from 1 env)" in resumed.stdout
    assert read_summary(logs / "dqn" / "CartPole-v1_2")["timesteps"] == 700


CONF_FILES = {
    "missing.yml": None,
    "broken.yml": "CartPole-v1: {n_steps: [",
    "list.yml": "- CartPole-v1\n- n_steps: 64\n",
    "tagged.yml": "CartPole-v1:\n  n_steps: !!python/object/apply:os.system ['touch PWNED']\n",
}


@pytest.mark.parametrize(
    ("name", "needles"),
    [
        ("missing.yml", ("missing.yml",)),
        ("broken.yml", ("broken.yml", "YAML")),
        ("list.yml", ("list.yml", "mapping")),
        ("tagged.yml", ("tagged.yml",)),
    ],
)
def test_bad_conf_file_is_refused_and_never_run(trained_ppo: Path, tmp_path: Path, name: str, needles: tuple) -> None:
    text = CONF_FILES[name]
    if text is not None:
        (tmp_path / name).write_text(text)
    before = tree_hash(trained_ppo)
    result = run_script("train.py", "--algo", "ppo", "--conf-file", str(tmp_path / name), "-f", str(trained_ppo))
    _assert_user_error(result, *needles)
    assert tree_hash(trained_ppo) == before
    assert not (tmp_path / "PWNED").exists() and not (ROOT.parent / "PWNED").exists()


def _copy_run(source: Path, target: Path, env_id: str, config_env: str, truncate: bool = False) -> None:
    """A copy of a CartPole run folder filed under ``env_id``, its config saying ``config_env``."""
    target.mkdir(parents=True)
    config = yaml.safe_load((source / "config.yml").read_text())
    (target / "config.yml").write_text(yaml.safe_dump({**config, "env": config_env}))
    model = (source / "CartPole-v1.zip").read_bytes()
    (target / f"{env_id}.zip").write_bytes(model[:500] if truncate else model)


@pytest.mark.parametrize(
    ("env_id", "config_env", "truncate", "needles"),
    [
        ("Acrobot-v1", "CartPole-v1", False, ("holds a run on CartPole-v1", "--env CartPole-v1")),
        ("Acrobot-v1", "Acrobot-v1", False, ("observation_space", "Acrobot-v1")),
        ("CartPole-v1", "CartPole-v1", True, ("cannot load the model",)),
    ],
)
def test_enjoy_refuses_a_run_of_another_env_or_a_corrupt_model(
    trained_ppo: Path, tmp_path: Path, env_id: str, config_env: str, truncate: bool, needles: tuple
) -> None:
    logs = tmp_path / "logs"
    _copy_run(trained_ppo / "ppo" / "CartPole-v1_1", logs / "ppo" / f"{env_id}_1", env_id, config_env, truncate)
    before = tree_hash(logs)
    result = run_script("enjoy.py", "--algo", "ppo", "--env", env_id, "-f", str(logs), "--no-render")
    _assert_user_error(result, *needles)
    assert tree_hash(logs) == before


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("--algo", "dqn"), ("is a ppo model", "cannot continue as dqn")),
        (("--algo", "ppo", "--env", "Acrobot-v1"), ("for CartPole-v1", "Acrobot-v1")),
    ],
)
def test_resume_refuses_a_model_of_another_algo_or_env(trained_ppo: Path, args: tuple, needles: tuple) -> None:
    before = tree_hash(trained_ppo)
    model = trained_ppo / "ppo" / "CartPole-v1_1" / "CartPole-v1.zip"
    _assert_user_error(run_script("train.py", *args, "-i", str(model), "-f", str(trained_ppo)), *needles)
    assert tree_hash(trained_ppo) == before


def test_a_model_that_cannot_be_built_leaves_no_folder_behind(tmp_path: Path) -> None:
    logs = tmp_path / "new-logs"
    result = run_script("train.py", "--algo", "dqn", "--env", "Pendulum-v1", "-n", "100", "-f", str(logs))
    _assert_user_error(result, "dqn cannot train on Pendulum-v1", "envs with Discrete actions: CartPole-v1,")
    assert not logs.exists()
    result = run_script("train.py", "--algo", "sac", "-n", "100", "-f", str(logs))
    _assert_user_error(result, "sac cannot train on CartPole-v1", "envs with Box actions:", "CartPoleSwingUp-v0")
    assert not logs.exists()
