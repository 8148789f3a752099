"""A block's schedule: rebuild on a teacher's request, preview drafts, publish or discard them, read the
published schedule by session, room or teacher, a student's week, and take attendance per session."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status

from mosaic_events.catalog import AttendanceMark
from mosaic_runtime.access import Rule, allow
from mosaic_runtime.app import Context, Session
from mosaic_runtime.auth import DistrictPrincipal
from mosaic_runtime.publishing import publisher_of
from mosaic_runtime.responses import errors
from mosaic_scheduling.api.deps import not_found, referents_exist, schedule_answer, solver_of
from mosaic_scheduling.api.schemas import (
    AttendanceIn,
    AttendanceTakenView,
    AttendanceView,
    BlockRebuilt,
    PublishedSchedule,
    RegroupIn,
    ScheduleDecided,
    ScheduleVersion,
    StudentWeek,
    Version,
)
from mosaic_scheduling.service import publish_schedule, read_schedules, rebuild_block
from mosaic_scheduling.service.outcomes import NotADraft, NotAMeetingDay, NotFound, RebuiltConcurrently
from mosaic_scheduling.service.rebuild_block import Rebuilt
from mosaic_scheduling.service.take_attendance import take_attendance as record_attendance

router = APIRouter(prefix="/v1/districts/{district_id}", tags=["schedules"])
WORK = [Depends(allow(Rule.BLOCK_WORK))]
READ = [Depends(allow(Rule.BLOCK_DATA))]


@router.post(
    "/blocks/{block_id}/regroup",
    response_model=BlockRebuilt,
    responses=errors(409),
    summary="Rebuild the block now (a teacher's request); published at once "
    "or kept as a draft, as the school publishes",
    dependencies=WORK,
)
async def regroup_block(
    district_id: str, block_id: str, body: RegroupIn, principal: DistrictPrincipal, session: Session, ctx: Context
) -> dict[str, Any]:
    outcome, events = await _answering(
        rebuild_block.rebuild_now(
            session, district_id, block_id, f"{body.reason} ({principal.user_id})", solver_of(ctx)
        )
    )
    publisher_of(ctx).committed()
    return {"block_id": block_id, **schedule_answer(outcome, events)}


@router.post(
    "/blocks/{block_id}/drafts",
    response_model=ScheduleVersion,
    responses=errors(409),
    status_code=201,
    summary="Build a draft to preview; nothing is published",
    dependencies=WORK,
)
async def preview_draft(
    district_id: str, block_id: str, principal: DistrictPrincipal, session: Session, ctx: Context
) -> dict[str, Any]:
    outcome, _ = await _answering(
        rebuild_block.rebuild_now(
            session, district_id, block_id, f"preview by {principal.user_id}", solver_of(ctx), draft_only=True
        )
    )
    return _schedule_body(await read_schedules.schedule_version(session, district_id, block_id, outcome.version))


@router.get(
    "/blocks/{block_id}/schedules/{version}",
    response_model=ScheduleVersion,
    summary="One version of a block's schedule (a draft included)",
    dependencies=READ,
)
async def read_version(district_id: str, block_id: str, version: Version, session: Session) -> dict[str, Any]:
    try:
        return _schedule_body(await read_schedules.schedule_version(session, district_id, block_id, version))
    except NotFound as exc:
        raise not_found(str(exc)) from None


@router.post(
    "/blocks/{block_id}/schedules/{version}/publish",
    response_model=ScheduleDecided,
    responses=errors(409),
    summary="Approve and publish a draft",
    dependencies=[Depends(allow(Rule.SCHOOL_SETUP))],
)
async def publish_draft(
    district_id: str, block_id: str, version: Version, session: Session, ctx: Context
) -> dict[str, Any]:
    try:
        events = await publish_schedule.publish_draft(session, district_id, block_id, version)
    except NotFound as exc:
        raise not_found(str(exc)) from None
    except NotADraft as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
    publisher_of(ctx).committed()
    return {"block_id": block_id, "version": version, "status": "published", "events": events}


@router.post(
    "/blocks/{block_id}/schedules/{version}/discard",
    response_model=ScheduleDecided,
    responses=errors(409),
    summary="Discard a draft",
    dependencies=WORK,
)
async def discard_draft(district_id: str, block_id: str, version: Version, session: Session) -> dict[str, Any]:
    try:
        await publish_schedule.discard_draft(session, district_id, block_id, version)
    except NotADraft as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
    return {"block_id": block_id, "version": version, "status": "discarded"}


@router.get(
    "/blocks/{block_id}/schedule",
    response_model=PublishedSchedule,
    summary="The published schedule, grouped by session, room or teacher",
    dependencies=READ,
)
async def read_schedule(
    district_id: str,
    block_id: str,
    session: Session,
    by: Annotated[Literal["session", "room", "teacher"], Query()] = "session",
) -> dict[str, Any]:
    try:
        return await read_schedules.published_schedule(session, district_id, block_id, by)
    except NotFound as exc:
        raise not_found(str(exc)) from None


@router.get(
    "/students/{student_id}/week",
    response_model=StudentWeek,
    summary="Where a student goes in flex time during one week",
    dependencies=[Depends(allow(Rule.STUDENT_DATA))],
)
async def student_week(
    district_id: str,
    student_id: str,
    session: Session,
    on: Annotated[date | None, Query(description="any day of the week; default today")] = None,
) -> dict[str, Any]:
    return await read_schedules.student_week(session, district_id, student_id, on or datetime.now(UTC).date())


@router.post(
    "/blocks/{block_id}/sessions/{session_id}/attendance",
    response_model=AttendanceTakenView,
    status_code=202,
    summary="Take attendance for one session; stored now, published as AttendanceTaken for the SIS by the outbox",
    dependencies=[*WORK, Depends(referents_exist)],
)
async def take_attendance(
    district_id: str,
    block_id: str,
    session_id: str,
    body: AttendanceIn,
    principal: DistrictPrincipal,
    session: Session,
    ctx: Context,
) -> dict[str, Any]:
    marks = [AttendanceMark(student_id=m.student_id, status=m.status) for m in body.marks]
    try:
        event_id = await record_attendance(
            session, district_id, block_id, session_id, body.block_date, marks, principal.user_id
        )
    except NotFound as exc:
        raise not_found(str(exc)) from None
    except NotAMeetingDay as exc:
        raise HTTPException(422, detail=str(exc)) from None
    publisher_of(ctx).committed()
    return {
        "block_id": block_id,
        "session_id": session_id,
        "block_date": body.block_date,
        "marks": len(body.marks),
        "event_id": str(event_id),
    }


@router.get(
    "/blocks/{block_id}/sessions/{session_id}/attendance",
    response_model=AttendanceView,
    summary="Attendance taken for a session",
    dependencies=READ,
)
async def read_attendance(
    district_id: str, block_id: str, session_id: str, session: Session, block_date: date
) -> dict[str, Any]:
    return await read_schedules.attendance(session, district_id, block_id, session_id, block_date)


async def _answering(rebuild: Awaitable[tuple[Rebuilt, int]]) -> tuple[Rebuilt, int]:
    try:
        return await rebuild
    except NotFound as exc:
        raise not_found(str(exc)) from None
    except RebuiltConcurrently as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None


def _schedule_body(stored: Any) -> dict[str, Any]:
    moved = defaultdict(int)
    for a in stored.assignments:
        moved["moved" if a.previous_session_id and a.previous_session_id != a.session_id else "stayed"] += 1
    return {
        "block_id": stored.block_id,
        "version": stored.version,
        "status": stored.status,
        "trigger": stored.trigger,
        "method": stored.method,
        "cost": stored.cost,
        "bound": stored.bound,
        "causes": stored.causes,
        "notes": stored.notes,
        "summary": dict(moved),
        "assignments": [
            {
                "student_id": a.student_id,
                "session_id": a.session_id,
                "reason": a.reason,
                "pinned": a.pinned,
                "previous_session_id": a.previous_session_id,
                "notes": a.notes,
            }
            for a in stored.assignments
        ],
    }
