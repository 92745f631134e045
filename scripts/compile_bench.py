"""Would a compiled graph make polebench faster? ``torch.compile`` against eager PyTorch, measured.

    python scripts/compile_bench.py                 # PPO and DQN on CartPole-v1, seeds 0 1 2
    python scripts/compile_bench.py --seeds 0 --no-end-to-end

For each algorithm's CartPole-v1 network (as hyperparams/ configures it), on this machine's CPU with one
thread: the time ``torch.compile`` takes to compile the update and the policy's forward pass, the time
per gradient step and per ``model.predict`` with and without it, and the whole time-to-solve (the
protocol of ``train.py --stop-on-solve``, in this process, compile time included) with and without it.
The table goes to stdout; the README's performance section quotes it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from polebench import training  # noqa: E402
from polebench.config import RunConfig  # noqa: E402

# The policy modules that run on every forward pass and gradient step, per algorithm.
COMPILED = {"ppo": ("mlp_extractor", "action_net", "value_net"), "dqn": ("q_net", "q_net_target")}


def compile_policy(model: Any, algo: str) -> float:
    """Replace the policy's hot modules with ``torch.compile``d ones; return the seconds the first calls
    (which compile) took."""
    for name in COMPILED[algo]:
        owner = model.policy
        setattr(owner, name, torch.compile(getattr(owner, name)))
    obs = torch.as_tensor(model.get_env().reset(), dtype=torch.float32)
    began = time.perf_counter()
    model.predict(obs.numpy(), deterministic=True)  # compiles the forward pass
    _gradient_steps(model, algo, 1)  # compiles the update
    return time.perf_counter() - began


def _gradient_steps(model: Any, algo: str, steps: int) -> None:
    """``steps`` of the algorithm's own update on its (filled) buffer."""
    if algo == "dqn":
        model.train(gradient_steps=steps, batch_size=model.batch_size)
    else:
        for _ in range(steps):
            model.train()


def _per_call(fn: Callable[[], Any], calls: int) -> float:
    began = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - began) / calls * 1e6


def micro(algo: str, compiled: bool) -> dict[str, float]:
    """Compile time, microseconds per gradient step and per single-observation ``predict``."""
    with tempfile.TemporaryDirectory() as folder:
        plan = training.make_plan(RunConfig(algo=algo, log_folder=Path(folder), eval_freq=0, verbose=0))
        session = training._start(plan, time.time(), None)
        model = session.model
        model.learn(2048)  # fills PPO's rollout buffer / DQN's replay buffer
        compile_s = compile_policy(model, algo) if compiled else 0.0
        obs = model.get_env().reset()[:1]
        if algo == "ppo":  # one train() is n_epochs passes over the rollout in minibatches
            per_train = model.n_epochs * (model.n_steps * model.n_envs // model.batch_size)
            step = _per_call(lambda: _gradient_steps(model, algo, 1), 10) / per_train
        else:
            step = _per_call(lambda: _gradient_steps(model, algo, 1), 200)
        predict = _per_call(lambda: model.predict(obs, deterministic=True), 1000)
    return {"compile_s": compile_s, "step_us": step, "predict_us": predict}


def end_to_end(algo: str, seed: int, compiled: bool) -> float:
    """Seconds from start to the first solved evaluation, ``train.py``'s protocol, in this process."""
    original = training._make_model

    def make_model(plan: Any, device: str, train_env: Any) -> Any:
        model = original(plan, device, train_env)
        if compiled:
            for name in COMPILED[algo]:
                setattr(model.policy, name, torch.compile(getattr(model.policy, name)))
        return model

    training._make_model = make_model
    try:
        with tempfile.TemporaryDirectory() as folder:
            started = time.time()
            config = RunConfig(algo=algo, seed=seed, log_folder=Path(folder), stop_on_solve=True, verbose=0)
            summary = training.train(config, started)
    finally:
        training._make_model = original
    return summary.time_to_solve_s if summary.time_to_solve_s is not None else float("nan")


def row(algo: str, compiled: bool, seeds: Sequence[int]) -> str:
    """One table row, measured in this process (each row runs in a fresh process: compiled code is cached
    per process, and another row's compilation must not be counted as already done)."""
    torch.set_num_threads(1)
    m = micro(algo, compiled)
    times = [end_to_end(algo, s, compiled) for s in seeds]
    solve = f"{statistics.median(times):.1f} ({', '.join(f'{t:.1f}' for t in times)})" if times else "-"
    mode = "torch.compile" if compiled else "eager"
    return f"| {algo} | {mode} | {m['compile_s']:.1f} | {m['step_us']:.0f} | {m['predict_us']:.0f} | {solve} |"


def main(argv: Sequence[str] | None = None) -> int:
    import subprocess

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--algos", nargs="+", default=["ppo", "dqn"], choices=sorted(COMPILED))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--no-end-to-end", action="store_true", help="only the per-step measurements")
    p.add_argument("--row", choices=("eager", "compile"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    seeds = [] if args.no_end_to_end else args.seeds
    if args.row:
        print(row(args.algos[0], args.row == "compile", seeds), flush=True)
        return 0
    print(
        "| algo | mode | compile (s) | per gradient step (us) | per predict (us) | time to solve, median (seeds) (s) |"
    )
    print("|---|---|---|---|---|---|", flush=True)
    for algo in args.algos:
        for mode in ("eager", "compile"):
            command = [sys.executable, __file__, "--algos", algo, "--row", mode, "--seeds", *map(str, args.seeds)]
            command += ["--no-end-to-end"] if args.no_end_to_end else []
            subprocess.run(command, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
