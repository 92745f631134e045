"""The plan of a training run: every flag, file and hyperparameter checked and resolved before anything
is written, so nothing past :func:`make_plan` can fail because of user input."""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from polebench.agents.registry import AlgoSpec, get_algo
from polebench.config import hyperparams as hpm
from polebench.config.run_config import RunConfig
from polebench.envs.factory import check_env_id, check_env_kwargs
from polebench.envs.families import BalanceTarget, EnvFamily, family_of_id
from polebench.envs.perturbations import (
    PERTURBATIONS,
    PerturbationUse,
    check_applies,
    parse_train_perturb,
    training_perturbations,
)
from polebench.envs.thresholds import FINAL_EVAL_EPISODES, eval_episodes, require_threshold, reward_threshold
from polebench.envs.wrapping import WrapperUse, check_wrappers, parse_env_wrapper, parse_shaping
from polebench.errors import ConfigError
from polebench.limits import MAX_ENVS
from polebench.run import folder as runs
from polebench.run.evaluation_env import EvaluationEnv
from polebench.run.selection import BestBy


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
    best_survives: tuple[PerturbationUse, ...] = ()
    survival_episodes: int = 0
    training_horizon: int | None = None

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
    def shaped_reward(self) -> dict[str, Any] | None:
        """The reward-shaping wrapper's form and coefficients, or ``None`` when the reward is the env's own."""
        return next((use.shaped_reward for use in self.wrappers if use.kind.training_only), None)

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
    named_survives = "best_survives" in hp  # turned off ({}) over a file that sets survival_episodes: fine
    survives = _best_survives(hp, env_id, family)
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
    if hpm.action_noise(hp, 1) is not None and "action_noise" not in inspect.signature(algo_cls).parameters:
        raise ConfigError(f"noise_type: {spec.name} takes no action noise (TD3, DDPG and SAC do)")
    stops = config.stop_on_solve or config.stop_on_balance
    threshold = require_threshold(env_id) if stops else reward_threshold(env_id)
    episodes = config.eval_episodes or eval_episodes(env_id)
    survival_episodes = _survival_episodes(hp, episodes, survives, named_survives, reward_threshold(env_id), env_id)
    horizon = _training_horizon(hp, env_id, config.env_kwargs)
    return Plan(
        config=config,
        spec=spec,
        algo_cls=algo_cls,
        env_id=env_id,
        hyperparams=hp,
        kwargs=kwargs,
        n_envs=hpm.n_envs(hp),
        n_timesteps=hpm.n_timesteps(hp),
        threshold=threshold,
        trained_agent=trained,
        wrappers=wrappers,
        eval_episodes=episodes,
        device=resolve_device(config.device),
        final_eval_episodes=config.final_eval_episodes or FINAL_EVAL_EPISODES,
        train_perturb=perturb,
        family=family,
        best_survives=survives,
        survival_episodes=survival_episodes,
        training_horizon=horizon,
    )


def _wrappers(hp: dict[str, Any], env_id: str, shaped_reward: Any, family: EnvFamily | None) -> list[WrapperUse]:
    """Parse ``env_wrapper`` and the reward shaping (``--shaped-reward`` over the YAML's
    ``shaped_reward``), check them, and write them back into ``hp`` with every argument spelled out, so
    ``config.yml`` and the digest record exactly what ran."""
    uses = parse_env_wrapper(hp.get("env_wrapper"))
    shaper = parse_shaping(shaped_reward if shaped_reward is not None else hp.get("shaped_reward"))
    hp.pop("shaped_reward", None)
    if shaper is not None and not (family is not None and family.survival_reward):
        raise ConfigError(
            f"shaped_reward {shaper.kind.form} does not apply to {env_id}: the shaping forms pay up to 1 per step "
            "on a task that pays +1 per step survived (the cartpole family); on another task they could pay the "
            "agent to avoid its goal"
        )
    if shaper is not None:
        # One shaping only: the one asked for replaces an earlier version's env_wrapper item.
        uses = [use for use in uses if not use.kind.training_only] + [shaper]
        hp["shaped_reward"] = shaper.shaped_reward
    check_wrappers(uses, env_id)
    others = [use for use in uses if use is not shaper]
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


def _best_survives(hp: dict[str, Any], env_id: str, family: EnvFamily | None) -> tuple[PerturbationUse, ...]:
    """``best_survives: push=4,model_error=3`` (or ``{push: 4, model_error: 3}``): the perturbations whose
    episodes the kept model is chosen by (:class:`~polebench.run.callbacks.TimedEvalCallback`). Checked against
    the env's family and written back into ``hp`` as ``{family: level}``."""
    value = hp.get("best_survives")
    if value is None or value == {} or value == "":
        hp.pop("best_survives", None)
        return ()
    levels = parse_train_perturb(value, "best_survives")
    uses = tuple(PerturbationUse(PERTURBATIONS[name], level) for name, level in levels.items())
    for use in uses:
        check_applies(use, family, env_id)
    hp["best_survives"] = dict(levels)
    return uses


def _survival_episodes(
    hp: dict[str, Any],
    eval_episodes: int,
    survives: tuple[PerturbationUse, ...],
    named_survives: bool,
    threshold: float | None,
    env_id: str,
) -> int:
    """``survival_episodes``: episodes played under each of ``best_survives`` (default: ``eval_episodes``)."""
    if "survival_episodes" in hp and not named_survives:
        raise ConfigError("survival_episodes counts the episodes of best_survives; name best_survives too")
    if not survives:
        hp.pop("survival_episodes", None)  # best_survives turned off over a file that sets it: nothing to count
        return 0
    value = hp.get("survival_episodes", min(eval_episodes, MAX_ENVS))
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ENVS:
        raise ConfigError(f"survival_episodes must be a whole number from 1 to {MAX_ENVS}, got {value!r}")
    if threshold is None:
        raise ConfigError(f"best_survives: {env_id} has no return threshold that says an episode survived")
    return value


def _training_horizon(hp: dict[str, Any], env_id: str, env_kwargs: Mapping[str, Any]) -> int | None:
    """``training_horizon``, refused where it would cut nothing: at or beyond the env's own limit."""
    horizon = hpm.training_horizon(hp)
    if horizon is None:
        hp.pop("training_horizon", None)
        return None
    import gymnasium as gym

    limit = env_kwargs.get("max_episode_steps") or gym.spec(env_id).max_episode_steps
    if limit is not None and horizon >= limit:
        raise ConfigError(f"training_horizon {horizon:,} is not below {env_id}'s own limit of {limit:,} steps")
    return horizon


def run_config_record(plan: Plan) -> dict[str, Any]:
    """``config.yml``: the flags, the resolved hyperparameters, the digest of both, and where it ran."""
    from polebench.config.provenance import provenance

    c = plan.config
    return {
        **plan.identity(),
        "n_timesteps": plan.n_timesteps,
        "save_freq": c.save_freq,
        "save_replay_buffer": c.save_replay_buffer,
        "device": plan.device,
        "num_threads": c.num_threads,
        "config_hash": plan.config_hash(),
        "provenance": provenance(c.num_threads),
    }


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
