"""What the projection folds: evidence and reference events reduced to the fields mastery reads.

The live consumer gets envelopes from the chassis (`from_envelope`); the rebuild reads raw records
in bulk (`from_record`, orjson with a strict fast path that falls back to the one serializer).
Both give the same facts, so the fold cannot tell a replay from live traffic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, NamedTuple, get_args

import orjson

from mosaic_events import Envelope, EventError, decode
from mosaic_events.catalog import (
    EvidenceCorrected,
    EvidenceKind,
    EvidenceRecorded,
    EvidenceRetracted,
    FrameworkPublished,
    PersonErased,
    RosterChanged,
)

EvidenceAction = Literal["recorded", "corrected", "retracted"]
EVIDENCE_ACTIONS: dict[str, EvidenceAction] = {
    "EvidenceRecorded": "recorded",
    "EvidenceCorrected": "corrected",
    "EvidenceRetracted": "retracted",
}


@dataclass(frozen=True, slots=True)
class EvidenceFact:
    """One evidence event: recorded, corrected (replaces score/date/competencies) or retracted."""

    action: EvidenceAction
    event_id: str
    district_id: str
    school_id: str | None
    student_id: str
    evidence_id: str
    competency_ids: tuple[str, ...]
    occurred_at: datetime
    kind: str | None = None  # corrections keep the recorded kind
    observed_on: date | None = None  # None for retractions
    score: float | None = None  # normalized 0..1; None for retractions
    section_id: str | None = None


@dataclass(frozen=True, slots=True)
class ReferenceFact:
    """A framework, roster or erasure event for one district."""

    event_id: str
    district_id: str
    occurred_at: datetime
    data: FrameworkPublished | RosterChanged | PersonErased


Fact = EvidenceFact | ReferenceFact


def from_envelope(envelope: Envelope) -> Fact | None:
    """The fact an envelope carries, or None for types the projection does not read."""
    data = envelope.data
    action = EVIDENCE_ACTIONS.get(envelope.type)
    if action is not None and isinstance(data, EvidenceRecorded | EvidenceCorrected | EvidenceRetracted):
        score = getattr(data, "score", None)
        return EvidenceFact(
            action=action,
            event_id=str(envelope.id),
            district_id=envelope.district_id,
            school_id=envelope.school_id,
            student_id=data.student_id,
            evidence_id=data.evidence_id,
            competency_ids=tuple(data.competency_ids),
            occurred_at=envelope.occurred_at,
            kind=getattr(data, "kind", None),
            observed_on=getattr(data, "observed_on", None),
            score=None if score is None else score.normalized,
            section_id=getattr(data, "section_id", None),
        )
    if isinstance(data, FrameworkPublished | RosterChanged | PersonErased):
        return ReferenceFact(str(envelope.id), envelope.district_id, envelope.occurred_at, data)
    return None


def from_record(raw: bytes) -> Fact | None:
    """The fact in a raw Kafka value; None for other types and for records the live consumer refused."""
    try:
        payload = orjson.loads(raw)
        if payload.get("version") == 1 and payload.get("type") in EVIDENCE_ACTIONS:
            return _evidence_fast(payload)
    except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError):
        pass
    try:
        return from_envelope(decode(raw))
    except EventError:
        return None  # the live consumer sent it to the DLQ; a replay skips it the same way


_ENVELOPE_FIELDS = frozenset(Envelope.model_fields)
_DATA_FIELDS = {
    name: frozenset(cls.model_fields)
    for name, cls in (
        ("EvidenceRecorded", EvidenceRecorded),
        ("EvidenceCorrected", EvidenceCorrected),
        ("EvidenceRetracted", EvidenceRetracted),
    )
}
_KINDS = frozenset(get_args(EvidenceKind))
_TEXT_FIELDS = {
    "recorded": ("evidence_id", "student_id", "recorded_by"),
    "corrected": ("evidence_id", "student_id", "reason", "corrected_by"),
    "retracted": ("evidence_id", "student_id", "reason", "retracted_by"),
}


class NewEvidence(NamedTuple):
    """Recorded evidence as a replay's short path folds it: no datetime, no dataclass, no envelope."""

    district_id: str
    student_id: str
    evidence_id: str
    competency_ids: list[str]
    kind: str
    observed_on: date
    score: float  # normalized 0..1
    section_id: str | None

    @classmethod
    def of(cls, fact: EvidenceFact) -> NewEvidence:
        if fact.observed_on is None or fact.score is None:
            raise ValueError(f"evidence {fact.evidence_id} was recorded without a date and a score")
        return cls(
            fact.district_id,
            fact.student_id,
            fact.evidence_id,
            list(fact.competency_ids),
            fact.kind or "",
            fact.observed_on,
            fact.score,
            fact.section_id,
        )


