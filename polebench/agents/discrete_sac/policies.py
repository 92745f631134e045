"""Networks of discrete SAC: a categorical actor and twin critics that score every action at once."""

from __future__ import annotations

import itertools
from typing import Any

import torch as th
from gymnasium import spaces
from stable_baselines3.common.policies import BaseModel, BasePolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor, FlattenExtractor, create_mlp
from stable_baselines3.common.type_aliases import PyTorchObs, Schedule
from torch import nn

__all__ = ["Actor", "DiscreteCritic", "DiscreteSACPolicy"]


def _n_actions(action_space: spaces.Space) -> int:
    if not isinstance(action_space, spaces.Discrete):
        raise ValueError(f"discrete SAC needs a Discrete action space, got {action_space}")
    return int(action_space.n)


class Actor(BasePolicy):
    """A categorical policy: the network outputs one logit per action.

    :param observation_space: the observation space
    :param action_space: a ``Discrete`` action space
    :param net_arch: hidden layer sizes
    :param features_extractor: turns observations into flat features
    :param features_dim: size of those features
    :param activation_fn: activation between hidden layers
    :param normalize_images: divide image observations by 255
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Discrete,
        net_arch: list[int],
        features_extractor: nn.Module,
        features_dim: int,
        activation_fn: type[nn.Module] = nn.ReLU,
        normalize_images: bool = True,
    ) -> None:
        super().__init__(
            observation_space, action_space, features_extractor=features_extractor, normalize_images=normalize_images
        )
        self.net_arch = net_arch
        self.features_dim = features_dim
        self.activation_fn = activation_fn
        self.logits = nn.Sequential(*create_mlp(features_dim, _n_actions(action_space), net_arch, activation_fn))

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            net_arch=self.net_arch,
            features_dim=self.features_dim,
            activation_fn=self.activation_fn,
            features_extractor=self.features_extractor,
        )
        return data

    def action_probs(self, obs: PyTorchObs) -> tuple[th.Tensor, th.Tensor]:
        """Probabilities and log-probabilities of every action, each of shape (batch, n_actions)."""
        logits = self.logits(self.extract_features(obs, self.features_extractor))
        log_probs = th.log_softmax(logits, dim=1)
        return log_probs.exp(), log_probs

    def forward(self, obs: PyTorchObs, deterministic: bool = False) -> th.Tensor:
        probs, _ = self.action_probs(obs)
        if deterministic:
            return probs.argmax(dim=1)
        return th.multinomial(probs, num_samples=1).squeeze(1)

    def _predict(self, observation: PyTorchObs, deterministic: bool = False) -> th.Tensor:
        return self(observation, deterministic)


class EnsembleMLP(nn.Module):
    """``n`` MLPs of the same shape evaluated as one: each layer is a batched matrix product over the
    stacked weights of all ``n`` networks. The result equals ``n`` separate ``nn.Sequential`` MLPs (each
    layer is initialised as ``nn.Linear`` is), at the cost of one call per layer instead of ``n``: for
    networks this small the per-call overhead, not the arithmetic, is what a gradient step costs.

    Example:
        >>> mlp = EnsembleMLP(4, 2, [16, 16], nn.ReLU, n=2)
        >>> mlp(th.zeros(5, 4)).shape
        torch.Size([2, 5, 2])

    :param in_dim: input features
    :param out_dim: outputs of each network
    :param net_arch: hidden layer sizes
    :param activation_fn: activation between hidden layers
    :param n: how many networks
    """

    def __init__(self, in_dim: int, out_dim: int, net_arch: list[int], activation_fn: type[nn.Module], n: int) -> None:
        super().__init__()
        sizes = [in_dim, *net_arch, out_dim]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for fan_in, fan_out in itertools.pairwise(sizes):
            layers = [nn.Linear(fan_in, fan_out) for _ in range(n)]  # nn.Linear's own initialisation
            self.weights.append(nn.Parameter(th.stack([layer.weight.detach().T for layer in layers])))
            self.biases.append(nn.Parameter(th.stack([layer.bias.detach()[None] for layer in layers])))
        self.activation = activation_fn()
        self.n = n

    def forward(self, features: th.Tensor) -> th.Tensor:
        """Every network's output for the same ``features``: shape ``(n, batch, out_dim)``."""
        hidden = features.unsqueeze(0).expand(self.n, *features.shape)
        last = len(self.weights) - 1
        for i, (weight, bias) in enumerate(zip(self.weights, self.biases, strict=True)):
            hidden = th.baddbmm(bias, hidden, weight)
            if i < last:
                hidden = self.activation(hidden)
        return hidden


