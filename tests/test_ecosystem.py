"""rl-baselines3-zoo habits, HParams in TensorBoard, and export.py with its agreement check."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from polebench.agents.registry import ALGOS
from polebench.commands.train import build_parser, run_config
from polebench.export.formats import FORMATS
from polebench.run.plan import make_plan
from tests.conftest import env_for, run_script, tree_hash

TINY = {
    "ppo": ["-n", "256"],
    "ars": ["-n", "1000"],
    "dqn": ["-n", "300", "--hyperparams", "learning_starts=100"],
    "sacd": ["-n", "200", "--hyperparams", "learning_starts=100", "policy_kwargs={net_arch: [16]}"],
    "ppo_lstm": ["-n", "256"],
    "ppo_gru": ["-n", "256"],
    "qlearning": ["-n", "2000"],
    "lqr": ["-n", "1"],
    "pid": [],
    "sac": ["-n", "200", "--hyperparams", "learning_starts=100", "policy_kwargs={net_arch: [16]}"],
    "td3": ["-n", "200", "--hyperparams", "learning_starts=100", "policy_kwargs={net_arch: [16]}"],
    "swingup": [],
}
EXPORTABLE = sorted(name for name, spec in ALGOS.items() if not spec.plugin)


def _config(*argv: str):  # type: ignore[no-untyped-def]
    return replace(run_config(build_parser().parse_args(list(argv)), list(argv)), command=None)


def test_both_hyperparams_spellings_give_identical_configs() -> None:
    equals = make_plan(
        _config("--algo", "ppo", "--hyperparams", "learning_rate=0.002", "policy_kwargs={net_arch: [8]}")
    )
    colons = make_plan(
        _config("--algo", "ppo", "--hyperparams", "learning_rate:0.002", "policy_kwargs:{net_arch: [8]}")
    )
    assert equals.hyperparams == colons.hyperparams and equals.config_hash() == colons.config_hash()
    assert equals.hyperparams["learning_rate"] == 0.002 and equals.hyperparams["policy_kwargs"]["net_arch"] == [8]


@pytest.mark.parametrize(
    ("zoo", "ours"),
    [
        (["-params", "gamma:0.9"], ["--hyperparams", "gamma=0.9"]),
        (["-conf", "x.yml"], ["--conf-file", "x.yml"]),
        (["-tb", "tb"], ["--tensorboard-log", "tb"]),
        (["-P"], ["--progress"]),
        (["--env-kwargs", "sutton_barto_reward:true"], ["--env-kwargs", "sutton_barto_reward=true"]),
        (["--n-eval-envs", "2"], ["--n-eval-envs=2"]),
        (["--log-interval", "3"], ["--log-interval=3"]),
    ],
)
def test_the_zoos_aliases(zoo: list[str], ours: list[str]) -> None:
    assert _config("--algo", "ppo", *zoo) == _config("--algo", "ppo", *ours)
    assert build_parser().parse_args(["--algo", "ppo", "-optimize"]).optimize


@pytest.mark.slow
def test_tensorboard_hparams_and_the_zoos_tb_folder(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logs, tb = tmp_path / "logs", tmp_path / "tb"
    result = run_script("train.py", "--algo", "ppo", "-n", "256", "--eval-freq", "128", "-f", str(logs), "-tb", str(tb))
    assert result.returncode == 0, result.stderr
    events = list((tb / "CartPole-v1" / "ppo_1").glob("events.out.tfevents.*"))
    assert len(events) == 1 and not list((logs / "ppo" / "CartPole-v1_1").glob("events.*"))
    accumulator = EventAccumulator(str(events[0]))
    accumulator.Reload()
    assert set(accumulator.PluginTagToContent("hparams")) >= {"_hparams_/experiment", "_hparams_/session_start_info"}
    assert {"final/mean_return", "final/rms_pole_angle_deg"} <= set(accumulator.Tags()["scalars"])


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny run of every registered algorithm (checkpoints for PPO), shared by the export tests."""
    logs = tmp_path_factory.mktemp("tiny") / "logs"
    for algo in sorted(ALGOS):
        extra = ["--save-freq", "128"] if algo == "ppo" else []
        args = ["--algo", algo, "--env", env_for(algo), *TINY[algo], "--eval-freq", "0"]
        result = run_script("train.py", *args, *extra, "-f", str(logs))
        assert result.returncode == 0, result.stderr
    return logs


