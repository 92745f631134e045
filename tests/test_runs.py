from __future__ import annotations

from pathlib import Path

import pytest

from polebench.errors import ConfigError
from polebench.run import folder as runs


def test_run_numbers_increase_and_never_reuse(tmp_path: Path) -> None:
    first = runs.new_run_dir(tmp_path, "ppo", "CartPole-v1")
    second = runs.new_run_dir(tmp_path, "ppo", "CartPole-v1")
    other_env = runs.new_run_dir(tmp_path, "ppo", "Acrobot-v1")
    assert (first.name, second.name, other_env.name) == ("CartPole-v1_1", "CartPole-v1_2", "Acrobot-v1_1")
    (tmp_path / "ppo" / "CartPole-v1_9").mkdir()
    assert runs.new_run_dir(tmp_path, "ppo", "CartPole-v1").name == "CartPole-v1_10"


def test_find_run_latest_and_by_id(tmp_path: Path) -> None:
    for _ in range(3):
        runs.new_run_dir(tmp_path, "dqn", "CartPole-v1")
    assert runs.find_run(tmp_path, "dqn", "CartPole-v1", None).name == "CartPole-v1_3"
    assert runs.find_run(tmp_path, "dqn", "CartPole-v1", 2).name == "CartPole-v1_2"
    with pytest.raises(ConfigError, match=r"existing ids: \[1, 2, 3\]"):
        runs.find_run(tmp_path, "dqn", "CartPole-v1", 7)


def test_find_run_explains_missing_folders(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        runs.find_run(tmp_path / "absent", "ppo", "CartPole-v1", None)
    with pytest.raises(ConfigError, match="no ppo runs on CartPole-v1"):
        runs.find_run(tmp_path, "ppo", "CartPole-v1", None)


class _FailingModel:
    def save(self, path: Path) -> None:
        Path(path).write_bytes(b"half a mod")
        raise OSError("disk full")


def test_failed_save_keeps_the_previous_model(tmp_path: Path) -> None:
    target = tmp_path / "CartPole-v1.zip"
    target.write_bytes(b"the good model")
    with pytest.raises(OSError):
        runs.atomic_save(_FailingModel(), target)
    assert target.read_bytes() == b"the good model"


def test_yaml_round_trip_is_plain_data(tmp_path: Path) -> None:
    runs.write_yaml(tmp_path / runs.CONFIG_FILE, {"algo": "ppo", "hyperparams": {"learning_rate": "lin_0.001"}})
    assert "!!" not in (tmp_path / runs.CONFIG_FILE).read_text()
    assert runs.read_config(tmp_path)["hyperparams"] == {"learning_rate": "lin_0.001"}
