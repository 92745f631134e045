"""Agents of a user's own, as tests load them: ``--algo tests.plugin_agents:Const``."""

from __future__ import annotations

import json
from typing import Any

import numpy as np


class Const:
    """Always the same action; learns nothing, never calls its callback."""

    def __init__(self, policy: Any = None, env: Any = None, action: int = 0, seed: int | None = None, verbose: int = 0):
        self.action, self.num_timesteps = int(action), 0

    def learn(self, total_timesteps: int, callback: Any = None) -> Const:
        self.num_timesteps += int(total_timesteps)
        return self

    def predict(self, observation: Any, state: Any = None, episode_start: Any = None, deterministic: bool = False):
        return np.full(len(np.atleast_2d(observation)), self.action), state

    def save(self, path: str) -> None:
        with open(path, "w") as f:
            json.dump({"action": self.action, "num_timesteps": self.num_timesteps}, f)

    @classmethod
    def load(cls, path: str, env: Any = None) -> Const:
        with open(path) as f:
            saved = json.load(f)
        agent = cls(action=saved["action"])
        agent.num_timesteps = saved["num_timesteps"]
        return agent


class Stepping(Const):
    """Plays the env itself, pushing towards the pole's lean, and calls ``callback.on_step()`` each step;
    counts no steps of its own (polebench counts the calls)."""

    default_hyperparams = {"n_timesteps": 3000}  # noqa: RUF012

    def __init__(self, policy: Any = None, env: Any = None, seed: int | None = None, verbose: int = 0, **kw: Any):
        super().__init__(policy, env)
        self.env = env
        del self.num_timesteps

    def learn(self, total_timesteps: int, callback: Any = None) -> Stepping:
        obs = self.env.reset()
        for _ in range(total_timesteps // self.env.num_envs):
            obs, _, _, _ = self.env.step(self.predict(obs)[0])
            if callback is not None and not callback.on_step():
                break
        return self

    def predict(self, observation: Any, state: Any = None, episode_start: Any = None, deterministic: bool = False):
        return (np.atleast_2d(observation)[:, 2] > 0).astype(int), state

    def save(self, path: str) -> None:
        with open(path, "w") as f:
            f.write("{}")

    @classmethod
    def load(cls, path: str, env: Any = None) -> Stepping:
        return cls(None, env)


class Failing(Const):
    """Its own bug: learning raises."""

    def learn(self, total_timesteps: int, callback: Any = None) -> Failing:
        raise RuntimeError("the plugin's own bug")


class NoPredict:
    def learn(self, total_timesteps: int, callback: Any = None) -> NoPredict:
        return self

    def save(self, path: str) -> None: ...

    @classmethod
    def load(cls, path: str, env: Any = None) -> NoPredict:
        return cls()


class LearnTakesNothing(Const):
    def learn(self) -> LearnTakesNothing:  # type: ignore[override]
        return self


class SavesElsewhere(Const):
    def save(self, path: str) -> None:
        with open(path + ".json", "w") as f:
            f.write("{}")


# What a hostile plugin (or a crafted error.txt) could put in a report: a script, an element with an event
# handler, a Markdown image of a local file, a link to a script, and a pipe and newline to add a table row.
HOSTILE_TEXT = (
    "a pipe | FAKE-CELL |\n| lqr | lqr | FAKE-ROW-INJECTED | <script>alert('errscript')</script>"
    " <img src=x onerror=alert(2)> ![secret](../../../../../../etc/hostname) [click](javascript:alert(3))"
)


class Hostile(Const):
    """Learning raises with a message written to attack the report page."""

    default_hyperparams = {"n_timesteps": 100}  # noqa: RUF012

    def learn(self, total_timesteps: int, callback: Any = None) -> Hostile:
        raise RuntimeError(HOSTILE_TEXT)


class FailsMidway(Stepping):
    """Its own bug, after some steps of learning that evaluations watched."""

    def learn(self, total_timesteps: int, callback: Any = None) -> FailsMidway:
        super().learn(300, callback)
        raise RuntimeError("the plugin's own bug, midway")


class _Predicts(Const):
    """Answers ``predict`` with ``self.answer(batch)`` instead of one action per observation."""

    def answer(self, batch: int) -> Any:
        raise NotImplementedError

    def predict(self, observation: Any, state: Any = None, episode_start: Any = None, deterministic: bool = False):
        return self.answer(len(np.atleast_2d(observation))), state


class PredictsTooMany(_Predicts):
    def answer(self, batch: int) -> Any:
        return np.zeros((batch, 3), dtype=int)


class PredictsNaN(_Predicts):
    def answer(self, batch: int) -> Any:
        return np.full(batch, np.nan)


class PredictsOutOfRange(_Predicts):
    def answer(self, batch: int) -> Any:
        return np.full(batch, 7)


class PredictsFractions(_Predicts):
    def answer(self, batch: int) -> Any:
        return np.full(batch, 0.4)


class PredictsNegative(_Predicts):
    def answer(self, batch: int) -> Any:
        return np.full(batch, -1)


class Broken:
    """Three mistakes at once: no predict, no save, a load that is not a classmethod."""

    def learn(self, total_timesteps: int, callback: Any = None) -> Broken:
        return self

    def load(self, path: str, env: Any = None) -> Broken:
        return self


class PredictsABareInt(Const):
    def predict(self, observation: Any, state: Any = None, episode_start: Any = None, deterministic: bool = False):
        return 0


class LoadsSomethingElse(Const):
    @classmethod
    def load(cls, path: str, env: Any = None) -> Any:
        return {"action": 0}


class UsesARate(Const):
    """Reads its learning rate at the start and at the end of training, as a plugin's docs say to."""

    def __init__(
        self,
        policy: Any = None,
        env: Any = None,
        action: int = 0,
        learning_rate: Any = 1e-3,
        seed: Any = None,
        verbose: int = 0,
    ) -> None:
        from polebench.agents.plugins import value_at

        super().__init__(policy, env, action, seed=seed, verbose=verbose)
        self.rates = [value_at(learning_rate, 1.0), value_at(learning_rate, 0.0)]

    def save(self, path: str) -> None:
        with open(path, "w") as f:
            json.dump({"action": self.action, "num_timesteps": self.num_timesteps, "rates": self.rates}, f)


class TakesNoVerbose(Const):
    def __init__(self, policy: Any = None, env: Any = None, action: int = 0, seed: Any = None) -> None:
        super().__init__(policy, env, action, seed)


class Leaking(Stepping):
    """Stepping, keeping 2 KB for every step it takes, for ever: the classic never-forgetting replay list."""

    def learn(self, total_timesteps: int, callback: Any = None) -> Leaking:
        self.kept: list[np.ndarray] = []

        class Keeping:
            def on_step(inner) -> bool:
                self.kept.append(np.ones(256))  # 2 KB, touched
                return callback is None or bool(callback.on_step())

        return super().learn(total_timesteps, Keeping())  # type: ignore[return-value]
