"""One reference run of rl-baselines3-zoo, under polebench's time-to-solve protocol.

Runs in the zoo's own environment (made by ``scripts/setup_zoo.sh``), not polebench's:

    $(scripts/setup_zoo.sh) scripts/zoo_reference.py ppo CartPole-v1 0

The zoo builds everything itself, as ``python -m rl_zoo3.train`` would (its tuned hyperparameters, envs,
normalisation, evaluation callback); the one thing added is polebench's ``--stop-on-solve``: training stops
at the first evaluation whose mean return reaches the env's threshold. The last line printed is JSON:
algo, env, seed, solved, steps, best mean return.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile

# CartPoleNoVel-v1 (the zoo's) has no threshold of its own; it is CartPole-v1 with half the observation.
THRESHOLDS = {"CartPoleNoVel-v1": 475.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("algo", help="the zoo's algorithm name (ppo, dqn, ppo_lstm, ...)")
    parser.add_argument("env", help="a registered env id, e.g. CartPole-v1")
    parser.add_argument("seed", type=int)
    parser.add_argument("--eval-freq", type=int, default=2500, help="env steps between evaluations")
    parser.add_argument("--eval-episodes", type=int, default=10, help="episodes per evaluation")
    args = parser.parse_args()

    import gymnasium as gym
    from rl_zoo3.exp_manager import ExperimentManager
    from stable_baselines3.common.callbacks import CallbackList, EvalCallback, StopTrainingOnRewardThreshold

    folder = tempfile.mkdtemp(prefix="zoo-reference-")
    manager = ExperimentManager(
        args,
        args.algo,
        args.env,
        folder,
        eval_freq=args.eval_freq,
        n_eval_episodes=args.eval_episodes,
        seed=args.seed,
        verbose=0,
        device="cpu",
        log_interval=-1,  # -1: SB3's default, as the zoo's CLI passes
    )
    setup = manager.setup_experiment()
    assert setup is not None
    model, _ = setup
    threshold = THRESHOLDS.get(args.env) or gym.spec(args.env).reward_threshold
    if threshold is None:
        parser.error(f"{args.env} has no reward threshold to stop at")
    evaluation = next(cb for cb in manager.callbacks if isinstance(cb, EvalCallback))
    stop = StopTrainingOnRewardThreshold(threshold)
    # The zoo's own callback on a new best (saving its VecNormalize statistics) keeps running beside the stop.
    kept = [evaluation.callback_on_new_best] if evaluation.callback_on_new_best is not None else []
    evaluation.callback_on_new_best = CallbackList([*kept, stop])
    evaluation.callback_on_new_best.parent = evaluation  # handed on to the stop when learn() starts
    manager.learn(model)
    best = float(evaluation.best_mean_reward)
    result = {
        "algo": args.algo,
        "env": args.env,
        "seed": args.seed,
        "solved": best >= threshold,
        "steps": int(model.num_timesteps),
        "best": best,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
