"""Evidence of learning: topic mosaic.evidence.v1, keyed by student."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from mosaic_events.catalog.common import Score
from mosaic_events.registry import EventData, register

PRIVATE_TEXT = (
    "free text about a child: kept in evidence's own store, always null on the log "
    "(evidence strips it before publishing; ADR 0019)"
)

EvidenceKind = Literal[
    "assessment_score",
    "rubric_rating",
    "observation",
    "portfolio_artifact",
    "self_assessment",
    "goal",
    "out_of_school",
]


@register
class EvidenceRecorded(EventData):
    """A piece of evidence of a student's learning against one or more competencies."""

    event_type = "EvidenceRecorded"

    evidence_id: str
    student_id: str
    competency_ids: tuple[str, ...] = Field(min_length=1)
    kind: EvidenceKind
    observed_on: date
    recorded_by: str
    score: Score
    section_id: str | None = None
    comment: str | None = Field(default=None, description=PRIVATE_TEXT)
    artifact_url: str | None = None
    reflection: str | None = Field(default=None, description=PRIVATE_TEXT)
    source: str | None = Field(
        default=None, description="where it came from: portal, xapi, caliper, import, or an out-of-school provider"
    )
    source_ref: str | None = Field(
        default=None, description="the id of the item in its source, e.g. an xAPI statement id"
    )
    verified_by: str | None = Field(default=None, description="who verified out-of-school learning")


@register
class EvidenceCorrected(EventData):
    """A correction of recorded evidence; the corrected fields replace the originals."""

    event_type = "EvidenceCorrected"

    evidence_id: str
    student_id: str
    competency_ids: tuple[str, ...] = Field(min_length=1)
    observed_on: date
    score: Score
    comment: str | None = Field(default=None, description=PRIVATE_TEXT)
    reason: str = Field(min_length=1)
    corrected_by: str


@register
class EvidenceRetracted(EventData):
    """Evidence withdrawn; it no longer counts towards mastery."""

    event_type = "EvidenceRetracted"

    evidence_id: str
    student_id: str
    competency_ids: tuple[str, ...] = Field(min_length=1)
    reason: str = Field(min_length=1)
    retracted_by: str
