"""Would a compiled graph make polebench faster? A measurement, for CartPole PPO and DQN as polebench trains
them (``polebench/hyperparams/``): eager PyTorch against ``torch.compile`` (the default inductor backend) and
TorchScript (``torch.jit.script``), each applied to the networks' modules in place.

    python scripts/compile_speed.py                          # micro-benchmarks, then end to end on seeds 0 1 2
    python scripts/compile_speed.py --seeds 0 1 2 3 4 --algos dqn

Micro-benchmarks, each mode in a fresh process (compiled code and caches never carry over):
``compile s`` is the extra time of the first gradient steps and predicts over eager's (compiling, and
recompiling for each new batch shape), ``grad step ms`` the mean over later gradient steps (PPO: one
``train()``, 10 epochs of one 256-sample minibatch, divided by 10; DQN: 640 steps of 64 samples),
``predict ms`` one ``model.predict`` of 8 observations (what training collects each step) and of 1
(what ``enjoy.py`` asks). End to end: whole ``train.py``-protocol processes (``--stop-on-solve``,
evaluation every 2,500 steps, 10 episodes), timed from start to exit, with the networks made compiled
or scripted right after the model is built. The inductor's on-disk cache is pointed at a fresh folder
per process, so every run pays its compile, as a user's first run does.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODES = ("eager", "compile", "script")
PROTOCOL = {"stop_on_solve": True, "eval_freq": 2500, "eval_episodes": 10, "verbose": 0}


def _modules(algo: str, policy: Any) -> list[tuple[Any, str]]:
    """(owner, attribute) of each module holding the networks' layers: what a mode replaces or compiles."""
    if algo == "dqn":
        return [(policy.q_net, "q_net"), (policy.q_net_target, "q_net")]
    return [(policy.mlp_extractor, "policy_net"), (policy.mlp_extractor, "value_net"), (policy, "action_net"),
            (policy, "value_net")]  # fmt: skip


def apply_mode(algo: str, policy: Any, mode: str) -> None:
    """Make ``policy``'s networks compiled (``torch.compile``) or scripted (TorchScript), in place."""
    import torch

    for owner, name in _modules(algo, policy):
        module = getattr(owner, name)
        if mode == "compile":
            # Not module.compile(): with PyTorch 2.13 a module compiled in place still ran eagerly here
            # (dynamo's counters stayed empty). The compiled wrapper replaces the layer stack instead, so
            # SB3's own methods around it (predict, the losses) stay as they are.
            setattr(owner, name, torch.compile(module))
        elif mode == "script":
            setattr(owner, name, torch.jit.script(module))


def _patch_setup(algo: str, mode: str) -> None:
    """Apply ``mode`` to every model of ``algo`` right after it is built (the end-to-end runs)."""
    from polebench.agents.registry import get_algo

    cls = get_algo(algo).load_class()
    setup = cls._setup_model

    def setup_then_apply(self: Any) -> None:
        setup(self)
        apply_mode(algo, self.policy, mode)

    cls._setup_model = setup_then_apply


def _timed(fn: Callable[[], Any], repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def micro(algo: str, mode: str) -> dict[str, float]:
    """Compile overhead, time per gradient step and per predict of one freshly built model (seed 0)."""
    import numpy as np
    import torch

    from polebench.config.run_config import RunConfig
    from polebench.envs.factory import make_vec
    from polebench.run.plan import make_plan

    torch.set_num_threads(1)
    plan = make_plan(RunConfig(algo=algo, env="CartPole-v1", seed=0, log_folder=Path(tempfile.mkdtemp())))
    env = make_vec("CartPole-v1", plan.n_envs, seed=0)
    model = plan.algo_cls(plan.hyperparams["policy"], env, seed=0, device="cpu", **plan.kwargs)
    model.learn(2048)  # fill the buffers with real transitions (eager: the mode is not applied yet)
    apply_mode(algo, model.policy, mode)
    obs8 = np.stack([env.observation_space.sample() for _ in range(8)])
    obs1 = obs8[:1]
    batch = plan.hyperparams.get("batch_size", 64)

    def grad_steps() -> None:
        if algo == "dqn":
            model.train(gradient_steps=64, batch_size=batch)
        else:
            model.train()  # one rollout buffer: n_epochs x (n_steps * n_envs / batch_size) gradient steps

    rollout = plan.hyperparams.get("n_steps", 0) * plan.n_envs
    steps_per_call = 64 if algo == "dqn" else plan.hyperparams["n_epochs"] * max(1, rollout // batch)

    def one_round() -> None:
        grad_steps()
        model.predict(obs8, deterministic=True)
        model.predict(obs1, deterministic=True)

    start = time.perf_counter()
    for _ in range(3):  # first calls: compiling, and recompiling as shapes change
        one_round()
    first = time.perf_counter() - start
    steady = _timed(one_round, 3)
    grad = _timed(grad_steps, 10) / steps_per_call
    return {
        "compile_s": max(0.0, first - 3 * steady),
        "grad_step_ms": grad * 1e3,
        "predict8_ms": _timed(lambda: model.predict(obs8, deterministic=True), 2000) * 1e3,
        "predict1_ms": _timed(lambda: model.predict(obs1, deterministic=True), 2000) * 1e3,
    }


def end_to_end(algo: str, mode: str, seed: int, folder: str) -> dict[str, Any]:
    """One training run under the protocol, with ``mode`` applied to the networks."""
    import polebench

    if mode != "eager":
        _patch_setup(algo, mode)
    summary = polebench.train(algo=algo, env="CartPole-v1", seed=seed, log_folder=folder, **PROTOCOL)
    return {"solved": summary.solved}


def _child(args: Sequence[str], cache: str) -> tuple[dict[str, Any], float]:
    """Run this script's ``--child`` in a fresh process; its JSON answer and its whole wall time."""
    env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": cache, "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]), elapsed


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--algos", nargs="+", default=["ppo", "dqn"], choices=["ppo", "dqn"])
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--skip-end-to-end", action="store_true")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, algo, mode, *rest = args.child
        result = micro(algo, mode) if kind == "micro" else end_to_end(algo, mode, int(rest[0]), rest[1])
        print(json.dumps(result))
        return
    header = (
        "| algo | mode | compile s | grad step ms | predict(8) ms | predict(1) ms | time to solve s: median (seeds) |"
    )
    lines = [header, "|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for algo in args.algos:
            for mode in args.modes:
                m, _ = _child(["micro", algo, mode], tempfile.mkdtemp(dir=tmp))
                e2e = "-"
                if not args.skip_end_to_end:
                    # One whole process per seed, one after another.
                    runs = [_child(["e2e", algo, mode, str(s), tempfile.mkdtemp(dir=tmp)], tempfile.mkdtemp(dir=tmp))
                            for s in args.seeds]  # fmt: skip
                    cells = [f"{t:.1f}" if r["solved"] else f"{t:.1f} (not solved)" for r, t in runs]
                    e2e = f"{statistics.median(t for _, t in runs):.1f} ({', '.join(cells)})"
                lines.append(f"| {algo} | {mode} | {m['compile_s']:.1f} | {m['grad_step_ms']:.3f} | "
                             f"{m['predict8_ms']:.3f} | {m['predict1_ms']:.3f} | {e2e} |")  # fmt: skip
                print(lines[-1], flush=True)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
