"""iCalendar feeds per student and per teacher, so portals and phones can subscribe.

A portal reads a feed with its bearer token in the header. A calendar app cannot send headers, so it
gets a feed URL holding a feed token of its own: read-only, one calendar, revocable, never a bearer
token (which would land in logs and spans as part of the URL).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from opentelemetry import trace

from mosaic_runtime.access import Rule, allow, public
from mosaic_runtime.app import Session
from mosaic_runtime.auth import DistrictPrincipal
from mosaic_scheduling.adapters.calendar import ics_feed
from mosaic_scheduling.service import calendar_feeds, read_calendar

router = APIRouter(prefix="/v1/districts/{district_id}", tags=["calendars"])
feed_router = APIRouter(prefix="/v1/calendar-feeds", tags=["calendars"])
ICS = "text/calendar; charset=utf-8"
STUDENT = [Depends(allow(Rule.STUDENT_DATA))]
TEACHER = [Depends(allow(Rule.TEACHER_SCHEDULE))]


@router.get(
    "/students/{student_id}/calendar.ics",
    response_class=Response,
    responses={200: {"content": {ICS: {}}}},
    summary="A student's flex time as an iCalendar feed",
    dependencies=STUDENT,
)
async def student_calendar(district_id: str, student_id: str, session: Session) -> Response:
    return await student_feed(session, district_id, student_id)


@router.get(
    "/teachers/{teacher_id}/calendar.ics",
    response_class=Response,
    responses={200: {"content": {ICS: {}}}},
    summary="A teacher's flex-time sessions as an iCalendar feed",
    dependencies=TEACHER,
)
async def teacher_calendar(district_id: str, teacher_id: str, session: Session) -> Response:
    return await teacher_feed(session, district_id, teacher_id)


@router.post(
    "/students/{student_id}/calendar-feeds",
    status_code=201,
    dependencies=STUDENT,
    summary="A feed URL for a calendar app: read-only, this student's calendar only, revocable",
)
async def new_student_feed(
    district_id: str, student_id: str, principal: DistrictPrincipal, session: Session
) -> dict[str, str]:
    return await _new_feed(session, district_id, "student", student_id, principal.user_id)


@router.post(
    "/teachers/{teacher_id}/calendar-feeds",
    status_code=201,
    dependencies=TEACHER,
    summary="A feed URL for a calendar app: read-only, this teacher's calendar only, revocable",
)
async def new_teacher_feed(
    district_id: str, teacher_id: str, principal: DistrictPrincipal, session: Session
) -> dict[str, str]:
    return await _new_feed(session, district_id, "teacher", teacher_id, principal.user_id)


@router.delete(
    "/students/{student_id}/calendar-feeds/{feed_id}",
    dependencies=STUDENT,
    summary="Revoke a student's feed URL: it answers 404 from now on",
)
async def revoke_student_feed(district_id: str, student_id: str, feed_id: str, session: Session) -> dict[str, str]:
    return await _revoke(session, district_id, "student", student_id, feed_id)


@router.delete(
    "/teachers/{teacher_id}/calendar-feeds/{feed_id}",
    dependencies=TEACHER,
    summary="Revoke a teacher's feed URL: it answers 404 from now on",
)
async def revoke_teacher_feed(district_id: str, teacher_id: str, feed_id: str, session: Session) -> dict[str, str]:
    return await _revoke(session, district_id, "teacher", teacher_id, feed_id)


@feed_router.get(
    "/{token}.ics",
    response_class=Response,
    responses={200: {"content": {ICS: {}}}},
    dependencies=[Depends(public("the URL holds a read-only feed token for one calendar"))],
    summary="The calendar a feed URL was made for (no login: the URL is the credential)",
)
async def feed_by_token(token: str, request: Request, session: Session) -> Response:
    _keep_token_out_of_the_span(request)
    feed = await calendar_feeds.feed_of(session, token)
    if feed is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail="this calendar feed does not exist or was revoked; ask for a new feed URL"
        )
    if feed.subject_kind == "teacher":
        return await teacher_feed(session, feed.district_id, feed.subject_id)
    return await student_feed(session, feed.district_id, feed.subject_id)


async def student_feed(session: Session, district_id: str, student_id: str) -> Response:
    entries, zone = await read_calendar.student_entries(session, district_id, student_id)
    return Response(ics_feed(f"Flex time: {student_id}", entries, zone, student_id), media_type=ICS)


async def teacher_feed(session: Session, district_id: str, teacher_id: str) -> Response:
    entries, zone = await read_calendar.teacher_entries(session, district_id, teacher_id)
    return Response(ics_feed(f"Flex time: {teacher_id}", entries, zone, teacher_id), media_type=ICS)


async def _new_feed(session: Session, district_id: str, kind: str, subject_id: str, created_by: str) -> dict[str, str]:
    feed_id, token = await calendar_feeds.create_feed(session, district_id, kind, subject_id, created_by)
    return {
        "feed_id": feed_id,
        "url": f"/v1/calendar-feeds/{token}.ics",
        "note": "shown once: anyone with this URL can read this calendar until it is revoked",
    }


async def _revoke(session: Session, district_id: str, kind: str, subject_id: str, feed_id: str) -> dict[str, str]:
    if not await calendar_feeds.revoke_feed(session, district_id, kind, subject_id, feed_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no live feed {feed_id!r} for this {kind}")
    return {"feed_id": feed_id, "status": "revoked"}


def _keep_token_out_of_the_span(request: Request) -> None:
    """The request span records the URL; the token in it is a credential, so the span keeps the template."""
    span = trace.get_current_span()
    if span.is_recording():
        redacted = str(request.url.path).rsplit("/", 1)[0] + "/{token}.ics"
        for key in ("http.target", "url.path"):
            span.set_attribute(key, redacted)
        for key in ("http.url", "url.full"):
            span.set_attribute(key, str(request.base_url).rstrip("/") + redacted)
