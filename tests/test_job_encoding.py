"""One encoding of a run: a benchmark job's argv is its RunConfig written as flags, and the flags parse back
to the same RunConfig, field by field, so the digest that decides reuse is the digest of what runs."""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import pytest

from polebench.bench.grid import Agent, Job, Protocol
from polebench.commands.train import argv_of, build_parser, run_config
from polebench.config.run_config import RunConfig

# A value other than the default for every field but `command` (the command line itself).
EVERY_FIELD: dict[str, Any] = {
    "algo": "dqn",
    "env": "Acrobot-v1",
    "seed": 11,
    "n_timesteps": 1234,
    "log_folder": Path("some/logs"),
    "hyperparams": {"gamma": 0.9, "policy_kwargs": {"net_arch": [32, 32]}, "learning_rate": "lin_1e-3"},
    "conf_file": Path("conf.yml"),
    "trained_agent": Path("logs/dqn/Acrobot-v1_1/Acrobot-v1.zip"),
    "eval_freq": 700,
    "eval_episodes": 4,
    "stop_on_solve": True,
    "stop_on_balance": True,
    "best_by": "mean_abs_cart_position_m",
    "final_eval_episodes": 33,
    "shaped_reward": {"form": "position", "position_coef": 1.5, "velocity_coef": 0.5},
    "train_perturb": {"push": 3, "sensor_noise": 1},
    "save_freq": 500,
    "save_replay_buffer": True,
    "progress": True,
    "device": "auto",
    "num_threads": 2,
    "verbose": 2,
    "env_kwargs": {"max_episode_steps": 300},
    "n_eval_envs": 2,
    "log_interval": 7,
    "tensorboard_log": Path("tb"),
}


def _round_trip(config: RunConfig) -> RunConfig:
    argv = argv_of(config)
    return replace(run_config(build_parser().parse_args(argv), argv), command=config.command)


def test_every_field_is_covered_here() -> None:
    assert set(EVERY_FIELD) == {f.name for f in fields(RunConfig)} - {"command"}


@pytest.mark.parametrize("name", sorted(EVERY_FIELD))
def test_each_field_survives_flags_and_back(name: str) -> None:
    config = RunConfig(algo="dqn", **{name: EVERY_FIELD[name]} if name != "algo" else {})
    assert _round_trip(config) == config


def test_all_fields_at_once_and_the_defaults_survive() -> None:
    everything = RunConfig(**EVERY_FIELD)
    assert _round_trip(everything) == everything
    assert _round_trip(RunConfig(algo="ppo")) == RunConfig(algo="ppo")
    assert argv_of(RunConfig(algo="ppo")) == ["--algo", "ppo"]


@pytest.mark.parametrize("shaped_reward", [None, "quadratic", {"form": "dm_control", "position_margin": 1.5}])
def test_a_job_runs_its_own_configuration(shaped_reward: Any, tmp_path: Path) -> None:
    agent = Agent("a", "ppo", {"n_envs": 4}, shaped_reward=shaped_reward, train_perturb={"push": 2})
    protocol = Protocol(n_timesteps=600, eval_freq=300, eval_episodes=3, stop_on_balance=True, final_eval_episodes=9)
    job = Job(agent, "CartPole-v1", 5)
    argv = job.train_args(protocol, tmp_path)
    parsed = run_config(build_parser().parse_args(argv), argv)
    assert replace(parsed, command=None) == job.run_config(protocol, tmp_path)


def test_earlier_names_of_the_shaped_reward_still_read(tmp_path: Path) -> None:
    """Files written before reward shaping had one name (``shaped``, then ``shaping``) read as today's."""
    import json

    from polebench.run.summary import RunSummary

    summary = _summary(tmp_path)
    position = {"form": "position", "position_coef": 1.5}
    for earlier, expected in (
        ({"shaped": True, "shaping": position}, position),
        ({"shaped": True}, {"form": "user"}),
        ({"shaped": False, "shaping": None}, None),
    ):
        (tmp_path / "summary.json").write_text(json.dumps({**summary, **earlier}))
        read = RunSummary.read(tmp_path)
        assert read is not None and read.shaped_reward == expected and read.shaped is (expected is not None)
    agent = {"name": "a", "algo": "ppo", "hyperparams": {}, "conf_file": None, "train_perturb": None}
    assert Agent.from_dict({**agent, "shaping": "quadratic"}).shaped_reward == "quadratic"
    assert Agent.from_dict({**agent, "shaped": True}).shaped_reward_form == "user"
    assert Agent.from_dict(Agent("b", "dqn", shaped_reward="position").as_dict()).shaped_reward == "position"


def _summary(run_dir: Path) -> dict[str, Any]:
    """The fields of a finished run's summary.json, as a run writes them."""
    return {
        "algo": "ppo", "env": "CartPole-v1", "seed": 0, "timesteps": 10, "solved": False, "steps_to_solve": None,
        "time_to_solve_s": None, "wall_time_s": 1.0, "best_mean_return": 9.0, "final_mean_return": 9.0,
        "threshold": 475.0, "peak_rss_mb": 100.0, "interrupted": False, "run_dir": str(run_dir),
    }  # fmt: skip


def test_robustness_rows_name_the_shaped_reward_the_run_recorded(tmp_path: Path) -> None:
    """A conf file may shape where the grid file does not: robustness.csv says what the run learned from,
    as results.csv does."""
    import json

    from polebench.bench.robustness import JobRobustness, LevelResult

    level = LevelResult("push", 1, 0.5, 500.0, 1.0)
    job = Job(Agent("recipe", "ppo", conf_file="ppo-balance-linear.yml"), "CartPole-v1", 0)
    (tmp_path / "summary.json").write_text(json.dumps({**_summary(tmp_path), "shaped_reward": {"form": "quadratic"}}))
    assert [row["shaped_reward"] for row in JobRobustness(job, tmp_path, [level]).rows()] == ["quadratic"]
    (tmp_path / "summary.json").unlink()  # no summary: the grid file's word
    assert JobRobustness(job, tmp_path, [level]).rows()[0]["shaped_reward"] == ""
