"""Value objects shared by several event types."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Score(BaseModel):
    """A score on a declared scale, e.g. 3 on 1..4 or 17 on 0..20."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: float
    minimum: float = 0.0
    maximum: float = Field(gt=-1e12)

    @model_validator(mode="after")
    def _fits_scale(self) -> Score:
        if self.maximum <= self.minimum:
            raise ValueError(f"scale maximum {self.maximum} must exceed minimum {self.minimum}")
        if not self.minimum <= self.value <= self.maximum:
            raise ValueError(f"score {self.value} is outside its scale {self.minimum}..{self.maximum}")
        return self

    @property
    def normalized(self) -> float:
        """The score as a fraction of its scale, 0.0..1.0."""
        return (self.value - self.minimum) / (self.maximum - self.minimum)
