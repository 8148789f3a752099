"""Response bodies of the mastery API (they are its OpenAPI schema)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

Trend = Literal["new", "rising", "falling", "steady"]


class CompetencyRef(BaseModel):
    competency_id: str
    code: str | None


class Cell(BaseModel):
    level: str | None
    estimate: float | None
    trend: Trend
    evidence_count: int


class HeatmapRow(BaseModel):
    student_id: str
    name: str | None
    cells: dict[str, Cell | None] = Field(description="by competency id; null where the student has no evidence")


class Heatmap(BaseModel):
    district_id: str
    section_id: str
    grouping_competencies: list[str]
    competencies: list[CompetencyRef]
    levels: list[str]
    students: list[HeatmapRow]


class CompetencySummary(CompetencyRef):
    levels: dict[str, int] = Field(description="students at each level of the scale")
    assessed: int
    not_assessed: int
    mastered_share: float
    mean_estimate: float | None


class ClassSummary(BaseModel):
    district_id: str
    section_id: str
    students: int
    competencies: list[CompetencySummary]


class SchoolSummary(BaseModel):
    district_id: str
    school_id: str
    sections: int
    students: int
    competencies: list[CompetencySummary]


class SettingsChanged(BaseModel):
    version: int
    recalculated: bool
    level_changes: int
    regroups: int


class GroupingChanged(BaseModel):
    section_id: str
    competency_ids: list[str]
    version: int


class ScaleLevel(BaseModel):
    name: str
    threshold: float


class ProfileEvidence(BaseModel):
    evidence_id: str
    observed_on: date
    score: float = Field(description="normalized to 0..1")
    kind: str


class ProfileEntry(BaseModel):
    competency_id: str
    code: str | None
    statement: str | None
    parent_id: str | None
    level: str | None
    estimate: float | None
    trend: Trend | None
    evidence_count: int
    last_evidence_on: date | None
    mastered: bool
    method: str | None
    explanation: str = Field(description="how the level was computed, in words a teacher can check by hand")
    evidence: list[ProfileEvidence]


class Profile(BaseModel):
    district_id: str
    student_id: str
    name: str | None
    scale: list[ScaleLevel]
    mastery_level: str
    mastered: int
    competencies: list[ProfileEntry]


class LearningTarget(BaseModel):
    competency_id: str
    code: str | None
    statement: str
    level: str | None
    estimate: float | None
    unlocks: int = Field(description="competencies not yet mastered beyond it in the progression")
    prerequisites: list[str]
    reason: str


class NextTargets(BaseModel):
    district_id: str
    student_id: str
    targets: list[LearningTarget]
