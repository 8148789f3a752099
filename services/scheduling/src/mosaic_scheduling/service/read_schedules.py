"""Read schedules: a version, the published schedule grouped by session, room or teacher, a student's week and
published places, and the attendance taken for a session."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_scheduling.adapters import repository as repo
from mosaic_scheduling.service.outcomes import NotFound


async def schedule_version(db: AsyncSession, district_id: str, block_id: str, version: int) -> Any:
    """One stored version (a draft included), or NotFound."""
    stored = await repo.schedule_version(db, district_id, block_id, version)
    if stored is None:
        raise NotFound(f"block {block_id!r} has no schedule version {version}")
    return stored


async def published_schedule(
    db: AsyncSession, district_id: str, block_id: str, by: Literal["session", "room", "teacher"]
) -> dict[str, Any]:
    """The published schedule grouped by session, room or teacher; NotFound before the first publication."""
    stored = await repo.latest_schedule(db, district_id, block_id)
    if stored is None:
        raise NotFound(f"block {block_id!r} has no published schedule yet")
    school = await repo.load_school(db, district_id, stored.school_id)
    sessions = {s.id: s for s in school.sessions_of(block_id)}
    groups: dict[str, dict[str, Any]] = {}
    for a in stored.assignments:
        s = sessions.get(a.session_id)
        key = {"session": a.session_id, "room": s.room_id if s else None, "teacher": s.teacher_id if s else None}[by]
        group = groups.setdefault(str(key), {by: key, "sessions": {}, "students": []})
        if s is not None:
            group["sessions"][s.id] = {
                "title": s.title,
                "kind": s.kind,
                "room_id": s.room_id,
                "teacher_id": s.teacher_id,
            }
        group["students"].append(
            {
                "student_id": a.student_id,
                "session_id": a.session_id,
                "reason": a.reason,
                "pinned": a.pinned,
                "notes": a.notes,
            }
        )
    return {
        "block_id": block_id,
        "version": stored.version,
        "published_at": stored.published_at,
        "by": by,
        "groups": [{**g, "size": len(g["students"])} for g in groups.values()],
        "notes": stored.notes,
    }


async def student_week(db: AsyncSession, district_id: str, student_id: str, on: date) -> dict[str, Any]:
    """Where the student goes in flex time during the week that holds `on`."""
    monday = on - timedelta(days=on.weekday())
    entries = []
    for block, assignment, session_def in await published_places(db, district_id, student_id=student_id):
        for offset in range(7):
            day = monday + timedelta(days=offset)
            if block.occurs_on(day):
                entries.append(
                    {
                        "date": day,
                        "starts_at": block.starts_at.strftime("%H:%M"),
                        "ends_at": block.ends_at.strftime("%H:%M"),
                        "block_id": block.id,
                        "block": block.name,
                        "session_id": assignment.session_id,
                        "session": session_def.title if session_def else None,
                        "room_id": session_def.room_id if session_def else None,
                        "teacher_id": session_def.teacher_id if session_def else None,
                        "reason": assignment.reason,
                    }
                )
    entries.sort(key=lambda e: (e["date"], e["starts_at"]))
    return {"student_id": student_id, "week_of": monday, "sessions": entries}


async def published_places(db: AsyncSession, district_id: str, *, student_id: str) -> list[tuple[Any, Any, Any]]:
    """(block, assignment, session) for a student's places in published schedules."""
    schools: dict[str, Any] = {}
    places = []
    for row in await repo.published_assignments_of(db, district_id, student_id):
        school_id = await repo.school_of_block(db, district_id, row.block_id)
        if school_id is None:
            continue
        if school_id not in schools:
            schools[school_id] = await repo.load_school(db, district_id, school_id)
        school = schools[school_id]
        session_def = next((x for x in school.sessions if x.id == row.session_id), None)
        places.append((school.block(row.block_id), row, session_def))
    return places


async def attendance(
    db: AsyncSession, district_id: str, block_id: str, session_id: str, block_date: date
) -> dict[str, Any]:
    rows = await repo.attendance_of(db, district_id, block_id, session_id, block_date)
    return {
        "block_id": block_id,
        "session_id": session_id,
        "block_date": block_date,
        "marks": [{"student_id": r.student_id, "status": r.status, "taken_by": r.taken_by} for r in rows],
    }


async def placements(db: AsyncSession, district_id: str, block_id: str) -> list[dict[str, Any]]:
    """A block's placements, active, bumped and cancelled."""
    return [
        {
            "id": p.id,
            "student_id": p.student_id,
            "session_id": p.session_id,
            "priority": p.priority.name.lower(),
            "placed_by": p.placed_by,
            "placed_at": p.placed_at.isoformat(),
            "state": p.state,
            "note": p.note,
        }
        for p in await repo.load_placements(db, district_id, block_id)
    ]
