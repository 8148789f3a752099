"""Use cases around a block's schedule: rebuild it, publish it, and say so on the schedule topic.

Shared by the consumers (a RegroupNeeded) and the API (a teacher's request, a change to the
block's sessions, an approval). Each runs inside the caller's transaction; events go to the outbox.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_events import Envelope, derived_envelope, new_envelope
from mosaic_scheduling.adapters import repository as repo
from mosaic_scheduling.adapters import tables as t
from mosaic_scheduling.domain.model import PreviousAssignment, School
from mosaic_scheduling.domain.publication import Placed, assignment_changes, occurrence, schedule_published
from mosaic_scheduling.domain.regroup import SolverSettings, regroup

PRODUCER = "scheduling"
Emit = Callable[[Envelope], Awaitable[None]]


class NotFound(LookupError):
    """The thing asked for does not exist in this district."""


@dataclass(frozen=True)
class Rebuilt:
    block_id: str
    version: int
    status: str  # published | draft | infeasible
    causes: tuple[str, ...] = ()
    published_events: int = 0


async def rebuild_block(db: AsyncSession, district_id: str, block_id: str, *, trigger: str,
                        cause: Envelope | None, solver: SolverSettings, emit: Emit,
                        draft_only: bool = False) -> Rebuilt:
    """Regroup the block on the latest data; publish it (auto) or keep it as a draft (approval / preview)."""
    school_id = await repo.school_of_block(db, district_id, block_id)
    if school_id is None:
        raise NotFound(f"no block {block_id!r} in district {district_id!r}")
    school = await repo.load_school(db, district_id, school_id)
    block = school.block(block_id)
    published = await repo.latest_schedule(db, district_id, block_id)
    previous = {a.student_id: PreviousAssignment(a.session_id, a.fit_key) for a in (published.assignments
                                                                                     if published else [])}
    participants = await repo.load_participants(db, district_id, block, previous)
    placements = await repo.load_placements(db, district_id, block_id)
    result = await asyncio.to_thread(regroup, school, block_id, participants, placements, solver)
    version = await repo.next_version(db, district_id, block_id)
    cause_id = str(cause.id) if cause is not None else None
    if result.status == "infeasible":
        await repo.save_schedule(db, district_id, school_id, block_id, version, "infeasible", trigger, cause_id,
                                 result, ())
        return Rebuilt(block_id, version, "infeasible", result.causes)
    automatic = not draft_only and await repo.publish_mode(db, district_id, school_id) == "auto"
    await repo.save_schedule(db, district_id, school_id, block_id, version, "draft", trigger, cause_id, result,
                             result.decisions)
    if not automatic:
        return Rebuilt(block_id, version, "draft")
    sent = await publish_version(db, district_id, block_id, version, cause=cause, emit=emit)
    return Rebuilt(block_id, version, "published", published_events=sent)


async def publish_version(db: AsyncSession, district_id: str, block_id: str, version: int, *,
                          cause: Envelope | None, emit: Emit) -> int:
    """Make a draft the published schedule and emit SchedulePublished plus one change per moved student."""
    draft = await repo.schedule_version(db, district_id, block_id, version)
    if draft is None:
        raise NotFound(f"block {block_id!r} has no schedule version {version}")
    if draft.status != "draft":
        raise ValueError(f"schedule version {version} of block {block_id!r} is {draft.status}, not a draft; "
                         "only drafts can be published")
    before = await repo.latest_schedule(db, district_id, block_id)
    school = await repo.load_school(db, district_id, draft.school_id)
    block = school.block(block_id)
    sessions = school.sessions_of(block_id)
    placed = [Placed(a.student_id, a.session_id, a.reason, a.pinned) for a in draft.assignments]
    old = {a.student_id: a.session_id for a in (before.assignments if before else [])}
    when = occurrence(block, datetime.now(UTC).date(), await _timezone(db, district_id, school))
    schedule = schedule_published(block, sessions, placed, version, draft.trigger, when)
    header = (derived_envelope(cause, schedule, producer=PRODUCER, discriminators=(block_id, str(version)),
                               school_id=block.school_id, subject=None) if cause is not None
              else new_envelope(schedule, district_id=district_id, producer=PRODUCER, school_id=block.school_id))
    await repo.mark_published(db, district_id, block_id, version)
    await emit(header)
    changes = assignment_changes(block, sessions, placed, old, version, when)
    for change in changes:
        await emit(derived_envelope(header, change, producer=PRODUCER, discriminators=(change.student_id,),
                                    subject=change.student_id))
    return 1 + len(changes)


async def _timezone(db: AsyncSession, district_id: str, school: School) -> str:
    zone = await db.scalar(select(t.schools.c.timezone).where(t.schools.c.district_id == district_id,
                                                              t.schools.c.id == school.id))
    return zone or "UTC"
