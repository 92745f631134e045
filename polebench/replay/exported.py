"""``enjoy.py --policy FILE``: replay a policy written by ``export.py``, its actions from the file's runtime
(onnxruntime, torch.export or TorchScript) alone, no Stable-Baselines3 model, on the env a model's replay
uses and by the same loop (:func:`polebench.run.rollout.play`)."""

from __future__ import annotations

from pathlib import Path

from polebench.envs.factory import check_env_id
from polebench.envs.perturbations import PerturbationUse
from polebench.errors import ConfigError
from polebench.replay.play import format_quality, print_episode
from polebench.run.rollout import Episodes, play


def replay_exported(
    path: Path, env_id: str | None, n_episodes: int, seed: int, perturb: PerturbationUse | None = None
) -> Episodes:
    """Play ``n_episodes`` deterministic episodes of the exported policy at ``path`` on ``env_id`` (default:
    the env it was exported for), built with the run's ``--env-kwargs`` that the file records, printing each
    episode's return, length and metrics as ``enjoy.py`` does."""
    from polebench.envs.factory import make_vec, measured
    from polebench.export.exporting import ExportedPolicy

    if not path.is_file():
        raise ConfigError(f"--policy {path} is not a file; write one with export.py")
    policy = ExportedPolicy(path)
    env_id = check_env_id(env_id or policy.meta.env)
    if env_id != policy.meta.env:
        raise ConfigError(f"{path} is a policy for {policy.meta.env}, not {env_id}; pass --env {policy.meta.env}")
    # One sub-env seeded once, as a model's replay: the same --seed plays the same episodes.
    env = make_vec(env_id, 1, seed, inner=measured(perturb), env_kwargs=policy.meta.env_kwargs)
    built = f" with {policy.meta.env_kwargs}" if policy.meta.env_kwargs else ""
    under = f" under {perturb}" if perturb else ""
    print(f"replaying {path} ({policy.meta.algo}, {policy.meta.format}) on {env_id}{built}{under}")
    try:
        played = play(policy, env, n_episodes, on_episode=print_episode)
    finally:
        env.close()
    if played.mean_quality:
        print(f"quality: {format_quality(played.mean_quality)}")
    return played
