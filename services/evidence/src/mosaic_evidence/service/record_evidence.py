"""Record evidence: check every item against the roster and framework; record all of them or none."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_events import Envelope
from mosaic_evidence.adapters import reference_store
from mosaic_evidence.adapters.reference_cache import ReferenceCache
from mosaic_evidence.domain.recording import EvidenceItem, Problem, Recorder, to_recorded, validate_evidence
from mosaic_evidence.domain.reference import ReferenceView
from mosaic_evidence.service.events import envelope_for, evidence_id, keyed_event_id
from mosaic_evidence.service.results import Decision, Done, Refusal, Refused

LATEST_TIME_ZONE = timedelta(hours=14)  # UTC+14, Kiribati
ON_BEHALF_ROLES = {"integration", "system", "administrator", "districtAdministrator"}


async def record_evidence(
    session: AsyncSession,
    district_id: str,
    items: list[EvidenceItem],
    caller: Recorder,
    key: str | None,
    reference: ReferenceCache | None = None,
) -> Decision:
    """Check every item; record all of them or none."""
    view = await view_for_items(session, district_id, items, caller.user_id, reference)
    refused = check_items(items, view, caller)
    if refused:
        codes = {p["code"] for r in refused for p in r["problems"]}
        why: Refusal = "not_permitted" if codes == {"not_permitted"} else "invalid"
        return Decision(Refused(why, {"detail": "evidence refused; nothing was recorded", "refused": refused}))
    ids = [evidence_id(district_id, key, n) for n in range(len(items))]
    envelopes = recorded_envelopes(
        items, ids, view, caller, [keyed_event_id(district_id, key, n) for n in range(len(items))]
    )
    recorded = [
        {"evidence_id": eid, "event_id": str(e.id), "student_id": e.subject}
        for eid, e in zip(ids, envelopes, strict=True)
    ]
    # The writer applies the view rows, for its whole group at once; an event already in the view came back from
    # the log (acknowledged after an earlier 503) and is not sent twice.
    return Decision(Done({"recorded": recorded}, created=True), envelopes, view_rows=envelopes)


async def view_for_items(
    session: AsyncSession,
    district_id: str,
    items: list[EvidenceItem],
    recorder_id: str,
    reference: ReferenceCache | None = None,
) -> ReferenceView:
    person_ids = {recorder_id} | {i.student_id for i in items} | {i.recorded_by for i in items if i.recorded_by}
    refs = {ref for i in items for ref in i.competency_ids}
    return await reference_store.load_view_for(
        session, district_id, person_ids=person_ids, competency_refs=refs, cache=reference
    )


def recorder_for(item: EvidenceItem, caller: Recorder) -> Recorder:
    """The caller records; an integration or administrator may record on behalf of the named recorder."""
    if item.recorded_by and item.recorded_by != caller.user_id:
        return Recorder(item.recorded_by) if caller.roles & ON_BEHALF_ROLES else caller
    return caller


def check_items(items: list[EvidenceItem], view: ReferenceView, caller: Recorder) -> list[dict[str, Any]]:
    """Problems per item index; an item naming another recorder needs a caller allowed to say so."""
    today = (datetime.now(UTC) + LATEST_TIME_ZONE).date()  # "today" somewhere in the world, not only in UTC
    refused = []
    for index, item in enumerate(items):
        problems = validate_evidence(item, view, recorder_for(item, caller), today=today)
        if item.recorded_by and item.recorded_by != caller.user_id and recorder_for(item, caller) is caller:
            problems.append(
                Problem(
                    "not_permitted", "recorded_by", f"{caller.user_id} may not record on behalf of {item.recorded_by}"
                )
            )
        if problems:
            refused.append({"index": index, "problems": [p.as_dict() for p in problems]})
    return refused


def recorded_envelopes(
    items: list[EvidenceItem],
    ids: list[str],
    view: ReferenceView,
    caller: Recorder,
    event_ids: list[uuid.UUID | None] | None = None,
) -> list[Envelope]:
    envelopes = []
    for n, (item, eid) in enumerate(zip(items, ids, strict=True)):
        data = to_recorded(item, evidence_id=eid, recorded_by=caller.user_id, view=view)
        envelopes.append(
            envelope_for(
                data,
                view.district_id,
                subject=item.student_id,
                school_id=view.school_of_student(item.student_id),
                event_id=event_ids[n] if event_ids else None,
            )
        )
    return envelopes
