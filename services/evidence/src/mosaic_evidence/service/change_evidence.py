"""Correct or retract recorded evidence: a new fact (EvidenceCorrected, EvidenceRetracted); the original is kept."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_events import EventData
from mosaic_evidence.adapters import evidence_store, reference_store
from mosaic_evidence.domain.corrections import (
    CorrectionRequest,
    EvidenceState,
    RetractionRequest,
    to_corrected,
    to_retracted,
    validate_correction,
    validate_retraction,
)
from mosaic_evidence.domain.recording import Recorder
from mosaic_evidence.domain.reference import ReferenceView
from mosaic_evidence.service.events import envelope_for, keyed_event_id
from mosaic_evidence.service.results import Decision, Done, refused


async def correct_evidence(
    session: AsyncSession,
    district_id: str,
    evidence_id: str,
    request: CorrectionRequest,
    caller: Recorder,
    key: str | None = None,
) -> Decision:
    """The corrected fields replace the originals; the history keeps both."""
    state, view = await _state_and_view(session, district_id, evidence_id, caller, request.competency_ids or [])
    problems = validate_correction(state, request, view, caller)
    if problems:
        return refused(problems, "correction refused")
    assert state is not None
    return await _append(session, state, view, to_corrected(state, request, view, caller.user_id), key)


async def retract_evidence(
    session: AsyncSession,
    district_id: str,
    evidence_id: str,
    request: RetractionRequest,
    caller: Recorder,
    key: str | None = None,
) -> Decision:
    """It no longer counts towards mastery; the history keeps it."""
    state, view = await _state_and_view(session, district_id, evidence_id, caller, [])
    problems = validate_retraction(state, view, caller)
    if problems:
        return refused(problems, "retraction refused")
    assert state is not None
    return await _append(session, state, view, to_retracted(state, request, caller.user_id), key)


async def _state_and_view(
    session: AsyncSession, district_id: str, evidence_id: str, caller: Recorder, competency_refs: Iterable[str]
) -> tuple[EvidenceState | None, ReferenceView]:
    state = await evidence_store.load_state(session, district_id, evidence_id)
    view = await reference_store.load_view_for(
        session,
        district_id,
        person_ids={caller.user_id, *([state.student_id] if state else [])},
        competency_refs=competency_refs,
    )
    return state, view


async def _append(
    session: AsyncSession, state: EvidenceState, view: ReferenceView, data: EventData, key: str | None
) -> Decision:
    """Fold the new fact into the view; it is answered once the broker has it."""
    envelope = envelope_for(
        data,
        view.district_id,
        subject=state.student_id,
        school_id=view.school_of_student(state.student_id),
        event_id=keyed_event_id(view.district_id, key, 0),
    )
    await evidence_store.apply_envelope(session, envelope)
    return Decision(
        Done({"evidence_id": state.evidence_id, "event_id": str(envelope.id), "type": envelope.type}, created=True),
        [envelope],
    )
