"""Agents of a user's own (``--algo package.module:Class``, entry points), the PID loop, and throughput."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import polebench
from polebench.agents.pid import PID
from polebench.agents.registry import get_algo
from polebench.errors import ConfigError

CONST = "tests.plugin_agents:Const"
STEPPING = "tests.plugin_agents:Stepping"


def test_a_plugin_trains_evaluates_and_replays_like_any_agent(tmp_path: Path) -> None:
    summary = polebench.train(algo=CONST, n_timesteps=500, log_folder=tmp_path, final_eval_episodes=5)
    assert summary.timesteps == 500 and summary.final_mean_return is not None and summary.final_mean_return < 50
    assert summary.quality["action_switch_rate"] == 0.0  # it always pushes the same way
    run = polebench.load_run(tmp_path, algo=CONST, env="CartPole-v1")
    actions, _ = run.model.predict(run.env.reset(), deterministic=True)
    assert actions.tolist() == [0]


def test_a_plugin_that_calls_its_callback_gets_periodic_evaluations_and_resumes(tmp_path: Path) -> None:
    summary = polebench.train(algo=STEPPING, log_folder=tmp_path, eval_freq=1000, final_eval_episodes=5)
    assert summary.timesteps == 3000  # the class's default budget, counted from its callback calls
    with np.load(Path(summary.run_dir) / "evaluations.npz") as evaluations:
        assert evaluations["timesteps"].tolist() == [1000, 2000, 3000]
    model = Path(summary.run_dir) / "CartPole-v1.zip"
    resumed = polebench.train(algo=STEPPING, log_folder=tmp_path, n_timesteps=1000, trained_agent=model)
    assert resumed.timesteps == 1000 and resumed.run_dir != summary.run_dir


@pytest.mark.parametrize(
    ("algo", "message"),
    [
        ("nosuch.module:X", "cannot import the agent module 'nosuch.module'"),
        ("tests.plugin_agents:Missing", "has no 'Missing'"),
        ("tests.plugin_agents:NoPredict", "is not an agent polebench can use: it has no predict()"),
        (
            "tests.plugin_agents:LearnTakesNothing",
            "LearnTakesNothing is not an agent polebench can use: learn() cannot",
        ),
        ("os.path:join", "is not a class but function"),
        ("tests.plugin_agents:TakesNoVerbose", "__init__() cannot be called as polebench calls it"),
    ],
)
def test_what_is_not_an_agent_is_one_line_naming_it(tmp_path: Path, algo: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        polebench.train(algo=algo, n_timesteps=100, log_folder=tmp_path)
    assert not any(tmp_path.iterdir())  # refused before anything was written


def test_every_problem_of_a_class_is_listed_at_once(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        polebench.train(algo="tests.plugin_agents:Broken", n_timesteps=100, log_folder=tmp_path)
    message = str(refused.value)
    assert "it has no predict(), save()" in message and "load() must be a @classmethod" in message
    assert "\n" not in message and "examples/template_agent.py" in message


def test_a_module_that_is_not_found_hints_at_the_python_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"No module named 'mine'.*add that folder to PYTHONPATH"):
        polebench.train(algo="mine.qtable:QTableAgent", n_timesteps=100, log_folder=tmp_path)


@pytest.mark.parametrize(
    ("plugin", "says"),
    [
        ("PredictsABareInt", "PredictsABareInt.predict returned 0; it must return (actions, state)"),
        ("LoadsSomethingElse", "LoadsSomethingElse.load returned {'action': 0}, not a LoadsSomethingElse"),
    ],
)
def test_the_contract_is_tried_on_real_observations_and_a_save_and_load_before_training(
    tmp_path: Path, plugin: str, says: str
) -> None:
    # Both pass the class check; predict on the env's own observations and a round trip through save and
    # load show what is wrong before a step is learned.
    with pytest.raises(ConfigError, match=re.escape(says)) as refused:
        polebench.train(algo=f"tests.plugin_agents:{plugin}", n_timesteps=100, log_folder=tmp_path)
    assert "does not keep the agent contract" in str(refused.value)
    summary = json.loads(next(tmp_path.rglob("summary.json")).read_text())
    assert summary["timesteps"] == 0 and says in summary["error"]


@pytest.mark.parametrize(("given", "rates"), [("lin_0.5", [0.5, 0.0]), (0.25, [0.25, 0.25])])
def test_a_rate_reaches_a_plugin_as_a_number_or_a_schedule_that_value_at_reads(
    tmp_path: Path, given: object, rates: list[float]
) -> None:
    summary = polebench.train(
        algo="tests.plugin_agents:UsesARate", n_timesteps=100, hyperparams={"learning_rate": given},
        log_folder=tmp_path, final_eval_episodes=1,
    )  # fmt: skip
    saved = json.loads((Path(summary.run_dir) / "CartPole-v1.zip").read_text())
    assert saved["rates"] == rates  # at the start of training and at its end


def test_a_plugins_own_bug_keeps_its_traceback_and_the_run_folder(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="the plugin's own bug"):
        polebench.train(algo="tests.plugin_agents:Failing", n_timesteps=100, log_folder=tmp_path)
    assert list(tmp_path.glob("*/CartPole-v1_1/config.yml"))


def test_a_save_that_writes_elsewhere_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must write exactly the path it is given"):
        polebench.train(algo="tests.plugin_agents:SavesElsewhere", n_timesteps=100, log_folder=tmp_path)


def test_an_entry_point_of_an_installed_distribution_names_an_agent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = tmp_path / "my_agents-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-agents\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[polebench.algos]\nmy_const = tests.plugin_agents:Const\nbroken = nosuch.module:Agent\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = get_algo("my_const")
    assert spec.plugin and spec.class_path == "tests.plugin_agents:Const"
    summary = polebench.train(algo="my_const", n_timesteps=200, log_folder=tmp_path / "logs", final_eval_episodes=2)
    assert summary.algo == "my_const"
    with pytest.raises(ConfigError, match=re.escape("the entry point broken = nosuch.module:Agent")):
        get_algo("broken")


def test_a_plugin_is_refused_by_export_in_one_line(tmp_path: Path) -> None:
    from polebench.commands.export import main

    polebench.train(algo=CONST, n_timesteps=100, log_folder=tmp_path, final_eval_episodes=2)
    with pytest.raises(ConfigError, match="keeps its own file format"):
        main(["--algo", CONST, "-f", str(tmp_path), "-o", str(tmp_path / "p.onnx")])


def test_the_pid_loop_balances_and_saves_its_gains(tmp_path: Path) -> None:
    summary = polebench.train(algo="pid", log_folder=tmp_path, final_eval_episodes=20)
    assert summary.timesteps == 0 and summary.final_mean_return == 500.0
    assert summary.quality["rms_pole_angle_deg"] < 1.0
    saved = json.loads((Path(summary.run_dir) / "CartPole-v1.zip").read_text())
    assert saved["pid"]["kp"] == 1.0


def test_the_integral_restarts_with_each_episode() -> None:
    pid = PID(None, None, kp=0.0, ki=1.0, kd=0.0, kx=0.0, kv=0.0)
    leaning = np.array([[0.0, 0.0, 0.1, 0.0], [0.0, 0.0, 0.1, 0.0]])
    _, integral = pid.predict(leaning)
    _, integral = pid.predict(leaning, integral, episode_start=np.array([False, True]))
    assert integral == pytest.approx([0.004, 0.002])


def test_the_pid_search_space_samples_every_gain() -> None:
    import optuna

    from polebench.tune.search_spaces import search_space

    sampled = search_space("pid")(optuna.trial.FixedTrial({"kp": 2.0, "ki": 0.1, "kd": 0.5, "kx": 0.2, "kv": 0.3}))
    assert sampled == {"kp": 2.0, "ki": 0.1, "kd": 0.5, "kx": 0.2, "kv": 0.3}
    PID(None, None, **sampled)  # every sampled key is a constructor argument


def test_throughput_is_none_without_episodes_and_measured_with_them(tmp_path: Path) -> None:
    from polebench.bench.throughput import early_and_late
    from polebench.run import folder as runs

    runs.write_yaml(tmp_path / runs.CONFIG_FILE, {"hyperparams": {"learning_starts": 1000}})
    assert early_and_late(tmp_path) == (None, None)
    rows = "".join(f"100.0,100,{0.1 * (i + 1):.3f}\n" for i in range(50))
    (tmp_path / "0.monitor.csv").write_text('#{"t_start": 0}\nr,l,t\n' + rows)
    assert early_and_late(tmp_path) == (1000.0, 1000.0)


@pytest.mark.integration
def test_a_plugin_runs_in_a_two_seed_grid_with_throughput_columns(tmp_path: Path) -> None:
    grid = {
        "envs": ["CartPole-v1"], "seeds": 2, "protocol": {"eval_freq": 1000, "eval_episodes": 2},
        "agents": {"stepping": {"algo": STEPPING}, "pid": {"algo": "pid"}},
    }  # fmt: skip
    result = polebench.benchmark(grid, log_folder=tmp_path, workers=2)
    assert result.ok and result.failed == 0
    import csv

    with open(tmp_path / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["status"] for r in rows] == ["finished"] * 4
    stepping = [r for r in rows if r["agent"] == "stepping"]
    assert all(float(r["early_steps_per_s"]) > 0 and float(r["late_steps_per_s"]) > 0 for r in stepping)
    assert all(r["early_steps_per_s"] == "" for r in rows if r["agent"] == "pid")


@pytest.mark.slow
def test_the_handwritten_dqn_solves_cartpole(tmp_path: Path) -> None:
    summary = polebench.train(
        algo="examples.handwritten_dqn:HandwrittenDQN", seed=0, stop_on_solve=True, log_folder=tmp_path
    )
    assert summary.solved and summary.final_mean_return is not None and summary.final_mean_return >= 475


@pytest.mark.slow
def test_the_template_agent_passes_the_contract_as_written_and_learns(tmp_path: Path) -> None:
    summary = polebench.train(algo="examples.template_agent:HillClimber", seed=1, log_folder=tmp_path)
    assert summary.timesteps == 20_000  # its default budget
    assert summary.final_mean_return is not None and summary.final_mean_return >= 475


@pytest.mark.integration
def test_benchmark_algos_takes_an_agent_of_your_own_named_after_its_class(tmp_path: Path) -> None:
    from tests.conftest import run_script

    bench = tmp_path / "bench"
    args = ["--algos", "examples.template_agent:HillClimber", "lqr", "--seeds", "1", "-n", "2000", "-f", str(bench)]
    result = run_script("benchmark.py", *args, "--eval-freq", "1000", "--workers", "2")
    assert result.returncode == 0, result.stderr[-2000:]
    import csv

    with open(bench / "results.csv") as f:
        rows = {row["agent"]: row for row in csv.DictReader(f)}
    assert set(rows) == {"HillClimber", "lqr"} and rows["HillClimber"]["status"] == "finished"
    assert rows["HillClimber"]["algo"] == "examples.template_agent:HillClimber"
    assert "HillClimber" in (bench / "report.md").read_text()


def test_two_agents_of_your_own_with_one_class_name_are_refused_before_anything_runs() -> None:
    from polebench.bench.grid import shipped_agents

    with pytest.raises(ConfigError, match=re.escape("mine.a:Agent and mine.b:Agent would both be named 'Agent'")):
        shipped_agents(["mine.a:Agent", "mine.b:Agent"], "off")
