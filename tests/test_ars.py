"""ARS scores its candidates by the rewards it trains on, so a shaped reward reaches it, and plays them side by
side on several sub-envs as each would play alone."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from sb3_contrib import ARS as ContribARS
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv

from polebench.agents.ars import ARS


def _no_reward_but_monitored() -> DummyVecEnv:
    # The Monitor inside, as polebench puts it under a shaped reward: it records the true return (the
    # episode's length on CartPole) while every step's reward, the "shaped" one, is zero.
    return DummyVecEnv([lambda: gym.wrappers.TransformReward(Monitor(gym.make("CartPole-v1")), lambda r: 0.0)])


def _candidate_returns(cls: type[ContribARS]) -> tuple[th.Tensor, ContribARS]:
    model = cls("LinearPolicy", _no_reward_but_monitored(), n_delta=2, seed=0)
    _, callback = model._setup_learn(1000, None)
    assert model.weights is not None  # made by the constructor
    candidates = model.weights.repeat(model.pop_size, 1)
    return model.evaluate_candidates(candidates, callback, None), model


def test_candidates_are_scored_by_the_rewards_of_their_steps() -> None:
    ours, model = _candidate_returns(ARS)
    theirs, _ = _candidate_returns(ContribARS)
    assert th.all(ours == 0.0), ours  # the rewards the steps received
    assert th.all(theirs > 0.0), theirs  # sb3-contrib's own reads the Monitor's true return
    env = model.get_env()
    assert env is model.env and env is not None and env.env_is_wrapped(Monitor) == [True]  # the view is gone after


class _Calls(BaseCallback):
    def _on_step(self) -> bool:
        return True


def _seeded(n_envs: int, env_id: str, seed: int) -> DummyVecEnv:
    venv = DummyVecEnv([lambda: Monitor(gym.make(env_id))] * n_envs)
    venv.seed(seed)
    return venv


@pytest.mark.parametrize(
    ("env_id", "policy"),
    [("CartPole-v1", "LinearPolicy"), ("Pendulum-v1", "LinearPolicy"), ("Pendulum-v1", "MlpPolicy")],
)
def test_side_by_side_each_candidate_scores_as_it_does_alone(env_id: str, policy: str) -> None:
    # Sub-env i of a VecEnv seeded 7 starts from seed 7 + i: candidate i played there, beside the others,
    # must return what it returns alone on an env seeded 7 + i (discrete actions, continuous ones clipped by
    # the linear policy and squashed by the MLP).
    model = ARS(policy, _seeded(8, env_id, 0), n_delta=4, seed=0)
    _, callback = model._setup_learn(100_000, _Calls())
    assert model.weights is not None and model.env is not None
    model.env.seed(7)  # for the next reset: _setup_learn has made its own
    noise = th.randn(model.pop_size, model.n_params, generator=th.Generator().manual_seed(0))
    candidates = model.weights + 0.5 * noise
    scores = model.evaluate_candidates(candidates, callback, None)
    alone = []
    for i, weights in enumerate(candidates):
        model.policy.load_from_vector(weights)
        rewards, _ = evaluate_policy(model.policy, _seeded(1, env_id, 7 + i), 1, return_episode_rewards=True)
        alone.append(rewards[0])
    assert scores.tolist() == pytest.approx(alone), (scores, alone)
    assert len(set(alone)) > 1, alone  # the candidates differ, so a mix-up of rows would show


def test_side_by_side_counts_the_steps_of_its_episodes_and_calls_back_once_per_n_envs() -> None:
    # A population of 8 on 3 sub-envs: three groups, the last with one sub-env playing nobody's episode.
    model = ARS("LinearPolicy", _seeded(3, "CartPole-v1", 0), n_delta=4, seed=0)
    calls = _Calls()
    _, callback = model._setup_learn(100_000, calls)
    assert model.weights is not None
    candidates = model.weights + 0.5 * th.randn(model.pop_size, model.n_params, generator=th.Generator().manual_seed(1))
    model.evaluate_candidates(candidates, callback, None)
    lengths = [int(info["l"]) for info in model.ep_info_buffer]
    assert len(lengths) == model.pop_size
    assert model.num_timesteps == sum(lengths)
    assert calls.n_calls == sum(lengths) // 3


class _Counter(gym.Env):
    """Observes its step count and pays the action it is given, for 5 steps: a candidate's score depends on
    its weights alone, whichever sub-env plays it and whatever was played before."""

    observation_space = spaces.Box(-10.0, 10.0, (2,), dtype=np.float32)
    action_space = spaces.Discrete(3)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.t = 0
        return np.array([1.0, 0.0], dtype=np.float32), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.t += 1
        return np.array([1.0, self.t], dtype=np.float32), float(action), False, self.t >= 5, {}


def test_side_by_side_scores_every_group_with_several_episodes_and_the_alive_bonus() -> None:
    # 8 candidates on 3 sub-envs (groups of 3, 3 and 2), 2 episodes each, 0.5 added per step survived.
    model = ARS("LinearPolicy", DummyVecEnv([_Counter] * 3), n_delta=4, n_eval_episodes=2, alive_bonus_offset=0.5)
    _, callback = model._setup_learn(100_000, _Calls())
    assert model.weights is not None
    candidates = model.weights + 2.0 * th.randn(model.pop_size, model.n_params, generator=th.Generator().manual_seed(2))
    scores = model.evaluate_candidates(candidates, callback, None)
    alone = []
    for weights in candidates:
        model.policy.load_from_vector(weights)
        rewards, lengths = evaluate_policy(
            model.policy, DummyVecEnv([_Counter]), 2, return_episode_rewards=True, warn=False
        )
        alone.append(sum(rewards) + 0.5 * sum(lengths))
    assert scores.tolist() == pytest.approx(alone), (scores, alone)
    assert len(set(alone)) > 2, alone
