"""iCalendar feeds per student and per teacher, so portals and phones can subscribe.

Calendar apps cannot send headers, so the token may also come as `?access_token=` on the URL.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select

from mosaic_runtime.access import Rule, allow
from mosaic_runtime.app import Session
from mosaic_runtime.auth import Principal, TokenRejected, unauthorized
from mosaic_scheduling.adapters import repository as repo
from mosaic_scheduling.adapters import tables as t
from mosaic_scheduling.adapters.calendar import CalendarEntry, ics_feed
from mosaic_scheduling.api.schedules import published_places

router = APIRouter(prefix="/v1/districts/{district_id}", tags=["calendars"])
ICS = "text/calendar; charset=utf-8"


OptionalBearer = Annotated[HTTPAuthorizationCredentials | None, Depends(HTTPBearer(auto_error=False))]


async def feed_principal(request: Request, district_id: str, credentials: OptionalBearer,
                         access_token: Annotated[str | None, Query(description="the bearer token, for calendar apps")]
                         = None) -> Principal:
    token = credentials.credentials if credentials is not None else access_token
    if not token:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="no token: send a bearer token or ?access_token=")
    try:
        principal = request.app.state.token_verifier.verify(token)
    except TokenRejected as exc:
        raise unauthorized(str(exc)) from None
    if principal.district_id != district_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            detail=f"your token is for district {principal.district_id!r}, not {district_id!r}")
    return principal


FeedPrincipal = Annotated[Principal, Depends(feed_principal)]


@router.get("/students/{student_id}/calendar.ics", response_class=Response,
            responses={200: {"content": {ICS: {}}}}, summary="A student's flex time as an iCalendar feed",
            dependencies=[Depends(allow(Rule.STUDENT_DATA, principal_from=feed_principal))])
async def student_calendar(district_id: str, student_id: str, session: Session) -> Response:
    entries = [CalendarEntry(block, s, a.reason, a.version)
               for block, a, s in await published_places(session, district_id, student_id=student_id) if s]
    zone = await _zone(session, district_id, entries)
    return Response(ics_feed(f"Flex time: {student_id}", entries, zone, student_id), media_type=ICS)


@router.get("/teachers/{teacher_id}/calendar.ics", response_class=Response,
            responses={200: {"content": {ICS: {}}}}, summary="A teacher's flex-time sessions as an iCalendar feed",
            dependencies=[Depends(allow(Rule.TEACHER_SCHEDULE, principal_from=feed_principal))])
async def teacher_calendar(district_id: str, teacher_id: str, session: Session) -> Response:
    rows = (await session.execute(select(t.sessions).where(t.sessions.c.district_id == district_id,
                                                           t.sessions.c.teacher_id == teacher_id))).all()
    entries = []
    for row in rows:
        school = await repo.load_school(session, district_id, row.school_id)
        published = await repo.latest_schedule(session, district_id, row.block_id)
        students = sum(1 for a in (published.assignments if published else []) if a.session_id == row.id)
        definition = next(s for s in school.sessions if s.id == row.id)
        entries.append(CalendarEntry(school.block(row.block_id), definition, f"{students} students",
                                     published.version if published else 0))
    zone = await _zone(session, district_id, entries)
    return Response(ics_feed(f"Flex time: {teacher_id}", entries, zone, teacher_id), media_type=ICS)


async def _zone(session: Any, district_id: str, entries: list[CalendarEntry]) -> str:
    if not entries:
        return "UTC"
    zone = await session.scalar(select(t.schools.c.timezone).where(t.schools.c.district_id == district_id,
                                                                   t.schools.c.id == entries[0].block.school_id))
    return zone or "UTC"