@pytest.mark.slow
@pytest.mark.parametrize("algo", EXPORTABLE)
def test_every_algorithm_exports_and_agrees(tiny_runs: Path, tmp_path: Path, algo: str) -> None:
    formats = ["onnx", "torch", "torchscript"] if algo in ("ppo", "ppo_lstm", "qlearning") else ["onnx", "torch"]
    env = env_for(algo)
    for fmt in formats:
        target = tmp_path / f"policy{FORMATS[fmt].suffixes[0]}"
        result = run_script(
            "export.py", "--algo", algo, "--env", env, "-f", str(tiny_runs), "--format", fmt, "-o", str(target)
        )
        assert result.returncode == 0, result.stderr[-2000:]
        assert "agreement with model.predict: 100.00% of 10,000 observations" in result.stdout
        assert ("deprecated" in result.stdout) is (fmt == "torchscript")
        replay = run_script("enjoy.py", "--policy", str(target), "-n", "2", "--no-render")
        assert replay.returncode == 0, replay.stderr[-2000:]
        lines = replay.stdout.strip().splitlines()
        assert lines[-1].startswith("mean return: ") and sum(line.startswith("episode ") for line in lines) == 2


@pytest.mark.slow
def test_the_pid_loop_is_refused_by_export_in_one_line(tiny_runs: Path, tmp_path: Path) -> None:
    result = run_script("export.py", "--algo", "pid", "-f", str(tiny_runs), "-o", str(tmp_path / "pid.onnx"))
    assert result.returncode == 2 and "keeps its own file format" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "pid.onnx").exists()


@pytest.mark.slow
def test_an_exported_policy_plays_as_the_model_does(tiny_runs: Path, tmp_path: Path) -> None:
    target = tmp_path / "lqr.onnx"
    assert run_script("export.py", "--algo", "lqr", "-f", str(tiny_runs), "-o", str(target)).returncode == 0
    exported = run_script("enjoy.py", "--policy", str(target), "-n", "3", "--no-render")
    model = run_script("enjoy.py", "--algo", "lqr", "-f", str(tiny_runs), "-n", "3", "--no-render")
    assert exported.stdout.strip().splitlines()[-1] == "mean return: 500.00 +/- 0.00 over 3 episodes"
    assert model.stdout.strip().splitlines()[-1] == exported.stdout.strip().splitlines()[-1]


@pytest.mark.slow
def test_a_run_with_env_kwargs_is_exported_checked_and_replayed_on_its_own_env(tmp_path: Path) -> None:
    from polebench.export.exporting import ExportedPolicy

    logs, target = tmp_path / "logs", tmp_path / "lqr.pt2"
    trained = run_script("train.py", "--algo", "lqr", "--env-kwargs", "length=1.0", "--eval-freq", "0", "-f", str(logs))
    assert trained.returncode == 0, trained.stderr
    exported = run_script("export.py", "--algo", "lqr", "-f", str(logs), "--format", "torch", "-o", str(target))
    assert exported.returncode == 0, exported.stderr
    assert "agreement with model.predict: 100.00%" in exported.stdout
    assert ExportedPolicy(target).meta.env_kwargs == {"length": 1.0}
    replayed = run_script("enjoy.py", "--policy", str(target), "-n", "3", "--no-render")
    model = run_script("enjoy.py", "--algo", "lqr", "-f", str(logs), "-n", "3", "--no-render")
    assert "with {'length': 1.0}" in replayed.stdout
    # The same episodes, angle and drift included: the file replays on the long pole the model balanced, not
    # on the registered env (where the same gain holds the pole differently).
    episodes = [line for line in replayed.stdout.splitlines() if line.startswith(("episode", "quality", "mean"))]
    assert len(episodes) == 5 and "rms_pole_angle_deg=" in episodes[0]
    assert episodes == [line for line in model.stdout.splitlines() if line.startswith(("episode", "quality", "mean"))]


