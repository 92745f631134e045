"""A training session: the run folder and what is built in it (envs, model, callbacks), made so that a
failure while building takes back exactly what it made, and saved atomically at the end."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from polebench.config import hyperparams as hpm
from polebench.config.run_config import RunConfig
from polebench.envs.factory import EVAL_SEED_OFFSET, SURVIVAL_SEED_OFFSET, envs_with_actions, make_vec, measured
from polebench.envs.perturbations import training_perturbations
from polebench.envs.wrapping import wrapper_chain
from polebench.errors import ConfigError, first_line
from polebench.run import folder as runs
from polebench.run.evaluation_env import load_statistics
from polebench.run.plan import Plan, run_config_record


@dataclass
class Session:
    """What one run builds: its folder, envs, model and the callbacks that watch it."""

    run_dir: Path
    model: Any
    eval_env: Any
    eval_callback: Any
    solve: Any
    balance: Any
    callbacks: list[Any]
    trace: Any  # the run's ResourceTrace: memory and time every 10,000 env steps


def start(plan: Plan, started_at: float, after_eval: Any) -> Session:
    """Make the run folder and build everything in it; on failure take back exactly what it made."""
    log_folder = plan.config.log_folder
    made = [folder for folder in (log_folder / plan.spec.name, log_folder) if not folder.exists()]
    run_dir = runs.new_run_dir(log_folder, plan.spec.name, plan.env_id)
    try:
        return _build(plan, run_dir, started_at, after_eval)
    except BaseException:
        # Building the model is the one check that needs the run folder (its env writes monitor files
        # there); on failure take back exactly the folders this run made.
        shutil.rmtree(run_dir, ignore_errors=True)
        for folder in made:
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        raise


def _build(plan: Plan, run_dir: Path, started_at: float, after_eval: Any = None) -> Session:
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.logger import configure

    from polebench.run.callbacks import (
        AtomicCheckpointCallback,
        BalanceTracker,
        ResourceTrace,
        ShapedReturnLogger,
        SolveTracker,
        TimedEvalCallback,
    )

    c = plan.config
    device = plan.device
    runs.write_yaml(run_dir / runs.CONFIG_FILE, run_config_record(plan))
    runs.write_text(run_dir / runs.COMMAND_FILE, (c.command or repr_call(c)) + "\n")
    train_env, evaluation = make_envs(plan, c.seed, run_dir)
    model = _make_model(plan, device, train_env)
    events = run_dir if c.tensorboard_log is None else zoo_tensorboard_folder(c.tensorboard_log, plan, run_dir)
    model.set_logger(configure(str(events), ["tensorboard"] + (["stdout"] if c.verbose >= 2 else [])))
    # Without a threshold nothing counts as solved: an infinite one never triggers.
    threshold = np.inf if plan.threshold is None else plan.threshold
    solve = SolveTracker(threshold, c.stop_on_solve, started_at)
    balance = BalanceTracker(plan.balance, threshold, c.stop_on_balance, started_at)
    trace = ResourceTrace()
    callbacks: list[BaseCallback] = [trace, *([ShapedReturnLogger()] if plan.shaped_reward is not None else [])]
    eval_callback = None
    if c.eval_freq > 0:
        eval_callback = TimedEvalCallback(
            evaluation,
            started_at=started_at,
            balance=balance,
            best_by=plan.best_by,
            threshold=threshold,
            **_survival(plan, c.seed),
            callback_on_new_best=solve,
            n_eval_episodes=plan.eval_episodes,
            eval_freq=max(c.eval_freq // plan.n_envs, 1),
            log_path=str(run_dir),
            best_model_save_path=str(run_dir),
            callback_after_eval=after_eval,
            verbose=min(c.verbose, 1),
        )
        callbacks.append(eval_callback)
    if c.save_freq > 0:
        callbacks.append(
            AtomicCheckpointCallback(
                save_freq=max(c.save_freq // plan.n_envs, 1),
                save_path=str(run_dir / runs.CHECKPOINTS),
                name_prefix=plan.env_id,
                save_replay_buffer=c.save_replay_buffer and plan.spec.off_policy,
                save_vecnormalize=True,
            )
        )
    return Session(run_dir, model, evaluation, eval_callback, solve, balance, callbacks, trace)


def _training_inner(plan: Plan) -> Callable[[Any], Any] | None:
    """What wraps each training simulator inside the Monitor: the training perturbations (so what the
    Monitor reports stays the true return), then the training horizon (so it records the cut episodes)."""
    perturb = training_perturbations(plan.train_perturb, plan.family, plan.env_id) if plan.train_perturb else None
    horizon = plan.training_horizon
    if horizon is None:
        return perturb

    def inner(env: Any) -> Any:
        import gymnasium as gym

        return gym.wrappers.TimeLimit(perturb(env) if perturb is not None else env, horizon)

    return inner


def make_envs(plan: Plan, seed: int, run_dir: Path) -> tuple[Any, Any]:
    """The training VecEnv (monitored into ``run_dir``, perturbed and cut short if asked) and the evaluation VecEnv."""
    train_wrap = wrapper_chain(plan.wrappers, training=True)
    kwargs = plan.config.env_kwargs
    train_env = make_vec(
        plan.env_id, plan.n_envs, seed, monitor_dir=run_dir, wrapper=train_wrap, inner=_training_inner(plan),
        env_kwargs=kwargs,
    )  # fmt: skip
    norm = hpm.normalize_kwargs(plan.hyperparams)
    if norm is not None:
        from polebench.wrappers.normalization import vec_normalize

        if plan.trained_agent and (plan.trained_agent.parent / runs.VECNORMALIZE_FILE).is_file():
            train_env = load_statistics(plan.trained_agent.parent / runs.VECNORMALIZE_FILE, train_env)
        else:
            train_env = vec_normalize(train_env, {"gamma": plan.hyperparams.get("gamma", 0.99), **norm})
    return train_env, eval_env(plan, seed, plan.eval_episodes)


def _survival(plan: Plan, seed: int) -> dict[str, Any]:
    """The evaluation callback's ``survival`` envs and seed for ``best_survives`` (none: nothing): one
    vectorised env per perturbation, its ``survival_episodes`` episodes side by side."""
    if not plan.best_survives:
        return {}
    survival_seed = seed + SURVIVAL_SEED_OFFSET
    build = plan.evaluation_env.build
    envs = [build(plan.survival_episodes, survival_seed, inner=measured(use)) for use in plan.best_survives]
    return {"survival": envs, "survival_seed": survival_seed}


def eval_env(plan: Plan, seed: int, episodes: int) -> Any:
    """A separately seeded, unshaped and unperturbed evaluation VecEnv for ``episodes`` episodes.

    It holds one sub-env per episode (up to ``--n-eval-envs``), so the episodes run side by side with
    one batched ``predict`` per step instead of one after another.
    """
    n_eval = min(plan.config.n_eval_envs or episodes, episodes)
    return plan.evaluation_env.build(n_eval, seed + EVAL_SEED_OFFSET, inner=measured())


def _make_model(plan: Plan, device: str, train_env: Any) -> Any:
    if plan.trained_agent is not None:
        # The saved network keeps its architecture; other hyperparameters may change on resume.
        kwargs = {k: v for k, v in plan.kwargs.items() if k != "policy_kwargs"}
        model = runs.load_model(plan.algo_cls, plan.trained_agent, env=train_env, device=device, **kwargs)
        model.set_random_seed(plan.config.seed)
        buffer = plan.trained_agent.parent / runs.REPLAY_BUFFER_FILE
        if plan.spec.off_policy and buffer.is_file():
            model.load_replay_buffer(str(buffer))
            buffer_ = model.replay_buffer  # each of its rows holds one transition of every env
            transitions = buffer_.size() * buffer_.n_envs
            envs = f"{buffer_.n_envs} env" + ("s" if buffer_.n_envs > 1 else "")
            print(f"continuing with the saved replay buffer ({transitions:,} transitions from {envs})")
        return model
    kwargs = dict(plan.kwargs)
    noise = hpm.action_noise(plan.hyperparams, int(np.prod(train_env.action_space.shape or (1,))))
    if noise is not None:
        kwargs["action_noise"] = noise
    try:
        return plan.algo_cls(
            plan.hyperparams["policy"], train_env, seed=plan.config.seed, device=device, verbose=0, **kwargs
        )
    except (AssertionError, ValueError, TypeError) as err:
        message = first_line(err)
        hint = _other_action_kind(train_env.action_space) if "action space" in message else ""
        raise ConfigError(f"{plan.spec.name} cannot train on {plan.env_id}: {message}{hint}") from None


def _other_action_kind(space: Any) -> str:
    """For an algorithm that refused ``space`` (SB3 checks it in the constructor), where it can go: the
    classic-control envs with the other kind of action, a force for pushes and pushes for a force."""
    from gymnasium import spaces

    other = {spaces.Discrete: spaces.Box, spaces.Box: spaces.Discrete}.get(type(space))
    if other is None:
        return ""
    return f"; envs with {other.__name__} actions: {', '.join(envs_with_actions((other,)))}"


def zoo_tensorboard_folder(tensorboard_log: Path, plan: Plan, run_dir: Path) -> Path:
    """Where ``-tb FOLDER`` puts a run's events: ``FOLDER/<env>/<algo>_<N>``, N the run's number, as the zoo."""
    return tensorboard_log / plan.env_id / f"{plan.spec.name}_{run_dir.name.rsplit('_', 1)[1]}"


def save(session: Session, plan: Plan) -> None:
    """The model, and what resuming it needs: the replay buffer (if asked) and normalisation statistics."""
    runs.atomic_save(session.model, runs.model_path(session.run_dir, plan.env_id))
    if plan.config.save_replay_buffer and plan.spec.off_policy:
        with runs.atomic_target(session.run_dir / runs.REPLAY_BUFFER_FILE) as tmp:
            session.model.save_replay_buffer(str(tmp))
    vec_normalize = session.model.get_vec_normalize_env()
    if vec_normalize is not None:
        with runs.atomic_target(session.run_dir / runs.VECNORMALIZE_FILE) as tmp:
            vec_normalize.save(str(tmp))


def repr_call(config: RunConfig) -> str:
    """The Python call that makes ``config``, for ``command.txt`` of a run started from Python."""
    from dataclasses import fields

    defaults = RunConfig(algo=config.algo)
    names = ["algo"] + [
        f.name for f in fields(config) if f.name != "command" and getattr(config, f.name) != getattr(defaults, f.name)
    ]
    return "polebench.train(" + ", ".join(f"{name}={_plain(getattr(config, name))!r}" for name in names) + ")"


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Path) else (dict(value) if isinstance(value, Mapping) else value)
