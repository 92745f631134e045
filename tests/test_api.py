"""The Python API: the README's example runs as written; bad values raise what the command line prints."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import polebench
from polebench.config.run_config import ConfigError, RunConfig, as_keywords
from tests.conftest import ROOT, run_script


def _readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- api-example: tests/test_api.py runs this block -->", 1)[1]
    match = re.search(r"```python\n(.*?)```", block, re.S)
    assert match is not None
    return match.group(1)


@pytest.mark.slow
def test_the_readme_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(_readme_example(), "README.md", "exec"), namespace)  # the documented example, as a user runs it
    summary = namespace["summary"]
    assert summary.solved and summary.steps_to_solve > 0 and summary.final_mean_return >= 475
    assert Path(summary.run_dir) == tmp_path / "logs" / "ppo" / "CartPole-v1_1"
    assert (Path(summary.run_dir) / "command.txt").read_text().startswith("polebench.train(algo='ppo'")
    run = namespace["run"]
    assert run.summary == polebench.RunSummary.read(Path(summary.run_dir))
    assert run.config["config_hash"] == summary.config_hash
    assert namespace["action"].shape == (1,)


@pytest.mark.parametrize(
    ("kwargs", "flags"),
    [
        ({"algo": "ppo", "seed": -1}, ["--seed", "-1"]),
        ({"algo": "ppo", "n_timesteps": 0}, ["-n", "0"]),
        ({"algo": "ppo", "eval_freq": -5}, ["--eval-freq", "-5"]),
        ({"algo": "ppo", "device": "tpu"}, ["--device", "tpu"]),
        ({"algo": "ppo", "num_threads": 0}, ["--num-threads", "0"]),
        ({"algo": "nope"}, []),
        ({"algo": "ppo", "env": "Nope-v0"}, ["--env", "Nope-v0"]),
        ({"algo": "ppo", "hyperparams": {"gamm": 0.9}}, ["--hyperparams", "gamm=0.9"]),
    ],
)
def test_bad_values_raise_the_message_the_cli_prints(kwargs: dict, flags: list[str], tmp_path: Path) -> None:
    """The same check and message, naming the keyword where the command line names the flag."""
    logs = tmp_path / "logs"
    with pytest.raises(ConfigError) as raised:
        polebench.train(**kwargs, log_folder=logs)
    assert isinstance(raised.value, ValueError)
    algo = ["--algo", kwargs["algo"]]
    cli = run_script("train.py", *algo, *flags, "-f", str(logs))
    assert cli.returncode == 2
    said = cli.stderr.strip().removeprefix("train.py: error: ")
    assert str(raised.value) == as_keywords(said) and "--" not in str(raised.value)
    named = [key for key in kwargs if key not in ("algo", "env", "hyperparams")]
    assert all(key in str(raised.value) for key in named), raised.value
    assert not logs.exists()


def test_unknown_keywords_name_the_accepted_ones() -> None:
    with pytest.raises(ConfigError, match="accepted keywords: algo, env, seed"):
        polebench.train(algo="ppo", n_steps=5)


def test_run_config_is_frozen_and_typed() -> None:
    config = RunConfig(algo="ppo", hyperparams=["learning_rate=0.001"], log_folder="somewhere")
    assert config.hyperparams == {"learning_rate": 0.001} and config.log_folder == Path("somewhere")
    with pytest.raises(AttributeError):
        config.seed = 3  # type: ignore[misc]
    assert config.but(seed=3).seed == 3
    with pytest.raises(ConfigError, match="--seed"):
        config.but(seed=-3)


def test_import_stays_light() -> None:
    code = "import polebench, sys; print(sorted(m for m in ('torch', 'stable_baselines3') if m in sys.modules))"
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=os.environ)
    assert out.stdout.strip() == "[]"


def test_the_docs_flag_table_is_made_from_the_run_config_fields(tmp_path: Path) -> None:
    from dataclasses import fields

    from polebench.commands.flags import TABLE_END, TABLE_START, flag_table, write_flag_table

    docs = (ROOT / "docs" / "training.md").read_text()
    table = docs.split(TABLE_START, 1)[1].split(TABLE_END, 1)[0].strip()
    assert table == flag_table(), "docs/training.md's flag table is stale: run python -m polebench.commands.flags"
    flagged = [f for f in fields(polebench.RunConfig) if "flag" in f.metadata]
    assert len(table.splitlines()) == 2 + len(flagged) >= 25  # one row a field, none by hand
    stale = tmp_path / "training.md"
    stale.write_text(f"# T\n{TABLE_START}\n| old |\n{TABLE_END}\nafter\n")
    assert write_flag_table(stale) and not write_flag_table(stale)
    assert stale.read_text() == f"# T\n{TABLE_START}\n{flag_table()}\n{TABLE_END}\nafter\n"
