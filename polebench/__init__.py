"""polebench's shared machinery: hyperparameters, run folders, callbacks and the script entry points.

Nothing here imports PyTorch or Stable-Baselines3 at module level, so ``train.py --help`` stays fast.
"""
