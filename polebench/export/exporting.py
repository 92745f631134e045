"""``export.py``: a trained run's deterministic policy as one self-contained file (ONNX, a torch.export
program or TorchScript).

The file maps a batch of the env's raw observations to actions. Whatever the run needs at inference is
folded in as plain tensor arithmetic: ``VecNormalize`` statistics, the discretizer and Q-table of
``qlearning``, the gain of ``lqr``. A recurrent policy takes and returns its hidden state explicitly
(inputs ``obs``, ``hidden``, ``cell``, ``episode_start``; outputs ``action``, ``hidden``, ``cell``). A
JSON description (algorithm, env and its constructor arguments, state shape) travels inside the file, for
``enjoy.py --policy``, which replays it on the env the run trained on.

After writing, the file checks itself against the model: on observations from evaluation episodes it
must pick the same action as ``model.predict(..., deterministic=True)`` (a continuous one to float32
rounding) on at least
:data:`MIN_AGREEMENT` of them, or it is removed.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from polebench.envs.factory import EVAL_SEED_OFFSET, make_env, make_vec, measured
from polebench.errors import ConfigError
from polebench.export.formats import FORMATS, format_of_file
from polebench.imports import optional
from polebench.run import folder as runs
from polebench.run.evaluation_env import EvaluationEnv

MIN_AGREEMENT = 0.999
CHECK_OBSERVATIONS = 10_000
META_KEY = "polebench"
MAX_BATCH = 1 << 20  # observations in one call of an exported program


@dataclass(frozen=True)
class PolicyMeta:
    """What a reader of an exported file needs besides the file itself."""

    algo: str
    env: str
    format: str
    recurrent: bool
    obs_shape: list[int]
    state_shape: list[int] | None = None  # (layers, hidden size) of a recurrent policy's state
    env_kwargs: dict[str, Any] = field(default_factory=dict)  # the run's --env-kwargs (a file older than it: none)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> PolicyMeta:
        return cls(**json.loads(text))


class Normalize(nn.Module):
    """``VecNormalize``'s observation normalisation with frozen statistics."""

    mean: torch.Tensor
    scale: torch.Tensor

    def __init__(self, mean: np.ndarray, var: np.ndarray, clip: float, epsilon: float) -> None:
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("scale", torch.as_tensor(np.sqrt(var + epsilon), dtype=torch.float32))
        self.clip = float(clip)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return torch.clamp((obs - self.mean) / self.scale, -self.clip, self.clip)


