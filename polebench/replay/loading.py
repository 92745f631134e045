"""Loading a finished run back for use in Python: ``polebench.load_run``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from polebench.errors import ConfigError
from polebench.run import folder as runs
from polebench.run.summary import RunSummary


@dataclass
class LoadedRun:
    """A run's model with an env it can play: the run's observation wrappers and frozen normalisation
    statistics (never its reward shaping), each episode's behaviour metrics in ``info["quality"]``.

    :param run_dir: the run folder
    :param model: the SB3 model (``model.predict(obs, deterministic=True)``)
    :param env: a vectorized env matching the one the model was evaluated on
    :param config: the run's ``config.yml``
    :param summary: the run's summary (``None`` while it has none, e.g. still training)
    """

    run_dir: Path
    model: Any
    env: Any
    config: dict[str, Any]
    summary: RunSummary | None


def load_run(
    log_folder: str | Path,
    algo: str,
    env: str,
    exp_id: int | None = None,
    load_best: bool = False,
    n_envs: int = 1,
    seed: int = 0,
) -> LoadedRun:
    """Load run ``exp_id`` (the latest when ``None``) of ``algo`` on ``env`` under ``log_folder``."""
    from polebench.agents.registry import get_algo
    from polebench.envs.factory import check_env_id, measured
    from polebench.replay.play import model_file
    from polebench.run.evaluation_env import EvaluationEnv

    spec = get_algo(algo)
    env_id = check_env_id(env)
    run_dir = runs.find_run(Path(log_folder), spec.name, env_id, exp_id)
    config = runs.read_config(run_dir)
    if config.get("env") != env_id:
        raise ConfigError(f"{run_dir} holds a run on {config.get('env')}, not {env_id}")
    path = model_file(run_dir, env_id, load_best)
    model = runs.load_model(spec.load_class(), path, device="cpu")
    vec_env = EvaluationEnv.of_saved_model(run_dir, path).build(n_envs, seed, measured())
    runs.check_spaces(model, vec_env, path, env_id)
    return LoadedRun(run_dir, model, vec_env, config, RunSummary.read(run_dir))
