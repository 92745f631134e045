"""Building the vectorized environments every script uses, so training, evaluation and replay match."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from polebench.errors import ConfigError, first_line
from polebench.limits import MAX_EPISODE_STEPS

if TYPE_CHECKING:
    from stable_baselines3.common.vec_env import VecEnv

    from polebench.envs.perturbations import PerturbationUse

CLASSIC_CONTROL = (
    "CartPole-v1",
    "CartPoleNoVel-v1",
    "Acrobot-v1",
    "MountainCar-v0",
    "MountainCarContinuous-v0",
    "Pendulum-v1",
)

# Evaluation envs are seeded this far from the training seed so they never replay training episodes.
EVAL_SEED_OFFSET = 10_000
# The episodes the kept model is chosen by (best_survives), apart from training, evaluation and the
# robustness ladders (20,000 on).
SURVIVAL_SEED_OFFSET = 30_000
# Trajectory plots compare every run and algorithm from one initial state: evaluation env 0 of seed 0.
TRAJECTORY_SEED = EVAL_SEED_OFFSET


def check_env_id(env_id: str) -> str:
    """Return ``env_id`` if Gymnasium knows it and can build it here, else raise a :class:`ConfigError`
    naming the accepted ids, or the package the env needs.

    Example:
        >>> check_env_id("CartPole-v1")
        'CartPole-v1'
    """
    import gymnasium as gym

    from polebench.envs.registration import register_envs

    register_envs()
    try:
        gym.spec(env_id)
    except gym.error.Error:
        raise ConfigError(
            f"unknown env id {env_id!r}; use a registered Gymnasium id such as {', '.join(CLASSIC_CONTROL)}"
        ) from None
    try:
        gym.make(env_id).close()
    except (gym.error.DependencyNotInstalled, ImportError) as err:
        raise ConfigError(f"{env_id} needs a package that is not installed: {first_line(err)}") from None
    return env_id


def envs_with_actions(space_types: tuple[type, ...]) -> list[str]:
    """The classic-control and polebench ids (as Gymnasium's registry has them) whose action space is one of
    ``space_types``: what to suggest to an algorithm that cannot take an env's actions.

    Example:
        >>> from gymnasium import spaces
        >>> "CartPoleSwingUp-v0" in envs_with_actions((spaces.Box,))
        True
    """
    import gymnasium as gym

    from polebench.envs.registration import register_envs

    register_envs()
    latest: dict[
        str, gym.envs.registration.EnvSpec
    ] = {}  # each env's newest version: CartPole-v1, not the deprecated v0
    for spec in gym.registry.values():
        entry = spec.entry_point if isinstance(spec.entry_point, str) else ""
        ours = entry.startswith(("polebench.", "gymnasium.envs.classic_control"))
        if ours and (spec.name not in latest or (spec.version or 0) > (latest[spec.name].version or 0)):
            latest[spec.name] = spec
    found = []
    for spec in latest.values():
        try:
            env = gym.make(spec.id)
        except (gym.error.DependencyNotInstalled, ImportError):  # an optional extra not installed: no suggestion
            continue
        if isinstance(env.action_space, space_types):
            found.append(spec.id)
        env.close()
    return found


def make_env(env_id: str, env_kwargs: Mapping[str, Any]) -> Any:
    """``gym.make(env_id, **env_kwargs)``, where CartPole's physical constants among ``env_kwargs``
    (``length``, ``masspole``, ... : :data:`polebench.wrappers.physics.PHYSICS`), which its constructor does
    not take, are set on the simulator once it is made."""
    import gymnasium as gym

    from polebench.envs.registration import register_envs
    from polebench.wrappers.physics import PHYSICS, CartPolePhysics

    register_envs()  # polebench's own ids, for a caller that builds envs without a script
    physics = {k: v for k, v in env_kwargs.items() if k in PHYSICS}
    env = gym.make(env_id, **{k: v for k, v in env_kwargs.items() if k not in PHYSICS})
    return CartPolePhysics(env, **physics) if physics else env


def make_vec(
    env_id: str,
    n_envs: int,
    seed: int,
    monitor_dir: Path | None = None,
    render_mode: str | None = None,
    wrapper: Callable[[Any], Any] | None = None,
    inner: Callable[[Any], Any] | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
) -> VecEnv:
    """``n_envs`` copies of ``env_id`` in one in-process ``DummyVecEnv``, each inside SB3's ``Monitor``.

    Sub-env ``i`` is seeded ``seed + i``. With ``monitor_dir``, each writes ``<i>.monitor.csv`` there:
    the true episode return, length and time. ``wrapper`` is applied outside the ``Monitor`` (see
    :func:`polebench.envs.wrapping.wrapper_chain`), so reward shaping never reaches what the monitor reports.
    ``env_kwargs`` go to ``gym.make`` (``--env-kwargs``). ``inner`` wraps the simulator itself, inside
    the ``Monitor`` and every other wrapper (see :func:`measured`): a perturbation acts on the physics
    and the raw observation, and the quality recorder sees the action the agent chose.
    In-process envs beat subprocesses for envs as cheap as classic control, where inter-process
    messages would cost more than the physics.
    """
    from stable_baselines3.common.env_util import make_vec_env

    kwargs: dict[str, Any] = {**(env_kwargs or {}), **({"render_mode": render_mode} if render_mode else {})}

    def target(**kwargs: Any) -> Any:
        env = make_env(env_id, kwargs)
        return inner(env) if inner is not None else env

    return make_vec_env(
        target,
        n_envs=n_envs,
        seed=seed,
        monitor_dir=str(monitor_dir) if monitor_dir is not None else None,
        env_kwargs=kwargs,
        wrapper_class=wrapper,
    )


def check_env_kwargs(env_id: str, env_kwargs: Mapping[str, Any]) -> None:
    """Refuse ``--env-kwargs`` that ``env_id``'s constructor does not take, before anything is written."""
    if not env_kwargs:
        return
    steps = env_kwargs.get("max_episode_steps")
    if steps is not None and not (
        isinstance(steps, int) and not isinstance(steps, bool) and 1 <= steps <= MAX_EPISODE_STEPS
    ):
        raise ConfigError(
            f"--env-kwargs max_episode_steps must be a whole number from 1 to {MAX_EPISODE_STEPS:,}, got {steps!r}"
        )
    import gymnasium as gym

    try:
        make_env(env_id, env_kwargs).close()
    except (TypeError, ValueError, gym.error.Error) as err:
        raise ConfigError(f"--env-kwargs {dict(env_kwargs)} for {env_id}: {first_line(err)}") from None


def measured(perturb: PerturbationUse | None = None, keep_trajectory: bool = False) -> Callable[[Any], Any]:
    """The ``inner`` wrapping of evaluation and replay envs: the perturbation, if any, then the recorder of
    each episode's behaviour metrics (``info["quality"]``, and ``info["trajectory"]`` if kept).

    A perturbation that cannot apply to the env raises a :class:`ConfigError` when the env is built.
    """
    from polebench.envs.families import family_of
    from polebench.wrappers.episode_quality import RecordEpisodeQuality

    def wrap(env: Any) -> Any:
        if perturb is not None:
            from polebench.envs.perturbations import check_applies

            family = check_applies(perturb, family_of(env), env.spec.id if env.spec else type(env).__name__)
            try:
                env = perturb.wrap(env, family)
            except ValueError as err:
                raise ConfigError(f"{perturb.perturbation.name} cannot apply here: {err}") from None
        # Only a known family's state has a layout worth keeping (and plotting).
        known = family_of(env)
        metrics = known.metrics if known is not None else ()
        return RecordEpisodeQuality(env, metrics, keep_trajectory=keep_trajectory and known is not None)

    return wrap
