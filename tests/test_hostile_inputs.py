"""The fourth hostile probe's failures, closed by class: each mistake is refused up front in one line (exit
2) or, once training runs, leaves the model and a summary.json that says what went wrong."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import polebench
from polebench.config.run_config import ConfigError
from polebench.errors import run_cli
from polebench.run.summary import RunSummary
from tests.conftest import ROOT, one_line_error, run_script

pytestmark = pytest.mark.integration

FAST = ["--eval-freq", "200", "--eval-episodes", "1", "--final-eval-episodes", "2"]


# 1. Refused before a run folder exists, naming what was wrong and what is accepted.


@pytest.mark.parametrize("form", ["user", "position", "quadratic", "dm_control"])
@pytest.mark.parametrize("env", ["Acrobot-v1", "MountainCar-v0"])
def test_reward_shaping_is_refused_on_a_task_that_does_not_pay_for_survival(
    form: str, env: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=f"shaped_reward {form} does not apply to {env}"):
        polebench.train(algo="ppo", env=env, shaped_reward=form, n_timesteps=64, log_folder=tmp_path)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("algo", "setting", "says"),
    [
        ("dqn", "batch_size=0", "batch_size=0 must be a whole number >= 1"),
        ("dqn", "batch_size=-5", "batch_size=-5 must be a whole number >= 1"),
        ("ppo", "n_epochs=0", "n_epochs=0 must be a whole number >= 1"),
        ("ppo", "gamma=2", "gamma=2 must be a discount in (0, 1]"),
        ("dqn", "gamma=-1", "gamma=-1 must be a discount in (0, 1]"),
        ("ppo", "clip_range=lin_-1", "clip_range='lin_-1' must be a clip range > 0"),
        ("ppo", "gae_lambda=1.5", "gae_lambda=1.5 must be a GAE factor in [0, 1]"),
    ],
)
def test_hyperparameters_out_of_range_are_refused_before_training(
    algo: str, setting: str, says: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError) as caught:
        polebench.train(algo=algo, hyperparams=[setting], n_timesteps=64, log_folder=tmp_path)
    assert says in str(caught.value)
    assert not list(tmp_path.iterdir())


def test_counts_that_size_memory_or_time_are_bounded(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"num_threads must be at most \d+"):
        polebench.train(algo="ppo", num_threads=(os.cpu_count() or 1) + 1, log_folder=tmp_path)
    with pytest.raises(ConfigError, match="max_episode_steps must be a whole number from 1 to 100,000"):
        polebench.train(algo="lqr", env_kwargs={"max_episode_steps": 100_000_000}, log_folder=tmp_path)
    bins = (
        "env_wrapper=[{discretize: {bins: [100000, 100000, 1, 1], low: [-2.4, -3, -0.2, -3], high: [2.4, 3, 0.2, 3]}}]"
    )
    with pytest.raises(
        ConfigError, match=r"a Q-table of 160,000,000,000 bytes for 2 actions; the limit is 1,000,000,000"
    ):
        polebench.train(algo="qlearning", hyperparams=[bins], log_folder=tmp_path)
    huge = bins.replace("100000, 100000, 1, 1", "1000000000, 1000000000, 1000000000, 1000000000")
    with pytest.raises(ConfigError, match=r"make 1,000,000,000,000,000,000,000,000,000,000,000,000 cells"):
        polebench.train(algo="qlearning", hyperparams=[huge], log_folder=tmp_path)  # no int64 wrap-around
    assert not list(tmp_path.iterdir())


def test_a_grid_hyperparameter_name_that_is_no_keyword_is_refused_up_front(tmp_path: Path) -> None:
    grid = {"envs": ["CartPole-v1"], "agents": {"a": {"algo": "ppo", "hyperparams": {"n_steps=64": 1}}}}
    with pytest.raises(ConfigError, match="hyperparameter name 'n_steps=64' must be letters, digits and '_'"):
        polebench.benchmark(grid, log_folder=tmp_path / "bench", workers=1)
    assert not (tmp_path / "bench").exists()


def test_yaml_nested_five_thousand_deep_isone_line_error(tmp_path: Path) -> None:
    grid = tmp_path / "deep.yml"
    grid.write_text(
        "envs: [CartPole-v1]\nagents: {a: {algo: ppo, hyperparams: {x: " + "[" * 5000 + "]" * 5000 + "}}}\n"
    )
    one_line_error(
        run_script("benchmark.py", "--grid", str(grid), "-f", str(tmp_path / "b")), "nests lists or mappings"
    )


# 2. Paths the file system cannot take, and files that are not what they claim: one line, exit 2.


def test_paths_too_long_or_of_the_wrong_kind_areone_line_error(tmp_path: Path) -> None:
    long = str(tmp_path / ("x" * 300))
    one_line_error(run_script("train.py", "--algo", "lqr", "-f", long), "at most 255 are allowed")
    one_line_error(run_script("benchmark.py", "--algos", "lqr", "--seeds", "1", "-f", long), "at most 255 are allowed")
    deep = str(tmp_path / "/".join(["abcdefghij"] * 420))
    one_line_error(run_script("train.py", "--algo", "lqr", "-f", deep), "at most 4,096 are allowed")
    a_file = tmp_path / "afile"
    a_file.write_text("")
    one_line_error(run_script("train.py", "--algo", "lqr", "-tb", str(a_file), "-f", str(tmp_path / "l")), "is a file")
    assert run_script("train.py", "--algo", "lqr", "-f", str(tmp_path / "l")).returncode == 0
    one_line_error(run_script("enjoy.py", "--algo", "lqr", "-f", str(tmp_path / "l"), "--video", long + ".mp4"), "long")
    one_line_error(run_script("export.py", "--algo", "lqr", "-f", str(tmp_path / "l"), "-o", long + ".onnx"), "long")


def test_a_corrupt_normalisation_file_isone_line_error(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    trained = run_script("train.py", "--algo", "ppo", "-n", "256", *FAST, "--hyperparams", "normalize=true",
                         "n_steps=64", "-f", str(logs))  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-2000:]
    stats = next(logs.glob("ppo/CartPole-v1_*/vecnormalize.pkl"))
    for damage in (os.urandom(200), b"\x80\x04}\x94."):  # random bytes; a pickled dict
        stats.write_bytes(damage)
        replay = run_script("enjoy.py", "--algo", "ppo", "-f", str(logs), "-n", "1", "--no-render")
        one_line_error(replay, "is not normalisation statistics saved by polebench")


def test_a_missing_extra_is_named_for_a_wheel_and_for_a_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    from polebench.tune.tuning import check_optimize

    monkeypatch.setitem(sys.modules, "optuna", None)  # as if it were not installed
    with pytest.raises(ConfigError, match=r'--optimize needs optuna: pip install "polebench\[tune\]"'):
        check_optimize(polebench.RunConfig(algo="pid"))


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.ENAMETOOLONG, errno.ENOTDIR])
def test_disk_and_path_errors_exit_2_inone_line_error(code: int, capsys: pytest.CaptureFixture[str]) -> None:
    def main(argv: object) -> int:
        raise OSError(code, os.strerror(code), "logs/run/model.zip")

    assert run_cli(main) == 2
    assert capsys.readouterr().err.count("\n") == 1


# 3. A crash once training runs keeps the model and says why in summary.json.


def test_a_crash_mid_training_keeps_the_model_and_records_the_error(tmp_path: Path) -> None:
    result = run_script("train.py", "--algo", "tests.plugin_agents:FailsMidway", *FAST, "-f", str(tmp_path))
    assert result.returncode == 1 and "the plugin's own bug, midway" in result.stderr  # its own traceback
    run_dir = next(tmp_path.glob("*/CartPole-v1_*"))
    summary = RunSummary.read(run_dir)
    assert summary is not None and summary.error == "RuntimeError: the plugin's own bug, midway"
    assert not summary.finished and summary.timesteps >= 300
    assert (run_dir / "CartPole-v1.zip").is_file() and (run_dir / "best_model.zip").is_file()


@pytest.mark.parametrize(
    ("plugin", "says"),
    [
        ("PredictsTooMany", "observation, got an array of shape (1, 3)"),
        ("PredictsNaN", "actions must be finite numbers for Discrete(2)"),
        ("PredictsOutOfRange", "Discrete(2) takes whole numbers 0 to 1"),
        ("PredictsFractions", "Discrete(2) takes whole numbers 0 to 1"),
        ("PredictsNegative", "Discrete(2) takes whole numbers 0 to 1"),
    ],
)
def test_a_plugins_wrong_actions_are_one_line_naming_it(plugin: str, says: str, tmp_path: Path) -> None:
    result = run_script("train.py", "--algo", f"tests.plugin_agents:{plugin}", "-n", "100", *FAST, "-f", str(tmp_path))
    one_line_error(result, f"{plugin}.predict returned")
    assert says in result.stderr
    summary = RunSummary.read(next(tmp_path.glob("*/CartPole-v1_*")))
    assert summary is not None and summary.error is not None and f"{plugin}.predict returned" in summary.error


# 4. Files read back: a summary with null, NaN or Infinity is a damaged one, never a finished run.


@pytest.mark.parametrize("value", ["null", "NaN", "Infinity", "-Infinity"])
def test_a_summary_without_a_real_final_return_is_damaged(value: str, tmp_path: Path) -> None:
    from polebench.bench.driver import rebuild_report

    grid = {"envs": ["CartPole-v1"], "seeds": 1, "agents": {"lqr": {"algo": "lqr"}}}
    assert polebench.benchmark(grid, log_folder=tmp_path, workers=1).ok
    path = next(tmp_path.rglob("summary.json"))
    data = json.loads(path.read_text())
    path.write_text(
        json.dumps(data).replace(f'"final_mean_return": {data["final_mean_return"]}', f'"final_mean_return": {value}')
    )
    assert rebuild_report(tmp_path) == 0
    rows = (tmp_path / "results.csv").read_text().splitlines()
    assert len(rows) == 2 and ",missing," in rows[1] and "nan" not in (tmp_path / "report.md").read_text()


# 5. The Python API in someone else's program: spawn needs a __main__ guard (signals: test_hostile_use.py).


def test_benchmark_at_a_scripts_top_level_without_a_main_guard_is_refused(tmp_path: Path) -> None:
    grid = '{"envs": ["CartPole-v1"], "seeds": 1, "agents": {"lqr": {"algo": "lqr"}}}'
    call = f"polebench.benchmark({grid}, log_folder={str(tmp_path / 'b')!r}, workers=1)"
    unguarded, guarded = tmp_path / "unguarded.py", tmp_path / "guarded.py"
    unguarded.write_text(f"import polebench\n{call}\n")
    guarded.write_text(f"import polebench\n\nif __name__ == '__main__':\n    print({call}.ok)\n")
    refused = subprocess.run([sys.executable, str(unguarded)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1 and 'needs an `if __name__ == "__main__":` guard' in refused.stderr
    assert not (tmp_path / "b").exists()
    ran = subprocess.run([sys.executable, str(guarded)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0 and ran.stdout.strip().endswith("True"), ran.stderr[-2000:]
