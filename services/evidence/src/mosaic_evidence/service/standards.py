"""xAPI statements and Caliper events in, evidence out. Like an LRS's statements resource: a request with
any malformed statement is refused whole (400, every reason listed); a statement id seen before with other
content is a conflict (409); the rest is taken, and each statement is answered with what became of it."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_evidence.adapters import evidence_store, reference_store, statement_store
from mosaic_evidence.domain import caliper, caliper_validation, xapi, xapi_validation
from mosaic_evidence.domain.corrections import RetractionRequest, to_retracted, validate_retraction
from mosaic_evidence.domain.recording import Recorder, evidence_id_for
from mosaic_evidence.domain.reference import ReferenceView
from mosaic_evidence.domain.standards import Outcome
from mosaic_evidence.domain.standards_problems import InputProblem, content_hash, too_deep
from mosaic_evidence.service.events import envelope_for
from mosaic_evidence.service.record_evidence import check_items, recorded_envelopes, view_for_items
from mosaic_evidence.service.results import Decision, Done, Refused


async def ingest_xapi(session: AsyncSession, district_id: str, body: Any, caller: Recorder) -> Decision:
    statements = xapi.statement_list(body)
    problems = xapi_validation.validate_statements(statements)
    if problems:
        return _malformed(problems, "xAPI 1.0.3 statements")
    ids = [xapi.statement_id(s).lower() for s in statements]
    hashes = [content_hash(xapi_validation.comparable(s)) for s in statements]
    conflicts = await _conflicts(session, district_id, "xapi", ids, hashes)
    if conflicts:
        return conflicts
    keys = [k for s in statements for k in xapi.actor_keys(s["actor"])]
    mapping = await evidence_store.load_mapping(session, district_id)
    view = await _actor_view(session, district_id, keys, mapping.actors.values())
    outcomes = xapi.translate_statements(statements, mapping, view, received_on=datetime.now(UTC).date())
    return await _record_outcomes(session, district_id, outcomes, caller, "xapi")


async def ingest_caliper(session: AsyncSession, district_id: str, body: Any, caller: Recorder) -> Decision:
    problems = caliper_validation.validate_body(body)
    if problems:
        return _malformed(problems, "Caliper 1.1/1.2 events")
    items = caliper_validation.event_list(body) or []
    events = {i: e for i, e in enumerate(items) if str(e["type"]).endswith("Event")}
    ids = [str(e["id"]) for e in events.values()]
    hashes = [content_hash(e) for e in events.values()]
    conflicts = await _conflicts(session, district_id, "caliper", ids, hashes, indexes=list(events))
    if conflicts:
        return conflicts
    first = {str(e["id"]): i for i, e in reversed(list(events.items()))}
    keys = [key for key in map(_assignee, items) if key]
    mapping = await evidence_store.load_mapping(session, district_id)
    view = await _actor_view(session, district_id, keys, mapping.actors.values())
    today = datetime.now(UTC).date()
    outcomes = [
        _resent(i, e, first)
        if i in events and first[str(e["id"])] != i
        else caliper.translate_event(i, e, mapping, view, received_on=today)
        for i, e in enumerate(items)
    ]
    return await _record_outcomes(session, district_id, outcomes, caller, "caliper")


def unreadable(body: Any) -> Decision | None:
    """A body nested so deep that hashing or checking it would exhaust the stack: refused before anything."""
    problems = too_deep(body)
    return _malformed(problems, "xAPI or Caliper") if problems else None


def _resent(index: int, event: dict[str, Any], first: dict[str, int]) -> Outcome:
    return Outcome(
        index,
        "duplicate",
        str(event["id"]),
        reason=f"the same event as number {first[str(event['id'])]} of this request",
    )


def _malformed(problems: list[InputProblem], what: str) -> Decision:
    return Decision(
        Refused(
            "malformed",
            {
                "detail": f"the request holds input that is not valid {what}; nothing was recorded. "
                "Fix each problem listed and send the whole request again",
                "problems": [p.as_dict() for p in problems],
            },
        )
    )


async def _conflicts(
    session: AsyncSession,
    district_id: str,
    source: str,
    ids: list[str],
    hashes: list[str],
    indexes: list[int] | None = None,
) -> Decision | None:
    """409 if an id was received before (or earlier in this request) with other content; else remember the new."""
    positions = indexes if indexes is not None else list(range(len(ids)))
    known = await statement_store.known_hashes(session, district_id, source, ids)
    fresh: dict[str, str] = {}
    conflicts = []
    for index, sid, digest in zip(positions, ids, hashes, strict=True):
        seen = known.get(sid, fresh.get(sid))
        if seen is not None and seen != digest:
            where = "earlier in this request" if sid in fresh else "before"
            conflicts.append(
                {
                    "index": index,
                    "id": sid,
                    "reason": f"id {sid} was received {where} with other content; an id names one "
                    "statement for good: send a changed statement with a new id",
                }
            )
        elif seen is None:
            fresh[sid] = digest
    if conflicts:
        return Decision(
            Refused(
                "conflict",
                {
                    "detail": "statement ids already used for other content; nothing was recorded",
                    "conflicts": conflicts,
                },
            )
        )
    await statement_store.remember(session, district_id, source, fresh)
    return None


def _assignee(event: Any) -> str | None:
    attempt = event.get("object") if isinstance(event, dict) else None
    assignee = attempt.get("assignee") if isinstance(attempt, dict) else None
    return assignee.get("id") if isinstance(assignee, dict) else assignee if isinstance(assignee, str) else None


async def _actor_view(session: AsyncSession, district_id: str, keys: list[str], mapped: Any) -> ReferenceView:
    emails = [k[7:] for k in keys if k.startswith("mailto:")]
    by_email = await reference_store.people_with_emails(session, district_id, emails)
    ids = {k for k in keys if not k.startswith("mailto:")} | set(mapped) | {p.id for p in by_email}
    return await reference_store.load_view_for(session, district_id, person_ids=ids, competency_refs=[])


async def _record_outcomes(
    session: AsyncSession, district_id: str, outcomes: list[Outcome], caller: Recorder, source: str
) -> Decision:
    """Record each statement that is valid evidence and new; report every other one with its reason."""
    reports = [o.report() for o in outcomes]
    candidates = [o for o in outcomes if o.status == "evidence" and o.item is not None]
    ids = {o.index: evidence_id_for(district_id, source, o.source_ref or str(o.index)) for o in candidates}
    duplicates = await evidence_store.existing_ids(session, district_id, list(ids.values()))
    fresh = [o for o in candidates if ids[o.index] not in duplicates]
    view = await view_for_items(session, district_id, [o.item for o in fresh], caller.user_id)  # type: ignore[misc]
    refused = {fresh[r["index"]].index: r["problems"] for r in check_items([o.item for o in fresh], view, caller)}  # type: ignore[misc]
    accepted = [o for o in fresh if o.index not in refused]
    envelopes = recorded_envelopes([o.item for o in accepted], [ids[o.index] for o in accepted], view, caller)  # type: ignore[misc]
    for outcome in candidates:
        report = reports[outcome.index]
        report["evidence_id"] = ids[outcome.index]
        if ids[outcome.index] in duplicates:
            report.update(status="duplicate", reason="already recorded from this statement")
        elif outcome.index in refused:
            report.update(status="refused", problems=refused[outcome.index])
    envelopes = await evidence_store.apply_recorded(session, envelopes)
    for retraction in await _voids(session, district_id, outcomes, reports, caller, source):
        if await evidence_store.apply_envelope(session, retraction):
            envelopes.append(retraction)
    counts = Counter(r["status"] for r in reports)
    return Decision(
        Done(
            {
                "counts": dict(sorted(counts.items())),
                "results": reports,
                "unmapped": sorted(
                    {r["activity_id"] for r in reports if r["status"] == "unmapped_activity" and "activity_id" in r}
                ),
            }
        ),
        envelopes,
    )


async def _voids(
    session: AsyncSession,
    district_id: str,
    outcomes: list[Outcome],
    reports: list[dict[str, Any]],
    caller: Recorder,
    source: str,
) -> list[Any]:
    envelopes = []
    for outcome in (o for o in outcomes if o.status == "voided" and o.voids):
        target = evidence_id_for(district_id, source, outcome.voids)  # type: ignore[arg-type]
        state = await evidence_store.load_state(session, district_id, target)
        if state is None or state.retracted:
            reports[outcome.index]["reason"] += " (no open evidence came from it; nothing to retract)"
            continue
        view = await reference_store.load_view_for(
            session, district_id, person_ids={caller.user_id, state.student_id}, competency_refs=[]
        )
        problems = validate_retraction(state, view, caller)
        if problems:
            reports[outcome.index].update(status="refused", problems=[p.as_dict() for p in problems])
            continue
        request = RetractionRequest(reason=f"voided by {source} statement {outcome.source_ref}")
        envelopes.append(
            envelope_for(to_retracted(state, request, caller.user_id), district_id, subject=state.student_id)
        )
        reports[outcome.index].update(evidence_id=target, reason=f"retracted evidence {target}")
    return envelopes
