"""Balancing like the controller: "balanced" beside "solved", the final evaluation's episodes and success
rate, training under perturbations (training envs only), and what the configuration digest records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from polebench.config.run_config import RunConfig
from polebench.envs.families import CARTPOLE, LQR_MEAN_ABS_X_M, LQR_RMS_POLE_ANGLE_DEG, family_of_id
from polebench.run.callbacks import BalanceTracker
from polebench.run.plan import make_plan
from polebench.run.session import make_envs
from polebench.run.training import train
from polebench.wrappers.perturbations import Push, RandomLevel

STILL = {"rms_pole_angle_deg": 0.3, "mean_abs_cart_position_m": 0.05}


@pytest.mark.parametrize("seed", [0, 3])
def test_the_lqr_meets_its_own_balance_target(tmp_path: Path, seed: int) -> None:
    summary = train(RunConfig(algo="lqr", seed=seed, log_folder=tmp_path, stop_on_balance=True, verbose=0))
    assert summary.balanced is True and summary.steps_to_balance == 0 and summary.time_to_balance_s is not None
    assert summary.final_eval_episodes == 100 and summary.final_success_rate == 1.0
    target = CARTPOLE.balance
    assert target is not None and target.met_by(summary.quality)
    # The figures the target is relative to are the LQR's own, within the spread of fresh episodes.
    assert summary.quality["rms_pole_angle_deg"] == pytest.approx(LQR_RMS_POLE_ANGLE_DEG, rel=0.1)
    assert summary.quality["mean_abs_cart_position_m"] == pytest.approx(LQR_MEAN_ABS_X_M, rel=0.15)


def test_balanced_is_the_first_evaluation_both_solved_and_within_the_target() -> None:
    tracker = BalanceTracker(CARTPOLE.balance, 475.0, stop_on_balance=False, started_at=0.0)
    script = [
        (2500, 300.0, STILL),  # still, but not solved
        (5000, 500.0, {**STILL, "rms_pole_angle_deg": 1.0}),  # solved, pole too restless
        (7500, 500.0, {**STILL, "mean_abs_cart_position_m": 0.3}),  # solved, cart drifts
        (10000, 500.0, {"rms_pole_angle_deg": 0.3}),  # a metric missing: not judged balanced
        (12500, 490.0, STILL),  # the first balanced evaluation
        (15000, 500.0, STILL),
    ]
    verdicts = [tracker.observe(steps, mean, quality) for steps, mean, quality in script]
    assert verdicts == [True] * 6  # without --stop-on-balance training goes on
    assert tracker.balanced is True and tracker.steps_to_balance == 12500
    stopping = BalanceTracker(CARTPOLE.balance, 475.0, stop_on_balance=True, started_at=0.0)
    assert [stopping.observe(steps, mean, quality) for steps, mean, quality in script] == [True] * 4 + [False] * 2
    assert BalanceTracker(None, 475.0, False, 0.0).balanced is None  # no target: unknown, never balanced


def test_stop_on_balance_stops_training_at_the_first_balanced_evaluation(tmp_path: Path) -> None:
    from stable_baselines3.common.callbacks import BaseCallback

    evaluations: list[tuple[int, float, dict[str, float]]] = []

    class Watch(BaseCallback):
        def _on_step(self) -> bool:
            parent: Any = self.parent
            evaluations.append((self.num_timesteps, parent.last_mean_reward, parent.last_quality))
            return True

    config = RunConfig(algo="lqr", log_folder=tmp_path, n_timesteps=1, verbose=0, stop_on_balance=True)
    summary = train(config, after_eval=Watch())
    assert summary.balanced is True and summary.timesteps == 0 and not evaluations  # balanced in no steps


def test_the_final_evaluation_plays_its_own_episodes_and_counts_successes(tmp_path: Path) -> None:
    weak = train(RunConfig(algo="ppo", n_timesteps=256, eval_freq=0, final_eval_episodes=7, log_folder=tmp_path))
    assert weak.final_eval_episodes == 7 and weak.final_success_rate is not None
    assert weak.final_success_rate == 0.0 and weak.final_mean_return is not None and weak.final_mean_return < 475
    assert weak.balanced is False and weak.steps_to_balance is None
    strong = train(RunConfig(algo="lqr", final_eval_episodes=12, log_folder=tmp_path, verbose=0))
    assert (strong.final_eval_episodes, strong.final_success_rate, strong.final_mean_return) == (12, 1.0, 500.0)


def _play(env: Any, steps: int = 120) -> np.ndarray:
    """The true states of sub-env 0 of a VecEnv under a fixed alternating policy."""
    env.seed(5)
    env.reset()
    states = []
    for t in range(steps):
        env.step(np.full(env.num_envs, t % 2))
        states.append(np.array(env.get_attr("unwrapped", [0])[0].state))
    return np.array(states)


def test_training_perturbations_reach_the_training_envs_only(tmp_path: Path) -> None:
    calm = make_plan(RunConfig(algo="lqr", log_folder=tmp_path))
    pushed = make_plan(RunConfig(algo="lqr", log_folder=tmp_path, train_perturb="actuator_fault=5"))
    assert pushed.hyperparams["train_perturb"] == {"actuator_fault": 5} and "train_perturb" not in calm.hyperparams
    (tmp_path / "calm").mkdir()
    (tmp_path / "pushed").mkdir()
    calm_train, calm_eval = make_envs(calm, 0, tmp_path / "calm")
    pushed_train, pushed_eval = make_envs(pushed, 0, tmp_path / "pushed")
    assert isinstance(pushed_train.envs[0].env, RandomLevel)
    # Evaluation episodes are identical with and without training perturbations...
    assert np.array_equal(_play(calm_eval), _play(pushed_eval))
    # ... while the training envs' actions fail now and then.
    assert not np.array_equal(_play(calm_train), _play(pushed_train))


def test_a_wrong_model_is_drawn_afresh_each_episode_never_on_top_of_the_last() -> None:
    import gymnasium as gym

    from polebench.envs.perturbations import training_perturbations

    # Pushes too: their wrapper puts the design values back at each reset, around the wrong model's.
    wrap = training_perturbations({"push": 5, "model_error": 5}, family_of_id("CartPole-v1"), "CartPole-v1")
    env = wrap(gym.make("CartPole-v1"))
    design = env.unwrapped.length
    lengths = set()
    for episode in range(40):
        env.reset(seed=episode)
        lengths.add(round(env.unwrapped.length / design, 3))
    # Each episode's body is the design times one draw from 1 to 5, never a product of several.
    assert len(lengths) == 40 and min(lengths) >= 1.0 and max(lengths) <= 5.0 and max(lengths) > 4.0


def test_random_level_pushes_differ_from_episode_to_episode() -> None:
    import gymnasium as gym

    env = RandomLevel(gym.make("CartPole-v1"), lambda e, level: Push(e, pole_kick=1.0, every=1), top_level=0)
    kicks = []
    env.reset(seed=0)
    for _ in range(3):
        before = np.array(env.unwrapped.state)
        env.step(0)
        env.step(0)
        kicks.append(np.sign(np.array(env.unwrapped.state)[3] - before[3]))
        env.reset()
    assert len(kicks) == 3  # three episodes played; the generator carries on between them
    rng_after = env.rng.random()
    env2 = RandomLevel(gym.make("CartPole-v1"), lambda e, level: Push(e, pole_kick=1.0, every=1), top_level=0)
    env2.reset(seed=0)
    assert env2.rng.random() != rng_after  # the shared generator moved on as pushes were drawn


def test_the_digest_changes_with_the_shaping_form_its_coefficients_and_training_perturbations(tmp_path: Path) -> None:
    def digest(**changes: Any) -> str:
        return make_plan(RunConfig(algo="ppo", log_folder=tmp_path, **changes)).config_hash()

    digests = [
        digest(),
        digest(shaped_reward=True),
        digest(shaped_reward="position"),
        digest(shaped_reward="quadratic"),
        digest(shaped_reward={"form": "quadratic", "scales": [0.6, 1.0, 0.21, 1.0]}),
        digest(shaped_reward="dm_control"),
        digest(train_perturb="push=2"),
        digest(train_perturb="push=3"),
        digest(train_perturb="push=3,sensor_noise=1"),
        digest(stop_on_balance=True),
        digest(final_eval_episodes=50),
    ]
    assert len(set(digests)) == len(digests)
    # The same request spelled two ways is the same run.
    assert digest(shaped_reward=True) == digest(shaped_reward="user") == digest(hyperparams={"shaped_reward": "user"})
    assert digest(train_perturb="push=2") == digest(train_perturb={"push": 2})
    assert digest(final_eval_episodes=100) == digest()


def test_config_and_summary_record_the_form_and_its_coefficients(tmp_path: Path) -> None:
    import yaml

    summary = train(
        RunConfig(algo="ppo", n_timesteps=256, eval_freq=0, final_eval_episodes=2, log_folder=tmp_path, verbose=0,
                  shaped_reward="dm_control", train_perturb="actuator_fault=1")
    )  # fmt: skip
    expected = {"form": "dm_control", "position_margin": 2.0, "angular_velocity_margin": 5.0}
    assert summary.shaped_reward == expected and summary.shaped and summary.train_perturb == {"actuator_fault": 1}
    config = yaml.safe_load((Path(summary.run_dir) / "config.yml").read_text())
    assert config["hyperparams"]["shaped_reward"] == expected and "shaping" not in config and "shaped" not in config
    assert config["hyperparams"]["train_perturb"] == {"actuator_fault": 1}
    assert config["final_eval_episodes"] == 2 and config["config_hash"] == summary.config_hash


def test_observation_normalisation_without_reward_scaling_evaluates(tmp_path: Path) -> None:
    normalize = {"normalize": {"norm_reward": False}}
    summary = train(RunConfig(algo="ppo", n_timesteps=256, eval_freq=128, final_eval_episodes=2, hyperparams=normalize,
                              log_folder=tmp_path, verbose=0))  # fmt: skip
    assert summary.final_eval_episodes == 2 and (Path(summary.run_dir) / "vecnormalize.pkl").is_file()


def test_the_vectorised_final_evaluation_measures_as_the_wrapped_one_does() -> None:
    from polebench.agents.lqr import LQR
    from polebench.envs.factory import make_vec, measured
    from polebench.run.evaluation import evaluate, evaluate_vectorized

    lqr = LQR("LinearGainPolicy", make_vec("CartPole-v1", 1, 0))
    lqr.learn(0)
    wrapped = evaluate(lqr, make_vec("CartPole-v1", 40, 10_000, inner=measured()), 40)
    vectorised = evaluate_vectorized(lqr, "CartPole-v1", 40, 10_000, CARTPOLE.metrics)
    assert vectorised.returns == wrapped.returns == [500.0] * 40 and vectorised.lengths == [500] * 40
    for name, value in wrapped.mean_quality.items():  # other initial states, the same controller
        assert vectorised.mean_quality[name] == pytest.approx(value, rel=0.15), name


@pytest.mark.parametrize(
    ("env", "changes", "vectorised"),
    [
        ("CartPole-v1", {}, True),
        ("CartPole-v1", {"hyperparams": {"normalize": True}}, False),
        ("CartPole-v1", {"env_kwargs": {"sutton_barto_reward": True}}, False),
        ("CartPoleNoVel-v1", {}, False),
    ],
)
def test_only_the_plain_env_is_evaluated_on_gymnasiums_vectorised_cartpole(
    tmp_path: Path, env: str, changes: dict[str, Any], vectorised: bool
) -> None:
    from polebench.run.evaluation import has_vector_env

    plan = make_plan(RunConfig(algo="ppo", env=env, log_folder=tmp_path, **changes))
    assert (plan.evaluation_env.is_plain and has_vector_env(plan.env_id)) is vectorised


def test_a_recurrent_agent_plays_the_vectorised_final_evaluation(tmp_path: Path) -> None:
    summary = train(RunConfig(algo="ppo_gru", n_timesteps=256, eval_freq=0, final_eval_episodes=5, log_folder=tmp_path,
                              verbose=0))  # fmt: skip
    assert summary.final_eval_episodes == 5 and summary.final_mean_return is not None and summary.quality
