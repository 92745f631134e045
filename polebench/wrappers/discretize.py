"""Map a continuous ``Box`` observation to one ``Discrete`` index, for tabular agents."""

from __future__ import annotations

import math
from collections.abc import Sequence

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from polebench.limits import MAX_TABLE_BYTES

__all__ = ["DiscretizeObservation"]


class DiscretizeObservation(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """Cut each observation dimension into equal-width bins and number the cells row-major.

    Unlike Gymnasium's own discretizer, bounds are explicit, so unbounded dimensions (CartPole's
    velocities) are accepted: values outside ``[low, high]`` fall into the edge bins. A dimension with
    one bin is ignored.

    Example:
        >>> import gymnasium as gym
        >>> env = gym.make("CartPole-v1")
        >>> env.observation_space.shape
        (4,)
        >>> env = DiscretizeObservation(env, bins=[1, 6, 12, 12], low=[-2.4, -3, -0.21, -3.5], high=[2.4, 3, 0.21, 3.5])
        >>> env.observation_space
        Discrete(864)
        >>> obs, _ = env.reset(seed=0)
        >>> int(obs)
        341

    Args:
        env: an env with a one-dimensional ``Box`` observation space
        bins: the number of bins per dimension (one int for all, or one per dimension), each >= 1
        low: the lower bound per dimension; ``None`` takes the space's own, which must then be finite
        high: the upper bound per dimension; ``None`` takes the space's own, which must then be finite

    Raises:
        ValueError: for a non-Box or multi-dimensional space, bin counts below 1 or of the wrong length,
            infinite or missing bounds, or a ``low`` not below its ``high``
    """

    def __init__(
        self,
        env: gym.Env,
        bins: int | Sequence[int],
        low: Sequence[float] | None = None,
        high: Sequence[float] | None = None,
    ) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, bins=bins, low=low, high=high)
        gym.ObservationWrapper.__init__(self, env)
        space = env.observation_space
        if not isinstance(space, spaces.Box) or len(space.shape) != 1:
            raise ValueError(f"DiscretizeObservation needs a one-dimensional Box observation space, got {space}")
        n_dims = space.shape[0]
        self.bins = _bin_counts(bins, n_dims)
        self.low = _bounds("low", low, space.low, n_dims)
        self.high = _bounds("high", high, space.high, n_dims)
        if np.any(self.low >= self.high):
            raise ValueError(f"every low must be below its high, got low={self.low} and high={self.high}")
        _check_table_size(self.bins, env.action_space)
        self.observation_space = spaces.Discrete(int(np.prod(self.bins)))

    def observation(self, observation: np.ndarray) -> int:
        """The cell index of ``observation``."""
        fraction = (np.asarray(observation, dtype=np.float64) - self.low) / (self.high - self.low)
        cells = np.clip(np.floor(fraction * self.bins).astype(np.int64), 0, self.bins - 1)
        return int(np.ravel_multi_index(tuple(cells), tuple(self.bins)))


def _bin_counts(bins: int | Sequence[int], n_dims: int) -> np.ndarray:
    counts = np.full(n_dims, bins) if np.isscalar(bins) else np.asarray(bins)
    if counts.shape != (n_dims,) or not np.issubdtype(counts.dtype, np.integer) or np.any(counts < 1):
        raise ValueError(f"bins must be one integer >= 1 or {n_dims} of them (one per dimension), got {bins!r}")
    return counts.astype(np.int64)


def _check_table_size(bins: np.ndarray, action_space: spaces.Space) -> None:
    """Refuse bin counts whose Q-table would not fit in memory, before anything allocates it (counted in
    Python's integers: NumPy's int64 product of four 1e9s wraps around to a negative number)."""
    cells = math.prod(int(b) for b in bins)
    actions = int(action_space.n) if isinstance(action_space, spaces.Discrete) else 1
    size = cells * actions * 8
    if size > MAX_TABLE_BYTES:
        raise ValueError(
            f"bins {[int(b) for b in bins]} make {cells:,} cells: a Q-table of {size:,} bytes for {actions} "
            f"action{'s' * (actions != 1)}; the limit is {MAX_TABLE_BYTES:,} bytes"
        )


def _bounds(name: str, given: Sequence[float] | None, own: np.ndarray, n_dims: int) -> np.ndarray:
    values = np.asarray(own if given is None else given, dtype=np.float64)
    if values.shape != (n_dims,):
        raise ValueError(f"{name} must hold {n_dims} numbers (one per dimension), got {given!r}")
    if not np.all(np.isfinite(values)):
        source = "the observation space's" if given is None else "the given"
        raise ValueError(f"{name} must be finite; {source} {name} is {values}: pass explicit {name} bounds")
    return values
