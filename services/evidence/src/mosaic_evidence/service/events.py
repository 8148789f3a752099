"""The envelopes evidence emits, and ids derived from an Idempotency-Key so a retry names the same things."""

from __future__ import annotations

import uuid

from mosaic_events import Envelope, EventData, new_envelope
from mosaic_events.catalog import EvidenceCorrected, EvidenceRecorded

PRODUCER = "evidence"
KEYED_NAMESPACE = uuid.UUID("a3c1e7f2-4b8d-5c6e-9f10-2d3b4a5c6e7f")


def envelope_for(
    data: EventData,
    district_id: str,
    *,
    subject: str | None = None,
    school_id: str | None = None,
    event_id: uuid.UUID | None = None,
) -> Envelope:
    return new_envelope(
        data, district_id=district_id, producer=PRODUCER, subject=subject, school_id=school_id, event_id=event_id
    )


def keyed_event_id(district_id: str, key: str | None, index: int) -> uuid.UUID | None:
    """Under an Idempotency-Key the event id derives from the key (UUIDv5, like any derived event): a send that
    the broker acknowledged only after we answered 503 and the client's retry are then one event, not two."""
    return uuid.uuid5(KEYED_NAMESPACE, f"event|{district_id}|{key}|{index}") if key else None


def evidence_id(district_id: str, key: str | None, index: int) -> str:
    """With an Idempotency-Key the ids are derived from it, so a retry after a lost answer names the same evidence."""
    if key:
        return str(uuid.uuid5(KEYED_NAMESPACE, f"{district_id}|{key}|{index}"))
    return str(uuid.uuid4())


def for_the_log(envelopes: list[Envelope]) -> list[Envelope]:
    """The envelopes as the permanent log may carry them: free text about a child stays in our store (ADR 0019)."""
    return [_without_free_text(e) for e in envelopes]


def _without_free_text(envelope: Envelope) -> Envelope:
    data = envelope.data
    if isinstance(data, EvidenceRecorded):
        return envelope.model_copy(update={"data": data.model_copy(update={"comment": None, "reflection": None})})
    if isinstance(data, EvidenceCorrected):
        return envelope.model_copy(update={"data": data.model_copy(update={"comment": None})})
    return envelope
