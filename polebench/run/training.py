"""What ``train.py`` (and ``polebench.train``) does, one short step each: plan (validate everything),
make the run folder, build envs and model, learn, evaluate, save, summarise.

Everything a user can get wrong is checked in :class:`~polebench.config.run_config.RunConfig` and :func:`make_plan`,
before anything is written.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from polebench import interrupts
from polebench.agents.registry import AlgoSpec, get_algo
from polebench.config import hyperparams as hpm
from polebench.config.run_config import RunConfig
from polebench.envs.factory import EVAL_SEED_OFFSET, TRAJECTORY_SEED, check_env_id, check_env_kwargs, make_vec, measured
from polebench.envs.families import BalanceTarget, EnvFamily, family_of_id
from polebench.envs.perturbations import parse_train_perturb, training_perturbations
from polebench.envs.thresholds import FINAL_EVAL_EPISODES, eval_episodes, require_threshold, reward_threshold
from polebench.envs.wrapping import WrapperUse, check_wrappers, parse_env_wrapper, parse_shaping, wrapper_chain
from polebench.errors import ConfigError, describe_os_error, first_line
from polebench.interrupts import Phase
from polebench.memory import own_peak_rss_mb
from polebench.run import folder as runs
from polebench.run.evaluation import Score, evaluate, evaluate_vectorized, has_vector_env, sync_normalization
from polebench.run.evaluation_env import EvaluationEnv, load_statistics
from polebench.run.selection import BestBy
from polebench.run.summary import RunSummary


@dataclass
class Plan:
    """A validated training request: nothing past this point can fail because of user input."""

    config: RunConfig
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
    device: str
    final_eval_episodes: int = FINAL_EVAL_EPISODES
    train_perturb: dict[str, int] | None = None
    family: EnvFamily | None = None

    @property
    def balance(self) -> BalanceTarget | None:
        """When a run of this env counts as balanced (``None``: its family has no target)."""
        return self.family.balance if self.family is not None else None

    @property
    def evaluation_env(self) -> EvaluationEnv:
        """The env this run is evaluated on (fresh normalisation statistics, synced from the model)."""
        normalize = hpm.normalize_kwargs(self.hyperparams)
        return EvaluationEnv(self.env_id, self.wrappers, self.config.env_kwargs, normalize=normalize)

    @property
    def best_by(self) -> BestBy:
        """What ``best_model.zip`` keeps (``--best-by``; by default balance where the family has a reference)."""
        return BestBy.choose(self.config.best_by, self.family, self.env_id)

    @property
    def shaping(self) -> dict[str, Any] | None:
        """The reward-shaping wrapper's form and coefficients, or ``None`` when the reward is the env's own."""
        return next((use.shaping for use in self.wrappers if use.kind.training_only), None)

    def identity(self) -> dict[str, Any]:
        """Everything that decides what a run learns and how it is judged: the algorithm, env, seed, every
        resolved hyperparameter (wrappers included) and the evaluation protocol; not where it is written,
        how it is shown or how many threads compute it."""
        c = self.config
        return {
            "algo": self.spec.name,
            "env": self.env_id,
            "seed": c.seed,
            "hyperparams": self.hyperparams,
            "eval_freq": c.eval_freq,
            "eval_episodes": self.eval_episodes,
            "final_eval_episodes": self.final_eval_episodes,
            "stop_on_solve": c.stop_on_solve,
            "stop_on_balance": c.stop_on_balance,
            "trained_agent": str(self.trained_agent) if self.trained_agent else None,
            "env_kwargs": dict(c.env_kwargs),
            # Only when asked: the default keeps earlier runs' digests, and so their reuse, as they were.
            **({"best_by": c.best_by} if c.best_by is not None else {}),
        }

    def config_hash(self) -> str:
        """A digest of :meth:`identity`: equal digests, equal runs (the benchmark's resume compares them)."""
        text = json.dumps(self.identity(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


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


def _trained_agent_config(path: Path, algo: str, env_id: str) -> dict[str, Any]:
    """The config of the run a ``-i`` model came from, after checking it is the same algo and env."""
    if path.suffix != ".zip" or not path.is_file():
        raise ConfigError(f"-i/--trained-agent must be an existing model .zip, got {path}")
    config = runs.read_config(path.parent)
    if (config.get("algo"), config.get("env")) != (algo, env_id):
        raise ConfigError(
            f"{path} is a {config.get('algo')} model for {config.get('env')}; it cannot continue as {algo} on {env_id}"
        )
    return dict(config.get("hyperparams", {}))


def make_plan(config: RunConfig, sampled: Mapping[str, Any] | None = None) -> Plan:
    """Validate the algorithm, the env and every hyperparameter of ``config``.

    :param sampled: hyperparameters chosen by a tuning trial, layered over everything else
    """
    spec = get_algo(config.algo)
    env_id = check_env_id(config.env)
    check_env_kwargs(env_id, config.env_kwargs)
    runs.check_writable_folder(config.log_folder, "-f/--log-folder")
    if config.tensorboard_log is not None:
        runs.check_writable_folder(config.tensorboard_log, "-tb/--tensorboard-log")
    trained = config.trained_agent
    base: dict[str, Any] | None
    if trained:
        base = _trained_agent_config(trained, spec.name, env_id)
    else:  # a plugin without a shipped file: the class's own defaults
        base = None if hpm.shipped_file(spec.name).is_file() else spec.default_hyperparams()
    overrides = dict(config.hyperparams)
    if config.n_timesteps is not None:
        overrides["n_timesteps"] = config.n_timesteps
    overrides = hpm.layer(overrides, sampled or {})
    hp = hpm.resolve(spec.name, env_id, config.conf_file, overrides, base=base)
    hp.setdefault("policy", spec.policy)
    family = family_of_id(env_id)
    wrappers = _wrappers(hp, env_id, config.shaped_reward, family)
    perturb = _train_perturb(hp, env_id, config.train_perturb, family)
    BestBy.choose(config.best_by, family, env_id)  # an objective that does not apply: refused here, not at the end
    if config.stop_on_balance and (family is None or family.balance is None):
        raise ConfigError(
            f"--stop-on-balance: {env_id} has no balance target (no reference controller to be relative to); "
            "targets exist for the cartpole family envs (polebench/envs/families.py)"
        )
    algo_cls = spec.load_class()
    if hp["policy"] not in algo_cls.policy_aliases:
        raise ConfigError(f"unknown policy {hp['policy']!r}; choose one of: {', '.join(algo_cls.policy_aliases)}")
    kwargs = hpm.constructor_kwargs(hp)
    hpm.check_kwargs(algo_cls, kwargs)
    if algo_cls.policy_aliases[hp["policy"]] is not None:  # a plugin's policy is its own business
        hpm.check_policy_kwargs(algo_cls.policy_aliases[hp["policy"]], kwargs.get("policy_kwargs"))
    hpm.normalize_kwargs(hp)
    hpm.end_on_best(hp)
    stops = config.stop_on_solve or config.stop_on_balance
    threshold = require_threshold(env_id) if stops else reward_threshold(env_id)
    episodes = config.eval_episodes or eval_episodes(env_id)
    return Plan(
        config,
        spec,
        algo_cls,
        env_id,
        hp,
        kwargs,
        hpm.n_envs(hp),
        hpm.n_timesteps(hp),
        threshold,
        trained,
        wrappers,
        episodes,
        resolve_device(config.device),
        config.final_eval_episodes or FINAL_EVAL_EPISODES,
        perturb,
        family,
    )


def _wrappers(hp: dict[str, Any], env_id: str, shaped_reward: Any, family: EnvFamily | None) -> list[WrapperUse]:
    """Parse ``env_wrapper`` and the reward shaping (``--shaped-reward`` over the YAML's
    ``shaped_reward``), check them, and write them back into ``hp`` with every argument spelled out, so
    ``config.yml`` and the digest record exactly what ran."""
    uses = parse_env_wrapper(hp.get("env_wrapper"))
    shaping = parse_shaping(shaped_reward if shaped_reward is not None else hp.get("shaped_reward"))
    hp.pop("shaped_reward", None)
    if shaping is not None and not (family is not None and family.survival_reward):
        raise ConfigError(
            f"shaped_reward {shaping.kind.form} does not apply to {env_id}: the shaping forms pay up to 1 per step "
            "on a task that pays +1 per step survived (the cartpole family); on another task they could pay the "
            "agent to avoid its goal"
        )
    if shaping is not None:
        # One shaping only: the one asked for replaces an earlier version's env_wrapper item.
        uses = [use for use in uses if not use.kind.training_only] + [shaping]
        hp["shaped_reward"] = shaping.shaping
    check_wrappers(uses, env_id)
    others = [use for use in uses if use is not shaping]
    hp.pop("env_wrapper", None)
    if others:
        hp["env_wrapper"] = [{use.name: use.kwargs} for use in others]
    return uses


def _train_perturb(hp: dict[str, Any], env_id: str, flag: Any, family: EnvFamily | None) -> dict[str, int] | None:
    """The training perturbations (``--train-perturb`` over the YAML's ``train_perturb``), checked against
    the env's family and written back into ``hp`` as ``{family: level}``."""
    levels = flag if flag is not None else parse_train_perturb(hp.get("train_perturb"), "train_perturb")
    hp.pop("train_perturb", None)
    if not levels:
        return None
    training_perturbations(levels, family, env_id)
    hp["train_perturb"] = dict(levels)
    return dict(levels)


def _config(plan: Plan, device: str) -> dict[str, Any]:
    """``config.yml``: the flags, the resolved hyperparameters, the digest of both, and where it ran."""
    from polebench.config.provenance import provenance

    c = plan.config
    return {
        **plan.identity(),
        "n_timesteps": plan.n_timesteps,
        "save_freq": c.save_freq,
        "save_replay_buffer": c.save_replay_buffer,
        "device": device,
        "num_threads": c.num_threads,
        "shaped": plan.shaping is not None,
        "shaping": plan.shaping,
        "config_hash": plan.config_hash(),
        "provenance": provenance(c.num_threads),
    }


def _make_envs(plan: Plan, seed: int, run_dir: Path) -> tuple[Any, Any]:
    """The training VecEnv (monitored into ``run_dir``, perturbed if asked) and the evaluation VecEnv."""
    train_wrap = wrapper_chain(plan.wrappers, training=True)
    kwargs = plan.config.env_kwargs
    # Training perturbations act on the simulator, inside the Monitor: what it reports stays the true return.
    perturb = training_perturbations(plan.train_perturb, plan.family, plan.env_id) if plan.train_perturb else None
    train_env = make_vec(
        plan.env_id, plan.n_envs, seed, monitor_dir=run_dir, wrapper=train_wrap, inner=perturb, env_kwargs=kwargs
    )
    norm = hpm.normalize_kwargs(plan.hyperparams)
    if norm is not None:
        from stable_baselines3.common.vec_env import VecNormalize

        if plan.trained_agent and (plan.trained_agent.parent / runs.VECNORMALIZE_FILE).is_file():
            train_env = load_statistics(plan.trained_agent.parent / runs.VECNORMALIZE_FILE, train_env)
        else:
            train_env = VecNormalize(train_env, gamma=plan.hyperparams.get("gamma", 0.99), **norm)
    return train_env, _eval_env(plan, seed, plan.eval_episodes)


def _eval_env(plan: Plan, seed: int, episodes: int) -> Any:
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
    try:
        return plan.algo_cls(
            plan.hyperparams["policy"], train_env, seed=plan.config.seed, device=device, verbose=0, **plan.kwargs
        )
    except (AssertionError, ValueError, TypeError) as err:
        raise ConfigError(f"{plan.spec.name} cannot train on {plan.env_id}: {first_line(err)}") from None


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
    runs.write_yaml(run_dir / runs.CONFIG_FILE, _config(plan, device))
    runs.write_text(run_dir / runs.COMMAND_FILE, (c.command or repr_call(c)) + "\n")
    train_env, eval_env = _make_envs(plan, c.seed, run_dir)
    model = _make_model(plan, device, train_env)
    events = run_dir if c.tensorboard_log is None else zoo_tensorboard_folder(c.tensorboard_log, plan, run_dir)
    model.set_logger(configure(str(events), ["tensorboard"] + (["stdout"] if c.verbose >= 2 else [])))
    # Without a threshold nothing counts as solved: an infinite one never triggers.
    threshold = np.inf if plan.threshold is None else plan.threshold
    solve = SolveTracker(threshold, c.stop_on_solve, started_at)
    balance = BalanceTracker(plan.balance, threshold, c.stop_on_balance, started_at)
    trace = ResourceTrace()
    callbacks: list[BaseCallback] = [trace, *([ShapedReturnLogger()] if plan.shaping is not None else [])]
    eval_callback = None
    if c.eval_freq > 0:
        eval_callback = TimedEvalCallback(
            eval_env,
            started_at=started_at,
            balance=balance,
            best_by=plan.best_by,
            threshold=threshold,
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
    return Session(run_dir, model, eval_env, eval_callback, solve, balance, callbacks, trace)


def zoo_tensorboard_folder(tensorboard_log: Path, plan: Plan, run_dir: Path) -> Path:
    """Where ``-tb FOLDER`` puts a run's events: ``FOLDER/<env>/<algo>_<N>``, N the run's number, as the zoo."""
    return tensorboard_log / plan.env_id / f"{plan.spec.name}_{run_dir.name.rsplit('_', 1)[1]}"


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
    env = _eval_env(plan, plan.config.seed, plan.final_eval_episodes)
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


def _save(session: Session, plan: Plan) -> None:
    """The model, and what resuming it needs: the replay buffer (if asked) and normalisation statistics."""
    runs.atomic_save(session.model, runs.model_path(session.run_dir, plan.env_id))
    if plan.config.save_replay_buffer and plan.spec.off_policy:
        with runs.atomic_target(session.run_dir / runs.REPLAY_BUFFER_FILE) as tmp:
            session.model.save_replay_buffer(str(tmp))
    vec_normalize = session.model.get_vec_normalize_env()
    if vec_normalize is not None:
        with runs.atomic_target(session.run_dir / runs.VECNORMALIZE_FILE) as tmp:
            vec_normalize.save(str(tmp))


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
        shaped=plan.shaping is not None,
        shaping=plan.shaping,
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
    return {"best_by": plan.best_by.name, "best_model_steps": steps, "best_model_score": plan.best_by.describe(score)}


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
    session = _start(plan, started_at, after_eval)
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
            _save(session, plan)
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


def log_hparams(model: Any, plan: Plan, summary: RunSummary) -> None:
    """The run's resolved hyperparameters and final metrics through TensorBoard's HParams plugin, so
    ``tensorboard --logdir logs`` compares runs side by side in its table view."""
    from stable_baselines3.common.logger import HParam

    hparams: dict[str, bool | str | float | None] = {
        "algo": plan.spec.name,
        "env": plan.env_id,
        "seed": plan.config.seed,
        "shaped": summary.shaped,
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


def _start(plan: Plan, started_at: float, after_eval: Any) -> Session:
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


def resolve_device(name: str) -> str:
    """The device a run will use for ``--device name``: ``auto`` picks CUDA when present; a CUDA or MPS
    device that this machine lacks is a :class:`ConfigError` instead of a silent fallback to the CPU."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--device {name}: this machine has no CUDA device; use --device cpu or auto")
    if name.startswith("cuda") and ":" in name and int(name.split(":")[1]) >= torch.cuda.device_count():
        raise ConfigError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA devices")
    if name == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("--device mps: this machine has no MPS device; use --device cpu or auto")
    return name


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
