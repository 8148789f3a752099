"""What the API asks the service to do: check, write, publish, commit — or nothing at all.

Every write runs in one database transaction that is committed only after Kafka acknowledged
the events it publishes; if the broker does not, the transaction rolls back and the caller
gets BrokerUnavailable (503). An Idempotency-Key stores the first answer in that same
transaction: the same key and body get it again, another body gets a 409.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_events import Envelope, EventData, new_envelope
from mosaic_evidence.adapters import evidence_store, reference_store
from mosaic_evidence.domain.corrections import (
    CorrectionRequest,
    RetractionRequest,
    to_corrected,
    to_retracted,
    validate_correction,
    validate_retraction,
)
from mosaic_evidence.domain.recording import EvidenceItem, Problem, Recorder, to_recorded, validate_evidence
from mosaic_evidence.domain.reference import ReferenceView
from mosaic_runtime.app import ServiceContext
from mosaic_runtime.publishing import publisher_of

PRODUCER = "evidence"
LATEST_TIME_ZONE = timedelta(hours=14)  # UTC+14, Kiribati
KEYED_NAMESPACE = uuid.UUID("a3c1e7f2-4b8d-5c6e-9f10-2d3b4a5c6e7f")


class IdempotencyConflict(Exception):
    """The key was used for a different request (or one still in flight)."""


@dataclass
class Decision:
    """What a command decided: the answer, and the events that must be acknowledged before it is given."""

    status: int
    body: Any
    envelopes: list[Envelope] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return self.status >= 400


Decide = Callable[[AsyncSession], Awaitable[Decision]]


def request_hash(payload: Any) -> str:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(raw).hexdigest()


async def run_write(ctx: ServiceContext, district_id: str, decide: Decide, *, key: str | None = None,
                    payload_hash: str = "") -> tuple[int, Any]:
    """Decide, write and publish in one transaction; commit only after the broker's ack."""
    decision: Decision | None = None
    try:
        async with ctx.sessions() as session, session.begin():
            if key:
                prior = await evidence_store.remembered_response(session, district_id, key)
                if prior is not None:
                    if prior.request_hash != payload_hash:
                        raise IdempotencyConflict(
                            f"Idempotency-Key {key!r} was already used with a different request body")
                    return prior.status_code, prior.response
            decision = await decide(session)
            if decision.refused:
                raise _Refused(decision)  # roll back anything the decision wrote
            if key:
                await evidence_store.remember_response(session, district_id, key, payload_hash,
                                                       decision.status, decision.body)
            await session.flush()
            await publisher_of(ctx).acknowledged(decision.envelopes)
    except _Refused as refusal:
        return refusal.decision.status, refusal.decision.body
    except IntegrityError:
        if key and decision is not None and await _already_on_the_log(ctx, district_id, key, payload_hash, decision):
            return decision.status, decision.body
        if key:
            raise IdempotencyConflict(f"a request with Idempotency-Key {key!r} is in progress; retry") from None
        raise
    return decision.status, decision.body


async def _already_on_the_log(ctx: ServiceContext, district_id: str, key: str, payload_hash: str,
                              decision: Decision) -> bool:
    """A send we stopped waiting for landed after all, and our own consumer projected it before this retry
    wrote: the retry's events are the ones on the log (same ids), so the request has succeeded."""
    ids = [str(e.id) for e in decision.envelopes]
    async with ctx.sessions() as session, session.begin():
        found = await evidence_store.projected_event_ids(session, ids)
        if not ids or set(ids) != found:
            return False
        await evidence_store.remember_response(session, district_id, key, payload_hash, decision.status,
                                               decision.body)
    return True


class _Refused(Exception):
    def __init__(self, decision: Decision) -> None:
        self.decision = decision


def envelope_for(data: EventData, district_id: str, *, subject: str | None = None, school_id: str | None = None,
                 event_id: uuid.UUID | None = None) -> Envelope:
    return new_envelope(data, district_id=district_id, producer=PRODUCER, subject=subject, school_id=school_id,
                        event_id=event_id)


def keyed_event_id(district_id: str, key: str | None, index: int) -> uuid.UUID | None:
    """Under an Idempotency-Key the event id derives from the key (UUIDv5, like any derived event): a send that
    the broker acknowledged only after we answered 503 and the client's retry are then one event, not two."""
    return uuid.uuid5(KEYED_NAMESPACE, f"event|{district_id}|{key}|{index}") if key else None


def evidence_id(district_id: str, key: str | None, index: int) -> str:
    """With an Idempotency-Key the ids are derived from it, so a retry after a lost answer names the same evidence."""
    if key:
        return str(uuid.uuid5(KEYED_NAMESPACE, f"{district_id}|{key}|{index}"))
    return str(uuid.uuid4())


async def view_for_items(session: AsyncSession, district_id: str, items: list[EvidenceItem],
                         recorder_id: str) -> ReferenceView:
    person_ids = {recorder_id} | {i.student_id for i in items} | {i.recorded_by for i in items if i.recorded_by}
    refs = {ref for i in items for ref in i.competency_ids}
    return await reference_store.load_view_for(session, district_id, person_ids=person_ids, competency_refs=refs)


