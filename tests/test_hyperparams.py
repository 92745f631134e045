from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from polebench.agents.registry import ALGOS, get_algo
from polebench.config import hyperparams as hpm
from polebench.errors import ConfigError
from polebench.optim import LeanAdam

CLASSIC_DISCRETE = ("CartPole-v1", "Acrobot-v1", "MountainCar-v0")
# Agents that cannot take every classic-control task name the envs they ship settings for.
SHIPPED_ENVS = {
    "qlearning": ("CartPole-v1", "Taxi-v4"),
    "lqr": ("CartPole-v1",),
    "pid": ("CartPole-v1",),
    "swingup": ("CartPoleSwingUp-v0",),
    "sac": ("Pendulum-v1", "CartPoleContinuous-v0", "CartPoleSwingUp-v0"),
    "td3": ("Pendulum-v1", "CartPoleContinuous-v0", "CartPoleSwingUp-v0"),
    "ppo_lstm": ("CartPoleNoVel-v1", "CartPole-v1"),
    "ppo_gru": ("CartPoleNoVel-v1", "CartPole-v1"),
}
CASES = [(algo, env_id) for algo in sorted(ALGOS) for env_id in SHIPPED_ENVS.get(algo, CLASSIC_DISCRETE)]


@pytest.mark.parametrize(("algo", "env_id"), CASES)
def test_shipped_entries_exist_and_fit_the_constructor(algo: str, env_id: str) -> None:
    table = hpm.read_table(hpm.HYPERPARAMS_DIR / f"{algo}.yml")
    assert env_id in table, f"hyperparams/{algo}.yml has no {env_id} entry"
    hp = hpm.resolve(algo, env_id)
    assert hpm.n_timesteps(hp) >= 0 and hpm.n_envs(hp) > 0
    hpm.check_kwargs(get_algo(algo).load_class(), hpm.constructor_kwargs(hp))


def test_layers_later_wins(tmp_path: Path) -> None:
    conf = tmp_path / "conf.yml"
    conf.write_text("default:\n  gamma: 0.9\nCartPole-v1:\n  n_steps: 64\n")
    hp = hpm.resolve("ppo", "CartPole-v1", conf, {"n_steps": 128})
    assert hp["gamma"] == 0.9  # conf default beats the shipped env entry
    assert hp["n_steps"] == 128  # the command line beats everything
    assert hp["batch_size"] == 256  # untouched shipped value survives


def test_policy_kwargs_layer_key_by_key(tmp_path: Path) -> None:
    conf = tmp_path / "conf.yml"
    conf.write_text("CartPole-v1:\n  policy_kwargs: {net_arch: [32]}\n")
    hp = hpm.resolve("dqn", "CartPole-v1", conf, {"policy_kwargs": {"activation_fn": "relu"}})
    assert hp["policy_kwargs"] == {"optimizer_class": "lean_adam", "net_arch": [32], "activation_fn": "relu"}
    kwargs = hpm.constructor_kwargs(hp)["policy_kwargs"]
    assert kwargs["optimizer_class"] is LeanAdam and kwargs["activation_fn"] is torch.nn.ReLU


def test_unknown_optimizer_name_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown optimizer_class 'sgdx'; choose one of: adam, adamw, lean_adam"):
        hpm.constructor_kwargs({"policy_kwargs": {"optimizer_class": "sgdx"}})


def test_base_replaces_the_shipped_table() -> None:
    hp = hpm.resolve("ppo", "CartPole-v1", base={"n_timesteps": 10, "gamma": 0.5})
    assert hp == {"n_timesteps": 10, "gamma": 0.5}


def test_exponent_without_dot_is_a_number(tmp_path: Path) -> None:
    conf = tmp_path / "conf.yml"
    conf.write_text("CartPole-v1:\n  learning_rate: 1e-3\n")
    assert hpm.resolve("ppo", "CartPole-v1", conf)["learning_rate"] == pytest.approx(1e-3)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("!!python/object/apply:os.system ['echo hacked']\n", "not plain YAML"),
        ("CartPole-v1: [1, 2]\n", "must map env ids"),
        ("- a\n- b\n", "must map env ids"),
        ("CartPole-v1: {gamma: 0.9\n", "not plain YAML"),
    ],
)
def test_bad_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    conf = tmp_path / "conf.yml"
    conf.write_text(text)
    with pytest.raises(ConfigError, match=message):
        hpm.read_table(conf)


def test_missing_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        hpm.read_table(tmp_path / "absent.yml")


