"""Whole episodes of a model, and what they were: the loop that replay, clips and the trajectory kept with
each run play, and the one result type of every episode played (evaluations too).

The loop passes the hidden state and ``episode_start`` to every ``predict``, as SB3's ``evaluate_policy``
does: feed-forward agents ignore them, recurrent ones need them, and nothing here asks which kind it has.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def mean_quality(episodes: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """The mean of each metric over the episodes that report it (rounded for reading).

    Example:
        >>> mean_quality([{"a": 1.0, "b": 2.0}, {"a": 2.0, "b": 4.0}])
        {'a': 1.5, 'b': 3.0}
    """
    names = list(dict.fromkeys(name for episode in episodes for name in episode))
    return {name: round(float(np.mean([e[name] for e in episodes if name in e])), 4) for name in names}


@dataclass
class Episodes:
    """True returns and lengths of the episodes played, their behaviour metrics and, when the env keeps
    them, their trajectories (``{"states": ..., "actions": ...}``), in the order they ended."""

    returns: list[float] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    quality: list[dict[str, float]] = field(default_factory=list)
    trajectories: list[dict[str, np.ndarray]] = field(default_factory=list)

    @property
    def mean_return(self) -> float:
        return float(np.mean(self.returns)) if self.returns else float("nan")

    @property
    def mean_quality(self) -> dict[str, float]:
        return mean_quality(self.quality)

    def keep(self, info: Mapping[str, Any]) -> None:
        """Add the episode that ``info`` ends (SB3's ``Monitor`` wrote its true return and length there)."""
        self.returns.append(float(info["episode"]["r"]))
        self.lengths.append(int(info["episode"]["l"]))
        self.quality.append(dict(info.get("quality", {})))
        if "trajectory" in info:
            self.trajectories.append(info["trajectory"])


def play(
    model: Any,
    env: Any,
    n_episodes: int,
    deterministic: bool,
    on_frame: Callable[[np.ndarray], Any] | None = None,
    on_episode: Callable[[Episodes], Any] | None = None,
) -> Episodes:
    """Play ``n_episodes`` episodes of ``model`` in the first sub-env of the vectorised ``env``; the returns
    come from SB3's ``Monitor``, so they are the true ones.

    Each rendered frame goes straight to ``on_frame`` (a video writer), so memory stays flat however long
    the recording; ``on_episode`` sees the episodes so far each time one ends (replay prints it).
    """
    played = Episodes()
    obs = env.reset()
    state = None
    episode_start = np.ones((env.num_envs,), dtype=bool)
    while len(played.returns) < n_episodes:
        if on_frame is not None:
            on_frame(env.render())
        action, state = model.predict(obs, state=state, episode_start=episode_start, deterministic=deterministic)
        obs, _, dones, infos = env.step(action)
        episode_start = dones
        if dones[0]:
            played.keep(infos[0])
            if on_episode is not None:
                on_episode(played)
    return played
