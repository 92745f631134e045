"""A DQN written by hand, in plain PyTorch, the way a learner writes one, and made into a polebench agent.

    python train.py --algo examples.handwritten_dqn:HandwrittenDQN --stop-on-solve
    python enjoy.py --algo examples.handwritten_dqn:HandwrittenDQN --no-render
    python train.py --algo examples.handwritten_dqn:HandwrittenDQN --hyperparams classic_mistakes=true

Everything a DQN needs is here and nothing else: a Q-network, a target network copied every few hundred
steps, a replay buffer, an epsilon that decays linearly, a gradient step on a Huber loss every few env steps.
What makes it a polebench agent is only the four methods of ``polebench.agents.plugins.Agent`` (``learn``,
``predict``, ``save``, ``load``) and calling ``callback.on_step()`` after each step, which gives it
polebench's evaluations, early stop, checkpoints and interrupts.

``classic_mistakes=true`` brings back the two mistakes behind "1.3 GB of RAM, slower with every
episode": the replay memory is a Python list that never forgets (one tuple of arrays per step, for
ever), and the training targets are computed one sample at a time, a forward pass per sample, as in
the Keras book's ``for state, action, reward, next_state, done in batch: model.predict(...)``. The
benchmark's peak RSS, time and throughput columns show what they cost
(``python benchmark.py --grid examples/handwritten-vs-sb3.yml``).
"""

from __future__ import annotations

import random
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn


class ReplayBuffer:
    """The last ``capacity`` transitions in preallocated arrays: memory is fixed from the first step."""

    def __init__(self, capacity: int, obs_dim: int) -> None:
        self.obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.next_obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.actions = np.zeros(capacity, dtype=np.int64)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.terminated = np.zeros(capacity, dtype=np.float32)
        self.capacity, self.size, self.next = capacity, 0, 0

    def add(self, obs: np.ndarray, action: int, reward: float, next_obs: np.ndarray, terminated: bool) -> None:
        i = self.next
        self.obs[i], self.actions[i], self.rewards[i], self.next_obs[i], self.terminated[i] = (
            obs,
            action,
            reward,
            next_obs,
            terminated,
        )
        self.next = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int, rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
        idx = rng.integers(0, self.size, batch_size)
        return tuple(
            torch.as_tensor(a[idx]) for a in (self.obs, self.actions, self.rewards, self.next_obs, self.terminated)
        )


class UnboundedMemory:
    """The classic mistake: a list that keeps every transition for ever."""

    def __init__(self) -> None:
        self.items: list[tuple[np.ndarray, int, float, np.ndarray, bool]] = []

    def add(self, obs: np.ndarray, action: int, reward: float, next_obs: np.ndarray, terminated: bool) -> None:
        self.items.append((obs.copy(), action, reward, next_obs.copy(), terminated))

    @property
    def size(self) -> int:
        return len(self.items)


