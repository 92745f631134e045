#!/usr/bin/env bash
# Builds (once) a virtual environment of its own with rl-baselines3-zoo (rl_zoo3, SB3, sb3-contrib and
# the zoo's tuned hyperparameters) for scripts/time_to_solve.py to compare against, and prints the path
# of its python. It is kept apart from polebench's environment on purpose: the zoo pins its own versions,
# and the comparison is of the zoo as its users install it.
#
#   scripts/setup_zoo.sh                                 # ~/.cache/polebench-zoo, PyTorch's default build
#   ZOO_VENV=/tmp/zoo ZOO_TORCH=torch==2.13.0 scripts/setup_zoo.sh
set -eu
venv=${ZOO_VENV:-$HOME/.cache/polebench-zoo}
if ! "$venv/bin/python" -c "import rl_zoo3, sb3_contrib" 2>/dev/null; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q "${ZOO_TORCH:-torch}" >&2
  "$venv/bin/pip" install -q rl-zoo3 sb3-contrib "gymnasium[classic-control]" >&2
fi
echo "$venv/bin/python"
