"""A grid's progress: counts, the time left from the jobs already finished, plain lines in a pipe."""

from __future__ import annotations

import pytest

from polebench.progress import Progress


def test_plain_lines_count_jobs_and_estimate_from_each_agents_own_times(capsys: pytest.CaptureFixture[str]) -> None:
    progress = Progress(5, ["dqn", "dqn", "lqr", "dqn"], workers=2, known_times={"dqn": [10.0]}, live=False)
    expected = (
        "roughly 15 s for the 3 of the 4 jobs to run (the other 1: agents not yet timed), from those already ended"
    )
    assert progress.announce() == expected
    progress.finished("lqr CartPole-v1 seed 0", "lqr", failed=False, seconds=0.5)
    progress.finished("dqn CartPole-v1 seed 1", "dqn", failed=True, error="exit 1: boom", seconds=None)
    lines = capsys.readouterr().out.splitlines()
    assert (
        lines[0] == "[2/5] finished: lqr CartPole-v1 seed 0; 2/5 done, 2 running, 0 failed, 1 reused; about 15 s left"
    )
    assert lines[1].startswith("[3/5] failed: dqn CartPole-v1 seed 1: exit 1: boom; 3/5 done, 2 running, 1 failed")
    assert lines[1].endswith("about 10 s left")


def test_without_finished_jobs_the_time_left_is_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    progress = Progress(2, ["ppo", "ppo"], workers=4, live=False)
    assert progress.announce() is None and progress.time_left() is None
    progress.finished("ppo CartPole-v1 seed 0", "ppo", failed=False, seconds=3.0)
    progress.finished("ppo CartPole-v1 seed 1", "ppo", failed=False, seconds=5.0)
    out = capsys.readouterr().out
    assert "time left unknown until one ends" not in out.splitlines()[0] and out.splitlines()[-1].endswith("all ended")


def test_a_fast_agents_time_is_not_taken_for_a_slow_ones(capsys: pytest.CaptureFixture[str]) -> None:
    progress = Progress(3, ["lqr", "ppo", "ppo"], workers=2, live=False)
    progress.finished("lqr CartPole-v1 seed 0", "lqr", failed=False, seconds=0.6)
    assert capsys.readouterr().out.rstrip().endswith("time left unknown until one ends")
    progress.finished("ppo CartPole-v1 seed 0", "ppo", failed=False, seconds=30.0)
    assert capsys.readouterr().out.rstrip().endswith("about 30 s left")
