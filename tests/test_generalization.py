"""Balance that generalizes: test seeds held out from tuning, the kept model chosen by an objective, and
training for a wrong model (the pole's length, its mass, the cart's mass)."""

from __future__ import annotations

import csv
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import polebench
from polebench.config.run_config import ConfigError
from polebench.config.seeds import FIRST_TEST_SEED
from polebench.envs.families import CARTPOLE
from polebench.envs.perturbations import training_perturbations
from polebench.run import folder as runs
from polebench.run.selection import BestBy
from polebench.run.summary import RunSummary
from polebench.wrappers.perturbations import RandomModel
from tests.conftest import run_script
from tests.wrappers.test_perturbations import _episode

LQR_GRID = {"envs": ["CartPole-v1"], "agents": {"lqr": {"algo": "lqr"}, "pid": {"algo": "pid"}}}

# 1. Tuning seeds and test seeds.


@pytest.mark.parametrize(
    ("grid", "says"),
    [
        ({"seeds": [3, FIRST_TEST_SEED]}, "are test seeds"),
        ({"test_seeds": [5]}, "test seeds must be 10,000 or more"),
        ({"seeds": 2, "tune_seeds": 2}, "'seeds' and 'tune_seeds' name the same seeds"),
    ],
)
def test_a_grid_keeps_tuning_seeds_and_test_seeds_apart(grid: dict, says: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=says):
        polebench.benchmark({**LQR_GRID, **grid}, log_folder=tmp_path / "b", workers=1)
    assert not (tmp_path / "b").exists()


def test_a_tuning_study_never_touches_a_test_seed(tmp_path: Path) -> None:
    refused = run_script("train.py", "--algo", "pid", "--optimize", "--n-trials", "2", "--seed", str(FIRST_TEST_SEED),
                         "-f", str(tmp_path / "t"))  # fmt: skip
    assert refused.returncode == 2 and "is a test seed" in refused.stderr and not (tmp_path / "t").exists()
    tuned = run_script("train.py", "--algo", "pid", "--optimize", "--n-trials", "2", "--n-evaluations", "1",
                       "--eval-episodes", "2", "-f", str(tmp_path / "t"))  # fmt: skip
    assert tuned.returncode == 0, tuned.stderr[-2000:]
    trials = list((tmp_path / "t").rglob("config.yml"))
    assert len(trials) == 2 and all(runs.read_config(path.parent)["seed"] < FIRST_TEST_SEED for path in trials)


@pytest.mark.slow
def test_the_report_gives_its_figures_on_the_test_seeds_and_the_gap_to_the_others(tmp_path: Path) -> None:
    result = polebench.benchmark({**LQR_GRID, "seeds": 2, "test_seeds": 2}, log_folder=tmp_path, workers=2)
    assert result.ok and result.jobs == 8
    report = (tmp_path / "report.md").read_text()
    assert "Every figure is on the test seeds 10000-10001 (never used in tuning); the other seeds (0-1)" in report
    assert "### Tuning seeds vs test seeds" in report and "| lqr | 500 → 500 |" in report
    main_table = report.split("### Balance quality")[0]
    assert "| lqr (reference) | lqr | 2/2 |" in main_table  # two runs: the test seeds' alone
    with open(tmp_path / "results.csv") as f:
        assert sorted(int(r["seed"]) for r in csv.DictReader(f) if r["agent"] == "lqr") == [0, 1, 10000, 10001]


def test_without_test_seeds_the_report_says_its_seeds_may_have_been_tuned_on(tmp_path: Path) -> None:
    assert polebench.benchmark({**LQR_GRID, "agents": {"lqr": {"algo": "lqr"}}, "seeds": 1}, log_folder=tmp_path).ok
    assert "none of them a test seed" in (tmp_path / "report.md").read_text()


# 2. The kept model, chosen by an objective.


def test_best_model_is_the_evaluation_that_balances_best_and_summary_json_says_which(tmp_path: Path) -> None:
    summary = polebench.train(algo="ppo", n_timesteps=20_000, eval_freq=2500, eval_episodes=3, log_folder=tmp_path)
    with np.load(Path(summary.run_dir) / "evaluations.npz") as data:
        returns, steps = data["results"].mean(axis=1), data["timesteps"]
        angle, drift = (
            data["quality_rms_pole_angle_deg"].mean(axis=1),
            data["quality_mean_abs_cart_position_m"].mean(axis=1),
        )
    by = BestBy.choose(None, CARTPOLE, "CartPole-v1")
    scores = [by.score(r, 475.0, {"rms_pole_angle_deg": a, "mean_abs_cart_position_m": x})
              for r, a, x in zip(returns, angle, drift, strict=True)]  # fmt: skip
    # The first evaluation with the best score, as SB3 keeps the first with the best return; solved ones first.
    assert summary.best_by == "balance" and summary.best_model_steps == int(steps[scores.index(max(scores))])
    solved = max(scores)[0] == 1
    assert summary.best_model_score is not None and summary.best_model_score.startswith(
        "balance " if solved else "mean"
    )
    by_return = polebench.train(algo="ppo", n_timesteps=20_000, eval_freq=2500, eval_episodes=3, best_by="return",
                                log_folder=tmp_path)  # fmt: skip
    with np.load(Path(by_return.run_dir) / "evaluations.npz") as data:
        means = data["results"].mean(axis=1)
        assert by_return.best_model_steps == int(data["timesteps"][int(np.argmax(means))])


