"""Read a linear PPO policy (``net_arch: {pi: []}``, as ``ppo-balance-linear.yml``) as the gain of a
controller, beside the LQR's: which run pushes harder on which state variable.

    python scripts/linear_gains.py bench/runs/recipe-linear/CartPole-v1/seed*/ppo/CartPole-v1_1

A linear policy on two actions pushes right when ``w . s + c > 0``, with ``w`` its weights divided by the
observation scales ``VecNormalize`` learned. The LQR pushes right when ``-K . s > 0``; only the direction
of a gain matters to a push left or right, so each gain is scaled to the LQR's weight on the pole's
angle and printed as multiples of the LQR's (cart position, cart velocity, pole angle, angular velocity).
The LQR is the one ``train.py --algo lqr`` builds for the run's env and ``--env-kwargs``.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from polebench.errors import ConfigError, run_cli  # noqa: E402
from polebench.run.folder import VECNORMALIZE_FILE, model_path, read_config  # noqa: E402

CARTPOLE_STATE = ("cart position", "cart velocity", "pole angle", "angular velocity")
ANGLE = CARTPOLE_STATE.index("pole angle")


def linear_gain(run: Path, config: dict[str, Any]) -> np.ndarray:
    """The run's final policy as a gain ``K`` (push right when ``-K . s > 0``), before scaling."""
    from stable_baselines3 import PPO

    saved = model_path(run, config["env"])
    if not saved.is_file():
        raise ConfigError(f"{run} has no {saved.name}: the run did not finish")
    model = PPO.load(saved, device="cpu")
    if len(model.policy.mlp_extractor.policy_net) > 0:
        raise ConfigError(f"{run}: the policy has hidden layers; this reads linear policies (net_arch pi: [])")
    weights = np.asarray(model.policy.state_dict()["action_net.weight"])
    scale = np.ones(weights.shape[1])
    if (run / VECNORMALIZE_FILE).exists():
        # SB3's VecNormalize.save writes a pickle, which can run code when read: read only runs you made.
        with open(run / VECNORMALIZE_FILE, "rb") as file:
            stats = pickle.load(file)
        scale = np.sqrt(stats.obs_rms.var + stats.epsilon)
    return -(weights[1] - weights[0]) / scale


def lqr_gain(config: dict[str, Any]) -> np.ndarray:
    """The gain of the LQR that ``train.py --algo lqr`` builds for the run's env (its shipped costs)."""
    from polebench.agents.lqr import LQR
    from polebench.config import hyperparams as hpm
    from polebench.envs.factory import make_env

    hp = hpm.resolve("lqr", config["env"])
    lqr = LQR(hp["policy"], make_env(config["env"], config.get("env_kwargs") or {}), **hpm.constructor_kwargs(hp))
    lqr.learn()
    return lqr.policy.gain.numpy()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, help="run folders of a linear PPO on CartPole-v1")
    args = parser.parse_args(argv)
    print(f"run: gain / LQR's gain ({', '.join(CARTPOLE_STATE)})")
    for run in args.runs:
        config = read_config(run)
        if config.get("algo") != "ppo" or config.get("env") != "CartPole-v1":
            what = f"a run of {config.get('algo')} on {config.get('env')}"
            raise ConfigError(f"{run}: {what}; this reads PPO on CartPole-v1")
        gain, lqr = linear_gain(run, config), lqr_gain(config)
        relative = gain / abs(gain[ANGLE]) * abs(lqr[ANGLE]) / lqr
        print(f"{run}: {np.array2string(relative, precision=2)}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
