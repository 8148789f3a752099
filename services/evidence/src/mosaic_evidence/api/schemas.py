"""Response bodies of the evidence API (they are its OpenAPI schema). Roster and framework rows are the
OneRoster/CASE records as imported, so those models name the fields Mosaic adds and allow the rest."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Recorded(BaseModel):
    evidence_id: str
    event_id: str
    student_id: str


class RecordedOne(Recorded):
    recorded: list[Recorded] = Field(description="the same, as a list of one (the batch's shape)")


class RecordedBatch(BaseModel):
    recorded: list[Recorded]


class EvidenceChanged(BaseModel):
    evidence_id: str
    event_id: str
    type: str = Field(description="the event recorded: EvidenceCorrected or EvidenceRetracted")


class Score(BaseModel):
    value: float
    minimum: float
    maximum: float


class HistoryEntry(BaseModel):
    event_id: str
    type: str
    occurred_at: str
    data: dict[str, Any]


class EvidenceView(BaseModel):
    evidence_id: str
    student_id: str
    kind: str
    competency_ids: list[str]
    observed_on: str
    score: Score
    comment: str | None
    retracted: bool
    revision: int
    recorded_by: str | None
    section_id: str | None
    artifact_url: str | None
    reflection: str | None
    source: str | None
    source_ref: str | None
    verified_by: str | None
    history: list[HistoryEntry]


class EvidencePage(BaseModel):
    student_id: str
    total: int
    limit: int
    offset: int
    next_offset: int | None
    items: list[EvidenceView]


class FrameworkImported(Open):
    framework_id: str
    title: str
    version: str | None
    competencies: int
    links: int
    kinds: dict[str, int]
    associations: dict[str, int]
    diff: dict[str, Any]
    event_id: str


class RosterImported(Open):
    import_id: str
    mode: str
    schools: int
    sections: int
    people: int
    people_by_role: dict[str, int]
    enrollments: int
    removed: dict[str, int]
    events: int


class FrameworkSummary(BaseModel):
    framework_id: str
    title: str
    version: str | None
    competencies: int
    imported_at: str


class Link(BaseModel):
    origin_id: str
    association_type: str
    destination_id: str


class FrameworkView(BaseModel):
    framework_id: str
    title: str
    version: str | None
    rubrics: Any
    competencies: list[dict[str, Any]] = Field(description="each competency as imported, in tree order")
    links: list[Link]


class PeoplePage(BaseModel):
    limit: int
    offset: int
    items: list[dict[str, Any]] = Field(description="each person as the roster gave them")


class SectionEnrollment(BaseModel):
    user_id: str
    role: str
    primary: bool


class SectionView(Open):
    enrollments: list[SectionEnrollment]


class PersonSection(BaseModel):
    section_id: str
    role: str


class PersonView(Open):
    sections: list[PersonSection]


class Outcomes(Open):
    """One outcome per statement or event (see the operation's description)."""
