"""Pseudonymized analytics: topic mosaic.analytics.v1, keyed by learner pseudonym (ADR 0013).

People appear only as keyed pseudonyms (HMAC-SHA256 with the district's secret of `key_version`);
no names, contacts, comments or ids that join back to the named topics.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from mosaic_events.catalog.evidence import EvidenceKind
from mosaic_events.registry import EventData, register

PSEUDONYM = Field(pattern=r"^[0-9a-f]{32}$", description="HMAC-SHA256 of the person id, first 128 bits, hex")
KEY_VERSION = Field(
    ge=1,
    description="the district secret's version the pseudonyms were made with; "
    "pseudonyms of different versions never match",
)


@register
class LearningObserved(EventData):
    """A piece of evidence about a learner: what, when, how it scored; no comment, artifact or source ref."""

    event_type = "LearningObserved"
    key_field = "learner"

    learner: str = PSEUDONYM
    key_version: int = KEY_VERSION
    evidence: str = Field(
        pattern=r"^[0-9a-f]{32}$",
        description="the evidence's pseudonym: a later correction or retraction names the same",
    )
    competency_ids: tuple[str, ...] = Field(min_length=1)
    kind: EvidenceKind
    observed_on: date
    score: float = Field(ge=0.0, le=1.0, description="the score as a fraction of its scale")
    section: str | None = Field(default=None, description="the section's pseudonym")
    observer: str = Field(pattern=r"^[0-9a-f]{32}$", description="the recording person's pseudonym")
    source: str | None = Field(default=None, description="portal, xapi, caliper, import or a provider")


@register
class LearningCorrected(EventData):
    """A piece of evidence was corrected: its new date, competencies and score replace the observed ones."""

    event_type = "LearningCorrected"
    key_field = "learner"

    learner: str = PSEUDONYM
    key_version: int = KEY_VERSION
    evidence: str = Field(pattern=r"^[0-9a-f]{32}$", description="the corrected evidence's pseudonym")
    competency_ids: tuple[str, ...] = Field(min_length=1)
    observed_on: date
    score: float = Field(ge=0.0, le=1.0, description="the score as a fraction of its scale")


@register
class LearningRetracted(EventData):
    """A piece of evidence was withdrawn: it no longer counts (the reason, free text, stays out)."""

    event_type = "LearningRetracted"
    key_field = "learner"

    learner: str = PSEUDONYM
    key_version: int = KEY_VERSION
    evidence: str = Field(pattern=r"^[0-9a-f]{32}$", description="the retracted evidence's pseudonym")
    competency_ids: tuple[str, ...] = Field(min_length=1)


@register
class LevelChanged(EventData):
    """A learner's mastery level on a competency changed."""

    event_type = "LevelChanged"
    key_field = "learner"

    learner: str = PSEUDONYM
    key_version: int = KEY_VERSION
    competency_id: str
    competency_code: str | None = None
    old_level: str | None
    new_level: str | None = Field(description="absent when no evidence is left to estimate from")
    old_rank: int | None = None
    new_rank: int | None = Field(description="absent with new_level")
    mastered: bool
    estimate: float | None = Field(ge=0.0, le=1.0, description="absent with new_level")
    method: str
    evidence_count: int = Field(ge=0)
    recalculation: bool = False
    sections: tuple[str, ...] = Field(default=(), description="the sections' pseudonyms")


@register
class GroupAssigned(EventData):
    """A learner's session in a flex block changed (without the scheduler's reason: free text that names teachers)."""

    event_type = "GroupAssigned"
    key_field = "learner"

    learner: str = PSEUDONYM
    key_version: int = KEY_VERSION
    block_id: str
    school_id: str
    old_session_id: str | None
    new_session_id: str | None = Field(description="absent when the learner left the block")
    session_kind: str | None
    teacher: str | None = Field(default=None, description="the session teacher's pseudonym")
    starts_at: datetime | None
    ends_at: datetime | None
    schedule_version: int
