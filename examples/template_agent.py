"""A template for an agent of your own: copy this file, rename the class, replace the learning.

    python train.py --algo examples.template_agent:HillClimber --env CartPole-v1
    python enjoy.py --algo examples.template_agent:HillClimber --env CartPole-v1 --no-render
    python benchmark.py --algos examples.template_agent:HillClimber ppo --seeds 2

As written it is a whole (small) learner, so the commands above work before you change a line: a linear
policy (an action's score is a weighted sum of the observation) improved by hill climbing, the simplest
search there is. polebench checks the four methods below when it loads the class, tries them once before
training (predict on real observations, a save and a load) and lists every problem in one line.

What polebench needs, and nothing more (the contract: ``polebench.agents.plugins.Agent``):

- ``__init__(policy, env, seed=None, verbose=0, **hyperparams)``: ``env`` is an SB3 ``VecEnv`` of
  ``env.num_envs`` copies; ``--hyperparams key=value`` and ``--conf-file`` arrive as keywords, over
  ``default_hyperparams``; a schedule such as ``lin_1e-3`` arrives as a function of the progress left
  (``polebench.agents.plugins.value_at`` reads a number or a schedule alike).
- ``learn(total_timesteps, callback=None)``: step the env, and call ``callback.on_step()`` after every
  step, stopping when it returns ``False``: that gives evaluations, early stops, checkpoints, Ctrl-C.
- ``predict(observation, state=None, episode_start=None, deterministic=False)``: a batch of
  observations (one row per sub-env) in, ``(actions, state)`` out, one action per row.
- ``save(path)`` writes exactly ``path``; ``load(path, env=None)`` is a ``@classmethod`` that reads it.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np


class HillClimber:
    """A linear policy for discrete actions, improved by hill climbing: try the best weights plus noise
    for ``episodes_per_try`` episodes, keep them if they did at least as well.

    :param noise: the scale of the random change tried each time
    :param episodes_per_try: episodes (over all sub-envs) that judge one try
    """

    # What no file or flag names: the budget too (there is no shipped YAML for an agent of your own).
    default_hyperparams: ClassVar[dict[str, Any]] = {"n_timesteps": 20_000, "n_envs": 4}

    def __init__(
        self,
        policy: Any,
        env: Any,
        seed: int | None = None,
        verbose: int = 0,
        noise: float = 0.5,
        episodes_per_try: int = 4,
    ) -> None:
        self.env, self.noise, self.episodes_per_try = env, float(noise), int(episodes_per_try)
        self.rng = np.random.default_rng(seed)
        self.num_timesteps = 0
        # One score per action: a weighted sum of the observation. A loaded agent reads its weights from the file.
        sizes = (env.observation_space.shape[0], env.action_space.n) if env is not None else (0, 0)
        self.weights: np.ndarray = np.zeros(sizes)
        self.best_return = -np.inf

    def learn(self, total_timesteps: int, callback: Any = None) -> HillClimber:
        trying = self.weights + self.noise * self.rng.standard_normal(self.weights.shape)
        returns: list[float] = []
        observation = self.env.reset()
        for _ in range(0, total_timesteps, self.env.num_envs):
            observation, _, _, infos = self.env.step(self._act(trying, observation))
            self.num_timesteps += self.env.num_envs
            # SB3's Monitor puts the true return of every finished episode in its info.
            returns += [info["episode"]["r"] for info in infos if "episode" in info]
            if len(returns) >= self.episodes_per_try:
                if np.mean(returns) >= self.best_return:
                    self.weights, self.best_return = trying, float(np.mean(returns))
                trying = self.weights + self.noise * self.rng.standard_normal(self.weights.shape)
                returns = []
            if callback is not None and callback.on_step() is False:
                break
        return self

    def predict(
        self, observation: np.ndarray, state: Any = None, episode_start: Any = None, deterministic: bool = False
    ) -> tuple[np.ndarray, Any]:
        return self._act(self.weights, observation), state

    def save(self, path: str) -> None:
        with open(path, "wb") as file:  # exactly `path`: np.save(path) would add .npy to the name
            np.save(file, self.weights)

    @classmethod
    def load(cls, path: str, env: Any = None) -> HillClimber:
        agent = cls(None, None)
        with open(path, "rb") as file:
            agent.weights = np.load(file)
        agent.env = env
        return agent

    @staticmethod
    def _act(weights: np.ndarray, observation: np.ndarray) -> np.ndarray:
        return np.argmax(np.atleast_2d(observation) @ weights, axis=1)