def q_network(obs_dim: int, n_actions: int, hidden: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for size in hidden:
        layers += [nn.Linear(obs_dim, size), nn.ReLU()]
        obs_dim = size
    return nn.Sequential(*layers, nn.Linear(obs_dim, n_actions))


class HandwrittenDQN:
    """Deep Q-learning with a target network and experience replay, on one env (or several side by side).

    :param learning_rate: Adam's step size
    :param gamma: the discount
    :param batch_size: transitions per gradient step
    :param buffer_size: transitions kept (ignored with ``classic_mistakes``: the list keeps them all)
    :param learning_starts: env steps of pure exploration before the first gradient step
    :param train_freq: env steps between gradient steps
    :param target_update_interval: env steps between copies of the Q-network into the target network
    :param exploration_steps: env steps over which epsilon falls from 1 to ``final_epsilon``
    :param final_epsilon: the exploration rate after that
    :param hidden: the sizes of the hidden layers
    :param double_dqn: pick the next action with the Q-network and value it with the target (Double DQN)
    :param classic_mistakes: an unbounded Python list as the memory and one forward pass per sample
    """

    # The budget when no -n is given (polebench reads this; there is no shipped YAML for a plugin).
    default_hyperparams: ClassVar[dict[str, Any]] = {"n_timesteps": 100_000}

    def __init__(
        self,
        policy: Any,
        env: Any,
        seed: int | None = None,
        verbose: int = 0,
        learning_rate: float = 1e-3,
        gamma: float = 0.99,
        batch_size: int = 64,
        buffer_size: int = 50_000,
        learning_starts: int = 1_000,
        train_freq: int = 4,
        target_update_interval: int = 500,
        exploration_steps: int = 10_000,
        final_epsilon: float = 0.05,
        hidden: list[int] | None = None,
        double_dqn: bool = False,
        classic_mistakes: bool = False,
    ) -> None:
        self.env = env
        self.settings: dict[str, Any] = {
            "learning_rate": learning_rate, "gamma": gamma, "batch_size": batch_size, "buffer_size": buffer_size,
            "learning_starts": learning_starts, "train_freq": train_freq,
            "target_update_interval": target_update_interval,
            "exploration_steps": exploration_steps, "final_epsilon": final_epsilon, "hidden": hidden or [128, 128],
            "double_dqn": double_dqn, "classic_mistakes": classic_mistakes,
        }  # fmt: skip
        self.obs_dim = int(np.prod(env.observation_space.shape)) if env is not None else 0
        self.n_actions = int(env.action_space.n) if env is not None else 0
        self.num_timesteps = 0
        self.set_random_seed(seed)
        self._build()

    def _build(self) -> None:
        s = self.settings
        self.q = q_network(self.obs_dim, self.n_actions, s["hidden"])
        self.target = q_network(self.obs_dim, self.n_actions, s["hidden"])
        self.target.load_state_dict(self.q.state_dict())
        self.optimizer = torch.optim.Adam(self.q.parameters(), lr=s["learning_rate"])
        self.memory: Any = UnboundedMemory() if s["classic_mistakes"] else ReplayBuffer(s["buffer_size"], self.obs_dim)

    def epsilon(self) -> float:
        s = self.settings
        progress = min(1.0, self.num_timesteps / max(1, s["exploration_steps"]))
        return 1.0 + progress * (s["final_epsilon"] - 1.0)

    def learn(self, total_timesteps: int, callback: Any = None) -> HandwrittenDQN:
        """Play ``total_timesteps`` steps of the env, training as it goes; ``callback.on_step()`` after each."""
        env, s = self.env, self.settings
        obs = env.reset()
        end = self.num_timesteps + total_timesteps
        while self.num_timesteps < end:
            actions = self._explore(obs)
            next_obs, rewards, dones, infos = env.step(actions)
            for i in range(env.num_envs):
                # A finished sub-env is reset at once: its last observation is kept in the info. A time
                # limit is not a terminal state: its value is still bootstrapped.
                last = infos[i]["terminal_observation"] if dones[i] else next_obs[i]
                terminated = bool(dones[i]) and not infos[i].get("TimeLimit.truncated", False)
                self.memory.add(obs[i], int(actions[i]), float(rewards[i]), last, terminated)
            obs = next_obs
            self.num_timesteps += env.num_envs
            learning = self.num_timesteps >= s["learning_starts"] and self.memory.size >= s["batch_size"]
            if learning and self.num_timesteps % s["train_freq"] < env.num_envs:
                self._train_step()
            if self.num_timesteps % s["target_update_interval"] < env.num_envs:
                self.target.load_state_dict(self.q.state_dict())
            if callback is not None and callback.on_step() is False:
                break
        return self

    def _explore(self, obs: np.ndarray) -> np.ndarray:
        greedy, _ = self.predict(obs, deterministic=True)
        explore = self.rng.random(len(obs)) < self.epsilon()
        return np.where(explore, self.rng.integers(0, self.n_actions, len(obs)), greedy)

    def _train_step(self) -> None:
        s = self.settings
        if s["classic_mistakes"]:
            obs, actions, targets = self._targets_one_by_one()
        else:
            obs, actions, rewards, next_obs, terminated = self.memory.sample(s["batch_size"], self.rng)
            with torch.no_grad():
                targets = rewards + s["gamma"] * (1.0 - terminated) * self._next_values(next_obs)
        values = self.q(obs).gather(1, actions.unsqueeze(1)).squeeze(1)
        loss = nn.functional.smooth_l1_loss(values, targets)
        self.optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(self.q.parameters(), 10.0)
        self.optimizer.step()

    def _next_values(self, next_obs: torch.Tensor) -> torch.Tensor:
        """The target network's value of each next state (of the Q-network's choice, with Double DQN)."""
        if self.settings["double_dqn"]:
            next_actions = self.q(next_obs).argmax(dim=1, keepdim=True)
            return self.target(next_obs).gather(1, next_actions).squeeze(1)
        return self.target(next_obs).max(dim=1).values

    def _targets_one_by_one(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The mistake: a sample of the ever-growing list, and each target computed by a forward pass of
        its own, as the Keras book computes them with one ``predict`` per sample."""
        batch = random.sample(self.memory.items, self.settings["batch_size"])
        targets = []
        for _state, _action, reward, next_state, terminated in batch:
            with torch.no_grad():
                next_value = self._next_values(torch.as_tensor(next_state, dtype=torch.float32)[None])
            targets.append(reward + self.settings["gamma"] * (1.0 - terminated) * float(next_value[0]))
        obs = torch.as_tensor(np.array([item[0] for item in batch]), dtype=torch.float32)
        actions = torch.as_tensor([item[1] for item in batch], dtype=torch.int64)
        return obs, actions, torch.tensor(targets, dtype=torch.float32)

    def set_random_seed(self, seed: int | None) -> None:
        """Seed exploration and sampling again (polebench calls it when a saved agent continues training)."""
        self.rng = np.random.default_rng(seed)
        random.seed(seed)
        if seed is not None:
            torch.manual_seed(seed)

    def predict(
        self, observation: np.ndarray, state: Any = None, episode_start: Any = None, deterministic: bool = False
    ) -> tuple[np.ndarray, Any]:
        """The greedy action for each row of ``observation`` (this agent always acts greedily when asked)."""
        with torch.no_grad():
            q_values = self.q(torch.as_tensor(np.asarray(observation), dtype=torch.float32).reshape(-1, self.obs_dim))
        return q_values.argmax(dim=1).numpy(), state

    def save(self, path: str) -> None:
        """The network and the settings it was built with, in one PyTorch file (not SB3's zip)."""
        torch.save(
            {"settings": self.settings, "obs_dim": self.obs_dim, "n_actions": self.n_actions, "q": self.q.state_dict(),
             "num_timesteps": self.num_timesteps},
            path,
        )  # fmt: skip

    @classmethod
    def load(cls, path: str, env: Any = None) -> HandwrittenDQN:
        saved = torch.load(path, weights_only=True)
        agent = cls.__new__(cls)
        agent.env, agent.settings = env, saved["settings"]
        agent.obs_dim, agent.n_actions, agent.num_timesteps = (
            saved["obs_dim"],
            saved["n_actions"],
            saved["num_timesteps"],
        )
        agent.rng = np.random.default_rng()
        agent._build()
        agent.q.load_state_dict(saved["q"])
        agent.target.load_state_dict(saved["q"])
        return agent