def test_an_objective_that_does_not_apply_is_refused_before_training(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="best_by 'balance' does not apply to Acrobot-v1; choose one of: return"):
        polebench.train(algo="ppo", env="Acrobot-v1", best_by="balance", log_folder=tmp_path)
    assert not list(tmp_path.iterdir())


# 3. Training for a wrong model; a real robot's constants.


@pytest.mark.parametrize("family", ["model_error", "pole_length", "pole_mass", "cart_mass"])
def test_training_for_a_wrong_model_at_level_0_leaves_episodes_identical(family: str) -> None:
    wrap = training_perturbations({family: 0}, CARTPOLE, "CartPole-v1")
    for seed in range(3):
        assert _episode(wrap(gym.make("CartPole-v1")), seed) == _episode(gym.make("CartPole-v1"), seed)


def test_training_for_a_wrong_model_draws_each_constant_within_the_levels_range_seeded() -> None:
    def draws(seed: int) -> list[dict[str, float]]:
        env = training_perturbations({"model_error": 2}, CARTPOLE, "CartPole-v1")(gym.make("CartPole-v1"))
        model = env
        while not isinstance(model, RandomModel):
            model = model.env
        out = []
        for episode in range(20):
            env.reset(seed=seed * 100 + episode)
            out.append(dict(model.factors))
        return out

    first = draws(0)
    assert first == draws(0) and first != draws(1)
    for constant in ("length", "masspole", "masscart"):
        factors = [d[constant] for d in first]
        assert all(1.0 <= f <= 2.0 for f in factors) and max(factors) - min(factors) > 0.3
    assert len({tuple(d.values()) for d in first}) == 20  # the three constants drawn apart, anew each episode


