"""``enjoy.py --policy FILE``: replay a policy written by ``export.py`` with Gymnasium and the file's
runtime (onnxruntime, torch.export or TorchScript) alone, no Stable-Baselines3 in the loop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from polebench.envs.factory import check_env_id
from polebench.envs.perturbations import PerturbationUse
from polebench.errors import ConfigError
from polebench.replay.play import format_quality
from polebench.run.rollout import Episodes


def replay_exported(
    path: Path, env_id: str | None, n_episodes: int, seed: int, perturb: PerturbationUse | None = None
) -> Episodes:
    """Play ``n_episodes`` deterministic episodes of the exported policy at ``path`` on ``env_id`` (default:
    the env it was exported for), built with the run's ``--env-kwargs`` that the file records, printing each
    episode's return, length and metrics as ``enjoy.py`` does."""
    from polebench.envs.factory import make_env, measured
    from polebench.export.exporting import ExportedPolicy

    if not path.is_file():
        raise ConfigError(f"--policy {path} is not a file; write one with export.py")
    policy = ExportedPolicy(path)
    env_id = check_env_id(env_id or policy.meta.env)
    if env_id != policy.meta.env:
        raise ConfigError(f"{path} is a policy for {policy.meta.env}, not {env_id}; pass --env {policy.meta.env}")
    env = measured(perturb)(make_env(env_id, policy.meta.env_kwargs))
    built = f" with {policy.meta.env_kwargs}" if policy.meta.env_kwargs else ""
    under = f" under {perturb}" if perturb else ""
    print(f"replaying {path} ({policy.meta.algo}, {policy.meta.format}) on {env_id}{built}{under}")
    played = Episodes()
    for episode in range(n_episodes):
        # Seeded once, as the model's replay seeds its vectorised env: the same --seed plays the same episodes.
        _play_one(policy, env, seed if episode == 0 else None, played)
        line = f"episode {episode + 1}: return {played.returns[-1]:.2f}, length {played.lengths[-1]}"
        print(", ".join(filter(None, (line, format_quality(played.quality[-1])))))
    env.close()
    if played.mean_quality:
        print(f"quality: {format_quality(played.mean_quality)}")
    return played


def _play_one(policy: Any, env: Any, seed: int | None, played: Episodes) -> None:
    obs, _ = env.reset(seed=seed)
    state, start = policy.initial_state(1), np.ones(1, dtype=np.float32)
    total, length, info, done = 0.0, 0, {}, False
    while not done:
        action, state = policy.act(np.asarray(obs)[None], state, start)
        start = np.zeros(1, dtype=np.float32)
        obs, reward, terminated, truncated, info = env.step(action.reshape(-1)[0].item())
        total, length, done = total + float(reward), length + 1, terminated or truncated
    played.returns.append(total)
    played.lengths.append(length)
    played.quality.append(dict(info.get("quality", {})))
