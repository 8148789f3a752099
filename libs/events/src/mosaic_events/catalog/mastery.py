"""Mastery: topics mosaic.mastery.v1 (keyed by student) and mosaic.regroup.v1 (keyed by section)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mosaic_events.registry import EventData, register


@register
class MasteryChangedV1(EventData):
    """A student's level on a competency changed; says why and by how much."""

    event_type = "MasteryChanged"

    student_id: str
    competency_id: str
    competency_code: str | None = None
    competency_name: str | None = Field(default=None, description="the framework's statement, for people")
    old_level: str | None
    new_level: str
    old_rank: int | None = Field(default=None, description="position of old_level on the scale, 0 = lowest")
    new_rank: int
    mastered: bool = Field(description="new level is at or above the district's mastery level")
    estimate: float = Field(ge=0.0, le=1.0)
    method: str
    evidence_count: int = Field(ge=0)
    cause_evidence_ids: tuple[str, ...]
    section_ids: tuple[str, ...] = ()
    recalculation: bool = Field(default=False, description="caused by a change of method or scale, not by new evidence")


@register
class MasteryChanged(EventData):
    """A student's level on a competency changed; says why and by how much. Version 2: the new level may be
    absent (every piece of evidence behind it was retracted)."""

    event_type = "MasteryChanged"
    version = 2

    student_id: str
    competency_id: str
    competency_code: str | None = None
    competency_name: str | None = Field(default=None, description="the framework's statement, for people")
    old_level: str | None
    new_level: str | None = Field(description="absent when no evidence is left to estimate from")
    old_rank: int | None = Field(default=None, description="position of old_level on the scale, 0 = lowest")
    new_rank: int | None = Field(description="position of new_level on the scale, 0 = lowest; absent with it")
    mastered: bool = Field(description="new level is at or above the district's mastery level (false when absent)")
    estimate: float | None = Field(ge=0.0, le=1.0, description="absent when the level is")
    method: str
    evidence_count: int = Field(ge=0)
    cause_evidence_ids: tuple[str, ...]
    section_ids: tuple[str, ...] = ()
    recalculation: bool = Field(default=False, description="caused by a change of method or scale, not by new evidence")

    @model_validator(mode="after")
    def _level_and_rank_together(self) -> MasteryChanged:
        if (self.new_level is None) != (self.new_rank is None):
            raise ValueError("new_level and new_rank are both present or both absent")
        if self.new_level is None and self.mastered:
            raise ValueError("a student without a level has not mastered the competency")
        return self


class StudentLevelChange(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    student_id: str
    competency_id: str
    old_level: str | None
    new_level: str
    new_rank: int | None = Field(default=None, description="position of new_level on the scale, 0 = lowest")


@register
class RegroupNeeded(EventData):
    """Enough of a section's students changed level that its flexible groups no longer fit."""

    event_type = "RegroupNeeded"
    key_field = "section_id"

    section_id: str
    school_id: str | None = None
    competency_ids: tuple[str, ...]
    changes: tuple[StudentLevelChange, ...] = Field(min_length=1)
    changed_students: int = Field(ge=1)
    section_size: int = Field(ge=1)
    threshold: float
    window_started_at: datetime
    reason: str
