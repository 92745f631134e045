"""Which evaluation's model a run keeps as ``best_model.zip``: by return (SB3's rule), by how well it
balances, or by one behaviour metric.

SB3 keeps the first evaluation that reached the best mean return; on a task where every balancing agent
scores the maximum, that is the earliest one that survived, however it leaned and drifted. On a family
with a reference controller, polebench keeps instead the solved evaluation that balances best: the
larger of its RMS pole angle and its mean distance from the centre, each over the reference's own (and
until an evaluation is solved, the best return, as SB3 does).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from polebench.envs.families import EnvFamily
from polebench.errors import ConfigError

RETURN = "return"
BALANCE = "balance"


# A score: (tier, value), compared in that order. Tier 1: a solved evaluation, by the objective; tier 0:
# one that is not solved, by its return, so that a run that never solves still keeps its best try.
Score = tuple[int, float]


@dataclass(frozen=True)
class BestBy:
    """An objective for the kept model: ``score`` is higher for a better evaluation."""

    name: str
    family: EnvFamily | None = None

    @classmethod
    def choose(cls, name: str | None, family: EnvFamily | None, env_id: str) -> BestBy:
        """The objective ``--best-by name`` asks for (``None``: balance where the family has a reference
        controller, else return), or a :class:`ConfigError` naming those that apply to ``env_id``."""
        if name is None:
            return cls(BALANCE if family is not None and family.balance is not None else RETURN, family)
        metrics = [m.name for m in family.metrics] if family is not None else []
        accepted = [RETURN, *([BALANCE] if family is not None and family.balance is not None else []), *metrics]
        if name not in accepted:
            raise ConfigError(f"--best-by {name!r} does not apply to {env_id}; choose one of: {', '.join(accepted)}")
        return cls(name, family)

    def score(self, mean_return: float, threshold: float | None, quality: Mapping[str, float]) -> Score:
        """How good one evaluation is by this objective (higher is better).

        Example:
            >>> from polebench.envs.families import CARTPOLE
            >>> by = BestBy(BALANCE, CARTPOLE)
            >>> by.score(500.0, 475.0, {"rms_pole_angle_deg": 0.54, "mean_abs_cart_position_m": 0.045})
            (1, -2.0)
            >>> by.score(300.0, 475.0, {"rms_pole_angle_deg": 0.27, "mean_abs_cart_position_m": 0.045})
            (0, 300.0)
        """
        value = self._value(quality) if self.name != RETURN else mean_return
        if self.name == RETURN or value is None or (threshold is not None and mean_return < threshold):
            # An agent that fell may have held its pole very still while it lasted: only its return counts.
            return (0 if self.name != RETURN else 1), mean_return
        return 1, value

    def _value(self, quality: Mapping[str, float]) -> float | None:
        if self.name == BALANCE:
            assert self.family is not None and self.family.balance is not None
            limits = self.family.balance.limits
            if any(name not in quality for name, _, _ in limits):
                return None
            return -max(quality[name] / figure for name, figure, _ in limits)
        if self.name not in quality:
            return None
        higher = next(m.higher_is_better for m in self.family.metrics if m.name == self.name) if self.family else False
        return quality[self.name] if higher else -quality[self.name]

    def describe(self, score: Score) -> str:
        """A kept score in words, for ``summary.json`` and the end-of-run line.

        Example:
            >>> from polebench.envs.families import CARTPOLE
            >>> BestBy(BALANCE, CARTPOLE).describe((1, -1.25)), BestBy(BALANCE, CARTPOLE).describe((0, 312.5))
            ('balance 1.25x the lqr', 'mean return 312.50, not solved')
        """
        tier, value = score
        if self.name == RETURN or tier == 0:
            return f"mean return {value:.2f}" + (", not solved" if self.name != RETURN else "")
        if self.name == BALANCE:
            assert self.family is not None and self.family.balance is not None
            return f"balance {-value:.3g}x the {self.family.balance.reference}"
        return f"{self.name} {abs(value):.4g}"
