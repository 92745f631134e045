"""The interrupt harness: real runs stopped at many moments, by one or two signals, lose nothing.

Whatever the moment (start-up, building, learning, an evaluation, a checkpoint, the final save or
evaluation), every artefact left behind loads, no temporary file is left, and a run folder that exists
(its model was built) has its summary.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import yaml

from polebench import interrupts
from polebench.run import folder as runs
from polebench.run import training
from polebench.run.summary import RunSummary
from tests.conftest import ROOT

# Seconds after the start: imports, building, the first evaluations and checkpoints, learning, the end.
MOMENTS = [0.2, 0.9, 1.6, 2.2, 2.8, 3.4, 4.2, 5.5]
TRAIN = ["--algo", "dqn", "-n", "6000", "--eval-freq", "1000", "--eval-episodes", "20", "--save-freq", "1000"]
TRAIN += ["--save-replay-buffer", "--hyperparams", "learning_starts=500"]


def _start(args: list[str], logs: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg"}
    command = [sys.executable, str(ROOT / "train.py"), *args, "-f", str(logs)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _check_everything_loads(logs: Path) -> int:
    """Load every artefact under ``logs``; return how many were checked."""
    from stable_baselines3 import DQN
    from stable_baselines3.common.save_util import load_from_pkl

    checked = 0
    assert not [p for p in logs.rglob(".*") if p.is_file()], "a temporary file was left behind"
    for run in logs.glob("*/*_*"):
        summary = RunSummary.read(run)
        assert summary is not None, f"{run} has a model but no readable summary.json"
        assert yaml.safe_load((run / "config.yml").read_text())["algo"] == "dqn"
        checked += 2
        for model in run.rglob("*.zip"):
            runs.load_model(DQN, model)  # as every script loads one
            checked += 1
        for pickle in run.rglob("*.pkl"):
            load_from_pkl(pickle)
            checked += 1
        for arrays in run.glob("*.npz"):
            with np.load(arrays) as data:
                assert len(data.files) > 0
            checked += 1
    return checked


@pytest.mark.slow
@pytest.mark.parametrize("second", [None, signal.SIGINT, signal.SIGTERM], ids=["one", "two-int", "int-then-term"])
@pytest.mark.parametrize("moment", MOMENTS)
def test_an_interrupt_at_any_moment_loses_nothing(tmp_path: Path, moment: float, second: int | None) -> None:
    logs = tmp_path / "logs"
    process = _start(TRAIN, logs)
    time.sleep(moment)
    process.send_signal(signal.SIGINT)
    if second is not None:
        time.sleep(0.15)
        if process.poll() is None:
            process.send_signal(second)
    try:
        _, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode in (0, 130, 143), err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    checked, run_dirs = _check_everything_loads(logs), list(logs.glob("*/*_*"))
    assert checked >= 3 * len(run_dirs)  # each run folder: at least its summary, config and model loaded
    if process.returncode == 0:  # only a run that had finished before the signal may exit 0
        summary = RunSummary.read(run_dirs[0])
        assert summary is not None and not summary.interrupted and summary.timesteps >= 6000


@pytest.mark.slow
def test_a_second_ctrl_c_during_a_long_final_evaluation_still_saves(tmp_path: Path) -> None:
    """The case first reported: the final evaluation takes long, and a second Ctrl-C arrives during it."""
    logs = tmp_path / "logs"
    process = _start(["--algo", "ppo", "-n", "100000", "--eval-freq", "0", "--eval-episodes", "3000"], logs)
    assert process.stdout is not None
    monitor = logs / "ppo" / "CartPole-v1_1" / "0.monitor.csv"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not monitor.exists() or len(monitor.read_text().splitlines()) < 4):
        time.sleep(0.1)  # training has begun
    process.send_signal(signal.SIGINT)
    lines = []
    try:
        for line in process.stdout:  # every line, read one way (mixing reads would lose buffered ones)
            lines.append(line)
            if line.startswith("interrupted at"):
                process.send_signal(signal.SIGINT)
        process.wait(timeout=120)
    finally:
        process.kill()
    assert process.stderr is not None
    assert process.returncode == 130, process.stderr.read()[-3000:]
    assert lines[-1].startswith("interrupted by SIGINT")
    run = logs / "ppo" / "CartPole-v1_1"
    summary = RunSummary.read(run)
    assert summary is not None and summary.interrupted and summary.timesteps > 0
    from stable_baselines3 import PPO

    PPO.load(run / "CartPole-v1.zip")


def _learning_that_fails(interrupt: bool) -> Any:
    """A model whose ``learn`` fails as PyTorch's zip writer does when a Ctrl-C lands mid-save: the
    ``KeyboardInterrupt`` turns into the ``RuntimeError`` raised by the writer's ``__exit__``."""

    def learn(*args: Any, **kwargs: Any) -> None:
        try:
            if interrupt:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(5)
        finally:
            raise RuntimeError("unexpected pos 12096 vs 12048")

    session = SimpleNamespace(model=SimpleNamespace(learn=learn), callbacks=[])
    config = SimpleNamespace(log_interval=None, progress=False)
    return session, SimpleNamespace(config=config, n_timesteps=1, trained_agent=None)


def test_a_library_error_raised_over_a_ctrl_c_stops_training_as_the_ctrl_c_does() -> None:
    with interrupts.handled():
        assert training._learn(*_learning_that_fails(interrupt=True)) is True
        assert interrupts.signal_name() == "SIGINT"


def test_the_same_error_without_a_signal_is_not_taken_for_one() -> None:
    with interrupts.handled(), pytest.raises(RuntimeError, match="unexpected pos"):
        training._learn(*_learning_that_fails(interrupt=False))


def test_each_run_starts_with_fresh_signals_and_holding_holds() -> None:
    with interrupts.handled() as first:
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
        assert first.phase is interrupts.Phase.HOLDING  # the first signal moved it on by itself
        with first.holding() as arrived:
            os.kill(os.getpid(), signal.SIGINT)  # held, not raised
            time.sleep(0.05)
        assert arrived == [signal.SIGINT] and first.exit_code() == 143
    with interrupts.handled() as second:
        assert second is not first and second.received == [] and second.phase is interrupts.Phase.STOPPABLE
