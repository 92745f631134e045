"""Recurrent agents and the partially observed CartPole they need."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch as th

from polebench.agents.recurrent import GRUWithLSTMState, SequencePPO
from polebench.envs.factory import make_vec
from polebench.envs.registration import register_envs

TINY = {"n_steps": 16, "batch_size": 32, "n_epochs": 1,
        "policy_kwargs": {"lstm_hidden_size": 8, "net_arch": {"pi": [8], "vf": [8]}}}  # fmt: skip


@pytest.fixture(autouse=True)
def _registered() -> None:
    register_envs()


def test_no_velocity_observations_are_cartpole_with_the_velocities_zeroed() -> None:
    """rl-baselines3-zoo's CartPoleNoVel-v1: the same four values, indices 1 and 3 zeroed, step by step."""
    full, partial = gym.make("CartPole-v1"), gym.make("CartPoleNoVel-v1")
    a, _ = full.reset(seed=3)
    b, _ = partial.reset(seed=3)
    assert partial.observation_space == full.observation_space
    assert partial.spec is not None and partial.spec.reward_threshold == 475.0 and partial.spec.max_episode_steps == 500
    rng = np.random.default_rng(0)
    for _ in range(30):
        np.testing.assert_array_equal(b, a * np.array([1, 0, 1, 0], dtype=np.float32))
        action = int(rng.integers(2))
        a, ra, done_a, trunc_a, _ = full.step(action)
        b, rb, done_b, trunc_b, _ = partial.step(action)
        assert (ra, done_a, trunc_a) == (rb, done_b, trunc_b)
        if done_a:
            break


def test_register_envs_is_idempotent() -> None:
    register_envs()
    register_envs()
    assert "CartPoleNoVel-v1" in gym.registry


def _gru_model(env_id: str = "CartPoleNoVel-v1", n_envs: int = 2) -> SequencePPO:
    return SequencePPO("MlpGruPolicy", make_vec(env_id, n_envs, seed=0), seed=0, device="cpu", **TINY)


def test_gru_replaces_every_lstm_and_is_optimised() -> None:
    policy = _gru_model().policy
    assert isinstance(policy.lstm_actor, GRUWithLSTMState) and isinstance(policy.lstm_critic, GRUWithLSTMState)
    assert not any(isinstance(m, th.nn.LSTM) and not isinstance(m, th.nn.GRU) for m in policy.modules())
    optimised = {id(p) for group in policy.optimizer.param_groups for p in group["params"]}
    assert all(id(p) in optimised for p in policy.lstm_actor.parameters())


@pytest.mark.parametrize(("env_id", "n_actions"), [("CartPoleNoVel-v1", 2), ("CartPole-v1", 2), ("Acrobot-v1", 3)])
def test_gru_shapes(env_id: str, n_actions: int) -> None:
    model = _gru_model(env_id, n_envs=3)
    obs = model.get_env().reset()  # type: ignore[union-attr]
    actions, state = model.predict(obs, state=None, episode_start=np.ones(3, dtype=bool), deterministic=True)
    assert actions.shape == (3,) and set(actions) <= set(range(n_actions))
    hidden, cell = state
    assert hidden.shape == (1, 3, 8) and cell.shape == (1, 3, 8)
    assert np.all(cell == 0)  # the GRU leaves the LSTM-shaped cell slot untouched


def test_gru_forgets_at_episode_start() -> None:
    policy = _gru_model().policy
    features = th.randn(4, 4)  # 2 sequences of 2 steps of 4 features, flattened as sb3-contrib lays them out
    warm = (th.randn(1, 2, 8), th.zeros(1, 2, 8))
    cold = (th.zeros(1, 2, 8), th.zeros(1, 2, 8))
    starts = th.tensor([1.0, 0.0, 1.0, 0.0])
    with th.no_grad():
        out_warm, _ = policy._process_sequence(features, warm, starts, policy.lstm_actor)
        out_cold, _ = policy._process_sequence(features, cold, starts, policy.lstm_actor)
        out_kept, _ = policy._process_sequence(features, warm, th.zeros(4), policy.lstm_actor)
    th.testing.assert_close(out_warm, out_cold)  # the old state was wiped
    assert not th.allclose(out_kept, out_cold)  # and without the flag it is not


@pytest.mark.parametrize("policy_name", ["MlpLstmPolicy", "MlpGruPolicy"])
def test_whole_sequence_path_equals_sb3_contribs_step_by_step_loop(policy_name: str) -> None:
    """Training minibatches from a real rollout (episode starts at sequences' first steps) give the same
    log-probabilities, values and entropies as sb3-contrib's own loop; and a start in mid-sequence, which
    the fast path cannot take, falls back to that loop."""
    from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy

    model = SequencePPO(policy_name, make_vec("CartPoleNoVel-v1", 4, seed=0), seed=0, device="cpu", **TINY)
    model.learn(200)  # short episodes: most sequences in the buffer begin one
    policy, loop = model.policy, RecurrentActorCriticPolicy._process_sequence
    batches = list(model.rollout_buffer.get(32))
    assert any(bool(batch.episode_starts.any()) for batch in batches)
    for batch in batches:
        inputs = (batch.observations, batch.actions, batch.lstm_states, batch.episode_starts)
        with th.no_grad():
            fast = policy.evaluate_actions(*inputs)
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(type(policy), "_process_sequence", staticmethod(loop))
                slow = policy.evaluate_actions(*inputs)
        for a, b in zip(fast, slow, strict=True):
            th.testing.assert_close(a, b)
    features, states = th.randn(6, 4), (th.randn(1, 2, 8), th.randn(1, 2, 8))
    mid = th.tensor([0.0, 1.0, 0.0, 0.0, 0.0, 1.0])  # starts in the middle of both sequences
    th.testing.assert_close(
        policy._process_sequence(features, states, mid, policy.lstm_actor)[0],
        loop(features, states, mid, policy.lstm_actor)[0],
    )


@pytest.mark.parametrize("algo_cls_name", ["ppo_lstm", "ppo_gru"])
def test_save_load_same_actions_over_a_sequence(algo_cls_name: str, tmp_path: Path) -> None:
    from polebench.agents.registry import get_algo

    spec = get_algo(algo_cls_name)
    cls = spec.load_class()
    env = make_vec("CartPoleNoVel-v1", 1, seed=0)
    model = cls(spec.policy, env, seed=0, device="cpu", **TINY)
    model.learn(64)
    model.save(tmp_path / "model.zip")
    loaded = cls.load(tmp_path / "model.zip", device="cpu")
    sequence = np.random.default_rng(1).normal(0, 0.1, size=(25, 1, 4)).astype(np.float32)
    runs = []
    for agent in (model, loaded):
        state, start, actions = None, np.ones(1, dtype=bool), []
        for obs in sequence:
            action, state = agent.predict(obs, state=state, episode_start=start, deterministic=True)
            start = np.zeros(1, dtype=bool)
            actions.append(int(action[0]))
        runs.append(actions)
    assert runs[0] == runs[1]
