"""The plots' readable parts: the trajectory plot's action panels and the short tick labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from polebench.envs.families import CARTPOLE
from polebench.replay.trajectory_plot import Trace, action_signals, action_window, plot_trajectories


def test_the_action_panels_show_which_way_the_agent_pushes_and_how_often_it_switches() -> None:
    assert action_window(CARTPOLE) == 30  # 0.6 s of CartPole's 50 steps a second
    alternating = np.arange(200) % 2  # left, right, left...: a controller holding still
    mean, switches = action_signals(alternating, CARTPOLE)
    assert abs(mean[-1]) < 1e-9 and switches[-1] == pytest.approx(50.0)
    assert np.isnan(mean[0])  # the panels start once their window is full
    leaning = np.ones(200, dtype=int)  # right, right, right...: a sustained push
    mean, switches = action_signals(leaning, CARTPOLE)
    assert mean[-1] == pytest.approx(1.0) and switches[-1] == 0.0
    mixed = np.array([0, 1, 1, 1] * 50)  # three rights to one left: leaning right, switching half the time
    mean, switches = action_signals(mixed, CARTPOLE)
    assert 0.4 < mean[-1] < 0.6 and 20 < switches[-1] < 30


def test_the_trajectory_plot_draws_every_agent(tmp_path: Path) -> None:
    states = np.zeros((100, 4))
    traces = [
        Trace(name, color, states, np.arange(100) % 2) for name, color in (("lqr", "tab:pink"), ("ppo", "tab:blue"))
    ]
    picture = tmp_path / "t.png"
    plot_trajectories(traces, CARTPOLE, "two agents", picture)
    assert picture.stat().st_size > 5000


def test_the_interquartile_mean_trims_as_scipy_does() -> None:
    from scipy.stats import trim_mean

    from polebench.bench.results import iqm

    rng = np.random.default_rng(0)
    for runs in range(1, 13):
        scores = rng.integers(0, 6, size=(runs, 3)).astype(float) * 100  # ties included
        np.testing.assert_allclose(iqm(scores), trim_mean(scores, 0.25, axis=0))


def test_runs_that_all_score_the_same_have_a_point_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    from rliable import library as rly

    from polebench.bench.results import interval_estimates, iqm

    def no_bootstrap(*args: object, **kwargs: object) -> None:
        raise AssertionError("a constant sample needs no bootstrap")

    monkeypatch.setattr(rly, "get_interval_estimates", no_bootstrap)
    point, interval = interval_estimates(np.full((5, 2), 500.0), iqm)
    assert point.tolist() == [500.0, 500.0] and interval.tolist() == [[500.0, 500.0], [500.0, 500.0]]