@pytest.mark.slow
def test_exp_id_zero_is_the_latest_and_checkpoints_load(tiny_runs: Path) -> None:
    latest = run_script("enjoy.py", "--algo", "ppo", "-f", str(tiny_runs), "--exp-id", "0", "-n", "1", "--no-render")
    assert latest.returncode == 0 and "ppo/CartPole-v1_1/CartPole-v1.zip" in latest.stdout
    checkpoint = run_script(
        "enjoy.py", "--algo", "ppo", "-f", str(tiny_runs), "--load-checkpoint", "256", "-n", "1", "--no-render"
    )
    assert checkpoint.returncode == 0, checkpoint.stderr
    assert "checkpoints/CartPole-v1_256_steps.zip" in checkpoint.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--format", "tflite", "-o", "p.tflite"], "argument --format: invalid choice: 'tflite'"),
        (["-o", "/proc/nowhere/p.onnx"], "cannot write in /proc"),
        (["-o", "p.txt"], "-o/--output p.txt: the file must end in one of .onnx"),
        (["--load-checkpoint", "999", "-o", "p.onnx"], "no checkpoint at 999 steps"),
        (["--load-best", "-o", "p.onnx"], "no model at"),
        (["--exp-id", "7", "-o", "p.onnx"], "--exp-id 7 does not exist"),
    ],
)
def test_export_bad_input_is_one_line(tiny_runs: Path, tmp_path: Path, args: list[str], needle: str) -> None:
    before = tree_hash(tiny_runs)
    result = run_script("export.py", "--algo", "ppo", "-f", str(tiny_runs), *args, cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and needle in result.stderr, result.stderr
    assert tree_hash(tiny_runs) == before and not list(tmp_path.iterdir())


def test_export_of_a_missing_run_and_enjoy_of_a_bad_policy(tmp_path: Path) -> None:
    missing = run_script("export.py", "--algo", "lqr", "-f", str(tmp_path / "none"), "-o", str(tmp_path / "x.onnx"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr and "Traceback" not in missing.stderr
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    junk = run_script("enjoy.py", "--policy", str(tmp_path / "junk.onnx"), "--no-render")
    assert junk.returncode == 2 and "is not a policy exported by polebench" in junk.stderr
    both = run_script("enjoy.py", "--policy", str(tmp_path / "junk.onnx"), "--algo", "ppo")
    assert both.returncode == 2 and "drop --algo" in both.stderr


@pytest.mark.parametrize("env_id", ["CartPoleContinuous-v0", "Pendulum-v1"])  # bounds of 1 and of 2
@pytest.mark.parametrize("algo", ["ppo", "sac", "td3"])
def test_a_continuous_force_exports_as_model_predict_clips_or_unscales_it(algo: str, env_id: str) -> None:
    """PPO's Gaussian mean is clipped to the bounds, SAC's and TD3's squashed output unscaled to them."""
    import numpy as np
    import torch

    from polebench.agents.registry import get_algo
    from polebench.envs.factory import make_vec
    from polebench.export.exporting import FeedForward

    env = make_vec(env_id, 1, seed=0)
    model = get_algo(algo).load_class()("MlpPolicy", env, seed=0, device="cpu")
    with torch.no_grad():  # weights that push the action past the bounds, so clipping and unscaling matter
        for param in model.policy.parameters():
            param.mul_(300.0)
    env.observation_space.seed(0)
    obs = np.stack([env.observation_space.sample() for _ in range(200)]).clip(-5, 5).astype(np.float32)
    expected, _ = model.predict(obs, deterministic=True)
    with torch.no_grad():
        exported = FeedForward(model.policy, []).eval()(torch.as_tensor(obs)).numpy()
    assert np.abs(expected).max() == pytest.approx(env.action_space.high.max())  # some actions sit at a bound
    np.testing.assert_allclose(exported, expected, rtol=1e-4, atol=1e-5)
