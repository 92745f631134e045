"""What ``train.py`` does, one short step each: plan (validate everything), make the run folder,
build envs and model, learn, evaluate, save, summarise.

Everything a user can get wrong is checked in :func:`make_plan`, before anything is written.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agents.registry import AlgoSpec, get_algo
from envs.factory import EVAL_SEED_OFFSET, TRAJECTORY_SEED, check_env_id, make_vec, measured
from envs.thresholds import eval_episodes, require_threshold, reward_threshold
from envs.wrapping import WrapperUse, check_wrappers, parse_env_wrapper, wrapper_chain
from polebench import hyperparams as hpm
from polebench import runs
from polebench.errors import UserError
from polebench.evaluation import evaluate, sync_normalization


@dataclass
class Plan:
    """A validated training request: nothing past this point can fail because of user input."""

    spec: AlgoSpec
    algo_cls: Any
    env_id: str
    hyperparams: dict[str, Any]
    kwargs: dict[str, Any]
    n_envs: int
    n_timesteps: int
    threshold: float | None
    trained_agent: Path | None
    wrappers: list[WrapperUse]
    eval_episodes: int

    @property
    def shaping(self) -> dict[str, Any] | None:
        """The reward-shaping wrapper's arguments, or ``None`` when the reward is the env's own."""
        return next((use.kwargs for use in self.wrappers if use.kind.training_only), None)


@dataclass
class Session:
    """What one run builds: its folder, envs, model and the callbacks that watch it."""

    run_dir: Path
    model: Any
    eval_env: Any
    eval_callback: Any
    solve: Any
    callbacks: list[Any]


def _check_flags(args: argparse.Namespace) -> None:
    if args.save_freq < 0:
        raise UserError(f"--save-freq must be 0 (off) or a positive number of env steps, got {args.save_freq}")
    if args.n_timesteps is not None and args.n_timesteps <= 0:
        raise UserError(f"-n/--n-timesteps must be a positive number of env steps, got {args.n_timesteps}")
    if args.eval_freq < 0:
        raise UserError(f"--eval-freq must be 0 (off) or a positive number of env steps, got {args.eval_freq}")
    if args.eval_episodes is not None and args.eval_episodes <= 0:
        raise UserError(f"--eval-episodes must be at least 1, got {args.eval_episodes}")


def _trained_agent_config(path: Path, algo: str, env_id: str) -> dict[str, Any]:
    """The config of the run a ``-i`` model came from, after checking it is the same algo and env."""
    if path.suffix != ".zip" or not path.is_file():
        raise UserError(f"-i/--trained-agent must be an existing model .zip, got {path}")
    config = runs.read_config(path.parent)
    if (config.get("algo"), config.get("env")) != (algo, env_id):
        raise UserError(
            f"{path} is a {config.get('algo')} model for {config.get('env')}; it cannot continue as {algo} on {env_id}"
        )
    return dict(config.get("hyperparams", {}))


def make_plan(args: argparse.Namespace, sampled: Mapping[str, Any] | None = None) -> Plan:
    """Validate the flags, the algorithm, the env and every hyperparameter.

    :param sampled: hyperparameters chosen by a tuning trial, layered over everything else
    """
    _check_flags(args)
    spec = get_algo(args.algo)
    env_id = check_env_id(args.env)
    trained = Path(args.trained_agent) if args.trained_agent else None
    base = _trained_agent_config(trained, spec.name, env_id) if trained else None
    overrides = hpm.parse_overrides(args.hyperparams or [])
    if args.n_timesteps is not None:
        overrides["n_timesteps"] = args.n_timesteps
    overrides = hpm.layer(overrides, sampled or {})
    conf = Path(args.conf_file) if args.conf_file else None
    hp = hpm.resolve(spec.name, env_id, conf, overrides, base=base)
    hp.setdefault("policy", spec.policy)
    wrappers = _wrappers(hp, env_id, args.shaped_reward)
    algo_cls = spec.load_class()
    if hp["policy"] not in algo_cls.policy_aliases:
        raise UserError(f"unknown policy {hp['policy']!r}; choose one of: {', '.join(algo_cls.policy_aliases)}")
    kwargs = hpm.constructor_kwargs(hp)
    hpm.check_kwargs(algo_cls, kwargs)
    hpm.normalize_kwargs(hp)
    threshold = require_threshold(env_id) if args.stop_on_solve else reward_threshold(env_id)
    episodes = args.eval_episodes or eval_episodes(env_id)
    return Plan(
        spec, algo_cls, env_id, hp, kwargs, hpm.n_envs(hp), hpm.n_timesteps(hp), threshold, trained, wrappers, episodes
    )


def _wrappers(hp: dict[str, Any], env_id: str, shaped_reward: bool) -> list[WrapperUse]:
    """Parse ``env_wrapper`` (adding reward shaping for ``--shaped-reward``), check it, and write it back
    into ``hp`` with every argument spelled out, so ``config.yml`` records exactly what ran."""
    uses = parse_env_wrapper(hp.get("env_wrapper"))
    if shaped_reward and not any(use.kind.training_only for use in uses):
        uses += parse_env_wrapper("shaped_reward")
    check_wrappers(uses, env_id)
    if uses:
        hp["env_wrapper"] = [{use.name: use.kwargs} for use in uses]
    return uses


def _config(plan: Plan, args: argparse.Namespace) -> dict[str, Any]:
    flags = (
        "seed", "n_timesteps", "eval_freq", "stop_on_solve", "save_freq", "save_replay_buffer", "device", "num_threads",
    )  # fmt: skip
    return {
        "algo": plan.spec.name,
        "env": plan.env_id,
        **{flag: getattr(args, flag) for flag in flags},
        "trained_agent": str(plan.trained_agent) if plan.trained_agent else None,
        "eval_episodes": plan.eval_episodes,
        "shaped": plan.shaping is not None,
        "shaping": plan.shaping,
        "hyperparams": plan.hyperparams,
    }


def _make_envs(plan: Plan, seed: int, run_dir: Path) -> tuple[Any, Any]:
    """The training VecEnv (monitored into ``run_dir``) and a separately seeded, unshaped evaluation VecEnv.

    The evaluation env holds one sub-env per evaluation episode, so the K episodes run side by side
    with one batched ``predict`` per step instead of one after another.
    """
    train_wrap = wrapper_chain(plan.wrappers, training=True)
    train_env = make_vec(plan.env_id, plan.n_envs, seed, monitor_dir=run_dir, wrapper=train_wrap)
    eval_wrap = wrapper_chain(plan.wrappers, training=False)
    eval_env = make_vec(plan.env_id, plan.eval_episodes, seed + EVAL_SEED_OFFSET, wrapper=eval_wrap, inner=measured())
    norm = hpm.normalize_kwargs(plan.hyperparams)
    if norm is not None:
        from stable_baselines3.common.vec_env import VecNormalize

        if plan.trained_agent and (plan.trained_agent.parent / runs.VECNORMALIZE_FILE).is_file():
            train_env = VecNormalize.load(str(plan.trained_agent.parent / runs.VECNORMALIZE_FILE), train_env)
        else:
            train_env = VecNormalize(train_env, gamma=plan.hyperparams.get("gamma", 0.99), **norm)
        eval_env = VecNormalize(eval_env, training=False, norm_reward=False, **norm)
    return train_env, eval_env


def _make_model(plan: Plan, args: argparse.Namespace, train_env: Any) -> Any:
    if plan.trained_agent is not None:
        # The saved network keeps its architecture; other hyperparameters may change on resume.
        kwargs = {k: v for k, v in plan.kwargs.items() if k != "policy_kwargs"}
        model = runs.load_model(plan.algo_cls, plan.trained_agent, env=train_env, device=args.device, **kwargs)
        model.set_random_seed(args.seed)
        buffer = plan.trained_agent.parent / runs.REPLAY_BUFFER_FILE
        if plan.spec.off_policy and buffer.is_file():
            model.load_replay_buffer(str(buffer))
            print(f"continuing with the saved replay buffer ({model.replay_buffer.size()} transitions)")
        return model
    try:
        return plan.algo_cls(
            plan.hyperparams["policy"], train_env, seed=args.seed, device=args.device, verbose=0, **plan.kwargs
        )
    except (AssertionError, ValueError) as err:
        raise UserError(f"{plan.spec.name} cannot train on {plan.env_id}: {err}") from None


def _build(plan: Plan, args: argparse.Namespace, run_dir: Path, started_at: float, after_eval: Any = None) -> Session:
    from stable_baselines3.common.callbacks import BaseCallback, CheckpointCallback
    from stable_baselines3.common.logger import configure

    from polebench.callbacks import ShapedReturnLogger, SolveTracker, TimedEvalCallback

    runs.write_yaml(run_dir / runs.CONFIG_FILE, _config(plan, args))
    train_env, eval_env = _make_envs(plan, args.seed, run_dir)
    model = _make_model(plan, args, train_env)
    model.set_logger(configure(str(run_dir), ["tensorboard"] + (["stdout"] if args.verbose >= 2 else [])))
    # Without a threshold nothing counts as solved: an infinite one never triggers.
    threshold = np.inf if plan.threshold is None else plan.threshold
    solve = SolveTracker(threshold, args.stop_on_solve, started_at)
    callbacks: list[BaseCallback] = [ShapedReturnLogger()] if plan.shaping is not None else []
    eval_callback = None
    if args.eval_freq > 0:
        eval_callback = TimedEvalCallback(
            eval_env,
            started_at=started_at,
            callback_on_new_best=solve,
            n_eval_episodes=plan.eval_episodes,
            eval_freq=max(args.eval_freq // plan.n_envs, 1),
            log_path=str(run_dir),
            best_model_save_path=str(run_dir),
            callback_after_eval=after_eval,
            verbose=min(args.verbose, 1),
        )
        callbacks.append(eval_callback)
    if args.save_freq > 0:
        callbacks.append(
            CheckpointCallback(
                save_freq=max(args.save_freq // plan.n_envs, 1),
                save_path=str(run_dir / runs.CHECKPOINTS),
                name_prefix=plan.env_id,
                save_replay_buffer=args.save_replay_buffer and plan.spec.off_policy,
                save_vecnormalize=True,
            )
        )
    return Session(run_dir, model, eval_env, eval_callback, solve, callbacks)


def _learn(session: Session, plan: Plan, args: argparse.Namespace) -> bool:
    """Train; return whether the user interrupted (Ctrl-C), in which case the work is still saved."""
    try:
        session.model.learn(
            plan.n_timesteps,
            callback=session.callbacks,
            progress_bar=args.progress,
            reset_num_timesteps=plan.trained_agent is None,
        )
    except KeyboardInterrupt:
        print(f"interrupted at {session.model.num_timesteps} steps: saving what was learned so far")
        return True
    return False


def _final_evaluation(session: Session, episodes: int) -> tuple[float, dict[str, float]]:
    """The mean true return and mean behaviour metrics at the end of training, reusing an evaluation
    made at this very step."""
    cb = session.eval_callback
    if cb is not None and cb.evaluations_timesteps and cb.evaluations_timesteps[-1] == session.model.num_timesteps:
        return float(cb.last_mean_reward), cb.last_quality
    sync_normalization(session.model, session.eval_env)
    final = evaluate(session.model, session.eval_env, episodes)
    return final.mean_return, final.mean_quality


def _record_trajectory(session: Session, plan: Plan) -> None:
    """Play one deterministic episode from the reference initial state (the same for every run and
    algorithm) and keep its true states and actions in ``trajectory.npz``, for the benchmark's plot."""
    from envs.families import family_of_id
    from polebench.replay import play

    if family_of_id(plan.env_id) is None:
        return
    wrap = wrapper_chain(plan.wrappers, training=False)
    env = make_vec(plan.env_id, 1, TRAJECTORY_SEED, wrapper=wrap, inner=measured(keep_trajectory=True))
    if session.model.get_vec_normalize_env() is not None:
        from stable_baselines3.common.vec_env import VecNormalize

        env = VecNormalize(env, training=False, norm_reward=False, **(hpm.normalize_kwargs(plan.hyperparams) or {}))
        sync_normalization(session.model, env)
    played = play(session.model, env, 1, deterministic=True, echo=False)
    env.close()
    if played.trajectories:
        runs.write_npz(session.run_dir / runs.TRAJECTORY_FILE, **played.trajectories[0], ret=played.returns[0])


