"""``benchmark.py --grid FILE.yml``: a benchmark as data, with agents of the user's choosing.

Example file::

    envs: [CartPole-v1]
    seeds: 5                      # or a list: [0, 3, 7]; the seeds a recipe may be tuned on
    test_seeds: 10                # or a list: [10003, 10007]; held out from tuning (from 10,000 up)
    protocol: {stop_on_solve: true, eval_freq: 2500, eval_episodes: 10, final_eval_episodes: 100}
    agents:
      dqn: {algo: dqn}
      dqn-small: {algo: dqn, hyperparams: {policy_kwargs: {net_arch: [64, 64]}}}
      ppo-shaped: {algo: ppo, shaped_reward: true}
      ppo-quadratic: {algo: ppo, shaped_reward: quadratic}
      ppo-pushed: {algo: ppo, train_perturb: {push: 4}}

Each agent names an ``algo`` and optionally ``hyperparams`` (layered over the shipped YAML, like
``--hyperparams``), a ``conf_file`` (relative to the grid file), ``shaped_reward`` (``true`` for the default
form, a form's name, or ``{form: NAME, coefficient: value, ...}``, as ``train.py --shaped-reward``) and
``train_perturb`` (``{family: level}`` or ``"push=4"``, like ``--train-perturb``). The file is read with
:mod:`polebench.config.yamlfile` (safe, bounded, no duplicate keys); every mistake is a :class:`ConfigError`
naming the problem and the agent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from polebench.bench.grid import Agent, Job, Protocol, make_grid
from polebench.config import run_config as checks
from polebench.config.seeds import check_split, test_seeds
from polebench.config.yamlfile import load_yaml
from polebench.errors import ConfigError
from polebench.limits import MAX_EPISODES, MAX_SEEDS

TOP_KEYS = ("envs", "seeds", "tune_seeds", "test_seeds", "protocol", "agents")
PROTOCOL_KEYS = ("n_timesteps", "eval_freq", "eval_episodes", "final_eval_episodes", "stop_on_solve", "stop_on_balance")
HYPERPARAM_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
AGENT_KEYS = ("algo", "hyperparams", "conf_file", "shaped_reward", "train_perturb", "envs")
# An agent's name is its folder's name: letters, digits and . _ - only.
AGENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class GridSpec:
    """A whole benchmark: envs, seeds, the protocol every job shares, and the agents."""

    envs: tuple[str, ...]
    seeds: tuple[int, ...]
    protocol: Protocol
    agents: tuple[Agent, ...]
    test_seeds: tuple[int, ...] = ()

    def jobs(self) -> list[Job]:
        return make_grid(self.agents, self.envs, (*self.seeds, *self.test_seeds))

    def only(self, names: Sequence[str], source: str = "the grid") -> GridSpec:
        """The grid with only the agents ``names`` (in the file's order), or a :class:`ConfigError` naming
        an agent the grid lacks and the ones it has.

        Example:
            >>> agents = {"a": {"algo": "ppo"}, "b": {"algo": "dqn"}}
            >>> spec = grid_from_mapping({"envs": "CartPole-v1", "agents": agents})
            >>> [agent.name for agent in spec.only(["b"]).agents]
            ['b']
        """
        known = [agent.name for agent in self.agents]
        missing = [name for name in names if name not in known]
        if missing:
            raise ConfigError(
                f"--agents: {source} has no agent {', '.join(map(repr, missing))}; its agents: {', '.join(known)}"
            )
        return replace(self, agents=tuple(agent for agent in self.agents if agent.name in names))


def load_grid(path: Path) -> GridSpec:
    """Read and check a grid file."""
    data = load_yaml(path, "grid file")
    return grid_from_mapping(data, str(path), base=path.parent)


def grid_from_mapping(data: Any, source: str = "grid", base: Path | None = None) -> GridSpec:
    """Check plain data in the grid file's format (from YAML or built in Python) and make a :class:`GridSpec`.

    :param base: the folder relative ``conf_file`` paths are read from (the grid file's)
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source} must be a mapping with keys {', '.join(TOP_KEYS)}")
    _only(data, TOP_KEYS, source)
    for key in ("envs", "agents"):
        if key not in data:
            raise ConfigError(f"{source} has no {key!r}")
    envs = envs_of(data["envs"], source)
    if "seeds" in data and "tune_seeds" in data:
        raise ConfigError(f"{source}: 'seeds' and 'tune_seeds' name the same seeds; give one of them")
    seeds = seeds_of(data.get("tune_seeds", data.get("seeds", 3)), f"{source}: 'seeds'")
    test = test_seeds_of(data.get("test_seeds"), f"{source}: 'test_seeds'")
    check_split(seeds, test, source)
    protocol = _protocol(data.get("protocol") or {}, source)
    agents = data["agents"]
    if not isinstance(agents, Mapping) or not agents:
        raise ConfigError(f"{source}: 'agents' must map agent names to {{algo: ..., ...}} mappings")
    agent_specs = tuple(_agent(name, spec, source, base) for name, spec in agents.items())
    for agent in agent_specs:
        others = [env for env in agent.envs or () if env not in envs]
        if others:
            raise ConfigError(
                f"{source}: agent {agent.name}: envs {', '.join(others)} not among the grid's envs ({', '.join(envs)})"
            )
    return GridSpec(envs, seeds, protocol, agent_specs, test)


def _only(data: Mapping[str, Any], accepted: tuple[str, ...], where: str) -> None:
    unknown = [str(k) for k in data if k not in accepted]
    if unknown:
        raise ConfigError(f"{where}: unknown key {', '.join(map(repr, unknown))}; accepted: {', '.join(accepted)}")


def _agent_envs(value: Any, where: str) -> tuple[str, ...] | None:
    """An agent's ``envs``: which of the grid's envs it runs on (absent: all)."""
    return None if value is None else envs_of(value, where)


def envs_of(value: Any, source: str) -> tuple[str, ...]:
    from polebench.envs.factory import check_env_id

    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(e, str) for e in items):
        raise ConfigError(f"{source}: 'envs' must be one env id or a list of them, got {value!r}")
    try:
        return tuple(check_env_id(env) for env in dict.fromkeys(items))
    except ConfigError as err:
        raise ConfigError(f"{source}: {err}") from None


