"""Soft Actor-Critic for discrete actions (Christodoulou, 2019), laid out like ``stable_baselines3/sac/``."""

from polebench.agents.discrete_sac.policies import DiscreteSACPolicy
from polebench.agents.discrete_sac.sacd import SACD

__all__ = ["SACD", "DiscreteSACPolicy"]
