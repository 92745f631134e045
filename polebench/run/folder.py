"""Run folders like rl-baselines3-zoo's: ``<log-folder>/<algo>/<env>_<N>/``, never overwritten.

Every file polebench writes into a run folder goes through a temporary name and an atomic rename, so a
crash mid-write never leaves half a model where a whole one was.
"""

from __future__ import annotations

import json
import pickle
import re
import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import Any

import yaml

from polebench.atomic import atomic_target, write_text
from polebench.config.yamlfile import load_yaml
from polebench.errors import ConfigError, first_line
from polebench.limits import check_path_length
from polebench.run.summary import SUMMARY_FILE
from polebench.shapes import matches

__all__ = ["SUMMARY_FILE", "atomic_target", "write_text"]

CONFIG_FILE = "config.yml"
COMMAND_FILE = "command.txt"
BEST_MODEL = "best_model.zip"
VECNORMALIZE_FILE = "vecnormalize.pkl"
REPLAY_BUFFER_FILE = "replay_buffer.pkl"
CHECKPOINTS = "checkpoints"
TRAJECTORY_FILE = "trajectory.npz"


def model_path(run_dir: Path, env_id: str) -> Path:
    """Where the final model of a run lives."""
    return run_dir / f"{env_id}.zip"


def run_path(log_folder: Path, algo: str, env_id: str, run_id: int) -> Path:
    """The folder of run ``run_id`` of ``algo`` on ``env_id``: ``<log-folder>/<algo>/<env>_<N>``."""
    return log_folder / algo / f"{env_id}_{run_id}"


def run_ids(log_folder: Path, algo: str, env_id: str) -> list[int]:
    """The experiment ids N of existing ``<env>_<N>`` folders, ascending."""
    pattern = re.compile(rf"^{re.escape(env_id)}_(\d+)$")
    folder = log_folder / algo
    if not folder.is_dir():
        return []
    return sorted(int(m[1]) for p in folder.iterdir() if p.is_dir() and (m := pattern.match(p.name)))


def new_run_dir(log_folder: Path, algo: str, env_id: str) -> Path:
    """Create and return the next free ``<log-folder>/<algo>/<env>_<N>``.

    ``mkdir`` without ``exist_ok`` claims a number atomically, so parallel runs never share one.
    """
    parent = log_folder / algo
    parent.mkdir(parents=True, exist_ok=True)
    n = max(run_ids(log_folder, algo, env_id), default=0) + 1
    while True:
        candidate = run_path(log_folder, algo, env_id, n)
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            n += 1


def find_run(log_folder: Path, algo: str, env_id: str, exp_id: int | None) -> Path:
    """The run folder for ``exp_id`` (the latest when ``None``), or a :class:`ConfigError` saying what exists."""
    if not log_folder.is_dir():
        raise ConfigError(f"log folder {log_folder} does not exist; pass the -f you trained with")
    ids = run_ids(log_folder, algo, env_id)
    if not ids:
        raise ConfigError(
            f"no {algo} runs on {env_id} under {log_folder}; "
            f"train one with: python train.py --algo {algo} --env {env_id} -f {log_folder}"
        )
    if exp_id is None:
        return run_path(log_folder, algo, env_id, ids[-1])
    if exp_id not in ids:
        raise ConfigError(f"--exp-id {exp_id} does not exist for {algo} on {env_id}; existing ids: {ids}")
    return run_path(log_folder, algo, env_id, exp_id)


class _PlainDumper(yaml.SafeDumper):
    """Writes a value shared by two keys twice instead of as a YAML anchor, so files read plainly."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def check_writable_folder(folder: Path, flag: str, shown: Path | None = None) -> None:
    """Refuse, before anything is written, a folder that is a file or that cannot be written (read-only,
    no permission, no such parent); the folder itself need not exist yet. Nothing is left behind.

    :param shown: the path the user gave, when it is a file in ``folder``
    """
    given = shown or folder
    check_path_length(given, flag)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{flag} {given}: {folder} is a file, not a folder")
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"{flag} {given}: {existing} is a file, not a folder")
    try:
        # A real file, removed at once: permission bits say nothing to root or of read-only mounts.
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".polebench-probe-"):
            pass
    except OSError as err:
        raise ConfigError(f"{flag} {given}: cannot write in {existing} ({err.strerror})") from None


def check_output_file(path: Path, flag: str, suffixes: tuple[str, ...]) -> None:
    """Refuse, before anything runs, an output file that cannot be written or has a suffix other than
    ``suffixes``; nothing is created here."""
    if path.suffix.lower() not in suffixes:
        raise ConfigError(f"{flag} {path}: the file must end in one of {', '.join(suffixes)}")
    if path.is_dir():
        raise ConfigError(f"{flag} {path} is a folder; give a file name such as {path / ('out' + suffixes[0])}")
    check_writable_folder(path.parent, flag, shown=path)


def write_yaml(path: Path, data: dict[str, Any]) -> None:
    """Write plain YAML data (no Python tags, no anchors), atomically."""
    write_text(path, yaml.dump(data, Dumper=_PlainDumper, sort_keys=False))


def write_npz(path: Path, **arrays: Any) -> None:
    """Write NumPy arrays as one ``.npz`` file, atomically."""
    import numpy as np

    with atomic_target(path) as tmp:
        np.savez(tmp, **arrays)


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write JSON, atomically."""
    write_text(path, json.dumps(data, indent=2) + "\n")


