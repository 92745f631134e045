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
    deterministic: bool = True,
    *,
    on_frame: Callable[[np.ndarray], Any] | None = None,
    on_step: Callable[[np.ndarray, np.ndarray, np.ndarray], Any] | None = None,
    on_episode: Callable[[Episodes], Any] | None = None,
    max_steps: int | None = None,
    until: Callable[[Episodes], bool] | None = None,
) -> Episodes:
    """Play ``n_episodes`` episodes of ``model`` (anything with SB3's ``predict``) on the vectorised ``env``,
    every sub-env inside SB3's ``Monitor``, so the returns are the true ones.

    The episodes are shared out as SB3's ``evaluate_policy`` shares them (sub-env ``i`` plays
    ``(n_episodes + i) // n_envs``) and kept in the order they end, so an evaluation made here is the very
    one ``evaluate_policy`` makes; this loop is ours because it also hands each rendered frame to
    ``on_frame`` (a video writer: memory stays flat however long the recording), each step's observations,
    actions and episode starts to ``on_step`` (the export's agreement check), and the episodes so far to
    ``on_episode`` as each one ends. ``max_steps`` stops after that many steps of the vectorised env, episodes
    finished or not; ``until`` stops as soon as it says yes to the episodes so far (a judge that has seen
    enough).
    """
    n_envs = env.num_envs
    targets = np.array([(n_episodes + i) // n_envs for i in range(n_envs)], dtype=int)
    counts = np.zeros(n_envs, dtype=int)
    played = Episodes()
    obs = env.reset()
    state = None
    starts = np.ones(n_envs, dtype=bool)
    steps = 0
    while (counts < targets).any() and (max_steps is None or steps < max_steps):
        if on_frame is not None:
            on_frame(env.render())
        actions, state = model.predict(obs, state=state, episode_start=starts, deterministic=deterministic)
        if on_step is not None:
            on_step(obs, actions, starts.copy())
        obs, _, dones, infos = env.step(actions)
        steps += 1
        for i in np.flatnonzero(counts < targets):
            starts[i] = dones[i]
            if dones[i] and "episode" in infos[i]:
                played.keep(infos[i])
                counts[i] += 1
                if on_episode is not None:
                    on_episode(played)
                if until is not None and until(played):
                    return played
    return played
