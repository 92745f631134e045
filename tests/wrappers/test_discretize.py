from __future__ import annotations

import numpy as np
import pytest
from gymnasium import spaces
from hypothesis import given, settings
from hypothesis import strategies as st

from polebench.wrappers.discretize import DiscretizeObservation
from tests.wrappers.stub import StubEnv

LOW, HIGH = [-2.0, -1.0, -0.5, -4.0], [2.0, 1.0, 0.5, 4.0]


def _index(env: DiscretizeObservation, obs: list[float]) -> int:
    return env.observation(np.asarray(obs, dtype=np.float64))


@pytest.mark.parametrize(("bins", "n"), [(1, 1), (3, 81), ([1, 1, 6, 12], 72), ([2, 3, 4, 5], 120)])
def test_space_size_is_the_product_of_bins(bins: int | list[int], n: int) -> None:
    env = DiscretizeObservation(StubEnv(), bins=bins, low=LOW, high=HIGH)
    assert env.observation_space == spaces.Discrete(n)


def test_cells_are_numbered_row_major() -> None:
    env = DiscretizeObservation(StubEnv(dims=2), bins=[2, 3], low=[0, 0], high=[1, 1])
    assert [_index(env, [0.1, 0.1]), _index(env, [0.1, 0.5]), _index(env, [0.1, 0.9])] == [0, 1, 2]
    assert [_index(env, [0.9, 0.1]), _index(env, [0.9, 0.9])] == [3, 5]


@pytest.mark.parametrize(("value", "cell"), [(-100.0, 0), (-1.0, 0), (0.99, 3), (1.0, 3), (1e9, 3)])
def test_out_of_bounds_values_fall_into_edge_bins(value: float, cell: int) -> None:
    env = DiscretizeObservation(StubEnv(dims=1), bins=4, low=[-1.0], high=[1.0])
    assert _index(env, [value]) == cell


def test_inner_env_space_is_untouched_and_arguments_recorded() -> None:
    inner = StubEnv()
    before = inner.observation_space
    env = DiscretizeObservation(inner, bins=[1, 1, 6, 12], low=LOW, high=HIGH)
    assert inner.observation_space is before and isinstance(inner.observation_space, spaces.Box)
    assert env._saved_kwargs == {"bins": [1, 1, 6, 12], "low": LOW, "high": HIGH}


def test_space_bounds_are_used_when_finite() -> None:
    env = DiscretizeObservation(StubEnv(low=0.0, high=1.0, dims=2), bins=2)
    assert _index(env, [0.75, 0.25]) == 2


def test_reset_and_step_return_indices() -> None:
    inner = StubEnv(dims=1)
    inner.queue = [np.array([0.9]), np.array([-0.9])]
    env = DiscretizeObservation(inner, bins=2, low=[-1.0], high=[1.0])
    obs, _ = env.reset()
    assert obs == 1 and env.step(0)[0] == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"bins": 0}, "bins must be"),
        ({"bins": [2, 2]}, "bins must be"),
        ({"bins": [2, 2, 2, 2.5]}, "bins must be"),
        ({"bins": 2, "low": [0, 0, 0]}, "low must hold 4"),
        ({"bins": 2, "low": LOW, "high": [2.0, 1.0, 0.5, np.inf]}, "high must be finite"),
        ({"bins": 2, "low": HIGH, "high": LOW}, "below its high"),
        ({"bins": 2}, "pass explicit low"),
    ],
)
def test_invalid_arguments_raise_value_error(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DiscretizeObservation(StubEnv(), **kwargs)


def test_non_box_space_is_refused() -> None:
    import gymnasium as gym

    with pytest.raises(ValueError, match="one-dimensional Box"):
        DiscretizeObservation(gym.make("Taxi-v4"), bins=2)


finite = st.floats(min_value=-10, max_value=10, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(obs=st.lists(finite, min_size=4, max_size=4), dim=st.integers(0, 3), step=st.floats(0, 0.05))
def test_indices_in_range_and_neighbours_stay_neighbours(obs: list[float], dim: int, step: float) -> None:
    bins = [3, 4, 5, 6]
    env = DiscretizeObservation(StubEnv(), bins=bins, low=LOW, high=HIGH)
    here = _index(env, obs)
    assert 0 <= here < env.observation_space.n
    nudged = list(obs)
    nudged[dim] += step  # well under one bin width in every dimension
    cells_here = np.unravel_index(here, bins)
    cells_there = np.unravel_index(_index(env, nudged), bins)
    moved = [abs(int(a) - int(b)) for a, b in zip(cells_here, cells_there, strict=True)]
    assert max(moved) <= 1 and sum(moved) <= 1
