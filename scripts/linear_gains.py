"""Read a linear PPO policy (``net_arch: {pi: []}``, as ``ppo-balance-linear.yml``) as the gain of a
controller, beside the LQR's: which run pushes harder on which state variable.

    python scripts/linear_gains.py bench/runs/recipe-linear/CartPole-v1/seed*/ppo/CartPole-v1_1

A linear policy on two actions pushes right when ``w . s + c > 0``, with ``w`` its weights divided by the
observation scales ``VecNormalize`` learned. The LQR pushes right when ``-K . s > 0``; only the direction
of a gain matters to a push left or right, so each gain is scaled to the LQR's weight on the pole's
angle and printed as multiples of the LQR's (cart position, cart velocity, pole angle, angular velocity).
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from polebench.agents.lqr import cartpole_gain  # noqa: E402
from polebench.errors import ConfigError  # noqa: E402
from polebench.run.folder import VECNORMALIZE_FILE, model_path, read_config  # noqa: E402

# Gymnasium's CartPole-v1: gravity, cart mass, pole mass, half the pole's length, force, time step.
CARTPOLE = (9.8, 1.0, 0.1, 0.5, 10.0, 0.02)
CARTPOLE_STATE = ("cart position", "cart velocity", "pole angle", "angular velocity")
ANGLE = CARTPOLE_STATE.index("pole angle")


def linear_gain(run: Path) -> np.ndarray:
    """The run's final policy as a gain ``K`` (push right when ``-K . s > 0``), before scaling."""
    from stable_baselines3 import PPO

    try:
        config = read_config(run)
    except ConfigError as err:
        raise SystemExit(str(err)) from None
    if config.get("algo") != "ppo" or config.get("env") != "CartPole-v1":
        raise SystemExit(f"{run}: a run of {config.get('algo')} on {config.get('env')}; this reads PPO on CartPole-v1")
    saved = model_path(run, "CartPole-v1")
    model = PPO.load(saved, device="cpu")
    weights = np.asarray(model.policy.state_dict()["action_net.weight"])
    if weights.shape[1] != len(CARTPOLE_STATE):
        raise SystemExit(f"{run}: the policy has hidden layers; this reads linear policies (net_arch pi: [])")
    scale = np.ones(weights.shape[1])
    if (run / VECNORMALIZE_FILE).exists():
        # The file is the run's own, written by SB3's VecNormalize.save (a pickle): read only runs you made.
        with open(run / VECNORMALIZE_FILE, "rb") as file:
            stats = pickle.load(file)
        scale = np.sqrt(stats.obs_rms.var + stats.epsilon)
    return -(weights[1] - weights[0]) / scale


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, help="run folders of a linear PPO on CartPole-v1")
    args = parser.parse_args()
    lqr = cartpole_gain(*CARTPOLE)
    print(f"run: gain / LQR's gain ({', '.join(CARTPOLE_STATE)})")
    for run in args.runs:
        gain = linear_gain(run)
        relative = gain / abs(gain[ANGLE]) * abs(lqr[ANGLE]) / lqr
        print(f"{run}: {np.array2string(relative, precision=2)}")


if __name__ == "__main__":
    main()
