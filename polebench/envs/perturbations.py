"""The robustness ladders: each perturbation family, named, with its levels from none (0) to severe.

``--perturb push=3`` (enjoy.py) and ``benchmark.py --robustness`` read this one table. A level is a rung
of the family's ladder, named by its number or by its value (``push=0.75`` is ``push=3``); level 0 is
always the unperturbed env. The ladders are chosen so that
the LQR controller and a trained PPO differ visibly on them (see the README's robustness section).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from polebench.envs.families import EnvFamily
from polebench.errors import ConfigError

# A ladder step's wrapper: given the env, the level's value and the env's family, return the wrapped env.
Builder = Callable[[Any, float, EnvFamily], Any]


@dataclass(frozen=True)
class Perturbation:
    """One family of perturbations and its ladder.

    :param name: the name on the command line
    :param meaning: what one level's value does, with ``{value}`` standing for it (README and help)
    :param values: the value of each level; ``values[0]`` leaves the env as it is
    :param build: wraps an env at one value
    :param unit: what a value counts, for plot axes
    :param scales: the physical constants a value multiplies (a wrong model): training draws each of them
        anew every episode, anywhere from 1 to the top level's value (:class:`RandomModel`)
    """

    name: str
    meaning: str
    values: tuple[float, ...]
    build: Builder
    unit: str
    scales: tuple[str, ...] = ()

    @property
    def levels(self) -> range:
        return range(len(self.values))

    def describe(self, level: int) -> str:
        """What ``level`` does, in words.

        Example:
            >>> PERTURBATIONS["actuator_fault"].describe(2)
            'actuator_fault=2: the chosen action is replaced by a random one with probability 0.2'
        """
        return f"{self.name}={level}: " + self.meaning.format(value=self.values[level])


def _push(env: Any, value: float, _: EnvFamily) -> Any:
    from polebench.wrappers.perturbations import Push

    return Push(env, pole_kick=value, every=PUSH_EVERY)


def _model(*constants: str) -> Builder:
    def build(env: Any, value: float, _: EnvFamily) -> Any:
        from polebench.wrappers.perturbations import ModelError

        return ModelError(env, **dict.fromkeys(constants, value))

    return build


MODEL_FACTORS = (1.0, 1.5, 2.0, 2.5, 3.0, 5.0)


def _sensor_noise(env: Any, value: float, family: EnvFamily) -> Any:
    from polebench.envs.registration import observation_mask
    from polebench.wrappers.perturbations import SensorNoise

    shape = env.observation_space.shape
    if shape != (len(family.noise_scale),):
        raise ValueError(f"sensor_noise needs the full {family.name} state as the observation, got shape {shape}")
    # Entries an observation hides (CartPoleNoVel-v1's velocities) have no sensor, so no sensor noise.
    mask = observation_mask(env)
    sensed = [1.0] * len(family.noise_scale) if mask is None else [float(m) for m in mask]
    return SensorNoise(env, std=[value * s * m for s, m in zip(family.noise_scale, sensed, strict=True)])


def _actuator_fault(env: Any, value: float, _: EnvFamily) -> Any:
    from polebench.wrappers.perturbations import ActuatorFault

    return ActuatorFault(env, probability=value)


PUSH_EVERY = 50  # steps between pushes: once a second of simulated time (CartPole's tau is 0.02 s)

PERTURBATIONS: dict[str, Perturbation] = {
    p.name: p
    for p in (
        Perturbation(
            "push",
            "every 50 steps (1 s) the pole's angular velocity jumps by {value} rad/s, in a random direction",
            (0.0, 0.25, 0.5, 0.75, 1.0, 1.5),
            _push,
            "kick to the pole, rad/s",
        ),
        Perturbation(
            "model_error",
            "the pole's length, the pole's mass and the cart's mass are {value} times the design values",
            MODEL_FACTORS,
            _model("length", "masspole", "masscart"),
            "factor on lengths and masses",
            scales=("length", "masspole", "masscart"),
        ),
        Perturbation(
            "pole_length",
            "the pole is {value} times as long as designed",
            MODEL_FACTORS,
            _model("length"),
            "factor on the pole's length",
            scales=("length",),
        ),
        Perturbation(
            "pole_mass",
            "the pole is {value} times as heavy as designed",
            MODEL_FACTORS,
            _model("masspole"),
            "factor on the pole's mass",
            scales=("masspole",),
        ),
        Perturbation(
            "cart_mass",
            "the cart is {value} times as heavy as designed",
            MODEL_FACTORS,
            _model("masscart"),
            "factor on the cart's mass",
            scales=("masscart",),
        ),
        Perturbation(
            "sensor_noise",
            "Gaussian noise of {value} times the family's sensor scale is added to every observation",
            (0.0, 1.0, 2.0, 4.0, 8.0, 16.0),
            _sensor_noise,
            "noise, in sensor scales",
        ),
        Perturbation(
            "actuator_fault",
            "the chosen action is replaced by a random one with probability {value}",
            (0.0, 0.1, 0.2, 0.3, 0.4, 0.5),
            _actuator_fault,
            "probability of a random action",
        ),
    )
}


@dataclass(frozen=True)
class PerturbationUse:
    """One perturbation at one level, as ``--perturb FAMILY=LEVEL`` names it."""

    perturbation: Perturbation
    level: int

    @property
    def value(self) -> float:
        return self.perturbation.values[self.level]

    def wrap(self, env: Any, family: EnvFamily) -> Any:
        """``env`` under this perturbation (a wrapper around the simulator, inside every other wrapper)."""
        return self.perturbation.build(env, self.value, family)

    def __str__(self) -> str:
        return self.perturbation.describe(self.level)


def parse_perturb(text: str) -> PerturbationUse:
    """``FAMILY=LEVEL`` as a :class:`PerturbationUse`, or a :class:`ConfigError` naming what is accepted.

    LEVEL is a rung of the family's ladder, either by its number (a whole number, 0 to 5) or by its value
    as the plots' axes show it, written with a decimal point (``push=0.75`` is ``push=3``).

    Example:
        >>> parse_perturb("push=4").value, parse_perturb("push=0.75").level, parse_perturb("model_error=2.0").level
        (1.0, 3, 2)
    """
    name, sep, level_text = text.partition("=")
    choices = ", ".join(f"{p.name}=0..{len(p.values) - 1}" for p in PERTURBATIONS.values())
    if not sep or name not in PERTURBATIONS:
        raise ConfigError(f"unknown perturbation {text!r}; use FAMILY=LEVEL with one of: {choices}")
    perturbation = PERTURBATIONS[name]
    level = _level_of(perturbation, level_text.strip())
    if level is None:
        top = len(perturbation.values) - 1
        values = ", ".join(spelt_value(v) for v in perturbation.values)
        raise ConfigError(
            f"{name} level must be a whole number from 0 (none) to {top} (severe), or one of its values "
            f"{values} ({perturbation.unit}), got {level_text!r}"
        )
    return PerturbationUse(perturbation, level)


def _level_of(perturbation: Perturbation, text: str) -> int | None:
    if text.isdigit():
        return int(text) if int(text) < len(perturbation.values) else None
    try:
        value = float(text)
    except ValueError:
        return None
    return next((i for i, v in enumerate(perturbation.values) if abs(v - value) < 1e-9), None)


def spelt_value(value: float) -> str:
    """A ladder value as --perturb takes it and the plots show it: always with a decimal point (or an
    exponent), so it never reads as a level number.

    Example:
        >>> [spelt_value(v) for v in (0.0, 0.25, 4.0, 1e-05)]
        ['0.0', '0.25', '4.0', '1e-05']
    """
    text = f"{value:g}"
    return text if "." in text or "e" in text else f"{text}.0"


def check_applies(use: PerturbationUse, family: EnvFamily | None, env_id: str) -> EnvFamily:
    """``family`` if ``use`` applies to ``env_id``, else a :class:`ConfigError` naming the envs it applies to."""
    name = use.perturbation.name
    if family is None or name not in family.perturbations:
        from polebench.envs.families import FAMILIES

        fits = [f.name for f in FAMILIES.values() if name in f.perturbations]
        raise ConfigError(f"{name} does not apply to {env_id}; it applies to the {' and '.join(fits)} family envs")
    return family


def parse_train_perturb(value: Any, flag: str = "--train-perturb") -> dict[str, int]:
    """Training perturbations as ``FAMILY=LEVEL[,FAMILY=LEVEL...]`` (or a mapping ``{family: level}``, as
    YAML writes it): each training episode draws its level of each family uniformly from 0 to LEVEL (a
    wrong model: each constant's factor, anywhere from 1 to the level's).

    Example:
        >>> parse_train_perturb("push=2,sensor_noise=1"), parse_train_perturb({"push": 3}), parse_train_perturb(None)
        ({'push': 2, 'sensor_noise': 1}, {'push': 3}, {})
    """
    if value is None or value == "" or value == {}:
        return {}
    if isinstance(value, dict):
        items = [f"{name}={level}" for name, level in value.items()]
    elif isinstance(value, str):
        items = [item.strip() for item in value.split(",")]
    else:
        raise ConfigError(f"{flag} takes FAMILY=LEVEL[,FAMILY=LEVEL...], got {value!r}")
    parsed: dict[str, int] = {}
    for item in items:
        try:
            use = parse_perturb(item)
        except ConfigError as err:
            raise ConfigError(f"{flag}: {err}") from None
        if use.perturbation.name in parsed:
            raise ConfigError(f"{flag} names {use.perturbation.name} twice")
        parsed[use.perturbation.name] = use.level
    return parsed


def training_perturbations(levels: dict[str, int], family: EnvFamily | None, env_id: str) -> Callable[[Any], Any]:
    """The wrapping of training envs for ``levels`` (see :func:`parse_train_perturb`): one
    :class:`polebench.wrappers.perturbations.RandomModel` next to the simulator for the wrong-model families
    (each constant drawn every episode from 1 to the largest factor any of them asks for), then a
    :class:`polebench.wrappers.perturbations.RandomLevel` per other family. Raises a :class:`ConfigError` for
    a family that does not apply to ``env_id``."""
    checked = [(PERTURBATIONS[name], top, check_applies(PerturbationUse(PERTURBATIONS[name], top), family, env_id))
               for name, top in levels.items()]  # fmt: skip
    # A wrong model is drawn per constant and per episode, anywhere within the level's range, by one wrapper
    # next to the simulator (the others put the design values back at each reset, then build around it).
    model: dict[str, float] = {}
    for perturbation, top, _ in checked:
        for constant in perturbation.scales:
            model[constant] = max(model.get(constant, 1.0), perturbation.values[top])

    def wrap(env: Any) -> Any:
        from polebench.wrappers.perturbations import RandomLevel, RandomModel

        if any(top > 1.0 for top in model.values()):
            env = RandomModel(env, model)
        for perturbation, top, applies_to in checked:
            if not perturbation.scales:
                env = RandomLevel(env, partial(_at_level, perturbation, applies_to), top)
        return env

    return wrap


def _at_level(perturbation: Perturbation, family: EnvFamily, env: Any, level: int) -> Any:
    return PerturbationUse(perturbation, level).wrap(env, family)
