"""A policy that is the same on the left as on the right, for envs whose physics look the same in a mirror.

CartPole is such an env: negating every observation (cart position and velocity, pole angle and angular
velocity) and swapping the two pushes maps it onto itself. A learned policy is not symmetric by itself,
and one that leans to one side settles the cart off-centre: on seeds it was not tuned on, the robust PPO
recipe left the cart 2.5x the LQR's distance from the centre on its worst seed. :class:`MirrorMlpPolicy`
cannot prefer a side, as the LQR and the PID cannot.

    python train.py --algo ppo --hyperparams policy=MirrorMlpPolicy
"""

from __future__ import annotations

from typing import Any

import torch as th
from gymnasium import spaces
from stable_baselines3.common.distributions import Distribution
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.type_aliases import PyTorchObs


class MirrorMlpPolicy(ActorCriticPolicy):
    """SB3's ``MlpPolicy`` made mirror-symmetric: its action logits are the mean of the network's logits for
    the observation and the reversed logits for the negated observation, and its value the mean of both
    values, so ``logits(-obs)`` is ``logits(obs)`` reversed. It takes ``MlpPolicy``'s arguments, and a
    ``Discrete`` action space whose reversed order is the mirror image (action ``i`` and ``n - 1 - i``).

    With observation normalisation the mirror is exact when the running mean is zero, which a symmetric
    policy's own data tends to: its states are as often on one side as on the other.

    Example:
        >>> import gymnasium as gym
        >>> env = gym.make("CartPole-v1")
        >>> policy = MirrorMlpPolicy(env.observation_space, env.action_space, lambda _: 3e-4)
        >>> obs = th.tensor([[0.1, -0.2, 0.03, 0.4]])
        >>> left = policy.get_distribution(obs).distribution.probs
        >>> right = policy.get_distribution(-obs).distribution.probs
        >>> bool(th.allclose(left, right.flip(-1)))
        True
    """

    def __init__(self, observation_space: spaces.Space, action_space: spaces.Space, *args: Any, **kwargs: Any):
        if not isinstance(action_space, spaces.Discrete):
            raise ValueError(f"MirrorMlpPolicy takes discrete actions (left and right), not {action_space}")
        super().__init__(observation_space, action_space, *args, **kwargs)

    def action_logits(self, obs: th.Tensor) -> th.Tensor:
        """The symmetric logits of a batch of (preprocessed) observations; ``export.py`` traces this."""
        return self._mirrored(obs)[0]

    def _mirrored(self, obs: PyTorchObs) -> tuple[th.Tensor, th.Tensor]:
        if not isinstance(obs, th.Tensor):
            raise ValueError("MirrorMlpPolicy takes a Box observation, whose mirror image is its negation")
        n = obs.shape[0]
        features = self.extract_features(th.cat([obs, -obs]))  # both images in one pass
        if self.share_features_extractor:
            latent_pi, latent_vf = self.mlp_extractor(features)
        else:
            latent_pi = self.mlp_extractor.forward_actor(features[0])
            latent_vf = self.mlp_extractor.forward_critic(features[1])
        logits, values = self.action_net(latent_pi), self.value_net(latent_vf)
        return (logits[:n] + logits[n:].flip(-1)) / 2, (values[:n] + values[n:]) / 2

    def forward(self, obs: th.Tensor, deterministic: bool = False) -> tuple[th.Tensor, th.Tensor, th.Tensor]:
        logits, values = self._mirrored(obs)
        distribution = self.action_dist.proba_distribution(action_logits=logits)
        actions = distribution.get_actions(deterministic=deterministic)
        return actions.reshape(-1), values, distribution.log_prob(actions)  # one discrete action per row

    def evaluate_actions(self, obs: PyTorchObs, actions: th.Tensor) -> tuple[th.Tensor, th.Tensor, th.Tensor | None]:
        logits, values = self._mirrored(obs)
        distribution = self.action_dist.proba_distribution(action_logits=logits)
        return values, distribution.log_prob(actions), distribution.entropy()

    def get_distribution(self, obs: PyTorchObs) -> Distribution:
        return self.action_dist.proba_distribution(action_logits=self._mirrored(obs)[0])

    def predict_values(self, obs: PyTorchObs) -> th.Tensor:
        return self._mirrored(obs)[1]
