"""A district's mastery settings: method (and per-competency overrides), scale, kind weights, roll-up, regrouping.

`DistrictSettings` is what districts set over REST and what is stored; `DistrictConfig` is the same,
resolved into the domain's value objects the fold uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mosaic_mastery.domain.bkt import BktParams
from mosaic_mastery.domain.methods import METHODS, STUDENT_OWN_KINDS, MethodConfig
from mosaic_mastery.domain.rollup import ROLLUP_RULES
from mosaic_mastery.domain.scale import DEFAULT_SCALE, Level, MasteryScale


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MethodSettings(_Strict):
    name: str = Field(default="decaying_average", description=f"one of {sorted(METHODS)}")
    weight_latest: float = Field(default=0.65, gt=0.0, le=1.0)
    decay_half_life_days: float | None = Field(default=None, gt=0.0)
    n: int = Field(default=3, ge=1)

    @model_validator(mode="after")
    def _known(self) -> MethodSettings:
        if self.name not in METHODS:
            raise ValueError(f"method {self.name!r} is unknown; choose one of {sorted(METHODS)}")
        return self


class LevelSettings(_Strict):
    name: str = Field(min_length=1)
    threshold: float = Field(ge=0.0, le=1.0)


class ScaleSettings(_Strict):
    levels: tuple[LevelSettings, ...] = tuple(
        LevelSettings(name=lv.name, threshold=lv.threshold) for lv in DEFAULT_SCALE.levels
    )
    mastery_level: str = DEFAULT_SCALE.mastery_level_name
    margin: float = DEFAULT_SCALE.margin

    @model_validator(mode="after")
    def _valid(self) -> ScaleSettings:
        self.to_scale()  # MasteryScale says what is wrong
        return self

    def to_scale(self) -> MasteryScale:
        return MasteryScale(tuple(Level(lv.name, lv.threshold) for lv in self.levels), self.mastery_level, self.margin)


class DistrictSettings(_Strict):
    """Everything a district chooses about mastery; every field has a sensible default."""

    method: MethodSettings = MethodSettings()
    competency_methods: dict[str, MethodSettings] = Field(default_factory=dict, description="per-competency overrides")
    scale: ScaleSettings = ScaleSettings()
    kind_weights: dict[str, float] = Field(
        default_factory=lambda: {"out_of_school": 0.5, "self_assessment": 0.5},
        description="evidence kind -> weight; kinds not listed weigh 1.0",
    )
    count_goals: bool = Field(
        default=False,
        description="count a student's goals toward mastery (an intention, "
        "not a demonstration: off unless the district decides)",
    )
    count_self_assessments: bool = Field(
        default=False, description="count self-assessments toward mastery, at their kind_weights weight"
    )
    bkt_params: dict[str, dict[str, float]] = Field(default_factory=dict, description="fitted BKT per competency")
    rollup_rule: str = "mean_of_children"
    regroup_threshold: float = Field(
        default=0.25, gt=0.0, le=1.0, description="fraction of a section's students whose level changed"
    )
    regroup_debounce_minutes: float = Field(
        default=60.0, ge=0.0, description="at most one RegroupNeeded per section per window"
    )
    grouping_competencies: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="section id -> competencies its flexible groups follow"
    )

    @model_validator(mode="after")
    def _valid(self) -> DistrictSettings:
        if self.rollup_rule not in ROLLUP_RULES:
            raise ValueError(f"rollup_rule {self.rollup_rule!r} is unknown; choose one of {sorted(ROLLUP_RULES)}")
        bad = {k: w for k, w in self.kind_weights.items() if w < 0}
        if bad:
            raise ValueError(f"kind_weights must be >= 0; negative for {bad}")
        for competency, params in self.bkt_params.items():
            try:
                BktParams.from_dict(params)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"bkt_params[{competency!r}]: {exc}") from None
        return self

    def uncounted_kinds(self) -> frozenset[str]:
        """The student's own kinds this district leaves out of mastery."""
        counted = {"goal"} if self.count_goals else set()
        counted |= {"self_assessment"} if self.count_self_assessments else set()
        return STUDENT_OWN_KINDS - counted

    def calculation_fingerprint(self) -> tuple[object, ...]:
        """What the estimates and levels depend on; when it changes, the district is recalculated."""
        return (
            self.method,
            tuple(sorted(self.competency_methods.items())),
            self.scale,
            tuple(sorted(self.kind_weights.items())),
            tuple(sorted(self.uncounted_kinds())),
            tuple(sorted((k, tuple(sorted(v.items()))) for k, v in self.bkt_params.items())),
            self.rollup_rule,
        )


@dataclass(frozen=True)
class DistrictConfig:
    """Settings resolved for the fold; method configs are built once per competency."""

    settings: DistrictSettings = field(default_factory=DistrictSettings)
    _methods: dict[str, MethodConfig] = field(default_factory=dict, repr=False, compare=False)

    @cached_property
    def scale(self) -> MasteryScale:
        return self.settings.scale.to_scale()

    @cached_property
    def ranks(self) -> dict[str | None, int]:
        """Level name -> position on the scale, 0 = lowest."""
        return {level.name: i for i, level in enumerate(self.scale.levels)}

    @cached_property
    def mastery_rank(self) -> int:
        return self.ranks[self.scale.mastery_level_name]

    @cached_property
    def debounce(self) -> timedelta:
        return timedelta(minutes=self.settings.regroup_debounce_minutes)

    def method_for(self, competency_id: str) -> MethodConfig:
        cached = self._methods.get(competency_id)
        if cached is None:
            chosen = self.settings.competency_methods.get(competency_id, self.settings.method)
            params = self.settings.bkt_params.get(competency_id)
            cached = MethodConfig(
                name=chosen.name,
                weight_latest=chosen.weight_latest,
                decay_half_life_days=chosen.decay_half_life_days,
                n=chosen.n,
                mastery_threshold=self.scale.mastery_threshold,
                kind_weights=self.settings.kind_weights,
                bkt=BktParams.from_dict(params) if params else BktParams(),
                uncounted_kinds=self.settings.uncounted_kinds(),
            )
            self._methods[competency_id] = cached
        return cached

    def follows(self, section_id: str) -> tuple[str, ...]:
        return self.settings.grouping_competencies.get(section_id, ())
