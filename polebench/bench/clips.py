"""Short clips of a run balancing, for the report page's replay wall.

One deterministic episode of the run's final model from the reference initial state (the same for every
agent), rendered headless through Gymnasium's ``rgb_array`` and encoded once as a small WebM (VP9, which
every browser plays). Every clip has the same number of frames, so the wall plays them in step: an
episode that ends early holds its last frame. A clip is kept in its run folder and made again only when
the run's model is newer. The benchmark's preloaded workers render a grid's clips in parallel once its
jobs end (:func:`render_clips`); the report then finds them made and only makes what is still missing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from polebench.run import folder as runs

CLIP_SECONDS = 5  # at the env's own frame rate: 250 steps of CartPole, 75 of Acrobot
SHRINK = 2  # every other pixel: 300 x 200 for CartPole, light enough for a wall of ten agents
WALL_PUSH_LEVEL = 3  # the push level of the second wall (0.75 rad/s): where the agents differ most plainly


@dataclass(frozen=True)
class Clip:
    """A rendered clip (``path``), or why there is none (``missing``)."""

    path: Path | None
    missing: str = ""


@dataclass(frozen=True)
class ClipOrder:
    """One clip the report's wall will show: a run's, plain or under pushes."""

    run_dir: Path
    algo: str
    env_id: str
    push: bool

    @property
    def target(self) -> Path:
        return self.run_dir / clip_file(self.push)

    @property
    def model_path(self) -> Path:
        return runs.model_path(self.run_dir, self.env_id)

    def is_made(self) -> bool:
        """Whether the clip exists and is newer than the run's model (so it shows that model)."""
        target, model_path = self.target, self.model_path
        return target.is_file() and model_path.is_file() and target.stat().st_mtime >= model_path.stat().st_mtime


def clip_file(push: bool) -> str:
    return "clip_push.webm" if push else "clip.webm"


def render_clips(orders: list[ClipOrder]) -> list[Clip]:
    """Make every clip of ``orders`` not yet made (in a benchmark worker, which has the libraries loaded)."""
    return [clip_of(order) for order in orders]


def pushes_apply(env_id: str) -> bool:
    """Whether the env has the second wall, under pushes (the push perturbation applies to it)."""
    from polebench.envs.families import family_of_id

    family = family_of_id(env_id)
    return family is not None and "push" in family.perturbations


# Why a wall shows clips without making the missing ones.
INTERRUPTED = "the benchmark was interrupted"
NOT_ASKED = "--report-only makes no clip unless --render-clips (it loads the run's model)"


def clip_of(order: ClipOrder, skip: str | None = None) -> Clip:
    """The clip ``order`` asks for, made now if it is missing or older than the model (unless ``skip``
    says why not); never raises for a run that cannot be shown."""
    if not order.model_path.is_file():
        return Clip(None, f"no model in {order.run_dir}")
    if order.is_made():
        return Clip(order.target)
    if skip is not None:
        return Clip(None, f"not made: {skip}")
    try:
        _render(order)
    except Exception as err:
        # A plugin's predict, ffmpeg or pygame may raise anything: a clip that cannot be made is said in
        # its place on the page, never the end of the report.
        return Clip(None, f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}")
    return Clip(order.target)


def _render(order: ClipOrder) -> None:
    import imageio.v2 as imageio

    from polebench.agents.registry import get_algo
    from polebench.envs.factory import TRAJECTORY_SEED, measured
    from polebench.envs.perturbations import PERTURBATIONS, PerturbationUse
    from polebench.replay.play import frame_rate
    from polebench.run.evaluation_env import EvaluationEnv

    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # headless: no display is needed
    model = runs.load_model(get_algo(order.algo).load_class(), order.model_path, device="cpu")
    perturb = PerturbationUse(PERTURBATIONS["push"], WALL_PUSH_LEVEL) if order.push else None
    env = EvaluationEnv.of_saved_model(order.run_dir, order.model_path).build(
        1, TRAJECTORY_SEED, inner=measured(perturb), render_mode="rgb_array"
    )
    try:
        fps = frame_rate(env)
        frames = _frames(model, env, round(CLIP_SECONDS * fps))
    finally:
        env.close()
    with runs.atomic_target(order.target) as tmp:
        params = ["-b:v", "0", "-crf", "45", "-deadline", "realtime", "-cpu-used", "8"]
        writer: Any = imageio.get_writer(tmp, fps=fps, codec="libvpx-vp9", macro_block_size=2, ffmpeg_params=params)
        with writer:
            for frame in frames:
                writer.append_data(frame)


def _frames(model: Any, env: Any, count: int) -> list[np.ndarray]:
    """``count`` frames of one episode, shrunk; an episode that ends sooner holds its last picture."""
    from polebench.run.rollout import play

    frames: list[np.ndarray] = []
    play(model, env, 1, on_frame=lambda frame: frames.append(frame[::SHRINK, ::SHRINK]), max_steps=count)
    return frames + [frames[-1]] * (count - len(frames))