def peak_rss_mb() -> float:
    """Peak resident memory of this process, in MB.

    Children are left out on purpose: a forked helper (``uname`` behind ``platform``) reports the
    parent's resident pages at fork as its own peak, which would count the same memory twice.
    """
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _save(session: Session, plan: Plan, save_replay_buffer: bool) -> None:
    runs.atomic_save(session.model, runs.model_path(session.run_dir, plan.env_id))
    if save_replay_buffer and plan.spec.off_policy:
        session.model.save_replay_buffer(str(session.run_dir / runs.REPLAY_BUFFER_FILE))
    vec_normalize = session.model.get_vec_normalize_env()
    if vec_normalize is not None:
        vec_normalize.save(str(session.run_dir / runs.VECNORMALIZE_FILE))


def _summary(
    session: Session,
    plan: Plan,
    args: argparse.Namespace,
    started_at: float,
    final: tuple[float, dict[str, float]],
    interrupted: bool,
) -> dict[str, Any]:
    final_return, quality = final
    periodic = session.eval_callback.best_mean_reward if session.eval_callback else -np.inf
    return {
        "algo": plan.spec.name,
        "env": plan.env_id,
        "seed": args.seed,
        "timesteps": int(session.model.num_timesteps),
        "solved": session.solve.steps_to_solve is not None,
        "steps_to_solve": session.solve.steps_to_solve,
        "time_to_solve_s": session.solve.time_to_solve_s,
        "wall_time_s": round(time.time() - started_at, 3),
        "best_mean_return": round(max(float(periodic), final_return), 3),
        "final_mean_return": round(final_return, 3),
        "quality": quality,
        "threshold": plan.threshold,
        "peak_rss_mb": peak_rss_mb(),
        "shaped": plan.shaping is not None,
        "shaping": plan.shaping,
        "interrupted": interrupted,
        "run_dir": str(session.run_dir),
    }


