"""Tabular Q-learning (Watkins & Dayan, 1992) written as a Stable-Baselines3 algorithm.

It subclasses SB3's ``BaseAlgorithm``, so it takes the same callbacks (``EvalCallback``, checkpoints),
logger, progress bar and zip save format as DQN or PPO, and ``train.py``/``enjoy.py`` never tell them
apart. The Q-table is a NumPy view of a tensor buffer of the policy: updates are plain NumPy, and SB3
saves the table with the policy's parameters.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, PyTorchObs, Schedule
from stable_baselines3.common.utils import LinearSchedule, safe_mean

__all__ = ["QLearning", "QTablePolicy"]

SelfQLearning = TypeVar("SelfQLearning", bound="QLearning")


class QTablePolicy(BasePolicy):
    """Acts greedily on a table of action values, one row per discrete observation.

    :param observation_space: a ``Discrete`` space (wrap Box envs in ``DiscretizeObservation``)
    :param action_space: a ``Discrete`` space
    :param initial_q: the value every entry starts at (optimism encourages exploration)
    """

    q_table: th.Tensor

    def __init__(self, observation_space: spaces.Space, action_space: spaces.Space, initial_q: float = 0.0) -> None:
        super().__init__(observation_space, action_space)
        if not isinstance(observation_space, spaces.Discrete) or not isinstance(action_space, spaces.Discrete):
            raise ValueError(
                f"tabular Q-learning needs Discrete observations and actions, got {observation_space} and "
                f"{action_space}; on Box observations add the 'discretize' env_wrapper"
            )
        table = th.full((int(observation_space.n), int(action_space.n)), float(initial_q), dtype=th.float64)
        self.register_buffer("q_table", table)
        self.initial_q = initial_q

    def _get_constructor_parameters(self) -> dict[str, Any]:
        return {**super()._get_constructor_parameters(), "initial_q": self.initial_q}

    def forward(self, obs: PyTorchObs, deterministic: bool = True) -> th.Tensor:
        return self._predict(obs, deterministic)

    def _predict(self, observation: PyTorchObs, deterministic: bool = True) -> th.Tensor:
        assert isinstance(observation, th.Tensor)
        return self.q_table[observation.long().reshape(-1)].argmax(dim=1)


class QLearning(BaseAlgorithm):
    """Tabular Q-learning with epsilon-greedy exploration, for discrete observations and actions.

    Paper: Watkins & Dayan, "Q-learning", Machine Learning 8, 1992.

    :param policy: ``"TabularPolicy"`` (or the class)
    :param env: the environment to learn from (a VecEnv of any size, or an id)
    :param learning_rate: the step size alpha, a float or a schedule of the remaining progress
    :param gamma: the discount factor
    :param exploration_fraction: fraction of training over which epsilon decays linearly
    :param exploration_initial_eps: epsilon at the start
    :param exploration_final_eps: epsilon after ``exploration_fraction`` of training
    :param stats_window_size: episodes averaged in the ``rollout/`` logs
    :param policy_kwargs: passed to the policy (``initial_q``)
    :param log_interval: dump the logs every this many episodes
    :param verbose: 0 quiet, 1 info
    :param seed: seeds the exploration generator and the envs
    :param device: kept for SB3's interface; the table lives on the CPU
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {"TabularPolicy": QTablePolicy}
    policy: QTablePolicy

    def __init__(
        self,
        policy: str | type[QTablePolicy],
        env: GymEnv | str,
        learning_rate: float | Schedule = 0.1,
        gamma: float = 0.99,
        exploration_fraction: float = 0.5,
        exploration_initial_eps: float = 1.0,
        exploration_final_eps: float = 0.01,
        stats_window_size: int = 100,
        policy_kwargs: dict[str, Any] | None = None,
        log_interval: int = 100,
        verbose: int = 0,
        seed: int | None = None,
        device: th.device | str = "cpu",
        _init_setup_model: bool = True,
    ) -> None:
        super().__init__(
            policy,
            env,
            learning_rate,
            policy_kwargs=policy_kwargs,
            stats_window_size=stats_window_size,
            verbose=verbose,
            device=device,
            support_multi_env=True,
            seed=seed,
            supported_action_spaces=(spaces.Discrete,),
        )
        self.gamma = gamma
        self.exploration_fraction = exploration_fraction
        self.exploration_initial_eps = exploration_initial_eps
        self.exploration_final_eps = exploration_final_eps
        self.log_interval = log_interval
        self.exploration_rate = exploration_initial_eps
        if _init_setup_model:
            self._setup_model()

    def _setup_model(self) -> None:
        self._setup_lr_schedule()
        self.set_random_seed(self.seed)
        self._rng = np.random.default_rng(self.seed)
        self.exploration_schedule = LinearSchedule(
            self.exploration_initial_eps, self.exploration_final_eps, self.exploration_fraction
        )
        self.policy = self.policy_class(  # type: ignore[assignment]
            self.observation_space, self.action_space, **self.policy_kwargs
        )

    def _excluded_save_params(self) -> list[str]:
        # The generator is rebuilt from ``seed`` on load, like SB3's other algorithms reseed.
        return [*super()._excluded_save_params(), "_rng", "exploration_schedule"]

    def predict(
        self,
        observation: np.ndarray | dict[str, np.ndarray],
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
        """Greedy actions, or epsilon-greedy at the current exploration rate when not deterministic."""
        actions, state = self.policy.predict(observation, state, episode_start, deterministic)
        if not deterministic:
            actions = np.asarray(actions)
            explore = self._rng.random(actions.shape) < self.exploration_rate
            random = self._rng.integers(int(self.action_space.n), size=actions.shape)  # type: ignore[attr-defined]
            actions = np.where(explore, random, actions)
        return actions, state

    def _act(self, q: np.ndarray, obs: np.ndarray) -> np.ndarray:
        greedy = q[obs].argmax(axis=1)
        explore = self._rng.random(len(obs)) < self.exploration_rate
        return np.where(explore, self._rng.integers(q.shape[1], size=len(obs)), greedy)

    def _update(self, q: np.ndarray, obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray, new_obs: np.ndarray,
                dones: np.ndarray, infos: list[dict[str, Any]]) -> None:  # fmt: skip
        """One Q-learning step per env; a time-limit cut bootstraps from the true last state."""
        next_obs = new_obs.copy()
        bootstrap = np.ones(len(obs))
        for i in np.flatnonzero(dones):
            if infos[i].get("TimeLimit.truncated", False):
                next_obs[i] = infos[i]["terminal_observation"]
            else:
                bootstrap[i] = 0.0
        alpha = self.lr_schedule(self._current_progress_remaining)
        target = rewards + self.gamma * bootstrap * q[next_obs].max(axis=1)
        q[obs, actions] += alpha * (target - q[obs, actions])

    def learn(
        self: SelfQLearning,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int | None = None,
        tb_log_name: str = "QLearning",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfQLearning:
        """Learn for ``total_timesteps`` env steps (all envs counted), calling ``callback`` every step."""
        total_timesteps, cb = self._setup_learn(
            total_timesteps, callback, reset_num_timesteps, tb_log_name, progress_bar
        )
        cb.on_training_start(locals(), globals())
        self._run(total_timesteps, cb, log_interval or self.log_interval)
        cb.on_training_end()
        return self

    def _run(self, total_timesteps: int, callback: BaseCallback, log_interval: int) -> None:
        assert self.env is not None
        q = self.policy.q_table.numpy()  # a view: updates land in the saved buffer
        obs = np.asarray(self._last_obs).astype(np.int64)
        while self.num_timesteps < total_timesteps:
            self._update_current_progress_remaining(self.num_timesteps, total_timesteps)
            self.exploration_rate = self.exploration_schedule(self._current_progress_remaining)
            actions = self._act(q, obs)
            new_obs, rewards, dones, infos = self.env.step(actions)
            new_obs = np.asarray(new_obs).astype(np.int64)
            self.num_timesteps += self.env.num_envs
            self._update(q, obs, actions, rewards, new_obs, dones, infos)
            self._update_info_buffer(infos, dones)
            callback.update_locals(locals())
            if not callback.on_step():
                break
            obs = new_obs
            for _ in np.flatnonzero(dones):
                self._episode_num += 1
                if self._episode_num % log_interval == 0:
                    self.dump_logs()
        self._last_obs = obs

    def dump_logs(self) -> None:
        """Write episode statistics, exploration rate and speed to the logger."""
        elapsed = max((time.time_ns() - self.start_time) / 1e9, 1e-9)
        self.logger.record("time/episodes", self._episode_num, exclude="tensorboard")
        self.logger.record("time/fps", int((self.num_timesteps - self._num_timesteps_at_start) / elapsed))
        self.logger.record("time/total_timesteps", self.num_timesteps, exclude="tensorboard")
        if self.ep_info_buffer:
            self.logger.record("rollout/ep_rew_mean", safe_mean([ep["r"] for ep in self.ep_info_buffer]))
            self.logger.record("rollout/ep_len_mean", safe_mean([ep["l"] for ep in self.ep_info_buffer]))
        self.logger.record("rollout/exploration_rate", self.exploration_rate)
        self.logger.dump(step=self.num_timesteps)