def replay_fact(raw: bytes) -> NewEvidence | Fact | None:
    """`from_record` for a replay: new evidence in canonical form comes back as `NewEvidence` (nearly every
    record of a replay; the same checks as `from_record`'s fast path), anything else as `from_record` gives it."""
    try:
        payload = orjson.loads(raw)
        if payload.get("type") == "EvidenceRecorded" and payload.get("version") == 1:
            data, observed_on, score = _checked(payload, "recorded")
            return NewEvidence(
                payload["district_id"],
                data["student_id"],
                data["evidence_id"],
                data["competency_ids"],
                data["kind"],
                observed_on,  # type: ignore[arg-type]
                score,  # type: ignore[arg-type]
                data.get("section_id"),
            )
    except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError):
        pass
    return from_record(raw)


def _evidence_fast(payload: dict[str, Any]) -> EvidenceFact | None:
    """Build the fact from canonical JSON (as our serializer writes it); anything unusual goes the slow way."""
    action = EVIDENCE_ACTIONS[payload["type"]]
    data, observed_on, score = _checked(payload, action)
    return EvidenceFact(
        action=action,
        event_id=payload["id"],
        district_id=payload["district_id"],
        school_id=payload.get("school_id"),
        student_id=data["student_id"],
        evidence_id=data["evidence_id"],
        competency_ids=tuple(data["competency_ids"]),
        occurred_at=datetime.fromisoformat(payload["occurred_at"]),
        kind=data.get("kind"),
        observed_on=observed_on,
        score=score,
        section_id=data.get("section_id"),
    )


def _checked(payload: dict[str, Any], action: EvidenceAction) -> tuple[dict[str, Any], date | None, float | None]:
    """The data of canonical evidence JSON with its date and normalized score; ValueError (or a KeyError or
    TypeError) for anything the one serializer would have to judge."""
    data = payload["data"]
    if payload.keys() != _ENVELOPE_FIELDS or not data.keys() <= _DATA_FIELDS[payload["type"]]:
        raise ValueError("fields")
    if len(payload["id"]) != 36 or not payload["district_id"] or (action == "recorded" and data["kind"] not in _KINDS):
        raise ValueError("id, district or kind")
    competencies = data["competency_ids"]
    if not competencies:
        raise ValueError("competency_ids")
    for competency in competencies:
        if type(competency) is not str:
            raise ValueError("competency_ids")
    for field in _TEXT_FIELDS[action]:
        if type(data[field]) is not str or (field == "reason" and not data[field]):
            raise ValueError(field)
    if datetime.fromisoformat(payload["occurred_at"]).tzinfo is None:
        raise ValueError("occurred_at")
    if action == "retracted":
        return data, None, None
    raw_score = data["score"]
    value, low, high = float(raw_score["value"]), float(raw_score["minimum"]), float(raw_score["maximum"])
    if not (high > low and low <= value <= high):
        raise ValueError("score")
    return data, date.fromisoformat(data["observed_on"]), (value - low) / (high - low)
