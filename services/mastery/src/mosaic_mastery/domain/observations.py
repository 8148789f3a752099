"""The one input every mastery method reads: a student's evidence on one competency, normalized."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class Observation:
    """One piece of evidence as the methods see it; `score` is already normalized to 0..1."""

    evidence_id: str
    observed_on: date
    sequence: int  # recording order, breaks ties between observations on the same day
    score: float
    kind: str
    weight: float = 1.0  # per-evidence weight; multiplied by the district's weight for its kind

    def __post_init__(self) -> None:
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"Observation {self.evidence_id}: score {self.score} must be normalized to 0..1")
        if self.weight < 0.0:
            raise ValueError(f"Observation {self.evidence_id}: weight {self.weight} must be >= 0")

    @property
    def order_key(self) -> tuple[date, int]:
        """Chronological position: by the day observed, then by recording order."""
        return (self.observed_on, self.sequence)


def chronological(observations: Iterable[Observation]) -> list[Observation]:
    """Observations oldest first, the order every method assumes."""
    return sorted(observations, key=lambda o: o.order_key)


def normalize_score(raw: float, scale_min: float, scale_max: float) -> float:
    """Map a raw score on [scale_min, scale_max] to 0..1, clamping rounding noise at the ends."""
    if scale_max <= scale_min:
        raise ValueError(f"scale_max ({scale_max}) must be greater than scale_min ({scale_min})")
    return min(1.0, max(0.0, (raw - scale_min) / (scale_max - scale_min)))
