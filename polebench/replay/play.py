"""What ``enjoy.py`` does: load a run's model and play episodes, optionally under a perturbation, recording
an MP4 or drawing one episode's trajectory. The episodes are played by :func:`polebench.run.rollout.play`.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from polebench.agents.registry import get_algo
from polebench.config.run_config import at_least
from polebench.config.run_config import seed as check_seed
from polebench.envs.factory import check_env_id, measured
from polebench.envs.families import family_of_id
from polebench.envs.perturbations import PerturbationUse, check_applies
from polebench.errors import ConfigError
from polebench.replay import trajectory_plot
from polebench.run import folder as runs
from polebench.run.evaluation_env import EvaluationEnv
from polebench.run.rollout import Episodes, play
from polebench.run.summary import RunSummary


@dataclass(frozen=True)
class ReplayConfig:
    """What ``enjoy.py`` replays and how.

    :param exp_id: run number N of ``<env>_<N>`` (``None``: the latest)
    :param no_render: play without a window (``video`` records headless whatever this says)
    :param perturb: replay under this perturbation
    :param plot: draw the first episode's trajectory here
    """

    algo: str
    env: str = "CartPole-v1"
    log_folder: Path = Path("logs")
    exp_id: int | None = None
    load_best: bool = False
    load_checkpoint: int | None = None
    n_episodes: int = 5
    seed: int = 0
    no_render: bool = False
    video: Path | None = None
    stochastic: bool = False
    device: str = "cpu"
    perturb: PerturbationUse | None = None
    plot: Path | None = None

    def __post_init__(self) -> None:
        at_least(self.n_episodes, "-n/--n-episodes")
        check_seed(self.seed)


def model_file(run_dir: Path, env_id: str, load_best: bool, load_checkpoint: int | None = None) -> Path:
    """The model a replay or export asked for: the final one, the best one, or a checkpoint."""
    if load_checkpoint is not None:
        path = run_dir / runs.CHECKPOINTS / f"{env_id}_{load_checkpoint}_steps.zip"
        if not path.is_file():
            kept = sorted(
                int(p.stem.split("_")[-2]) for p in (run_dir / runs.CHECKPOINTS).glob(f"{env_id}_*_steps.zip")
            )
            listed = ", ".join(map(str, kept)) if kept else "none (train with --save-freq STEPS)"
            raise ConfigError(f"no checkpoint at {load_checkpoint} steps in {run_dir}; checkpoints: {listed}")
        return path
    path = run_dir / runs.BEST_MODEL if load_best else runs.model_path(run_dir, env_id)
    if not path.is_file():
        hint = " (the run made no evaluation; drop --load-best)" if load_best else ""
        raise ConfigError(f"no model at {path}{hint}")
    return path


def _render_mode(config: ReplayConfig) -> str | None:
    if config.video:
        # Frames are drawn off-screen: SDL needs no display (and would complain of a missing one).
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
        return "rgb_array"
    if config.no_render:
        return None
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        print("no display found: playing without a window (--video PATH records one headless)")
        return None
    return "human"


def format_quality(quality: dict[str, float]) -> str:
    """Metrics as ``name=value`` pairs, as enjoy prints them.

    Example:
        >>> format_quality({"rms_pole_angle_deg": 0.2912, "action_switch_rate": 0.5})
        'rms_pole_angle_deg=0.2912 action_switch_rate=0.5'
    """
    return " ".join(f"{name}={value:.4g}" for name, value in quality.items())


def print_episode(played: Episodes) -> None:
    """The line replay prints as each episode ends: its return, length and metrics."""
    line = f"episode {len(played.returns)}: return {played.returns[-1]:.2f}, length {played.lengths[-1]}"
    print(", ".join(filter(None, (line, format_quality(played.quality[-1])))))


VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".avi")


def frame_rate(env: Any) -> int:
    """The frames per second the env renders at (Gymnasium's ``render_fps``): a video plays in real time.

    Read from the env inside the vectorised one: ``VecNormalize`` and other VecEnv wrappers carry
    ``metadata`` without it.
    """
    return int(env.get_attr("metadata")[0].get("render_fps", 30))


def video_writer(path: Path, fps: int) -> Any:
    """An H.264 MP4 writer at ``path``; use as a context manager and ``append_data`` each frame.

    imageio writes to the exact path given; Gymnasium's ``RecordVideo`` picks its own file names.
    """
    import imageio.v2 as imageio

    # A macro block of 2 keeps the frame size (H.264 only needs even sides) instead of rescaling.
    return imageio.get_writer(path, fps=fps, macro_block_size=2)


def enjoy(config: ReplayConfig) -> Episodes:
    """Replay a trained run as ``enjoy.py`` describes; return what was played."""
    spec = get_algo(config.algo)
    env_id = check_env_id(config.env)
    family = family_of_id(env_id)
    if config.perturb is not None:
        check_applies(config.perturb, family, env_id)
    if config.video is not None:
        runs.check_output_file(config.video, "--video", VIDEO_SUFFIXES)
    if config.plot is not None:
        trajectory_plot.check_figure_path(config.plot, "--plot")
        if family is None:
            raise ConfigError(f"--plot draws the state of a CartPole, Acrobot or MountainCar env, not of {env_id}")
    run_dir = runs.find_run(config.log_folder, spec.name, env_id, config.exp_id)
    trained_on = runs.read_config(run_dir).get("env")
    if trained_on != env_id:
        raise ConfigError(f"{run_dir} holds a run on {trained_on}, not {env_id}; pass --env {trained_on}")
    path = model_file(run_dir, env_id, config.load_best, config.load_checkpoint)
    model = runs.load_model(spec.load_class(), path, device=config.device)
    inner = measured(config.perturb, keep_trajectory=config.plot is not None)
    env = EvaluationEnv.of_saved_model(run_dir, path).build(1, config.seed, inner, _render_mode(config))
    runs.check_spaces(model, env, path, env_id)
    print(
        f"replaying {path}" + (f" under {config.perturb}" if config.perturb else "") + _kept_evaluation(run_dir, config)
    )
    played = _play_and_record(model, env, config)
    env.close()
    if played.mean_quality:
        print(f"quality: {format_quality(played.mean_quality)}")
    if config.plot is not None and family is not None:
        _plot(played, family, config)
    return played


def _kept_evaluation(run_dir: Path, config: ReplayConfig) -> str:
    """Which evaluation a best model is, as its run recorded it (empty when it is not the best model)."""
    summary = RunSummary.read(run_dir) if config.load_best else None
    if summary is None or summary.best_model_steps is None:
        return ""
    steps = f"{summary.best_model_steps:,}"
    return f" (the evaluation at {steps} steps, kept by {summary.best_by}: {summary.best_model_score})"


def _play_and_record(model: Any, env: Any, config: ReplayConfig) -> Episodes:
    deterministic = not config.stochastic
    if config.video is None:
        return play(model, env, config.n_episodes, deterministic, on_episode=print_episode)
    config.video.parent.mkdir(parents=True, exist_ok=True)
    # Recorded beside its target and renamed at the end: an interrupted recording leaves no half video.
    with runs.atomic_target(config.video) as tmp, video_writer(tmp, fps=frame_rate(env)) as writer:
        played = play(
            model, env, config.n_episodes, deterministic, on_frame=writer.append_data, on_episode=print_episode
        )
    print(f"video written to {config.video}")
    return played


def _plot(played: Episodes, family: Any, config: ReplayConfig) -> None:
    from polebench.replay.trajectory_plot import plot_trajectory

    assert config.plot is not None
    under = f" under {config.perturb.perturbation.name}={config.perturb.level}" if config.perturb else ""
    title = f"{config.algo} on {config.env}{under}, episode 1 (return {played.returns[0]:.1f})"
    plot_trajectory(played.trajectories[0], family, title, config.plot)
    print(f"trajectory of episode 1 drawn to {config.plot}")