def train(
    args: argparse.Namespace,
    started_at: float,
    sampled: Mapping[str, Any] | None = None,
    after_eval: Any = None,
) -> dict[str, Any]:
    """Run one training job end to end and return its ``summary.json`` content.

    :param sampled: hyperparameters chosen by a tuning trial (see :mod:`polebench.tuning`)
    :param after_eval: an SB3 callback run after every periodic evaluation; returning False stops training
    """
    plan = make_plan(args, sampled)
    import torch

    torch.set_num_threads(args.num_threads)
    log_folder = Path(args.log_folder)
    made = [folder for folder in (log_folder / plan.spec.name, log_folder) if not folder.exists()]
    run_dir = runs.new_run_dir(log_folder, plan.spec.name, plan.env_id)
    try:
        session = _build(plan, args, run_dir, started_at, after_eval)
    except BaseException:
        # Building the model is the one check that needs the run folder (its env writes monitor files
        # there); on failure take back exactly the folders this run made.
        shutil.rmtree(run_dir, ignore_errors=True)
        for folder in made:
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        raise
    interrupted = _learn(session, plan, args)
    final = _final_evaluation(session, plan.eval_episodes)
    if plan.threshold is not None and final[0] >= plan.threshold:
        session.solve.mark_solved(session.model.num_timesteps)
    _save(session, plan, args.save_replay_buffer)
    summary = _summary(session, plan, args, started_at, final, interrupted)
    runs.write_json(run_dir / runs.SUMMARY_FILE, summary)
    if not interrupted:
        _record_trajectory(session, plan)
    return summary
