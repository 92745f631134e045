"""What ``train.py`` (and ``polebench.train``) does, one short step each: plan (validate everything,
:mod:`~polebench.run.plan`), start a session (run folder, envs, model: :mod:`~polebench.run.session`), learn,
evaluate, save, summarise.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from polebench import interrupts
from polebench.config import hyperparams as hpm
from polebench.config.run_config import RunConfig
from polebench.envs.factory import EVAL_SEED_OFFSET, TRAJECTORY_SEED, measured
from polebench.errors import ConfigError, describe_os_error, first_line
from polebench.interrupts import Phase
from polebench.memory import own_peak_rss_mb
from polebench.run import folder as runs
from polebench.run.callbacks import NOT_BALANCED
from polebench.run.evaluation import Score, evaluate, evaluate_vectorized, has_vector_env, sync_normalization
from polebench.run.plan import Plan, make_plan
from polebench.run.session import Session, eval_env, save, start
from polebench.run.summary import RunSummary


def train(
    config: RunConfig,
    started_at: float | None = None,
    sampled: Mapping[str, Any] | None = None,
    after_eval: Any = None,
) -> RunSummary:
    """Run one training job end to end, write its ``summary.json`` and return it.

    :param started_at: ``time.time()`` of the process start, for times that include start-up (default: now,
        and the CPU time then counts from now too: an earlier run in the same process is not this one's)
    :param sampled: hyperparameters chosen by a tuning trial (see :mod:`polebench.tune.tuning`)
    :param after_eval: an SB3 callback run after every periodic evaluation; returning False stops training
    """
    # time.process_time() counts from the process start, which started_at marks when it is given.
    cpu_started = time.process_time() if started_at is None else 0.0
    started_at = time.time() if started_at is None else started_at
    plan = make_plan(config, sampled)
    import torch

    torch.set_num_threads(config.num_threads)
    session = start(plan, started_at, after_eval)
    failure: OSError | None = None  # a write that failed (a full disk): what was saved before it stays
    crash: Exception | None = None  # the algorithm's (or a plugin's) own error: saved, recorded, raised again
    try:
        interrupted = _learn(session, plan)
    except OSError as err:
        failure, interrupted = _released(err), True
    except Exception as err:
        crash, interrupted = err, False
        print(f"training failed at {session.model.num_timesteps} steps: saving what was learned so far")
    if hpm.end_on_best(plan.hyperparams) and session.eval_callback is not None and crash is None:
        session.eval_callback.restore_kept()
    signals = interrupts.current()
    # Save first: a second signal while saving is held back, and then skips the final evaluation.
    with signals.holding() as arrived:
        if interrupted and failure is None:
            print(f"interrupted at {session.model.num_timesteps} steps: saving what was learned so far")
        try:
            save(session, plan)
        except OSError as err:
            failure = failure or _released(err)
        except Exception:
            if crash is None:
                raise  # a model the crash left unsaveable keeps the checkpoints and best model it had
    final = _last_evaluation(session, plan)
    if not arrived and failure is None and crash is None:
        try:
            signals.enter(Phase.STOPPABLE)  # a (second) signal during the final evaluation skips it
            final = _final_evaluation(session, plan)
        except KeyboardInterrupt:
            interrupted = True
            print("interrupted again: the final evaluation is skipped; the latest one is reported")
        except Exception as err:  # a plugin's predict, say: the run stays saved and says why it ended
            if interrupts.stopped_by_signal(err):
                interrupted = True
            else:
                crash = err
    if plan.threshold is not None and final.mean_return >= plan.threshold:
        session.solve.mark_solved(session.model.num_timesteps)
        session.balance.observe(session.model.num_timesteps, final.mean_return, final.quality)
    with signals.holding() as arrived_late:
        summary = _summary(session, plan, started_at, cpu_started, final, interrupted or bool(arrived))
        if failure is not None or crash is not None:
            error = (
                describe_os_error(failure) if failure is not None else f"{type(crash).__name__}: {first_line(crash)}"
            )
            summary = replace(summary, error=error)
        try:
            summary.write(session.run_dir)
        except OSError as err:
            failure = failure or err
    if failure is not None:
        raise ConfigError(f"{describe_os_error(failure)}; what was saved before it is kept in {session.run_dir}")
    if crash is not None:
        raise crash
    # The run is saved; a signal now only skips these extras.
    with contextlib.suppress(KeyboardInterrupt):
        log_hparams(session.model, plan, summary)
        if not (summary.interrupted or arrived_late):
            _record_trajectory(session, plan)
    return summary


def _released(err: OSError) -> OSError:
    """``err`` without its traceback, whose frames hold the file that failed open: until it is closed, its
    disk space (a temporary file already unlinked) is not freed for the summary that follows."""
    return err.with_traceback(None)


def _learn(session: Session, plan: Plan) -> bool:
    """Train; return whether a Ctrl-C or SIGTERM stopped it (the work so far is saved all the same)."""
    try:
        interval = {} if plan.config.log_interval is None else {"log_interval": plan.config.log_interval}
        session.model.learn(
            plan.n_timesteps,
            callback=session.callbacks,
            progress_bar=plan.config.progress,
            reset_num_timesteps=plan.trained_agent is None,
            **interval,
        )
    except KeyboardInterrupt:
        return True
    except Exception as err:
        if interrupts.stopped_by_signal(err):
            return True
        raise
    return False


def _final_evaluation(session: Session, plan: Plan) -> Score:
    """The final evaluation: ``--final-eval-episodes`` fresh episodes, side by side, reusing a periodic
    evaluation made at this very step when it played as many."""
    cb = session.eval_callback
    same = cb is not None and cb.n_eval_episodes == plan.final_eval_episodes
    if same and cb.evaluations_timesteps and cb.evaluations_timesteps[-1] == session.model.num_timesteps:
        return _last_evaluation(session, plan)
    if plan.evaluation_env.is_plain and has_vector_env(plan.env_id):
        metrics = plan.family.metrics if plan.family is not None else ()
        seed = plan.config.seed + EVAL_SEED_OFFSET
        played = evaluate_vectorized(session.model, plan.env_id, plan.final_eval_episodes, seed, metrics)
        return Score.of_episodes(played, plan.threshold)
    env = eval_env(plan, plan.config.seed, plan.final_eval_episodes)
    try:
        sync_normalization(session.model, env)
        return Score.of_episodes(evaluate(session.model, env, plan.final_eval_episodes), plan.threshold)
    finally:
        env.close()


def _last_evaluation(session: Session, plan: Plan) -> Score:
    """What to report when the final evaluation was skipped: the latest periodic one, or nothing."""
    cb = session.eval_callback
    if cb is not None and cb.evaluations_timesteps:
        return Score.of([float(r) for r in cb.evaluations_results[-1]], cb.last_quality, plan.threshold)
    return Score.of([], {}, plan.threshold)


def _record_trajectory(session: Session, plan: Plan) -> None:
    """Play one deterministic episode from the reference initial state (the same for every run and
    algorithm) and keep its true states and actions in ``trajectory.npz``, for the benchmark's plot."""
    from polebench.run.rollout import play

    if plan.family is None:
        return
    env = plan.evaluation_env.build(1, TRAJECTORY_SEED, inner=measured(keep_trajectory=True))
    sync_normalization(session.model, env)
    played = play(session.model, env, 1, deterministic=True)
    env.close()
    if played.trajectories:
        runs.write_npz(session.run_dir / runs.TRAJECTORY_FILE, **played.trajectories[0], ret=played.returns[0])


def _summary(
    session: Session, plan: Plan, started_at: float, cpu_started: float, final: Score, interrupted: bool
) -> RunSummary:
    final_return, quality = final.mean_return, final.quality
    periodic = session.eval_callback.best_mean_reward if session.eval_callback else -np.inf
    best = max(float(periodic), final_return) if np.isfinite(final_return) else float(periodic)
    return RunSummary(
        algo=plan.spec.name,
        env=plan.env_id,
        seed=plan.config.seed,
        timesteps=int(session.model.num_timesteps),
        solved=session.solve.steps_to_solve is not None,
        steps_to_solve=session.solve.steps_to_solve,
        time_to_solve_s=session.solve.time_to_solve_s,
        wall_time_s=round(time.time() - started_at, 3),
        best_mean_return=round(best, 3) if np.isfinite(best) else None,
        final_mean_return=round(final_return, 3) if np.isfinite(final_return) else None,
        final_success_rate=None if final.success_rate is None else round(final.success_rate, 4),
        final_eval_episodes=final.episodes,
        balanced=session.balance.balanced,
        steps_to_balance=session.balance.steps_to_balance,
        **_kept(session, plan),
        time_to_balance_s=session.balance.time_to_balance_s,
        quality=quality,
        threshold=plan.threshold,
        peak_rss_mb=own_peak_rss_mb(),
        trace=session.trace.points or None,
        cpu_time_s=round(time.process_time() - cpu_started, 3),
        load_average=round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        shaped_reward=plan.shaped_reward,
        train_perturb=plan.train_perturb,
        interrupted=interrupted,
        run_dir=str(session.run_dir.resolve()),
        device=str(session.model.device),
        config_hash=plan.config_hash(),
    )


def _kept(session: Session, plan: Plan) -> dict[str, Any]:
    """Which evaluation ``best_model.zip`` holds, and why: the summary's ``best_*`` fields."""
    kept = session.eval_callback.kept if session.eval_callback is not None else None
    if kept is None:
        return {"best_by": plan.best_by.name}
    steps, score = kept
    described = plan.best_by.describe(score)
    if plan.best_survives:
        assert session.eval_callback is not None  # kept is set only by the evaluation callback
        under = ", ".join(f"{use.perturbation.name}={use.level}" for use in plan.best_survives)
        total = plan.survival_episodes * len(plan.best_survives)
        survived = session.eval_callback.kept_survived
        described += (
            f", survived {survived}/{total} episodes under {under}"
            if survived is not None and survived != NOT_BALANCED
            else f"; no evaluation was balanced, so none was played under {under}"
        )
    return {"best_by": plan.best_by.name, "best_model_steps": steps, "best_model_score": described}


def log_hparams(model: Any, plan: Plan, summary: RunSummary) -> None:
    """The run's resolved hyperparameters and final metrics through TensorBoard's HParams plugin, so
    ``tensorboard --logdir logs`` compares runs side by side in its table view."""
    from stable_baselines3.common.logger import HParam

    hparams: dict[str, bool | str | float | None] = {
        "algo": plan.spec.name,
        "env": plan.env_id,
        "seed": plan.config.seed,
    }
    hparams.update({key: _hparam_value(value) for key, value in _flatten(plan.hyperparams).items()})
    metrics = {
        "final/mean_return": summary.final_mean_return,
        "final/solved": float(summary.solved),
        "final/steps_to_solve": summary.steps_to_solve,
        "final/time_to_solve_s": summary.time_to_solve_s,
        **{f"final/{name}": value for name, value in summary.quality.items()},
    }
    values = {key: float("nan") if value is None else float(value) for key, value in metrics.items()}
    for key, value in values.items():
        model.logger.record(key, value)
    model.logger.record("hparams", HParam(hparams, values), exclude=("stdout", "log", "json", "csv"))
    model.logger.dump(summary.timesteps)


def _flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as ``outer.inner`` keys (``policy_kwargs.net_arch``).

    Example:
        >>> _flatten({"gamma": 0.9, "policy_kwargs": {"net_arch": [64]}})
        {'gamma': 0.9, 'policy_kwargs.net_arch': [64]}
    """
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _hparam_value(value: Any) -> bool | str | float:
    """TensorBoard's HParams take numbers, strings and booleans; anything else is shown as text."""
    return value if isinstance(value, (bool, int, float, str)) else json.dumps(value, default=str)