class DiscreteCritic(BaseModel):
    """``n_critics`` Q-networks, each mapping an observation to one value per action, evaluated together
    (:class:`EnsembleMLP`).

    :param observation_space: the observation space
    :param action_space: a ``Discrete`` action space
    :param net_arch: hidden layer sizes
    :param features_extractor: turns observations into flat features
    :param features_dim: size of those features
    :param activation_fn: activation between hidden layers
    :param normalize_images: divide image observations by 255
    :param n_critics: how many Q-networks (2: clipped double-Q)
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Discrete,
        net_arch: list[int],
        features_extractor: BaseFeaturesExtractor,
        features_dim: int,
        activation_fn: type[nn.Module] = nn.ReLU,
        normalize_images: bool = True,
        n_critics: int = 2,
    ) -> None:
        super().__init__(
            observation_space, action_space, features_extractor=features_extractor, normalize_images=normalize_images
        )
        n_actions = _n_actions(action_space)
        self.q_networks = EnsembleMLP(features_dim, n_actions, net_arch, activation_fn, n_critics)

    features_extractor: BaseFeaturesExtractor

    def forward(self, obs: th.Tensor) -> th.Tensor:
        """Every critic's value of every action: shape ``(n_critics, batch, n_actions)``."""
        return self.q_networks(self.extract_features(obs, self.features_extractor))


class DiscreteSACPolicy(BasePolicy):
    """Actor, critics and target critics of discrete SAC, with their optimizers.

    :param observation_space: the observation space
    :param action_space: a ``Discrete`` action space
    :param lr_schedule: learning-rate schedule (the first value sets the optimizers' rate)
    :param net_arch: hidden layers for both networks, or ``{"pi": [...], "qf": [...]}``
    :param activation_fn: activation between hidden layers
    :param features_extractor_class: features extractor (one per network, none shared)
    :param features_extractor_kwargs: its keyword arguments
    :param normalize_images: divide image observations by 255
    :param optimizer_class: the optimizer, Adam by default
    :param optimizer_kwargs: its keyword arguments, besides the learning rate
    :param n_critics: how many Q-networks
    """

    actor: Actor
    critic: DiscreteCritic
    critic_target: DiscreteCritic

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Discrete,
        lr_schedule: Schedule,
        net_arch: list[int] | dict[str, list[int]] | None = None,
        activation_fn: type[nn.Module] = nn.ReLU,
        features_extractor_class: type[BaseFeaturesExtractor] = FlattenExtractor,
        features_extractor_kwargs: dict[str, Any] | None = None,
        normalize_images: bool = True,
        optimizer_class: type[th.optim.Optimizer] = th.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
        n_critics: int = 2,
    ) -> None:
        super().__init__(
            observation_space,
            action_space,
            features_extractor_class,
            features_extractor_kwargs,
            optimizer_class=optimizer_class,
            optimizer_kwargs=optimizer_kwargs,
            normalize_images=normalize_images,
        )
        _n_actions(action_space)
        if net_arch is None:
            net_arch = [256, 256]
        self.net_arch = net_arch
        self.actor_arch = net_arch["pi"] if isinstance(net_arch, dict) else list(net_arch)
        self.critic_arch = net_arch["qf"] if isinstance(net_arch, dict) else list(net_arch)
        self.activation_fn = activation_fn
        self.n_critics = n_critics
        self._build(lr_schedule)

    def _net_kwargs(self, arch: list[int]) -> dict[str, Any]:
        extractor = self.make_features_extractor()
        return {
            "observation_space": self.observation_space,
            "action_space": self.action_space,
            "net_arch": arch,
            "features_extractor": extractor,
            "features_dim": extractor.features_dim,
            "activation_fn": self.activation_fn,
            "normalize_images": self.normalize_images,
        }

    def _build(self, lr_schedule: Schedule) -> None:
        self.actor = Actor(**self._net_kwargs(self.actor_arch)).to(self.device)
        self.critic = DiscreteCritic(**self._net_kwargs(self.critic_arch), n_critics=self.n_critics).to(self.device)
        self.critic_target = DiscreteCritic(**self._net_kwargs(self.critic_arch), n_critics=self.n_critics).to(
            self.device
        )
        self.critic_target.load_state_dict(self.critic.state_dict())
        self.critic_target.set_training_mode(False)
        lr = lr_schedule(1)
        self.actor.optimizer = self.optimizer_class(self.actor.parameters(), lr=lr, **self.optimizer_kwargs)  # type: ignore[call-arg]
        self.critic.optimizer = self.optimizer_class(self.critic.parameters(), lr=lr, **self.optimizer_kwargs)  # type: ignore[call-arg]

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            net_arch=self.net_arch,
            activation_fn=self.activation_fn,
            n_critics=self.n_critics,
            lr_schedule=self._dummy_schedule,
            optimizer_class=self.optimizer_class,
            optimizer_kwargs=self.optimizer_kwargs,
            features_extractor_class=self.features_extractor_class,
            features_extractor_kwargs=self.features_extractor_kwargs,
        )
        return data

    def forward(self, obs: PyTorchObs, deterministic: bool = False) -> th.Tensor:
        return self._predict(obs, deterministic=deterministic)

    def _predict(self, observation: PyTorchObs, deterministic: bool = False) -> th.Tensor:
        return self.actor(observation, deterministic)

    def set_training_mode(self, mode: bool) -> None:
        """Put the actor and critic (not the target) in training or evaluation mode."""
        self.actor.set_training_mode(mode)
        self.critic.set_training_mode(mode)
        self.training = mode
