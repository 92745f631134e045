"""ARS scores its candidates by the rewards it trains on, so a shaped reward reaches it."""

from __future__ import annotations

import gymnasium as gym
import torch as th
from sb3_contrib import ARS as ContribARS
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
