"""Retract evidence: it no longer counts towards mastery; its history keeps it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_evidence.adapters import evidence_store, reference_store
from mosaic_evidence.domain.corrections import RetractionRequest, to_retracted, validate_retraction
from mosaic_evidence.domain.recording import Recorder
from mosaic_evidence.service.events import envelope_for, keyed_event_id
from mosaic_evidence.service.results import Decision, Written, refused


async def retract_evidence(
    session: AsyncSession,
    district_id: str,
    evidence_id: str,
    request: RetractionRequest,
    caller: Recorder,
    key: str | None = None,
) -> Decision:
    state = await evidence_store.load_state(session, district_id, evidence_id)
    view = await reference_store.load_view_for(
        session, district_id, person_ids={caller.user_id, *([state.student_id] if state else [])}, competency_refs=[]
    )
    problems = validate_retraction(state, view, caller)
    if problems:
        return refused(problems, "retraction refused")
    assert state is not None
    envelope = envelope_for(
        to_retracted(state, request, caller.user_id),
        district_id,
        subject=state.student_id,
        school_id=view.school_of_student(state.student_id),
        event_id=keyed_event_id(district_id, key, 0),
    )
    await evidence_store.apply_envelope(session, envelope)
    return Decision(
        Written({"evidence_id": state.evidence_id, "event_id": str(envelope.id), "type": envelope.type}), [envelope]
    )