class Discretize(nn.Module):
    """:class:`polebench.wrappers.discretize.DiscretizeObservation` as tensor arithmetic: observation to cell index."""

    low: torch.Tensor
    width: torch.Tensor
    bins: torch.Tensor
    strides: torch.Tensor

    def __init__(self, low: np.ndarray, high: np.ndarray, bins: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("low", torch.as_tensor(low, dtype=torch.float64))
        self.register_buffer("width", torch.as_tensor(high - low, dtype=torch.float64))
        self.register_buffer("bins", torch.as_tensor(bins, dtype=torch.float64))
        strides = np.cumprod([1, *bins[::-1][:-1]])[::-1].copy()  # row-major, as np.ravel_multi_index
        self.register_buffer("strides", torch.as_tensor(strides, dtype=torch.float64))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        fraction = (obs.to(torch.float64) - self.low) / self.width
        cells = torch.minimum(torch.clamp(torch.floor(fraction * self.bins), min=0.0), self.bins - 1)
        return (cells * self.strides).sum(dim=1)


class ToAction(nn.Module):
    """The last step of SB3's ``predict``: a discrete action is the argmax of the logits; a continuous one is
    the actor's output brought into the action space's bounds, unscaled from [-1, 1] for a squashing policy
    (SAC, TD3) and clipped otherwise (PPO's Gaussian mean), as ``BasePolicy.predict`` does."""

    low: torch.Tensor
    high: torch.Tensor

    def __init__(self, policy: Any) -> None:
        super().__init__()
        from gymnasium import spaces

        space = policy.action_space
        if not isinstance(space, spaces.Discrete | spaces.Box):
            raise ValueError(f"cannot export a policy for a {type(space).__name__} action space; Discrete or Box")
        self.discrete = isinstance(space, spaces.Discrete)
        self.squash = bool(getattr(policy, "squash_output", False))
        bounds = (space.low, space.high) if isinstance(space, spaces.Box) else (np.zeros(1), np.zeros(1))
        self.register_buffer("low", torch.as_tensor(bounds[0], dtype=torch.float32))
        self.register_buffer("high", torch.as_tensor(bounds[1], dtype=torch.float32))

    def forward(self, output: torch.Tensor) -> torch.Tensor:
        if self.discrete:
            return output.argmax(dim=1) if output.dim() > 1 else output
        if self.squash:
            return self.low + 0.5 * (output + 1.0) * (self.high - self.low)
        return torch.maximum(torch.minimum(output, self.high), self.low)


class FeedForward(nn.Module):
    """Observation preprocessing, then the policy's deterministic action.

    An actor-critic's action comes from its action head directly, and SAC's from its actor's mean, without
    building SB3's distribution, whose argument checks branch on the data (which an exported graph cannot).
    The other policies' own ``_predict`` is already an argmax, a formula or the actor's squashed output.
    """

    def __init__(self, policy: Any, preprocess: list[nn.Module]) -> None:
        super().__init__()
        from stable_baselines3.common.policies import ActorCriticPolicy
        from stable_baselines3.sac.policies import SACPolicy

        self.policy = policy
        self.preprocess = nn.ModuleList(preprocess)
        self.actor_critic = isinstance(policy, ActorCriticPolicy)
        self.squashed_gaussian = isinstance(policy, SACPolicy)
        self.to_action = ToAction(policy)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        for step in self.preprocess:
            obs = step(obs)
        if self.squashed_gaussian:  # SAC's mode is tanh(mean); its distribution's checks branch on the data
            mean, _, _ = self.policy.actor.get_action_dist_params(obs)
            return self.to_action(torch.tanh(mean))
        if not self.actor_critic:
            return self.to_action(self.policy._predict(obs, deterministic=True))
        from stable_baselines3.common.policies import BaseModel

        policy = self.policy
        features = BaseModel.extract_features(policy, obs, policy.pi_features_extractor)
        mean = policy.action_net(policy.mlp_extractor.forward_actor(features))
        # A squashing actor-critic (gSDE's squash_output) takes tanh of its mean before unscaling, as SB3 does.
        return self.to_action(torch.tanh(mean) if self.to_action.squash and not self.to_action.discrete else mean)


class Recurrent(nn.Module):
    """One step of sb3-contrib's recurrent actor with its state as explicit inputs and outputs.

    Written out here because sb3-contrib's ``_process_sequence`` branches on the data (whether any
    episode starts), which an exported graph cannot; one step needs no branch: the state is zeroed where
    an episode starts, then the LSTM (or GRU) runs once.
    """

    def __init__(self, policy: Any, preprocess: list[nn.Module]) -> None:
        super().__init__()
        self.policy = policy
        self.preprocess = nn.ModuleList(preprocess)
        self.to_action = ToAction(policy)

    def forward(
        self, obs: torch.Tensor, hidden: torch.Tensor, cell: torch.Tensor, episode_start: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        from stable_baselines3.common.policies import BaseModel

        for step in self.preprocess:
            obs = step(obs)
        policy = self.policy
        features = BaseModel.extract_features(policy, obs, policy.pi_features_extractor)
        keep = (1.0 - episode_start).view(1, -1, 1)
        output, (hidden, cell) = policy.lstm_actor(features.unsqueeze(0), (hidden * keep, cell * keep))
        latent = policy.mlp_extractor.forward_actor(output.squeeze(0))
        return self.to_action(policy.action_net(latent)), hidden, cell


@dataclass
class Source:
    """A run's model and what its inference needs, loaded for export.

    :param wrappers: the run's observation wrappers (discretizers), built once
    :param obs_shape: the shape of one raw observation of the env
    :param env_kwargs: the run's ``--env-kwargs``: the agreement check and the replay use the env it trained on
    """

    algo: str
    env_id: str
    env_kwargs: dict[str, Any]
    run_dir: Path
    model: Any
    recurrent: bool
    wrappers: list[Any]
    vec_normalize: Any
    obs_shape: tuple[int, ...]


def preprocessing(source: Source) -> list[nn.Module]:
    """The run's observation pipeline as modules: its observation wrappers, then normalisation."""
    steps: list[nn.Module] = [Discretize(w.low, w.high, w.bins) for w in source.wrappers]
    norm = source.vec_normalize
    if norm is not None and norm.norm_obs:
        steps.append(Normalize(norm.obs_rms.mean, norm.obs_rms.var, norm.clip_obs, norm.epsilon))
    return steps


def inference_module(source: Source) -> nn.Module:
    """The deterministic policy of ``source`` as one module, in evaluation mode."""
    policy = source.model.policy
    policy.set_training_mode(False)
    module: nn.Module = (
        Recurrent(policy, preprocessing(source)) if source.recurrent else FeedForward(policy, preprocessing(source))
    )
    return module.eval()


def example_inputs(source: Source, batch: int = 2) -> tuple[torch.Tensor, ...]:
    """Inputs of the exported function's shapes, for tracing."""
    obs = torch.zeros((batch, *source.obs_shape), dtype=torch.float32)
    if not source.recurrent:
        return (obs,)
    layers, size = state_shape(source)
    state = torch.zeros(layers, batch, size)
    return obs, state, state.clone(), torch.ones(batch)


def state_shape(source: Source) -> tuple[int, int]:
    lstm = source.model.policy.lstm_actor
    return lstm.num_layers, lstm.hidden_size


def meta_of(source: Source, fmt: str) -> PolicyMeta:
    shape = list(state_shape(source)) if source.recurrent else None
    return PolicyMeta(
        source.algo, source.env_id, fmt, source.recurrent, list(source.obs_shape), shape, dict(source.env_kwargs)
    )


def write_onnx(module: nn.Module, inputs: tuple[torch.Tensor, ...], meta: PolicyMeta, path: Path) -> None:
    """ONNX through PyTorch's exporter (``torch.export``), with a dynamic batch and the description inside."""
    import onnx

    names = ["obs", "hidden", "cell", "episode_start"][: len(inputs)]
    batch = torch.export.Dim("batch")
    dynamic = {name: {1 if name in ("hidden", "cell") else 0: batch} for name in names}
    # The exporter's own notices: torchvision operators it skips (torchvision is not needed), and a
    # deprecation inside torch.export's pytree handling; neither concerns the exported policy.
    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        program = torch.onnx.export(
            module,
            inputs,
            dynamo=True,
            input_names=names,
            output_names=["action", "hidden_out", "cell_out"][: 3 if meta.recurrent else 1],
            dynamic_shapes=dynamic,
            verbose=False,
        )
    assert program is not None
    program.save(str(path))
    model = onnx.load(str(path))
    onnx.helper.set_model_props(model, {META_KEY: meta.to_json()})
    onnx.save(model, str(path))


def write_torch_export(module: nn.Module, inputs: tuple[torch.Tensor, ...], meta: PolicyMeta, path: Path) -> None:
    """A ``torch.export`` program (TorchScript's successor) with a dynamic batch size, the description inside."""
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    # The batch is the first axis of the observations and episode starts, the second of a recurrent state.
    axes = ({0: batch},) if len(inputs) == 1 else ({0: batch}, {1: batch}, {1: batch}, {0: batch})
    program = torch.export.export(module, inputs, dynamic_shapes=axes)
    torch.export.save(program, str(path), extra_files={f"{META_KEY}.json": meta.to_json()})


def write_torchscript(module: nn.Module, inputs: tuple[torch.Tensor, ...], meta: PolicyMeta, path: Path) -> None:
    """TorchScript by tracing (the policy has no data-dependent branches), with the description inside."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        traced = torch.jit.trace(module, inputs, check_trace=False)
    torch.jit.save(traced, str(path), _extra_files={f"{META_KEY}.json": meta.to_json()})


class ExportedPolicy:
    """An exported file, run without Stable-Baselines3: ONNX through onnxruntime, TorchScript through
    ``torch.jit.load``. ``act`` takes a batch of raw observations (and, if recurrent, the state)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.meta, self._run = CODECS[format_of_file(path).name][1](path)

    def initial_state(self, batch: int) -> tuple[np.ndarray, np.ndarray] | None:
        if not self.meta.recurrent or self.meta.state_shape is None:
            return None
        layers, size = self.meta.state_shape
        zeros = np.zeros((layers, batch, size), dtype=np.float32)
        return zeros, zeros.copy()

    def predict(
        self, obs: np.ndarray, state: Any = None, episode_start: Any = None, deterministic: bool = True
    ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
        """:meth:`act` under SB3's name, so the exported file plays where a model plays (it is always
        deterministic)."""
        return self.act(obs, state, episode_start)

    def act(
        self, obs: np.ndarray, state: tuple[np.ndarray, np.ndarray] | None = None, episode_start: Any = None
    ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
        obs = np.asarray(obs, dtype=np.float32).reshape(-1, *self.meta.obs_shape)
        if not self.meta.recurrent:
            return np.asarray(self._run(obs)[0]), None
        if state is None:
            state = self.initial_state(len(obs))
        assert state is not None
        starts = np.asarray(episode_start if episode_start is not None else np.ones(len(obs)), dtype=np.float32)
        action, hidden, cell = self._run(obs, state[0], state[1], starts)
        return np.asarray(action), (np.asarray(hidden), np.asarray(cell))


def _load_onnx(path: Path) -> tuple[PolicyMeta, Any]:
    ort = optional("onnxruntime", "export", "replaying an ONNX policy")
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        meta = PolicyMeta.from_json(session.get_modelmeta().custom_metadata_map[META_KEY])
    except Exception as err:  # onnxruntime raises its own exception types for any unreadable file
        raise ConfigError(f"{path} is not a policy exported by polebench ({str(err).splitlines()[0]})") from None
    names = [i.name for i in session.get_inputs()]

    def run(*arrays: np.ndarray) -> list[Any]:
        return session.run(None, dict(zip(names, arrays, strict=True)))

    return meta, run


def _load_torch_export(path: Path) -> tuple[PolicyMeta, Any]:
    extra = {f"{META_KEY}.json": ""}
    try:
        program = torch.export.load(str(path), extra_files=extra)
        meta = PolicyMeta.from_json(extra[f"{META_KEY}.json"])
    except Exception as err:  # torch.export raises many types (zipfile, pickle, its own) for a foreign file
        raise ConfigError(f"{path} is not a policy exported by polebench ({str(err).splitlines()[0]})") from None
    return meta, _runner(program.module())


def _runner(module: Any) -> Any:
    """Call ``module`` on NumPy arrays, returning NumPy arrays (one per output)."""

    def run(*arrays: np.ndarray) -> list[Any]:
        with torch.no_grad():
            out = module(*(torch.as_tensor(a) for a in arrays))
        return [t.numpy() for t in out] if isinstance(out, tuple) else [out.numpy()]

    return run


def _load_torchscript(path: Path) -> tuple[PolicyMeta, Any]:
    extra = {f"{META_KEY}.json": ""}
    try:
        module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
        meta = PolicyMeta.from_json(extra[f"{META_KEY}.json"])
    except (RuntimeError, ValueError, KeyError, TypeError) as err:
        raise ConfigError(f"{path} is not a policy exported by polebench ({str(err).splitlines()[0]})") from None
    return meta, _runner(module)


# Each format's writer and reader (of :data:`polebench.export.formats.FORMATS`, by the same names).
Writer = Callable[[nn.Module, tuple[torch.Tensor, ...], PolicyMeta, Path], None]
Reader = Callable[[Path], tuple[PolicyMeta, Any]]
CODECS: dict[str, tuple[Writer, Reader]] = {
    "onnx": (write_onnx, _load_onnx),
    "torch": (write_torch_export, _load_torch_export),
    "torchscript": (write_torchscript, _load_torchscript),
}
assert CODECS.keys() == FORMATS.keys(), "every format needs a writer and a reader"


@dataclass(frozen=True)
class Agreement:
    """How the exported file compares with ``model.predict`` on the same observations."""

    observations: int
    agreeing: int
    exported_us: float  # mean time per observation, one observation per call
    predict_us: float

    @property
    def fraction(self) -> float:
        return self.agreeing / self.observations


def check_agreement(source: Source, exported: ExportedPolicy, n_obs: int = CHECK_OBSERVATIONS) -> Agreement:
    """Play the model deterministically on evaluation episodes (10 side by side) until ``n_obs``
    observations are seen, and count those where the exported file picks the model's action."""
    from polebench.run.rollout import play

    n_envs = 10
    env = make_vec(source.env_id, n_envs, EVAL_SEED_OFFSET, inner=measured(), env_kwargs=source.env_kwargs)
    to_model = _model_input(source)
    tally = _Tally(exported, exported.initial_state(n_envs))
    try:
        # As many episodes as observations: the step limit, never the episodes, ends the check.
        play(_OnRawObservations(source.model, to_model), env, n_obs, on_step=tally, max_steps=-(-n_obs // n_envs))
    finally:
        env.close()
    return Agreement(tally.seen, tally.agreeing, *_timings(source, exported, to_model))


@dataclass
class _Tally:
    """At each step, the exported file's actions for the raw observations, against the model's."""

    exported: ExportedPolicy
    state: Any
    seen: int = 0
    agreeing: int = 0

    def __call__(self, obs: np.ndarray, actions: np.ndarray, starts: np.ndarray) -> None:
        mine, self.state = self.exported.act(np.asarray(obs), self.state, starts)
        self.agreeing += int(np.sum(same_actions(mine, actions)))
        self.seen += len(starts)


def same_actions(exported: np.ndarray, model: np.ndarray) -> np.ndarray:
    """Per observation, whether the exported file's action is the model's: equal for a discrete action,
    equal to float32 rounding for a continuous one (a different graph sums in a different order).

    Example:
        >>> same_actions(np.array([[0.5], [0.2]]), np.array([[0.5000001], [0.3]])).tolist()
        [True, False]
    """
    n = len(model)
    mine, theirs = np.asarray(exported).reshape(n, -1), np.asarray(model).reshape(n, -1)
    if theirs.dtype.kind in "iub":
        return np.all(mine == theirs, axis=1)
    return np.all(np.isclose(mine.astype(np.float64), theirs.astype(np.float64), rtol=1e-4, atol=1e-5), axis=1)


@dataclass(frozen=True)
class _OnRawObservations:
    """The model, taking the env's raw observations through the run's own pipeline (``to_model``)."""

    model: Any
    to_model: Callable[[np.ndarray], np.ndarray]

    def predict(self, obs: np.ndarray, **kwargs: Any) -> tuple[np.ndarray, Any]:
        return self.model.predict(self.to_model(obs), **kwargs)


def _model_input(source: Source) -> Any:
    """The run's own pipeline from raw observations to what ``model.predict`` takes."""
    norm = source.vec_normalize

    def convert(obs: np.ndarray) -> np.ndarray:
        for wrapper in source.wrappers:
            obs = np.array([wrapper.observation(o) for o in obs])
        return norm.normalize_obs(obs) if norm is not None else obs

    return convert


def _timings(source: Source, exported: ExportedPolicy, to_model: Any, calls: int = 500) -> tuple[float, float]:
    obs = np.asarray(make_env(source.env_id, source.env_kwargs).reset(seed=0)[0])[None]
    state = exported.initial_state(1)
    start = np.ones(1, dtype=bool)
    begin = time.perf_counter()
    for _ in range(calls):
        exported.act(obs, state, start)
    exported_us = (time.perf_counter() - begin) / calls * 1e6
    begin = time.perf_counter()
    for _ in range(calls):
        source.model.predict(to_model(obs), episode_start=start, deterministic=True)
    return exported_us, (time.perf_counter() - begin) / calls * 1e6


def load_source(run_dir: Path, algo: str, env_id: str, model_path: Path) -> Source:
    """The model at ``model_path`` of the run in ``run_dir`` and what its inference needs: the
    preprocessing of the very env the model is replayed on (:class:`EvaluationEnv`)."""
    from polebench.agents.registry import get_algo

    spec = get_algo(algo)
    evaluation_env = EvaluationEnv.of_saved_model(run_dir, model_path)
    for use in evaluation_env.wrappers:
        if use.name != "discretize" and not use.kind.training_only:
            raise ConfigError(f"cannot export a run that uses the env_wrapper {use.name!r}")
    env = evaluation_env.build(1, 0)
    wrappers, vec_normalize, obs_shape = _preprocessing_of(env)
    env.close()
    model = runs.load_model(spec.load_class(), model_path, device="cpu")
    env_kwargs = dict(evaluation_env.env_kwargs)
    return Source(spec.name, env_id, env_kwargs, run_dir, model, spec.recurrent, wrappers, vec_normalize, obs_shape)


def _preprocessing_of(env: Any) -> tuple[list[Any], Any, tuple[int, ...]]:
    """An evaluation VecEnv's observation wrappers (innermost first), its ``VecNormalize`` (or ``None``) and
    the shape of one raw observation, the simulator's, as SB3's ``Monitor`` passes it on."""
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import VecNormalize

    vec_normalize = env if isinstance(env, VecNormalize) else None
    sub = (env.venv if vec_normalize is not None else env).envs[0]
    wrappers = []
    while not isinstance(sub, Monitor):
        wrappers.append(sub)
        sub = sub.env
    return wrappers[::-1], vec_normalize, tuple(sub.observation_space.shape or ())


def export(source: Source, fmt: str, path: Path) -> Agreement:
    """Write ``source``'s policy to ``path`` in ``fmt``, check it, and keep it only if it agrees."""
    module = inference_module(source)
    inputs = example_inputs(source)
    meta = meta_of(source, fmt)
    writer = CODECS[fmt][0]
    with runs.atomic_target(path) as tmp:
        with torch.no_grad():
            writer(module, inputs, meta, tmp)
        agreement = check_agreement(source, ExportedPolicy(tmp))
        if agreement.fraction < MIN_AGREEMENT:
            raise ConfigError(
                f"the exported policy agrees with the model on only {agreement.fraction:.2%} of "
                f"{agreement.observations:,} observations (at least {MIN_AGREEMENT:.1%} needed); nothing written"
            )
    return agreement
