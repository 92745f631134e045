"""The env a model is evaluated and replayed on, built in one place for training, replay, loading, the
robustness ladders and export.

It is the training env minus what only training sees: the run's observation wrappers (a discretizer)
and its constructor arguments, never its reward shaping or training perturbations, and, when the run
normalises observations, ``VecNormalize`` with frozen statistics that never scale the reward. The
statistics are the model's own: while training they are synced from the model at each evaluation; for
a saved model they are the file saved with it (a checkpoint's own, else the run's).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from polebench.envs.factory import make_vec
from polebench.envs.wrapping import WrapperUse, check_wrappers, parse_env_wrapper, wrapper_chain
from polebench.errors import ConfigError
from polebench.run import folder as runs


@dataclass(frozen=True)
class EvaluationEnv:
    """What makes the evaluation env of a run: build it with :meth:`build`.

    :param env_id: the registered env
    :param wrappers: the run's ``env_wrapper`` and ``shaped_reward`` uses (the training-only ones are left out)
    :param env_kwargs: ``--env-kwargs``
    :param normalize: the run's ``normalize`` arguments, for fresh statistics the caller syncs from a model
    :param statistics: a saved ``VecNormalize`` file to load instead (wins over ``normalize``)
    """

    env_id: str
    wrappers: Sequence[WrapperUse] = ()
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    normalize: Mapping[str, Any] | None = None
    statistics: Path | None = None

    @classmethod
    def of_saved_model(cls, run_dir: Path, model_path: Path) -> EvaluationEnv:
        """The env that ``model_path`` of the run in ``run_dir`` was evaluated on, from its ``config.yml``."""
        config = runs.read_config(run_dir)
        hyperparams = config.get("hyperparams") or {}
        env_id, wrappers = str(config.get("env")), parse_env_wrapper(hyperparams.get("env_wrapper"))
        try:
            check_wrappers(wrappers, env_id)
        except ConfigError as err:
            raise ConfigError(f"{run_dir / runs.CONFIG_FILE} is damaged: {err}") from None
        return cls(
            env_id=env_id,
            wrappers=wrappers,
            env_kwargs=config.get("env_kwargs") or {},
            statistics=normalization_file(run_dir, model_path),
        )

    def build(
        self, n_envs: int, seed: int, inner: Callable[[Any], Any] | None = None, render_mode: str | None = None
    ) -> Any:
        """``n_envs`` sub-envs side by side (seeded ``seed``, ``seed + 1``, ...), ``inner`` around each
        simulator (see :func:`polebench.envs.factory.measured`)."""
        wrap = wrapper_chain(self.wrappers, training=False)
        env = make_vec(
            self.env_id, n_envs, seed, render_mode=render_mode, wrapper=wrap, inner=inner, env_kwargs=self.env_kwargs
        )
        if self.statistics is None and self.normalize is None:
            return env
        from polebench.wrappers.normalization import vec_normalize

        if self.statistics is not None:
            env = load_statistics(self.statistics, env)
            env.training, env.norm_reward = False, False
            return env
        return vec_normalize(env, frozen_normalization(self.normalize or {}))

    @property
    def is_plain(self) -> bool:
        """Whether the agent sees the env exactly as registered (no observation wrapper, normalisation or
        constructor argument), so Gymnasium's own vectorised env can stand in for it."""
        return wrapper_chain(self.wrappers, training=False) is None and not self.normalizes and not self.env_kwargs

    @property
    def normalizes(self) -> bool:
        return self.statistics is not None or self.normalize is not None


def load_statistics(path: Path, env: Any) -> Any:
    """The ``VecNormalize`` saved in ``path`` around ``env``; a file that is not one is a one-line error."""
    from stable_baselines3.common.vec_env import VecNormalize

    try:
        loaded = VecNormalize.load(str(path), env)
    except Exception as err:  # unpickling a damaged file can raise almost anything; it is the file's fault
        raise ConfigError(f"{path} is not normalisation statistics saved by polebench ({type(err).__name__})") from None
    if not isinstance(loaded, VecNormalize):
        raise ConfigError(f"{path} is not normalisation statistics saved by polebench")
    return loaded


def frozen_normalization(norm: Mapping[str, Any]) -> dict[str, Any]:
    """``VecNormalize`` arguments for an evaluation env: the run's own (``normalize: {...}``), frozen, and
    never scaling the reward, whatever the run's ``norm_reward`` says.

    Example:
        >>> frozen_normalization({"norm_reward": True, "clip_obs": 5.0})
        {'norm_reward': False, 'clip_obs': 5.0, 'training': False}
    """
    return {**norm, "training": False, "norm_reward": False}


def normalization_file(run_dir: Path, model_path: Path) -> Path | None:
    """The normalisation statistics saved with ``model_path``: a checkpoint's own, else the run's."""
    if model_path.parent.name == runs.CHECKPOINTS:
        prefix, steps = model_path.stem.rsplit("_", 2)[0], model_path.stem.rsplit("_", 2)[-2]
        own = model_path.parent / f"{prefix}_vecnormalize_{steps}_steps.pkl"
        if own.is_file():
            return own
    stats = run_dir / runs.VECNORMALIZE_FILE
    return stats if stats.is_file() else None
