"""Correct evidence: a new EvidenceCorrected fact replaces the scored fields; the original is kept."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_evidence.adapters import evidence_store, reference_store
from mosaic_evidence.domain.corrections import CorrectionRequest, to_corrected, validate_correction
from mosaic_evidence.domain.recording import Recorder
from mosaic_evidence.service.events import envelope_for, keyed_event_id
from mosaic_evidence.service.results import Decision, Written, refused


async def correct_evidence(
    session: AsyncSession,
    district_id: str,
    evidence_id: str,
    request: CorrectionRequest,
    caller: Recorder,
    key: str | None = None,
) -> Decision:
    state = await evidence_store.load_state(session, district_id, evidence_id)
    view = await reference_store.load_view_for(
        session,
        district_id,
        person_ids={caller.user_id, *([state.student_id] if state else [])},
        competency_refs=request.competency_ids or [],
    )
    problems = validate_correction(state, request, view, caller)
    if problems:
        return refused(problems, "correction refused")
    assert state is not None
    envelope = envelope_for(
        to_corrected(state, request, view, caller.user_id),
        district_id,
        subject=state.student_id,
        school_id=view.school_of_student(state.student_id),
        event_id=keyed_event_id(district_id, key, 0),
    )
    await evidence_store.apply_envelope(session, envelope)
    return Decision(
        Written({"evidence_id": state.evidence_id, "event_id": str(envelope.id), "type": envelope.type}), [envelope]
    )
