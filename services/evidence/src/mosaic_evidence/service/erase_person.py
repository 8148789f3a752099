"""Erase a person at a district's request: delete what evidence holds about them, then say so on the log.

Evidence owns the roster, so erasure starts here; every other service purges what it derived when it
reads PersonErased (ADR 0019). The erasure id and the event id derive from (district, person), so a
repeated request names the same erasure and publishes the same event.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_events.catalog import PersonErased
from mosaic_evidence.adapters import erasure_store
from mosaic_evidence.service.events import envelope_for
from mosaic_evidence.service.results import Decision, Done, Refused

ERASURE_NAMESPACE = uuid.UUID("5d0c8f6e-2b1a-5e7f-9c3d-4a6b8e0f1c2d")


def erasure_id(district_id: str, person_id: str) -> uuid.UUID:
    return uuid.uuid5(ERASURE_NAMESPACE, f"erasure|{district_id}|{person_id}")


async def erase_person(session: AsyncSession, district_id: str, person_id: str, erased_by: str) -> Decision:
    """Roster rows, free text about them, their learner plan and the notes they wrote, answers and actor keys
    naming them; then PersonErased."""
    role = await erasure_store.role_of(session, district_id, person_id)
    if role is None:
        return Decision(
            Refused(
                "not_found",
                {
                    "detail": f"no person {person_id!r} in district {district_id!r}: "
                    "nothing to erase (check the id, or it was erased already)"
                },
            )
        )
    await erasure_store.erase_roster_rows(session, district_id, person_id)
    evidence_count = await erasure_store.erase_free_text(session, district_id, person_id)
    plan_rows = await erasure_store.erase_plans(session, district_id, person_id)
    answers = await erasure_store.forget_answers_naming(session, district_id, person_id)
    await erasure_store.forget_actor_keys(session, district_id, person_id)
    erasure = erasure_id(district_id, person_id)
    await erasure_store.remember_erasure(session, district_id, person_id, str(erasure))
    event = PersonErased(person_id=person_id, erasure_id=str(erasure), role=role)
    envelope = envelope_for(event, district_id, event_id=uuid.uuid5(erasure, "PersonErased"))
    body = {
        "erasure_id": str(erasure),
        "person_id": person_id,
        "role": role,
        "event_id": str(envelope.id),
        "erased_by": erased_by,
        "evidence_anonymized": evidence_count,
        "plan_rows_deleted": plan_rows,
        "idempotency_records_deleted": answers,
    }
    return Decision(Done(body, created=True), [envelope])
