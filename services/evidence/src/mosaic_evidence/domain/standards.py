"""What xAPI statements and Caliper events become: evidence, or a reported reason why not.

A district maps each activity (an xAPI object id, a Caliper assignable id) to competencies,
and, where the roster's e-mail addresses do not suffice, each actor to a student. Nothing
is dropped silently: every input gets an outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mosaic_evidence.domain.recording import EVIDENCE_KINDS, EvidenceItem, ScoreInput
from mosaic_evidence.domain.reference import ReferenceView

OutcomeStatus = Literal[
    "evidence", "unmapped_activity", "unknown_actor", "no_score", "not_evidence", "voided", "invalid", "duplicate"
]


class ActivityMapping(BaseModel):
    """One activity → the competencies it evidences; a scale for raw scores that do not carry one."""

    model_config = ConfigDict(extra="forbid")

    activity_id: str = Field(min_length=1)
    competency_ids: list[str] = Field(min_length=1)
    kind: str = "assessment_score"
    scale_minimum: float | None = None
    scale_maximum: float | None = None


class StandardsMapping(BaseModel):
    """A district's xAPI / Caliper mapping: activities to competencies, actor identifiers to students."""

    model_config = ConfigDict(extra="forbid")

    activities: list[ActivityMapping] = []
    actors: dict[str, str] = Field(
        default_factory=dict, description="actor key (mailto:..., an account name, a Caliper IRI) → student id"
    )

    def activity(self, activity_id: str) -> ActivityMapping | None:
        return next((a for a in self.activities if a.activity_id == activity_id), None)

    def kinds_are_valid(self) -> list[str]:
        return [a.activity_id for a in self.activities if a.kind not in EVIDENCE_KINDS]


@dataclass(frozen=True)
class Outcome:
    """What became of one statement or event."""

    index: int
    status: OutcomeStatus
    source_ref: str | None = None
    activity_id: str | None = None
    reason: str = ""
    item: EvidenceItem | None = None
    voids: str | None = None  # the statement id a voiding statement retracts

    def report(self) -> dict[str, object]:
        body = {
            "index": self.index,
            "status": self.status,
            "source_ref": self.source_ref,
            "activity_id": self.activity_id,
            "reason": self.reason,
        }
        return {k: v for k, v in body.items() if v not in (None, "")}


def resolve_actor(keys: list[str], mapping: StandardsMapping, view: ReferenceView) -> str | None:
    """A student id for the first actor key the mapping, the roster's ids or its e-mails know."""
    for key in keys:
        if key in mapping.actors:
            return mapping.actors[key]
        if view.role_of(key):
            return key
        if key.startswith("mailto:") and view.person_with_email(key[7:]):
            return view.person_with_email(key[7:])
    return None


def score_on_scale(
    value: float, minimum: float | None, maximum: float | None, activity: ActivityMapping
) -> ScoreInput | None:
    """A score with its scale from the statement, else the activity's declared scale; None if neither."""
    low = minimum if minimum is not None else activity.scale_minimum
    high = maximum if maximum is not None else activity.scale_maximum
    if high is None:
        return None
    return ScoreInput(value=value, minimum=low if low is not None else 0.0, maximum=high)


def evidence_item(
    student_id: str,
    activity: ActivityMapping,
    score: ScoreInput,
    observed_on: date,
    *,
    source: str,
    source_ref: str,
    comment: str | None = None,
) -> EvidenceItem:
    return EvidenceItem(
        student_id=student_id,
        competency_ids=list(activity.competency_ids),
        kind=activity.kind,  # type: ignore[arg-type]
        observed_on=observed_on,
        score=score,
        source=source,
        source_ref=source_ref,
        comment=comment,
    )


def iso_date(value: object, fallback: date) -> date:
    """The calendar date of an ISO 8601 timestamp (as written, no time-zone shift)."""
    if isinstance(value, str) and len(value) >= 10:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            pass
    return fallback