def read_yaml(path: Path) -> dict[str, Any]:
    """A YAML mapping polebench wrote, or a :class:`ConfigError` when it is missing or damaged."""
    from polebench.config.yamlfile import load_yaml

    data = load_yaml(path, "file")
    if not isinstance(data, dict):
        raise ConfigError(f"{path} is not a mapping")
    return data


def read_config(run_dir: Path) -> dict[str, Any]:
    """The ``config.yml`` a run was trained with, read as every YAML file a user hands polebench is
    (:func:`polebench.config.yamlfile.load_yaml`: a run folder may come from anywhere)."""
    path = run_dir / CONFIG_FILE
    try:
        config = load_yaml(path, "the run config")
    except ConfigError as err:
        raise ConfigError(f"{err}; is {run_dir} a polebench run folder?") from None
    if not isinstance(config, dict):
        raise ConfigError(f"{path} is not a polebench config")
    for key, annotation in _CONFIG_SHAPE.items():
        if key in config and not matches(config[key], annotation):
            raise ConfigError(f"{path} is damaged: its {key} is {config[key]!r}; is {run_dir} a polebench run folder?")
    return config


# What readers of a config.yml take from it, and the type each must have.
_CONFIG_SHAPE: dict[str, Any] = {
    "algo": str,
    "env": str,
    "seed": int | None,
    "hyperparams": dict[str, Any],
    "env_kwargs": dict[str, Any] | None,
}


def load_model(algo_cls: Any, path: Path, env: Any = None, **kwargs: Any) -> Any:
    """``algo_cls.load(path, env=env, ...)``, with a truncated, corrupt or mismatched model as a :class:`ConfigError`.

    Without ``env`` the model's spaces are not checked here; :func:`check_spaces` does that.
    """
    try:
        with warnings.catch_warnings():
            # SB3 rebuilds a saved DQN from its saved replay_buffer_class (NStepReplayBuffer for n_steps > 1)
            # and then warns that n_steps "is ignored because a custom replay_buffer_class was passed",
            # though that buffer is the n-step one: the model keeps its 3-step returns. False on load.
            warnings.filterwarnings(
                "ignore", message=r"`n_steps=\d+` is ignored because a custom `replay_buffer_class`"
            )
            return algo_cls.load(str(path), env=env, **kwargs)
    except (ValueError, KeyError, OSError, EOFError, RuntimeError, zipfile.BadZipFile, pickle.UnpicklingError) as err:
        raise ConfigError(f"cannot load the model {path}: {first_line(err)}") from None
    except (AttributeError, TypeError, AssertionError) as err:
        # SB3 builds the saved policy into the class asked for; another algorithm's policy fails this way.
        reason = first_line(err)
        raise ConfigError(
            f"cannot load the model {path} as {algo_cls.__name__} ({reason}); was it saved by another algorithm?"
        ) from None


def check_spaces(model: Any, env: Any, path: Path, env_id: str) -> None:
    """Refuse a model whose observation or action space differs from the env it is about to play."""
    for what in ("observation_space", "action_space"):
        if getattr(model, what) is not None and getattr(model, what) != getattr(env, what):  # plugins: None
            raise ConfigError(
                f"the model {path} was trained with {what} {getattr(model, what)}, "
                f"but {env_id} has {getattr(env, what)}; replay it on the env it was trained for"
            )


def atomic_save(model: Any, path: Path) -> None:
    """``model.save(path)`` through a temporary file, so an interrupted save keeps the previous model."""
    with atomic_target(path) as tmp:
        model.save(tmp)
