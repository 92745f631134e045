"""benchmark.py --grid: agents as variants, honest resume end to end, and every grid-file mistake."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml

import polebench
from polebench.bench.gridfile import GridSpec, grid_from_mapping
from polebench.config.run_config import ConfigError
from tests.conftest import run_script, tree_hash


def _grid(tmp_path: Path, force_cost: float, conf_state_cost: list[float]) -> Path:
    """Two LQR agents (a controller trains in no steps, so a job takes about a second): one with a
    hyperparameter of its own, one with a conf file."""
    conf = tmp_path / "lqr-conf.yml"
    conf.write_text(yaml.safe_dump({"CartPole-v1": {"state_cost": conf_state_cost}}))
    grid = {
        "envs": ["CartPole-v1"],
        "seeds": 2,
        "protocol": {"eval_freq": 0, "eval_episodes": 3},
        "agents": {
            "lqr-own": {"algo": "lqr", "hyperparams": {"force_cost": force_cost}},
            "lqr-conf": {"algo": "lqr", "conf_file": conf.name},
        },
    }
    path = tmp_path / "grid.yml"
    path.write_text(yaml.safe_dump(grid))
    return path


def _summaries(bench: Path, agent: str) -> list[Path]:
    return sorted((bench / "runs" / agent).rglob("summary.json"))


@pytest.mark.slow
def test_a_changed_configuration_reruns_exactly_its_jobs(tmp_path: Path) -> None:
    bench = tmp_path / "bench"
    grid = _grid(tmp_path, force_cost=1.0, conf_state_cost=[1, 1, 10, 1])
    first = run_script("benchmark.py", "--grid", str(grid), "--workers", "2", "-f", str(bench))
    assert first.returncode == 0, first.stderr[-2000:]
    assert "0 reused, 0 rerun because their configuration changed, 4 run for the first time" in first.stdout
    with open(bench / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["agent"] for r in rows) == ["lqr-conf", "lqr-conf", "lqr-own", "lqr-own"]
    assert {r["hyperparams"] for r in rows if r["agent"] == "lqr-own"} == {'{"force_cost": 1.0}'}
    report = (bench / "report.md").read_text()
    assert "| lqr-own (reference) | lqr |" in report and "| lqr-conf (reference) | lqr |" in report
    runs_before = tree_hash(bench / "runs" / "lqr-conf")

    again = run_script("benchmark.py", "--grid", str(grid), "--workers", "2", "-f", str(bench))
    assert "4 reused, 0 rerun because their configuration changed, 0 run for the first time" in again.stdout
    assert len(_summaries(bench, "lqr-own")) == 2 and len(_summaries(bench, "lqr-conf")) == 2

    # A hyperparameter of one agent changes: exactly that agent's jobs rerun, into new run folders.
    grid = _grid(tmp_path, force_cost=2.0, conf_state_cost=[1, 1, 10, 1])
    changed = run_script("benchmark.py", "--grid", str(grid), "--workers", "2", "-f", str(bench))
    assert "2 reused, 2 rerun because their configuration changed, 0 run for the first time" in changed.stdout
    assert len(_summaries(bench, "lqr-own")) == 4 and tree_hash(bench / "runs" / "lqr-conf") == runs_before
    with open(bench / "results.csv") as f:
        own = [r for r in csv.DictReader(f) if r["agent"] == "lqr-own"]
    assert all(r["run_dir"].endswith("CartPole-v1_2") for r in own)

    # A file the agent reads changes (as the shipped YAML would): that agent's jobs rerun.
    _grid(tmp_path, force_cost=2.0, conf_state_cost=[1, 1, 20, 1])
    edited = run_script("benchmark.py", "--grid", str(grid), "--workers", "2", "-f", str(bench))
    assert "2 reused, 2 rerun because their configuration changed" in edited.stdout
    assert len(_summaries(bench, "lqr-conf")) == 4 and len(_summaries(bench, "lqr-own")) == 4

    run = _summaries(bench, "lqr-own")[0].parent
    assert (run / "command.txt").read_text().startswith("python") and "--hyperparams force_cost=" in (
        run / "command.txt"
    ).read_text()
    provenance = yaml.safe_load((run / "config.yml").read_text())["provenance"]
    assert provenance["versions"]["torch"] and provenance["versions"]["stable-baselines3"]
    assert "Versions: python" in (bench / "report.md").read_text()


GOOD = {"envs": ["CartPole-v1"], "seeds": 1, "agents": {"a": {"algo": "lqr"}}}
BAD_GRIDS = [
    ("missing", None, "does not exist"),
    ("not yaml", "agents: {a: [\n", "not plain YAML data"),
    ("binary", b"\x89PNG\r\n\x1a\n\x00\x00", "not a text file"),
    ("not a mapping", "- a\n- b\n", "must be a mapping"),
    ("unknown key", {**GOOD, "agentz": {}}, "unknown key 'agentz'"),
    ("unknown agent key", {**GOOD, "agents": {"a": {"algo": "lqr", "hyperparms": {}}}}, "agent a: unknown key"),
    ("unknown algo", {**GOOD, "agents": {"a": {"algo": "nope"}}}, "agent a: unknown algorithm 'nope'"),
    ("bad hyperparameter", {**GOOD, "agents": {"a": {"algo": "dqn", "hyperparams": {"gamm": 1}}}}, "agent a"),
    ("zero seeds", {**GOOD, "seeds": 0}, "'seeds' (a count) must be at least 1"),
    ("repeated seeds", {**GOOD, "seeds": [1, 1]}, "must be distinct"),
    ("duplicate agents", "envs: [CartPole-v1]\nagents:\n  a: {algo: lqr}\n  a: {algo: ppo}\n", "'a' appears twice"),
    ("bad agent name", {**GOOD, "agents": {"../x": {"algo": "lqr"}}}, "agent name '../x'"),
    ("bad protocol", {**GOOD, "protocol": {"eval_freq": -1}}, "eval_freq must be 0 (off)"),
    ("bad stop", {**GOOD, "protocol": {"stop_on_balance": "yes"}}, "stop_on_balance must be true or false"),
    ("bad final episodes", {**GOOD, "protocol": {"final_eval_episodes": 0}}, "final_eval_episodes must be at least 1"),
    ("bad form", {**GOOD, "agents": {"a": {"algo": "ppo", "shaped_reward": "quadratik"}}}, "shaping form 'quadratik'"),
    ("old name", {**GOOD, "agents": {"a": {"algo": "ppo", "shaped": "quadratic"}}}, "'shaped' is now called"),
    ("bad perturb", {**GOOD, "agents": {"a": {"algo": "ppo", "train_perturb": "pushh=2"}}}, "perturbation 'pushh=2'"),
    ("unknown env", {**GOOD, "envs": ["Nope-v0"]}, "unknown env id 'Nope-v0'"),
]


@pytest.mark.parametrize(("case", "content", "message"), BAD_GRIDS, ids=[c[0] for c in BAD_GRIDS])
def test_a_bad_grid_file_is_one_line_and_changes_nothing(
    tmp_path: Path, case: str, content: object, message: str
) -> None:
    bench = tmp_path / "bench"
    (bench / "runs").mkdir(parents=True)
    (bench / "report.md").write_text("an earlier report\n")
    before = tree_hash(bench)
    path = tmp_path / "grid.yml"
    if isinstance(content, dict):
        path.write_text(yaml.safe_dump(content))
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content)
    result = run_script("benchmark.py", "--grid", str(path), "-f", str(bench))
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr and message in lines[0], result.stderr
    assert tree_hash(bench) == before


FROM_PYTHON = [c for c in BAD_GRIDS if isinstance(c[1], dict)]


@pytest.mark.parametrize(("case", "content", "message"), FROM_PYTHON, ids=[c[0] for c in FROM_PYTHON])
def test_the_same_mistakes_from_python_raise_config_error(
    case: str, content: dict, message: str, tmp_path: Path
) -> None:
    bench = tmp_path / "bench"
    with pytest.raises(ConfigError) as raised:
        polebench.benchmark(content, log_folder=bench)
    assert message in str(raised.value)
    assert not bench.exists()


def test_flags_override_the_grid_file_and_say_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = _spec(tmp_path, "-n", "600", "--eval-freq", "300", "--eval-episodes", "3", "--stop-on-solve",
                 "--final-eval-episodes", "5", "--envs", "Acrobot-v1", "--seeds", "2")  # fmt: skip
    protocol = spec.protocol
    assert (protocol.n_timesteps, protocol.eval_freq, protocol.eval_episodes) == (600, 300, 3)
    assert protocol.stop_on_solve and not protocol.stop_on_balance and protocol.final_eval_episodes == 5
    assert spec.envs == ("Acrobot-v1",) and spec.seeds == (0, 1)
    said = capsys.readouterr().out.strip()
    assert len(said.splitlines()) == 1 and "-n/--n-timesteps 600 (the file: None)" in said
    assert "--eval-freq 300 (the file: 2500)" in said
    # The digest follows what is run: a job of the overridden grid differs from the file's own.
    job, original = spec.jobs()[0], _spec(tmp_path).jobs()[0]
    assert job.run_config(protocol, tmp_path) != original.run_config(_spec(tmp_path).protocol, tmp_path)
    # Unset flags override nothing and print nothing.
    assert _spec(tmp_path).protocol == grid_from_mapping(yaml.safe_load((tmp_path / "grid.yml").read_text())).protocol
    assert capsys.readouterr().out == ""
    with pytest.raises(ConfigError, match="--envs"):
        _spec(tmp_path, "--envs", "NoSuchEnv-v9")


def test_shaped_is_refused_with_a_grid_file(tmp_path: Path) -> None:
    path = tmp_path / "grid.yml"
    path.write_text(yaml.safe_dump(GOOD))
    result = run_script("benchmark.py", "--grid", str(path), "--shaped-reward", "on", "-f", str(tmp_path / "bench"))
    assert result.returncode == 2 and "--shaped-reward: the agents of the grid file" in result.stderr, result.stderr
    assert not (tmp_path / "bench").exists()


def _spec(tmp_path: Path, *flags: str) -> GridSpec:
    from polebench.bench import cli as benchmark

    path = tmp_path / "grid.yml"
    agents = {"a": {"algo": "lqr"}, "b": {"algo": "ppo", "shaped_reward": "quadratic"}, "c": {"algo": "dqn"}}
    path.write_text(yaml.safe_dump({"envs": ["CartPole-v1"], "seeds": 4, "agents": agents}))
    return benchmark.grid_spec(benchmark.build_parser().parse_args(["--grid", str(path), *flags]))


def test_agents_and_seeds_narrow_a_grid_file(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    assert [a.name for a in spec.agents] == ["a", "b", "c"] and spec.seeds == (0, 1, 2, 3)
    spec = _spec(tmp_path, "--agents", "c", "a", "--seed-list", "7", "3")
    assert [a.name for a in spec.agents] == ["a", "c"] and spec.seeds == (7, 3)
    assert [(job.agent.name, job.seed) for job in spec.jobs()] == [("a", 7), ("a", 3), ("c", 7), ("c", 3)]
    assert _spec(tmp_path, "--seeds", "2").seeds == (0, 1)


def test_agents_the_grid_lacks_are_one_line_and_change_nothing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="has no agent 'd'; its agents: a, b, c"):
        _spec(tmp_path, "--agents", "a", "d")
    bench = tmp_path / "bench"
    result = run_script("benchmark.py", "--grid", str(tmp_path / "grid.yml"), "--agents", "recipe", "-f", str(bench))
    assert result.returncode == 2 and "has no agent 'recipe'" in result.stderr and len(result.stderr.splitlines()) == 1
    assert not bench.exists()
    result = run_script("benchmark.py", "--algos", "ppo", "--agents", "ppo", "-f", str(bench))
    assert result.returncode == 2 and "--agents picks agents of a --grid file" in result.stderr


def test_the_shipped_dqn_grid_is_valid() -> None:
    from tests.conftest import ROOT

    spec = grid_from_mapping(yaml.safe_load((ROOT / "benchmarks" / "cartpole-dqn.yml").read_text()))
    names = ["dqn", "dqn-zoo", "dqn-torch-tutorial", "dqn-keras-book", "ddqn-keras-book"]
    assert [a.name for a in spec.agents] == names
    assert spec.seeds == (0, 1, 2, 3, 4) and spec.protocol.stop_on_solve


def test_every_agent_of_every_shipped_grid_makes_a_plan(tmp_path: Path) -> None:
    """A recipe file a grid names (its conf_file, hyperparams, shaping, training perturbations) is checked
    the way train.py checks it, so a broken shipped recipe fails here rather than an hour into a grid."""
    from polebench.bench.gridfile import load_grid
    from polebench.config.shipped import SHIPPED_DIR
    from polebench.run.plan import make_plan

    files = sorted(SHIPPED_DIR.glob("*.yml"))
    grids = [load_grid(path) for path in files if "agents" in yaml.safe_load(path.read_text())]
    assert len(grids) >= 3
    for spec in grids:
        for job in spec.jobs():
            if job.seed == spec.seeds[0]:  # the seed does not change what a plan checks
                plan = make_plan(job.run_config(spec.protocol, tmp_path))
                assert plan.env_id == job.env, job.name
