"""Soft Actor-Critic for discrete action spaces, as a Stable-Baselines3 off-policy algorithm.

Paper: Petros Christodoulou, "Soft Actor-Critic for Discrete Action Settings", 2019,
https://arxiv.org/abs/1910.07207

With a finite action set the policy's expectations are exact sums over actions weighted by their
probabilities, so neither the reparameterisation trick nor sampled actions are needed in the losses.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import GymEnv, Schedule

from polebench.agents.discrete_sac.policies import Actor, DiscreteCritic, DiscreteSACPolicy

__all__ = ["SACD"]


class SACD(OffPolicyAlgorithm):
    """Soft Actor-Critic for discrete actions, with twin critics and automatic temperature tuning.

    :param policy: ``"MlpPolicy"`` (or a :class:`DiscreteSACPolicy` subclass)
    :param env: the environment to learn from
    :param learning_rate: learning rate of actor, critics and temperature (a float or a schedule)
    :param buffer_size: replay buffer size
    :param learning_starts: random steps collected before learning starts
    :param batch_size: minibatch size of each gradient step
    :param tau: Polyak coefficient of the target critics (1: hard copy)
    :param gamma: discount factor
    :param train_freq: update every ``train_freq`` steps (or ``(n, "episode")``)
    :param gradient_steps: gradient steps per update (-1: as many as env steps collected)
    :param replay_buffer_class: replay buffer class (SB3's ``ReplayBuffer`` by default)
    :param replay_buffer_kwargs: its keyword arguments
    :param optimize_memory_usage: SB3's memory-efficient replay buffer
    :param n_steps: n-step returns in the critics' target (SB3's ``NStepReplayBuffer`` when > 1)
    :param ent_coef: the temperature alpha; ``"auto"`` (or ``"auto_0.1"``, starting at 0.1) learns it
    :param target_entropy_ratio: the learned temperature aims at this fraction of the maximum entropy
        ``log |A|``. The paper's 0.98 asks for a nearly uniform policy, which on two actions (CartPole)
        keeps the agent from ever committing; 0.3 lets it become confident while still exploring.
    :param target_update_interval: update the target critics every this many gradient steps
    :param stats_window_size: episodes averaged in the ``rollout/`` logs
    :param tensorboard_log: TensorBoard folder (polebench sets its logger itself)
    :param policy_kwargs: passed to the policy (``net_arch``, ``activation_fn``, ``n_critics``, ...)
    :param verbose: 0 quiet, 1 info, 2 debug
    :param seed: seed of the networks, the buffer sampling and the envs
    :param device: PyTorch device
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {"MlpPolicy": DiscreteSACPolicy}
    policy: DiscreteSACPolicy
    actor: Actor
    critic: DiscreteCritic
    critic_target: DiscreteCritic

    def __init__(
        self,
        policy: str | type[DiscreteSACPolicy],
        env: GymEnv | str,
        learning_rate: float | Schedule = 3e-4,
        buffer_size: int = 1_000_000,
        learning_starts: int = 100,
        batch_size: int = 256,
        tau: float = 0.005,
        gamma: float = 0.99,
        train_freq: int | tuple[int, str] = 1,
        gradient_steps: int = 1,
        replay_buffer_class: type[ReplayBuffer] | None = None,
        replay_buffer_kwargs: dict[str, Any] | None = None,
        optimize_memory_usage: bool = False,
        n_steps: int = 1,
        ent_coef: str | float = "auto",
        target_entropy_ratio: float = 0.3,
        target_update_interval: int = 1,
        stats_window_size: int = 100,
        tensorboard_log: str | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: th.device | str = "auto",
        _init_setup_model: bool = True,
    ) -> None:
        super().__init__(
            policy,
            env,
            learning_rate,
            buffer_size,
            learning_starts,
            batch_size,
            tau,
            gamma,
            train_freq,
            gradient_steps,
            action_noise=None,
            replay_buffer_class=replay_buffer_class,
            replay_buffer_kwargs=replay_buffer_kwargs,
            optimize_memory_usage=optimize_memory_usage,
            n_steps=n_steps,
            policy_kwargs=policy_kwargs,
            stats_window_size=stats_window_size,
            tensorboard_log=tensorboard_log,
            verbose=verbose,
            device=device,
            seed=seed,
            supported_action_spaces=(spaces.Discrete,),
            support_multi_env=True,
            sde_support=False,
        )
        if not 0.0 < target_entropy_ratio <= 1.0:
            raise ValueError(f"target_entropy_ratio must be in (0, 1], got {target_entropy_ratio}")
        self.ent_coef = ent_coef
        self.target_entropy_ratio = target_entropy_ratio
        self.target_update_interval = target_update_interval
        self.ent_coef_optimizer: Any = None
        if _init_setup_model:
            self._setup_model()

    def _setup_model(self) -> None:
        super()._setup_model()
        self.actor, self.critic, self.critic_target = self.policy.actor, self.policy.critic, self.policy.critic_target
        n_actions = int(self.action_space.n)  # type: ignore[attr-defined]
        self.target_entropy = float(self.target_entropy_ratio * np.log(n_actions))
        if isinstance(self.ent_coef, str) and self.ent_coef.startswith("auto"):
            initial = float(self.ent_coef.split("_")[1]) if "_" in self.ent_coef else 1.0
            if initial <= 0:
                raise ValueError(f"the initial ent_coef must be > 0, got {self.ent_coef}")
            self.log_ent_coef = th.log(th.ones(1, device=self.device) * initial).requires_grad_(True)
            # The temperature's optimizer is the networks' (SB3's SAC hard-codes Adam here).
            optimizer_class: Any = self.policy.optimizer_class
            self.ent_coef_optimizer = optimizer_class(
                [self.log_ent_coef], lr=self.lr_schedule(1), **self.policy.optimizer_kwargs
            )
        else:
            self.ent_coef_tensor = th.tensor(float(self.ent_coef), device=self.device)

    def _alpha(self) -> th.Tensor:
        if self.ent_coef_optimizer is not None:
            return self.log_ent_coef.detach().exp()
        return self.ent_coef_tensor

    def _optimizers(self) -> list[Any]:
        optimizers = [self.actor.optimizer, self.critic.optimizer]
        if self.ent_coef_optimizer is not None:
            optimizers.append(self.ent_coef_optimizer)
        return optimizers

    def _losses(self, data: Any, alpha: th.Tensor) -> dict[str, th.Tensor]:
        """Critic, actor and temperature losses of one minibatch, all from the networks as they are now.

        The three losses share no parameters, so the sum of them has the same gradients as each one
        alone, and one backward pass replaces three. As in SB3's SAC, ``alpha`` is the temperature
        before this step's update. The actor scores the observations and the next observations in one
        forward pass (the next ones only feed the critics' target, without gradients), and the actor's
        loss reads the critics' values from the critic loss's own forward pass.
        """
        batch = len(data.observations)
        probs_both, log_probs_both = self.actor.action_probs(th.cat([data.observations, data.next_observations]))
        probs, log_probs = probs_both[:batch], log_probs_both[:batch]
        discounts = data.discounts if getattr(data, "discounts", None) is not None else self.gamma
        with th.no_grad():
            next_probs, next_log_probs = probs_both[batch:], log_probs_both[batch:]
            next_q = self.critic_target(data.next_observations).min(dim=0).values
            next_v = (next_probs * (next_q - alpha * next_log_probs)).sum(dim=1, keepdim=True)
            target_q = data.rewards + (1 - data.dones) * discounts * next_v
        all_q = self.critic(data.observations)  # (n_critics, batch, n_actions)
        taken = all_q.gather(2, data.actions.long().expand(len(all_q), -1, -1))
        q = all_q.detach().min(dim=0).values
        entropy = -(probs * log_probs).sum(dim=1).detach()
        losses = {
            # Each critic's mean squared error, summed over critics, halved: SAC's critic loss.
            "critic_loss": 0.5 * (taken - target_q).pow(2).mean(dim=(1, 2)).sum(),
            "actor_loss": (probs * (alpha * log_probs - q)).sum(dim=1).mean(),
            "entropy": entropy.mean(),
        }
        if self.ent_coef_optimizer is not None:
            # Lowers the temperature while the policy is more random than the target, raises it when less.
            losses["ent_coef_loss"] = (self.log_ent_coef * (entropy - self.target_entropy)).mean()
        return losses

    def train(self, gradient_steps: int, batch_size: int = 64) -> None:
        """Critic, actor and temperature updates on ``gradient_steps`` minibatches, logged to TensorBoard."""
        self.policy.set_training_mode(True)
        optimizers = self._optimizers()
        self._update_learning_rate(optimizers)
        # Losses stay tensors until the end: one conversion per update instead of one per step.
        logs: dict[str, list[th.Tensor]] = {}
        for _ in range(gradient_steps):
            data = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)  # type: ignore[union-attr]
            alpha = self._alpha()
            losses = self._losses(data, alpha)
            for optimizer in optimizers:
                optimizer.zero_grad()
            (losses["critic_loss"] + losses["actor_loss"] + losses.get("ent_coef_loss", 0.0)).backward()
            for optimizer in optimizers:
                optimizer.step()
            for key, value in losses.items():
                logs.setdefault(key, []).append(value.detach())
            logs.setdefault("ent_coef", []).append(alpha.reshape(()))
            self._n_updates += 1
            if self._n_updates % self.target_update_interval == 0:
                self._update_target()
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/target_entropy", self.target_entropy)
        for key, values in logs.items():
            self.logger.record(f"train/{key}", th.stack(values).mean().item())

    @th.no_grad()
    def _update_target(self) -> None:
        """Polyak averaging of the target critics, as SB3's ``polyak_update`` but in one fused call for all
        parameters instead of two calls per parameter (a tenth of a gradient step for these networks)."""
        th._foreach_lerp_(list(self.critic_target.parameters()), list(self.critic.parameters()), self.tau)

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "actor", "critic", "critic_target"]

    def _get_torch_save_params(self) -> tuple[list[str], list[str]]:
        state_dicts = ["policy", "actor.optimizer", "critic.optimizer"]
        if self.ent_coef_optimizer is not None:
            return [*state_dicts, "ent_coef_optimizer"], ["log_ent_coef"]
        return state_dicts, ["ent_coef_tensor"]