def seeds_of(value: Any, what: str) -> tuple[int, ...]:
    """``K`` (seeds 0..K-1) or an explicit list of distinct seeds.

    Example:
        >>> seeds_of(3, "seeds"), seeds_of([7, 1], "seeds")
        ((0, 1, 2), (7, 1))
    """
    if isinstance(value, list | tuple):
        seeds = tuple(checks.seed(s, f"{what}: seed") for s in value)
        if not seeds or len(set(seeds)) != len(seeds) or len(seeds) > MAX_SEEDS:
            raise ConfigError(f"{what} must be distinct, from 1 to {MAX_SEEDS:,} of them, got {list(value)!r}")
        return seeds
    return tuple(range(checks.at_least(value, f"{what} (a count)", maximum=MAX_SEEDS)))


def test_seeds_of(value: Any, what: str) -> tuple[int, ...]:
    """Test seeds: none, a count ``K`` (the first K test seeds) or an explicit list of them.

    Example:
        >>> test_seeds_of(2, "test_seeds"), test_seeds_of([10007], "test_seeds"), test_seeds_of(None, "test_seeds")
        ((10000, 10001), (10007,), ())
    """
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return seeds_of(value, what)
    return test_seeds(checks.at_least(value, f"{what} (a count)", maximum=MAX_SEEDS))


def _protocol(value: Any, source: str) -> Protocol:
    where = f"{source}: protocol"
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a mapping of {', '.join(PROTOCOL_KEYS)}")
    _only(value, PROTOCOL_KEYS, where)
    for key in ("stop_on_solve", "stop_on_balance"):
        if not isinstance(value.get(key, False), bool):
            raise ConfigError(f"{where}: {key} must be true or false, got {value[key]!r}")
    n = value.get("n_timesteps")
    episodes, final = value.get("eval_episodes"), value.get("final_eval_episodes")
    return Protocol(
        n_timesteps=None if n is None else checks.env_steps(n, f"{where}: n_timesteps"),
        eval_freq=checks.env_steps(value.get("eval_freq", checks.EVAL_FREQ), f"{where}: eval_freq", allow_zero=True),
        eval_episodes=None
        if episodes is None
        else checks.at_least(episodes, f"{where}: eval_episodes", maximum=MAX_EPISODES),
        stop_on_solve=value.get("stop_on_solve", False),
        stop_on_balance=value.get("stop_on_balance", False),
        final_eval_episodes=None
        if final is None
        else checks.at_least(final, f"{where}: final_eval_episodes", maximum=MAX_EPISODES),
    )


def _agent(name: Any, spec: Any, source: str, base: Path | None) -> Agent:
    from polebench.agents.registry import get_algo

    if not isinstance(name, str) or not AGENT_NAME.match(name):
        raise ConfigError(f"{source}: agent name {name!r} must be letters, digits, '.', '_' or '-' (it names a folder)")
    where = f"{source}: agent {name}"
    if not isinstance(spec, Mapping) or "algo" not in spec:
        raise ConfigError(f"{where} must be a mapping with at least 'algo', got {spec!r}")
    if "shaped" in spec:  # its name before reward shaping had one name everywhere
        raise ConfigError(f"{where}: 'shaped' is now called 'shaped_reward', as train.py's --shaped-reward")
    _only(spec, AGENT_KEYS, where)
    try:
        algo = get_algo(str(spec["algo"])).name
    except ConfigError as err:
        raise ConfigError(f"{where}: {err}") from None
    hyperparams = spec.get("hyperparams") or {}
    if not isinstance(hyperparams, Mapping):
        raise ConfigError(f"{where}: hyperparams must be a mapping of hyperparameters, got {hyperparams!r}")
    for key in hyperparams:  # each job passes them on as key=value: a key must be a plain name
        if not isinstance(key, str) or not HYPERPARAM_KEY.match(key):
            raise ConfigError(f"{where}: hyperparameter name {key!r} must be letters, digits and '_' (a keyword)")
    conf = spec.get("conf_file")
    conf_file = None
    if conf is not None:
        conf_file = Path(conf) if base is None or Path(conf).is_absolute() else base / conf
        if not conf_file.is_file():
            raise ConfigError(f"{where}: conf_file {conf_file} does not exist")
    try:
        shaped_reward = checks.shaped_reward(spec.get("shaped_reward"))
        perturb = checks.train_perturb(spec.get("train_perturb"))
    except ConfigError as err:
        raise ConfigError(f"{where}: {err}") from None
    return Agent(name, algo, dict(hyperparams), conf_file, shaped_reward, perturb, _agent_envs(spec.get("envs"), where))