def test_linear_schedule_decays_to_zero() -> None:
    kwargs = hpm.constructor_kwargs({"learning_rate": "lin_1e-3", "n_envs": 4})
    schedule = kwargs["learning_rate"]
    assert "n_envs" not in kwargs
    assert schedule(1.0) == pytest.approx(1e-3)
    assert schedule(0.5) == pytest.approx(5e-4)
    assert schedule(0.0) == pytest.approx(0.0)


def test_activation_is_named_by_string() -> None:
    import torch.nn

    kwargs = hpm.constructor_kwargs({"policy_kwargs": {"activation_fn": "tanh", "net_arch": [8]}})
    assert kwargs["policy_kwargs"] == {"activation_fn": torch.nn.Tanh, "net_arch": [8]}
    with pytest.raises(ConfigError, match="relu"):
        hpm.constructor_kwargs({"policy_kwargs": {"activation_fn": "swishy"}})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"learning_rat": 0.1}, "takes no hyperparameter 'learning_rat'"),
        ({"learning_rate": "abc"}, "learning_rate='abc' has the wrong type"),
        ({"n_steps": 1.5}, "n_steps=1.5 has the wrong type"),
        ({"normalize_advantage": "yes"}, "wrong type"),
        ({"seed": 3}, "set by --seed"),
        ({"policy_kwargs": [1]}, "wrong type"),
    ],
)
def test_constructor_check_refuses(kwargs: dict, message: str) -> None:
    from stable_baselines3 import PPO

    with pytest.raises(ConfigError, match=message):
        hpm.check_kwargs(PPO, kwargs)


def test_constructor_check_accepts_yaml_shapes() -> None:
    from stable_baselines3 import DQN

    hpm.check_kwargs(DQN, {"train_freq": [4, "step"], "learning_rate": 1, "target_update_interval": 10})


@pytest.mark.parametrize("item", ["novalue", "=3"])
def test_malformed_override(item: str) -> None:
    with pytest.raises(ConfigError, match="key=value"):
        hpm.parse_overrides([item])


@pytest.mark.parametrize(
    ("value", "expected"), [(True, {}), (False, None), ({"norm_reward": False}, {"norm_reward": False})]
)
def test_normalize_forms(value: object, expected: object) -> None:
    assert hpm.normalize_kwargs({"normalize": value}) == expected


def test_bad_counts() -> None:
    with pytest.raises(ConfigError, match="n_envs must be a positive integer"):
        hpm.n_envs({"n_envs": 0})
    with pytest.raises(ConfigError, match="pass -n"):
        hpm.n_timesteps({})


def test_a_train_freq_in_episodes_reaches_sb3_as_its_tuple() -> None:
    kwargs = hpm.constructor_kwargs({"train_freq": [1, "episode"], "gradient_steps": 1})
    assert kwargs["train_freq"] == (1, "episode")
    from stable_baselines3 import DQN

    from polebench.envs.factory import make_vec

    DQN("MlpPolicy", make_vec("CartPole-v1", 1, 0), **kwargs)  # SB3 refuses a list here


@pytest.mark.parametrize(
    ("hp", "message"),
    [
        ({"noise_type": "gaussian"}, "noise_type must be one of normal, ornstein-uhlenbeck, got 'gaussian'"),
        ({"noise_type": "normal", "noise_std": -0.1}, "noise_std must be a positive number, got -0.1"),
        ({"noise_std": 0.1}, "noise_std needs noise_type"),
    ],
)
def test_the_zoos_action_noise_keys_are_checked(hp: dict, message: str) -> None:
    from polebench.config.hyperparams import action_noise

    with pytest.raises(ConfigError, match=re.escape(message)):
        action_noise(hp, 1)


def test_td3_explores_with_the_noise_its_yaml_names_and_ppo_refuses_it(tmp_path: Path) -> None:
    from polebench.config.run_config import RunConfig
    from polebench.run.plan import make_plan
    from polebench.run.session import start

    plan = make_plan(RunConfig(algo="td3", env="CartPoleSwingUp-v0", log_folder=tmp_path, n_timesteps=100))
    session = start(plan, 0.0, None)
    assert type(session.model.action_noise).__name__ == "NormalActionNoise"
    assert session.model.action_noise._sigma.tolist() == [0.1]
    with pytest.raises(ConfigError, match="noise_type: ppo takes no action noise"):
        make_plan(RunConfig(algo="ppo", env="CartPoleSwingUp-v0", hyperparams={"noise_type": "normal"}))
