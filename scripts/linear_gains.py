"""Read a linear policy (PPO with ``net_arch: {pi: []}``, as ``ppo-balance-linear.yml``, or ARS's
``LinearPolicy``, as ``ars-balance.yml``) as the gain of a controller, beside the LQR's: which run pushes
harder on which state variable, and where it holds the cart.

    python scripts/linear_gains.py bench/runs/recipe-linear/CartPole-v1/seed*/ppo/CartPole-v1_1

A linear policy on two actions pushes right when ``w . s + c > 0``, with ``w`` its weights divided by the
observation scales ``VecNormalize`` learned and ``c`` its bias less what subtracting the observations'
running mean adds. The LQR pushes right when ``-K . s > 0``; only the direction of a gain matters to a
push left or right, so each gain is scaled to the LQR's weight on the pole's angle and printed as
multiples of the LQR's (cart position, cart velocity, pole angle, angular velocity). ``c`` is printed as
the cart position at which the policy is balanced, still and upright: where it holds the cart (the LQR: 0;
any policy without a bias on observations scaled about zero, as ``ars-balance.yml``'s: 0 by construction).
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


def _ppo_layer(run: Path, saved: Path) -> dict[str, Any]:
    from stable_baselines3 import PPO

    model = PPO.load(saved, device="cpu")
    if len(model.policy.mlp_extractor.policy_net) > 0:
        raise ConfigError(f"{run}: the policy has hidden layers; this reads linear policies (net_arch pi: [])")
    state = model.policy.state_dict()
    return {name.removeprefix("action_net."): value for name, value in state.items() if name.startswith("action_net.")}


def _ars_layer(run: Path, saved: Path) -> dict[str, Any]:
    from polebench.agents.ars import ARS

    state = ARS.load(saved, device="cpu").policy.state_dict()
    if any(not name.startswith("action_net.0.") for name in state):
        raise ConfigError(f"{run}: the policy has hidden layers; this reads ARS's LinearPolicy")
    return {name.removeprefix("action_net.0."): value for name, value in state.items()}


# The last layer of each algorithm's policy, as {"weight": ..., "bias": ...} (ARS's may have no bias).
LAYERS = {"ppo": _ppo_layer, "ars": _ars_layer}


def linear_gain(run: Path, config: dict[str, Any]) -> tuple[np.ndarray, float]:
    """The run's final policy as a gain ``K`` and a constant ``c`` (push right when ``-K . s + c > 0``)."""
    saved = model_path(run, config["env"])
    if not saved.is_file():
        raise ConfigError(f"{run} has no {saved.name}: the run did not finish")
    layer = LAYERS[config["algo"]](run, saved)
    weights = np.asarray(layer["weight"])
    bias = np.asarray(layer["bias"]) if "bias" in layer else np.zeros(2)
    mean, scale = np.zeros(weights.shape[1]), np.ones(weights.shape[1])
    if (run / VECNORMALIZE_FILE).exists():
        # SB3's VecNormalize.save writes a pickle, which can run code when read: read only runs you made.
        with open(run / VECNORMALIZE_FILE, "rb") as file:
            stats = pickle.load(file)
        mean, scale = stats.obs_rms.mean, np.sqrt(stats.obs_rms.var + stats.epsilon)
    right = (weights[1] - weights[0]) / scale
    return -right, float(bias[1] - bias[0] - right @ mean)


def _held(gain: np.ndarray, constant: float) -> str:
    """Where the policy holds the cart: the position at which it is balanced, still and upright."""
    if gain[0] == 0:
        return "holds the cart nowhere in particular (no weight on its position)"
    held = round(constant / gain[0], 3) + 0.0  # + 0.0: no "-0.000" for a policy centred to rounding
    return f"holds the cart at {held:+.3f} m"


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
    parser.add_argument("runs", nargs="+", type=Path, help="run folders of a linear PPO or ARS on CartPole-v1")
    args = parser.parse_args(argv)
    print(f"run: gain / LQR's gain ({', '.join(CARTPOLE_STATE)}), where it holds the cart")
    for run in args.runs:
        config = read_config(run)
        if config.get("algo") not in LAYERS or config.get("env") != "CartPole-v1":
            what = f"a run of {config.get('algo')} on {config.get('env')}"
            raise ConfigError(f"{run}: {what}; this reads {' or '.join(a.upper() for a in LAYERS)} on CartPole-v1")
        (gain, constant), lqr = linear_gain(run, config), lqr_gain(config)
        relative = gain / abs(gain[ANGLE]) * abs(lqr[ANGLE]) / lqr
        print(f"{run}: {np.array2string(relative, precision=2)}, {_held(gain, constant)}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