def recorder_for(item: EvidenceItem, caller: Recorder) -> Recorder:
    """The caller records; an integration or administrator may record on behalf of the named recorder."""
    if item.recorded_by and item.recorded_by != caller.user_id:
        return Recorder(item.recorded_by) if caller.roles & {"integration", "system", "administrator",
                                                               "districtAdministrator"} else caller
    return caller


def check_items(items: list[EvidenceItem], view: ReferenceView, caller: Recorder) -> list[dict]:
    """Problems per item index; an item naming another recorder needs a caller allowed to say so."""
    today = (datetime.now(UTC) + LATEST_TIME_ZONE).date()  # "today" somewhere in the world, not only in UTC
    refused = []
    for index, item in enumerate(items):
        problems = validate_evidence(item, view, recorder_for(item, caller), today=today)
        if item.recorded_by and item.recorded_by != caller.user_id and recorder_for(item, caller) is caller:
            problems.append(Problem("not_permitted", "recorded_by",
                                    f"{caller.user_id} may not record on behalf of {item.recorded_by}"))
        if problems:
            refused.append({"index": index, "problems": [p.as_dict() for p in problems]})
    return refused


def recorded_envelopes(items: list[EvidenceItem], ids: list[str], view: ReferenceView, caller: Recorder,
                       event_ids: list[uuid.UUID | None] | None = None) -> list[Envelope]:
    envelopes = []
    for n, (item, eid) in enumerate(zip(items, ids, strict=True)):
        data = to_recorded(item, evidence_id=eid, recorded_by=caller.user_id, view=view)
        envelopes.append(envelope_for(data, view.district_id, subject=item.student_id,
                                      school_id=view.school_of_student(item.student_id),
                                      event_id=event_ids[n] if event_ids else None))
    return envelopes


async def record_evidence(session: AsyncSession, district_id: str, items: list[EvidenceItem], caller: Recorder,
                          key: str | None) -> Decision:
    """Check every item; record all of them or none."""
    view = await view_for_items(session, district_id, items, caller.user_id)
    refused = check_items(items, view, caller)
    if refused:
        codes = {p["code"] for r in refused for p in r["problems"]}
        return Decision(403 if codes == {"not_permitted"} else 422,
                        {"detail": "evidence refused; nothing was recorded", "refused": refused})
    ids = [evidence_id(district_id, key, n) for n in range(len(items))]
    envelopes = recorded_envelopes(items, ids, view, caller, [keyed_event_id(district_id, key, n)
                                                              for n in range(len(items))])
    # An event already in the view came back from the log (acknowledged after an earlier 503): don't send it twice.
    unsent = await evidence_store.apply_recorded(session, envelopes)
    recorded = [{"evidence_id": e.data.evidence_id, "event_id": str(e.id), "student_id": e.subject}  # type: ignore[attr-defined]
                for e in envelopes]
    return Decision(201, {"recorded": recorded}, unsent)


async def correct_evidence(session: AsyncSession, district_id: str, evidence_id_: str, request: CorrectionRequest,
                           caller: Recorder, key: str | None = None) -> Decision:
    state = await evidence_store.load_state(session, district_id, evidence_id_)
    refs = request.competency_ids or []
    view = await reference_store.load_view_for(
        session, district_id, person_ids={caller.user_id, *([state.student_id] if state else [])},
        competency_refs=refs)
    problems = validate_correction(state, request, view, caller)
    if problems:
        return _refusal(problems, "correction refused")
    assert state is not None
    data = to_corrected(state, request, view, caller.user_id)
    envelope = envelope_for(data, district_id, subject=state.student_id, school_id=view.school_of_student(
        state.student_id), event_id=keyed_event_id(district_id, key, 0))
    await evidence_store.apply_envelope(session, envelope)
    return Decision(201, {"evidence_id": state.evidence_id, "event_id": str(envelope.id), "type": envelope.type},
                    [envelope])


async def retract_evidence(session: AsyncSession, district_id: str, evidence_id_: str, request: RetractionRequest,
                           caller: Recorder, key: str | None = None) -> Decision:
    state = await evidence_store.load_state(session, district_id, evidence_id_)
    view = await reference_store.load_view_for(
        session, district_id, person_ids={caller.user_id, *([state.student_id] if state else [])}, competency_refs=[])
    problems = validate_retraction(state, view, caller)
    if problems:
        return _refusal(problems, "retraction refused")
    assert state is not None
    envelope = envelope_for(to_retracted(state, request, caller.user_id), district_id, subject=state.student_id,
                            school_id=view.school_of_student(state.student_id),
                            event_id=keyed_event_id(district_id, key, 0))
    await evidence_store.apply_envelope(session, envelope)
    return Decision(201, {"evidence_id": state.evidence_id, "event_id": str(envelope.id), "type": envelope.type},
                    [envelope])


def _refusal(problems: list[Problem], detail: str) -> Decision:
    status = 404 if any(p.code == "unknown_evidence" for p in problems) else \
        409 if any(p.code == "already_retracted" for p in problems) else \
        403 if all(p.code == "not_permitted" for p in problems) else 422
    return Decision(status, {"detail": f"{detail}; nothing was recorded", "problems": [p.as_dict() for p in problems]})
