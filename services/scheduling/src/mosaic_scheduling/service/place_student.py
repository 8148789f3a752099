"""Place a student in a session with a priority class, or cancel a placement; either rebuilds the block."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_events import new_event_id
from mosaic_scheduling.adapters import repository as repo
from mosaic_scheduling.adapters import tables as t
from mosaic_scheduling.domain.model import Placement, Priority, School, Session
from mosaic_scheduling.domain.placements import PlacementRefused, cancel, place
from mosaic_scheduling.domain.regroup import SolverSettings
from mosaic_scheduling.service.outcomes import Conflict, Invalid, NotFound
from mosaic_scheduling.service.rebuild_block import Rebuilt, rebuild_on_request


@dataclass(frozen=True)
class PlacementChanged:
    placement_id: str
    message: str
    rebuilt: Rebuilt
    events: int  # queued in the outbox by the rebuild


async def place_student(
    db: AsyncSession,
    district_id: str,
    block_id: str,
    student_id: str,
    session_id: str,
    priority: Priority,
    placed_by: str,
    note: str,
    solver: SolverSettings,
) -> PlacementChanged:
    """Check the session and the student's support plan, place (bumping a lower class), rebuild; one commit."""
    async with db.begin():
        school = await school_of(db, district_id, block_id)
        target = next((s for s in school.sessions_of(block_id) if s.id == session_id), None)
        if target is None:
            raise Invalid(f"session_id {session_id!r} does not run in block {block_id!r}")
        plan = (
            await db.execute(
                select(t.support_plans).where(
                    t.support_plans.c.district_id == district_id, t.support_plans.c.student_id == student_id
                )
            )
        ).first()
        if plan is not None and priority.binding and target.kind != plan.required_kind:
            raise Conflict(
                f"student {student_id}'s support plan requires a {plan.required_kind} session; "
                f"{target.title} is {target.kind}"
            )
        new = Placement(
            str(new_event_id()),
            block_id,
            student_id,
            session_id,
            priority,
            placed_by,
            datetime.now(UTC),
            "active",
            note,
        )
        try:
            change = place(await repo.load_placements(db, district_id, block_id), new)
        except PlacementRefused as exc:
            raise Conflict(str(exc)) from None
        await repo.save_placements(db, district_id, change.placements)
        rebuilt, events = await rebuild_on_request(db, district_id, block_id, f"placement by {placed_by}", solver)
    return PlacementChanged(new.id, change.message, rebuilt, events)


async def cancel_placement(
    db: AsyncSession, district_id: str, block_id: str, placement_id: str, cancelled_by: str, solver: SolverSettings
) -> PlacementChanged:
    """Cancel; the student it bumped returns where that session still has a seat; rebuild; one commit."""
    async with db.begin():
        school = await school_of(db, district_id, block_id)
        existing = await repo.load_placements(db, district_id, block_id)
        if not any(p.id == placement_id for p in existing):
            raise NotFound(f"no placement {placement_id!r} in block {block_id!r}")
        published = await repo.latest_schedule(db, district_id, block_id)
        seated = Counter(a.session_id for a in (published.assignments if published else []))
        seats = {s.id: _seats(school, s) for s in school.sessions_of(block_id)}
        change = cancel(existing, placement_id, lambda sid: seats.get(sid, 0) - seated.get(sid, 0))
        await repo.save_placements(db, district_id, change.placements)
        rebuilt, events = await rebuild_on_request(
            db, district_id, block_id, f"placement cancelled by {cancelled_by}", solver
        )
    return PlacementChanged(placement_id, change.message, rebuilt, events)


async def school_of(db: AsyncSession, district_id: str, block_id: str) -> School:
    school_id = await repo.school_of_block(db, district_id, block_id)
    if school_id is None:
        raise NotFound(f"no block {block_id!r} in district {district_id!r}")
    return await repo.load_school(db, district_id, school_id)


def _seats(school: School, session: Session) -> int:
    room = school.room(session.room_id)
    seats = room.capacity if room else 0
    return min(seats, session.capacity) if session.capacity else seats
