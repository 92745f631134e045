"""Playing a trained agent back: a saved model on the env it was evaluated on, an exported policy without
Stable-Baselines3, a run loaded for Python, and the plot of one episode."""