@pytest.mark.parametrize(
    ("flag", "value", "says"),
    [
        ("--train-perturb", "pole_length=9", "pole_length level must be a whole number from 0"),
        ("--train-perturb", "cart_mass=-1", "cart_mass level must be a whole number from 0"),
        ("--env-kwargs", "length=0", "length must be a positive number"),
        ("--env-kwargs", "lenght=1.0", "unexpected keyword"),
    ],
)
def test_a_bad_perturbation_or_constant_is_one_line_and_exit_2(
    flag: str, value: str, says: str, tmp_path: Path
) -> None:
    result = run_script("train.py", "--algo", "ppo", "-n", "64", flag, value, "-f", str(tmp_path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and says in result.stderr, result.stderr
    assert not tmp_path.exists() or not list(tmp_path.iterdir())


def test_a_real_robots_pole_length_is_an_env_kwarg_the_controller_is_built_for(tmp_path: Path) -> None:
    summary = polebench.train(algo="lqr", env_kwargs={"length": 1.0, "masspole": 0.2}, log_folder=tmp_path)
    assert summary.final_mean_return == 500.0 and summary.final_balanced
    assert runs.read_config(Path(summary.run_dir))["env_kwargs"] == {"length": 1.0, "masspole": 0.2}
    replay = RunSummary.read(Path(summary.run_dir))
    assert replay is not None and replay.quality == summary.quality


def test_a_run_can_end_with_its_best_evaluations_model(tmp_path: Path) -> None:
    from stable_baselines3 import PPO

    summary = polebench.train(algo="ppo", n_timesteps=20_000, eval_freq=2500, eval_episodes=3, best_by="return",
                              hyperparams={"end_on_best": True}, log_folder=tmp_path)  # fmt: skip
    run_dir = Path(summary.run_dir)
    assert summary.best_model_steps is not None and summary.best_model_steps < summary.timesteps
    final, best = PPO.load(run_dir / "CartPole-v1.zip"), PPO.load(run_dir / "best_model.zip")
    for name, weights in best.policy.state_dict().items():
        assert np.array_equal(final.policy.state_dict()[name].numpy(), weights.numpy()), name
    with pytest.raises(ConfigError, match="end_on_best must be true or false"):
        polebench.train(algo="ppo", hyperparams={"end_on_best": "yes"}, log_folder=tmp_path)


def test_the_kept_model_is_chosen_by_the_episodes_it_survives_under_perturbations(tmp_path: Path) -> None:
    """``best_survives``: summary.json says how many survival episodes the kept model brought to the threshold,
    and replaying those episodes (the run's own, seeded the same) with the kept model gives that number;
    under kicks no policy survives (push=5, 1.5 rad/s every second) every balanced evaluation ties at 0 of
    the recipe's 20, so the kept one is the best-balanced of those."""
    from stable_baselines3.common.evaluation import evaluate_policy

    from polebench.agents.ars import ARS
    from polebench.envs.factory import SURVIVAL_SEED_OFFSET, make_vec, measured
    from polebench.envs.perturbations import parse_perturb
    from polebench.run.evaluation_env import load_statistics

    common = {"algo": "ars", "eval_freq": 2000, "eval_episodes": 3, "seed": 1}
    # recipe-ars's training balances within these steps; survival ranks only balanced evaluations.
    survives = {"best_survives": "push=1,model_error=1", "survival_episodes": 4}
    gentle = polebench.train(**common, conf_file="ars-balance", n_timesteps=20_000, log_folder=tmp_path / "l1",
                             hyperparams=survives)  # fmt: skip
    assert gentle.best_model_score is not None, gentle
    survived = int(gentle.best_model_score.split("survived ")[1].split("/")[0])
    assert gentle.best_model_score.endswith(f"survived {survived}/8 episodes under push=1, model_error=1")
    best = ARS.load(Path(gentle.run_dir) / runs.BEST_MODEL)
    replayed = 0
    for use in ("push=1", "model_error=1"):
        envs = make_vec("CartPole-v1", 4, 1 + SURVIVAL_SEED_OFFSET, inner=measured(parse_perturb(use)))
        envs = load_statistics(Path(gentle.run_dir) / runs.VECNORMALIZE_FILE, envs)  # the kept model's, as saved
        envs.training = False
        returns, _ = evaluate_policy(best, envs, n_eval_episodes=4, return_episode_rewards=True)
        replayed += sum(r >= 475 for r in returns)
    assert replayed == survived and survived > 0
    recipe = {**common, "conf_file": "ars-balance", "n_timesteps": 12_000}
    kicked = polebench.train(**recipe, hyperparams={"best_survives": {"push": 5}}, log_folder=tmp_path / "l5")
    plain = polebench.train(**recipe, hyperparams={"best_survives": {}}, log_folder=tmp_path / "plain")
    assert (kicked.best_model_score or "").endswith("survived 0/20 episodes under push=5"), kicked

    def balance(summary: RunSummary) -> float:
        return float((summary.best_model_score or "").split("balance ")[1].split("x")[0])

    # Plain keeps the best-balanced solved evaluation; with survival on, the best among balanced ones: no
    # better, and the same one whenever plain's is balanced (within 1.5x on both counts, surely so).
    assert balance(plain) <= balance(kicked)
    assert balance(plain) > 1.5 or kicked.best_model_steps == plain.best_model_steps


@pytest.mark.parametrize(
    ("values", "says"),
    [
        (["best_survives=pushh=4"], "best_survives: unknown perturbation 'pushh=4'"),
        (["best_survives=push=9"], "push level must be a whole number from 0"),
        (["best_survives=push=4", "survival_episodes=0"], "survival_episodes must be a whole number from 1 to"),
        (["survival_episodes=5"], "survival_episodes counts the episodes of best_survives; name best_survives too"),
    ],
)
def test_a_bad_survival_requirement_is_one_line_and_exit_2(values: list[str], says: str, tmp_path: Path) -> None:
    result = run_script("train.py", "--algo", "ars", "-n", "64", "--hyperparams", *values, "-f", str(tmp_path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and says in result.stderr, result.stderr
    assert not tmp_path.exists() or not list(tmp_path.iterdir())


def test_a_training_horizon_cuts_training_episodes_but_not_evaluations(tmp_path: Path) -> None:
    # Pendulum never ends early: training episodes last exactly the horizon, evaluations the env's 200 steps.
    result = run_script("train.py", "--algo", "ars", "--env", "Pendulum-v1", "-n", "2000", "--eval-freq", "1000",
                        "--eval-episodes", "2", "--final-eval-episodes", "2", "--hyperparams", "training_horizon=40",
                        "-f", str(tmp_path))  # fmt: skip
    assert result.returncode == 0, result.stderr
    run = tmp_path / "ars" / "Pendulum-v1_1"
    monitors = list(run.glob("*.monitor.csv"))
    lengths = {int(row["l"]) for monitor in monitors for row in csv.DictReader(monitor.read_text().splitlines()[1:])}
    assert lengths == {40}  # the Monitor records the cut episodes
    assert set(np.load(run / "evaluations.npz")["ep_lengths"].ravel().tolist()) == {200}


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("0", "training_horizon must be a positive integer, got 0"),
        ("2.5", "training_horizon must be a positive integer, got 2.5"),
        ("true", "training_horizon must be a positive integer, got True"),
        ("100001", "training_horizon must be at most 100,000, got 100,001"),
        ("500", "training_horizon 500 is not below CartPole-v1's own limit of 500 steps"),
    ],
)
def test_a_bad_training_horizon_is_one_line_and_exit_2(value: str, says: str, tmp_path: Path) -> None:
    result = run_script("train.py", "--algo", "ars", "-n", "64", "--hyperparams", f"training_horizon={value}",
                        "-f", str(tmp_path))  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and says in result.stderr, result.stderr
    assert not tmp_path.exists() or not list(tmp_path.iterdir())
