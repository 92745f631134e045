"""sb3-contrib's Augmented Random Search, scoring each candidate by the reward it is trained on, and
playing the candidates side by side when it trains on several envs.

ARS (Mania et al. 2018) perturbs a policy's weights in random directions, plays each perturbed policy
deterministically and steps towards the directions whose episodes returned the most. sb3-contrib scores
an episode with SB3's ``evaluate_policy``, which reads the return from the ``Monitor`` whenever the env
has one. polebench keeps the ``Monitor`` inside a shaped reward so that it always reports the true return
(:mod:`polebench.wrappers.shaped_reward`); read from there, ARS would optimise the true return and
ignore ``shaped_reward`` without a word. :class:`ARS` hides the ``Monitor`` from that one call, so a
candidate's score is the sum of the rewards its steps received, as PPO and DQN learn from them; without
shaping the two are the same.

sb3-contrib plays one candidate at a time, on every sub-env of its VecEnv (with one episode to play, all
but one of them step for nothing). With ``n_envs > 1`` :class:`ARS` gives each sub-env a candidate of
its own instead and plays ``n_envs`` candidates at once, through one batched forward pass
(``torch.func.vmap``); each candidate scores exactly as it would alone on its sub-env. It is faster
because a step of a small policy costs far more in Python and PyTorch overhead than in arithmetic
(docs/balance.md has the figures). No library plays several policies side by side in one VecEnv,
hence the loop here.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from sb3_contrib import ARS as ContribARS
from sb3_contrib.common.vec_env import AsyncEval
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.utils import obs_as_tensor
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper
from torch.func import functional_call, vmap

__all__ = ["ARS", "StepRewards", "batched_policy"]


class StepRewards(VecEnvWrapper):
    """A VecEnv that says it has no ``Monitor``, so ``evaluate_policy`` sums the rewards of the steps.

    Example:
        >>> import gymnasium as gym
        >>> from stable_baselines3.common.vec_env import DummyVecEnv
        >>> venv = DummyVecEnv([lambda: Monitor(gym.make("CartPole-v1"))])
        >>> venv.env_is_wrapped(Monitor), StepRewards(venv).env_is_wrapped(Monitor)
        ([True], [False])
    """

    def reset(self) -> Any:
        return self.venv.reset()

    def step_wait(self) -> Any:
        return self.venv.step_wait()

    def env_is_wrapped(self, wrapper_class: type, indices: Any = None) -> list[bool]:
        found = self.venv.env_is_wrapped(wrapper_class, indices)
        return [False] * len(found) if issubclass(wrapper_class, Monitor) else found


def batched_policy(policy: BasePolicy) -> Callable[[th.Tensor, th.Tensor], th.Tensor]:
    """``policy``'s forward pass for many weight vectors at once. ``policy`` itself is left as it was.

    Args:
        policy: an SB3 policy whose parameters are all its weights (ARS's ``LinearPolicy`` and ``MlpPolicy``)

    Returns:
        ``f(weights, obs)``: given one flat weight vector per row (the layout of ``policy.load_from_vector``)
        and one observation per row, the action of row ``i``'s weights on row ``i``'s observation

    Example (the first row's weights act on the first observation, the second's on the second):
        >>> import gymnasium as gym
        >>> from sb3_contrib.ars.policies import ARSLinearPolicy
        >>> env = gym.make("CartPole-v1")
        >>> policy = ARSLinearPolicy(env.observation_space, env.action_space)
        >>> push_right = th.tensor([0.0, 0, 0, 0, 0, 0, 1, 0])  # action 1's logit is the pole's angle
        >>> act = batched_policy(policy)
        >>> act(th.stack([push_right, -push_right]), th.tensor([[0, 0, 0.1, 0], [0, 0, 0.1, 0]])).tolist()
        [1, 0]
    """
    shapes = [(name, param.shape) for name, param in policy.named_parameters()]
    sizes = [param.numel() for param in policy.parameters()]

    def one(weights: th.Tensor, obs: th.Tensor) -> th.Tensor:
        params = {name: part.view(shape) for (name, shape), part in zip(shapes, th.split(weights, sizes), strict=True)}
        return functional_call(policy, params, (obs.unsqueeze(0),)).squeeze(0)

    return vmap(one)


class ARS(ContribARS):
    """sb3-contrib's ``ARS`` whose candidates are scored by the (possibly shaped) rewards of their steps,
    ``n_envs`` candidates at a time when the env has ``n_envs`` sub-envs.

    Takes the same arguments as ``sb3_contrib.ARS``. With one sub-env it plays the candidates one after
    another as sb3-contrib does; with more (at most ``2 * n_delta``, one per candidate), each candidate
    plays its ``n_eval_episodes`` on a sub-env of its own. The callbacks are then called once per
    ``n_envs`` counted env steps, as SB3's on-policy algorithms call them once per VecEnv step of
    ``n_envs`` steps, so an ``eval_freq`` divided by ``n_envs`` keeps its meaning. A sub-env that has
    played its candidate's episodes steps on until the group is done, uncounted: the ``Monitor`` lists
    those episodes too and ``VecNormalize``'s statistics see them (about 5% more steps than counted in a
    ``recipe-ars`` run). Multiprocess evaluation (``async_eval``) scores as sb3-contrib does, and its
    workers' envs would need polebench's normalisation
    (:func:`polebench.wrappers.normalization.vec_normalize`) for ``center_obs: false`` to hold there.
    """

    _trained_on: VecEnv | None = None
    _steps_unreported = 0  # env steps played since the callbacks were last called (side by side)

    def _setup_model(self) -> None:
        super()._setup_model()
        if self.env is not None and self.env.num_envs > self.pop_size:
            envs, candidates = self.env.num_envs, self.pop_size
            raise ValueError(
                f"n_envs {envs} is more than ARS's {candidates} candidates (2 x n_delta {self.n_delta}), one per "
                f"sub-env: give n_envs at most {candidates}"
            )

    def evaluate_candidates(
        self, candidate_weights: th.Tensor, callback: BaseCallback, async_eval: AsyncEval | None
    ) -> th.Tensor:
        trained_on = self.env
        assert isinstance(trained_on, VecEnv)  # set by SB3 before learn() runs
        if async_eval is None and trained_on.num_envs > 1:
            return self._side_by_side(candidate_weights, callback)
        self.env, self._trained_on = StepRewards(trained_on), trained_on
        try:
            return super().evaluate_candidates(candidate_weights, callback, async_eval)
        finally:
            self.env, self._trained_on = trained_on, None

    def _side_by_side(self, candidate_weights: th.Tensor, callback: BaseCallback) -> th.Tensor:
        """Every candidate's score, ``n_envs`` candidates playing at once (sb3-contrib's bookkeeping kept:
        the alive bonus offset, the episode log, the rollout callbacks)."""
        assert self.env is not None
        n_envs = self.env.num_envs
        act = batched_policy(self.policy)
        scores = th.zeros(self.pop_size, device=self.device)
        self.ep_info_buffer = deque()  # as sb3-contrib's list: all of this update's candidates, and only them
        callback.on_rollout_start()
        for first in range(0, self.pop_size, n_envs):
            group = candidate_weights[first : first + n_envs]
            for i, (rewards, lengths) in enumerate(self._play_group(group, act, callback)):
                scores[first + i] = sum(rewards) + self.alive_bonus_offset * sum(lengths)
                self._mimic_monitor_wrapper(np.array(rewards), np.array(lengths))
        callback.on_rollout_end()
        return scores

    def _play_group(
        self, group: th.Tensor, act: Callable[[th.Tensor, th.Tensor], th.Tensor], callback: BaseCallback
    ) -> list[tuple[list[float], list[int]]]:
        """The rewards and lengths of each candidate's episodes, candidate ``i`` on sub-env ``i``."""
        env = self.env
        assert env is not None
        n_envs, n_candidates = env.num_envs, len(group)
        # Sub-envs without a candidate of their own (the last group, when n_envs does not divide the
        # population) play the first candidate again, uncounted: a VecEnv steps all its sub-envs.
        weights = th.cat([group, group[:1].expand(n_envs - n_candidates, -1)])
        targets = np.where(np.arange(n_envs) < n_candidates, self.n_eval_episodes, 0)
        counts = np.zeros(n_envs, dtype=int)
        running_reward, running_length = np.zeros(n_envs), np.zeros(n_envs, dtype=int)
        played: list[tuple[list[float], list[int]]] = [([], []) for _ in range(n_candidates)]
        obs = env.reset()
        while (counts < targets).any():
            with th.no_grad():
                actions = act(weights, obs_as_tensor(obs, self.device))  # type: ignore[arg-type]
            obs, rewards, dones, _ = env.step(self._env_actions(actions))
            playing = counts < targets
            running_reward += rewards
            running_length += 1
            for i in np.flatnonzero(dones & playing):
                played[i][0].append(float(running_reward[i]))
                played[i][1].append(int(running_length[i]))
                counts[i] += 1
            running_reward[dones], running_length[dones] = 0.0, 0
            # A sub-env that has played its episodes steps on until the group is done, uncounted.
            self.num_timesteps += int(playing.sum())
            self._steps_unreported += int(playing.sum())
            while self._steps_unreported >= n_envs:
                self._steps_unreported -= n_envs
                callback.on_step()
        return played

    def _env_actions(self, actions: th.Tensor) -> np.ndarray:
        """The policy's actions as the env takes them, as ``BasePolicy.predict`` hands them over."""
        chosen = actions.cpu().numpy().reshape((-1, *(self.action_space.shape or ())))
        if isinstance(self.action_space, spaces.Box):
            if self.policy.squash_output:
                return self.policy.unscale_action(chosen)
            return np.clip(chosen, self.action_space.low, self.action_space.high)
        return chosen

    def _excluded_save_params(self) -> list[str]:
        # A model saved by a callback during an evaluation must not try to pickle the env it trains on, and
        # the steps not yet reported to the callbacks belong to the learn() call that played them.
        return [*super()._excluded_save_params(), "_trained_on", "_steps_unreported"]

    def get_env(self) -> VecEnv | None:
        # Callbacks running inside the evaluation (the periodic evaluation syncs its observation
        # normalisation layer by layer) see the env the model trains on, not the scoring view of it.
        return self._trained_on if self._trained_on is not None else super().get_env()
