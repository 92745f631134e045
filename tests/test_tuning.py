"""train.py --optimize: search spaces fit their algorithms, workers share one study, failures are recorded."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import optuna
import pytest

from polebench.commands.train import build_parser, run_config
from polebench.config import hyperparams as hpm
from polebench.tune import tuning
from polebench.tune.search_spaces import SEARCH_SPACES
from tests.conftest import ROOT, env_for, run_script

POSTGRES = os.environ.get("POLEBENCH_TEST_POSTGRES_URL")


@pytest.mark.parametrize("algo", sorted(SEARCH_SPACES))
def test_every_sampled_configuration_fits_the_constructor(algo: str) -> None:
    from polebench.agents.registry import get_algo

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    algo_cls = get_algo(algo).load_class()
    for _ in range(8):
        sampled = SEARCH_SPACES[algo](study.ask())
        hp = hpm.resolve(algo, env_for(algo), overrides=sampled)
        hpm.check_kwargs(algo_cls, hpm.constructor_kwargs(hp))


def _workers(storage: str, study: str, logs: Path) -> list[subprocess.Popen]:
    args = ["--algo", "ppo", "--optimize", "--n-trials", "2", "-n", "512", "--n-evaluations", "2"]
    args += ["--storage", storage, "--study-name", study, "-f", str(logs), "--hyperparams", "n_steps=32"]
    env = {**os.environ, "MPLBACKEND": "Agg"}
    # Both workers get the same --seed: only their samplers' own seeds keep them from repeating each other.
    command = [sys.executable, str(ROOT / "train.py"), *args, "--seed", "0"]
    return [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) for _ in range(2)]


STORAGES = ["sqlite"] + (["postgresql"] if POSTGRES else [])


@pytest.mark.slow
@pytest.mark.parametrize("kind", STORAGES)
def test_two_workers_share_one_study(kind: str, tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'tune.db'}" if kind == "sqlite" else str(POSTGRES)
    study_name = f"test-{uuid.uuid4().hex[:8]}"
    logs = tmp_path / "tune"
    for proc in _workers(storage, study_name, logs):
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err.decode()[-2000:]
    study = optuna.load_study(study_name=study_name, storage=storage)
    finished = [t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert len(finished) == 4
    assert len({t.user_attrs["worker"] for t in finished}) == 2
    assert len({tuple(sorted(t.params.items())) for t in study.trials}) == len(study.trials)  # never repeated
    folder = logs / "ppo" / study_name
    assert (folder / "trials.csv").read_text().count("\n") == 5  # a header and four trials
    assert (folder / "optimization_history.png").stat().st_size > 5000
    best = folder / tuning.BEST_FILE
    assert "CartPole-v1:" in best.read_text() and "n_timesteps" not in best.read_text()
    trained = run_script("train.py", "--algo", "ppo", "--conf-file", str(best), "-n", "256", "-f", str(tmp_path / "l"))
    assert trained.returncode == 0, trained.stderr


def test_a_crashing_trial_is_recorded_and_the_study_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from polebench.run import training

    real_train = training.train
    calls = []

    def flaky_train(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the simulator exploded\nsecond line")
        return real_train(*args, **kwargs)

    monkeypatch.setattr(training, "train", flaky_train)
    argv = ["--algo", "qlearning", "--optimize", "--n-trials", "2", "-n", "500", "--n-evaluations", "1"]
    argv += ["-f", str(tmp_path), "--study-name", "s", "--pruner", "none"]
    args = build_parser().parse_args(argv)
    assert tuning.optimize(run_config(args, argv), tuning.TuneConfig.from_args(args)) == 0
    study = optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path / 'qlearning' / 's' / 'study.db'}")
    states = [t.state.name for t in study.trials]
    assert states == ["FAIL", "COMPLETE"]
    assert study.trials[0].user_attrs["error"] == "the simulator exploded"
    assert (tmp_path / "qlearning" / "s" / tuning.BEST_FILE).is_file()
    lines = capsys.readouterr().out.splitlines()  # not a terminal: one progress line per trial
    assert lines[0].startswith("[1/2] failed: trial 0 (fail): the simulator exploded; 1/2 done, 1 running, 1 failed;")
    assert lines[1].startswith("[2/2] finished: trial 1 (complete, value ") and lines[1].endswith("all ended")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--algo", "ppo"], "--optimize needs -n/--n-timesteps"),
        (["--algo", "lqr", "-n", "100"], "lqr has no search space"),
        (["--algo", "ppo", "-n", "100", "--n-trials", "0"], "--n-trials must be at least 1"),
        (["--algo", "ppo", "-n", "100", "--storage", "nosuchdb://x"], "cannot open the study storage nosuchdb://x"),
    ],
)
def test_bad_tuning_input_is_one_line(tmp_path: Path, extra: list[str], message: str) -> None:
    result = run_script("train.py", "--optimize", *extra, "-f", str(tmp_path / "t"))
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_behaviour_metric_is_minimised_and_unsolved_trials_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from polebench.run import training

    real_train = training.train
    scripted = iter([(500.0, 0.9), (300.0, 0.1), (490.0, 0.4)])  # (final return, rms pole angle)

    def scripted_train(*args, **kwargs):  # type: ignore[no-untyped-def]
        summary = real_train(*args, **kwargs)
        final, angle = next(scripted)
        return replace(summary, final_mean_return=final, quality={**summary.quality, "rms_pole_angle_deg": angle})

    monkeypatch.setattr(training, "train", scripted_train)
    argv = ["--algo", "qlearning", "--optimize", "--n-trials", "3", "-n", "500", "--n-evaluations", "1"]
    argv += ["-f", str(tmp_path), "--pruner", "none", "--objective", "rms_pole_angle_deg", "--sampler", "random"]
    args = build_parser().parse_args(argv)
    assert tuning.optimize(run_config(args, argv), tuning.TuneConfig.from_args(args)) == 0
    name = "qlearning-CartPole-v1-rms_pole_angle_deg"
    study = optuna.load_study(study_name=name, storage=f"sqlite:///{tmp_path / 'qlearning' / name / 'study.db'}")
    assert study.direction == optuna.study.StudyDirection.MINIMIZE
    assert [t.state.name for t in study.trials] == ["COMPLETE", "FAIL", "COMPLETE"]
    assert "below the threshold" in study.trials[1].user_attrs["error"]  # stillest, but it fell
    assert study.best_trial.number == 2 and study.best_value == 0.4
    assert [t.user_attrs["final_mean_return"] for t in study.trials] == [500.0, 300.0, 490.0]


def test_a_trial_stopped_by_ctrl_c_is_logged_without_the_interrupts_traceback() -> None:
    import logging
    import sys

    from polebench.tune.tuning import _NoInterruptTraceback

    def record(error: BaseException) -> logging.LogRecord:
        try:
            raise error
        except BaseException:
            return logging.LogRecord("optuna", logging.WARNING, "x", 1, "Trial 1 failed", None, sys.exc_info())

    interrupted, failed = record(KeyboardInterrupt()), record(RuntimeError("a real bug"))
    assert _NoInterruptTraceback().filter(interrupted) and interrupted.exc_info is None
    assert _NoInterruptTraceback().filter(failed) and failed.exc_info is not None  # a real error keeps its own
