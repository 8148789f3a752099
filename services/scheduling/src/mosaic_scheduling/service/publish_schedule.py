"""Publish a block's schedule version and say so on the schedule topic; or discard a draft."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_events import Envelope, derived_envelope, new_envelope
from mosaic_scheduling.adapters import repository as repo
from mosaic_scheduling.adapters import tables as t
from mosaic_scheduling.domain.model import School
from mosaic_scheduling.domain.publication import Placed, assignment_changes, occurrence, schedule_published
from mosaic_scheduling.service.outcomes import Emit, NotADraft, NotFound, block_of, emit_to_outbox

PRODUCER = "scheduling"


async def publish_draft(db: AsyncSession, district_id: str, block_id: str, version: int) -> int:
    """An approval: publish the draft in one transaction; returns how many events went to the outbox."""
    sent: list[Envelope] = []
    async with db.begin():
        await publish_version(db, district_id, block_id, version, cause=None, emit=emit_to_outbox(db, sent))
    return len(sent)


async def discard_draft(db: AsyncSession, district_id: str, block_id: str, version: int) -> None:
    s = t.schedules
    async with db.begin():
        result = await db.execute(
            update(s)
            .where(
                s.c.district_id == district_id, s.c.block_id == block_id, s.c.version == version, s.c.status == "draft"
            )
            .values(status="discarded")
        )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotADraft(f"version {version} of {block_id!r} is not a draft")


async def publish_version(
    db: AsyncSession, district_id: str, block_id: str, version: int, *, cause: Envelope | None, emit: Emit
) -> int:
    """Make a draft the published schedule and emit SchedulePublished plus one change per moved student."""
    draft = await repo.schedule_version(db, district_id, block_id, version)
    if draft is None:
        raise NotFound(f"block {block_id!r} has no schedule version {version}")
    if draft.status != "draft":
        raise NotADraft(
            f"schedule version {version} of block {block_id!r} is {draft.status}, not a draft; "
            "only drafts can be published"
        )
    before = await repo.latest_schedule(db, district_id, block_id)
    school = await repo.load_school(db, district_id, draft.school_id)
    block = block_of(school, block_id)
    sessions = school.sessions_of(block_id)
    placed = [Placed(a.student_id, a.session_id, a.reason, a.pinned) for a in draft.assignments]
    old = {a.student_id: a.session_id for a in (before.assignments if before else [])}
    when = occurrence(block, datetime.now(UTC).date(), await _timezone(db, district_id, school))
    schedule = schedule_published(block, sessions, placed, version, draft.trigger, when)
    header = (
        derived_envelope(
            cause,
            schedule,
            producer=PRODUCER,
            discriminators=(block_id, str(version)),
            school_id=block.school_id,
            subject=None,
        )
        if cause is not None
        else new_envelope(schedule, district_id=district_id, producer=PRODUCER, school_id=block.school_id)
    )
    await repo.mark_published(db, district_id, block_id, version)
    await emit(header)
    changes = assignment_changes(block, sessions, placed, old, version, when)
    for change in changes:
        await emit(
            derived_envelope(
                header, change, producer=PRODUCER, discriminators=(change.student_id,), subject=change.student_id
            )
        )
    return 1 + len(changes)


async def _timezone(db: AsyncSession, district_id: str, school: School) -> str:
    zone = await db.scalar(
        select(t.schools.c.timezone).where(t.schools.c.district_id == district_id, t.schools.c.id == school.id)
    )
    return zone or "UTC"
