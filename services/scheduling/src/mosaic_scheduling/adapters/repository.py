"""Reading and writing the scheduling model in the service's own database, scoped by district."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_scheduling.adapters import tables as t
from mosaic_scheduling.domain.model import (
    AvailabilityWindow,
    FlexBlock,
    Level,
    LevelBand,
    Participant,
    Placement,
    PreviousAssignment,
    Priority,
    Room,
    School,
    Session,
    StudentRequest,
    SupportPlan,
    Teacher,
)
from mosaic_scheduling.domain.regroup import Decision


def _hhmm(value: str) -> time:
    return time.fromisoformat(value)


def block_from_row(r: Any) -> FlexBlock:
    return FlexBlock(
        r.id,
        r.school_id,
        r.name,
        r.weekday,
        _hhmm(r.starts_at),
        r.minutes,
        r.starts_on,
        r.until,
        r.every_weeks,
        tuple(r.section_ids or ()),
        tuple(r.student_ids or ()),
    )


def session_from_row(r: Any) -> Session:
    band = LevelBand(r.band_lowest, r.band_highest) if r.band_lowest is not None else None
    return Session(
        r.id,
        r.block_id,
        r.title,
        r.kind,
        r.room_id,
        r.teacher_id,
        tuple(r.competency_ids or ()),
        band,
        r.capacity,
        bool(r.locked),
    )


def teacher_from_row(r: Any) -> Teacher:
    windows = tuple(
        AvailabilityWindow(w["weekday"], _hhmm(w["starts_at"]), _hhmm(w["ends_at"])) for w in r.availability or ()
    )
    return Teacher(r.id, r.school_id, r.name, frozenset(r.expertise or ()), windows)


def placement_from_row(r: Any) -> Placement:
    placed_at = r.placed_at if r.placed_at.tzinfo else r.placed_at.replace(tzinfo=UTC)
    return Placement(
        r.id, r.block_id, r.student_id, r.session_id, Priority(r.priority), r.placed_by, placed_at, r.state, r.note
    )


async def load_school(db: AsyncSession, district_id: str, school_id: str) -> School:
    async def rows(table: Any) -> list[Any]:
        query = select(table).where(table.c.district_id == district_id, table.c.school_id == school_id)
        return list((await db.execute(query.order_by(table.c.id))).all())

    return School(
        school_id,
        tuple(block_from_row(r) for r in await rows(t.blocks)),
        tuple(session_from_row(r) for r in await rows(t.sessions)),
        tuple(Room(r.id, r.school_id, r.name, r.capacity) for r in await rows(t.rooms)),
        tuple(teacher_from_row(r) for r in await rows(t.teachers)),
    )


async def school_of_block(db: AsyncSession, district_id: str, block_id: str) -> str | None:
    return await db.scalar(
        select(t.blocks.c.school_id).where(t.blocks.c.district_id == district_id, t.blocks.c.id == block_id)
    )


async def blocks_with_section(db: AsyncSession, district_id: str, section_id: str) -> list[FlexBlock]:
    rows = (await db.execute(select(t.blocks).where(t.blocks.c.district_id == district_id))).all()
    return [block_from_row(r) for r in rows if section_id in (r.section_ids or ())]


async def participant_ids(db: AsyncSession, district_id: str, block: FlexBlock) -> list[str]:
    """The block's students: those enrolled as students in its sections, plus those named directly."""
    e = t.roster_enrollments
    ids = set(block.student_ids)
    if block.section_ids:
        query = select(e.c.user_id).where(
            e.c.district_id == district_id, e.c.section_id.in_(block.section_ids), e.c.role == "student"
        )
        ids |= set((await db.scalars(query)).all())
    return sorted(ids)


async def load_participants(
    db: AsyncSession, district_id: str, block: FlexBlock, previous: dict[str, PreviousAssignment]
) -> list[Participant]:
    ids = await participant_ids(db, district_id, block)
    levels: dict[str, dict[str, Level]] = defaultdict(dict)
    m = t.mastery_levels
    for chunk in _chunks(ids):
        for r in (await db.execute(select(m).where(m.c.district_id == district_id, m.c.student_id.in_(chunk)))).all():
            levels[r.student_id][r.competency_id] = Level(r.rank, r.label, r.code)
    plans: dict[str, SupportPlan] = {}
    sp = t.support_plans
    for chunk in _chunks(ids):
        for r in (
            await db.execute(select(sp).where(sp.c.district_id == district_id, sp.c.student_id.in_(chunk)))
        ).all():
            plans[r.student_id] = SupportPlan(r.student_id, r.required_kind, r.note)
    q = t.student_requests
    requests = {
        r.student_id: StudentRequest(r.student_id, tuple(r.session_ids))
        for r in (await db.execute(select(q).where(q.c.district_id == district_id, q.c.block_id == block.id))).all()
    }
    return [Participant(i, levels.get(i, {}), plans.get(i), requests.get(i), previous.get(i)) for i in ids]


async def load_placements(db: AsyncSession, district_id: str, block_id: str) -> list[Placement]:
    p = t.placements
    rows = (
        await db.execute(
            select(p).where(p.c.district_id == district_id, p.c.block_id == block_id).order_by(p.c.placed_at, p.c.id)
        )
    ).all()
    return [placement_from_row(r) for r in rows]


async def save_placements(db: AsyncSession, district_id: str, changed: tuple[Placement, ...]) -> None:
    p = t.placements
    for placement in changed:
        values = {
            "block_id": placement.block_id,
            "student_id": placement.student_id,
            "session_id": placement.session_id,
            "priority": int(placement.priority),
            "placed_by": placement.placed_by,
            "placed_at": placement.placed_at,
            "state": placement.state,
            "note": placement.note,
        }
        key = and_(p.c.district_id == district_id, p.c.id == placement.id)
        if await db.scalar(select(func.count()).select_from(p).where(key)):
            await db.execute(update(p).where(key).values(**values))
        else:
            await db.execute(insert(p).values(district_id=district_id, id=placement.id, **values))


@dataclass(frozen=True)
class StoredSchedule:
    block_id: str
    version: int
    school_id: str
    status: str
    trigger: str
    created_at: datetime
    published_at: datetime | None
    method: str
    cost: int | None
    bound: float | None
    causes: list[str]
    notes: list[str]
    assignments: list[Any]


async def latest_schedule(
    db: AsyncSession, district_id: str, block_id: str, status: str | tuple[str, ...] = "published"
) -> StoredSchedule | None:
    s = t.schedules
    statuses = (status,) if isinstance(status, str) else status
    row = (
        await db.execute(
            select(s)
            .where(s.c.district_id == district_id, s.c.block_id == block_id, s.c.status.in_(statuses))
            .order_by(s.c.version.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else await _with_assignments(db, district_id, row)


async def schedule_version(db: AsyncSession, district_id: str, block_id: str, version: int) -> StoredSchedule | None:
    s = t.schedules
    row = (
        await db.execute(
            select(s).where(s.c.district_id == district_id, s.c.block_id == block_id, s.c.version == version)
        )
    ).first()
    return None if row is None else await _with_assignments(db, district_id, row)


async def _with_assignments(db: AsyncSession, district_id: str, row: Any) -> StoredSchedule:
    a = t.schedule_assignments
    assignments = list(
        (
            await db.execute(
                select(a)
                .where(a.c.district_id == district_id, a.c.block_id == row.block_id, a.c.version == row.version)
                .order_by(a.c.student_id)
            )
        ).all()
    )
    return StoredSchedule(
        row.block_id,
        row.version,
        row.school_id,
        row.status,
        row.trigger,
        row.created_at,
        row.published_at,
        row.method,
        row.cost,
        row.bound,
        list(row.causes or []),
        list(row.notes or []),
        assignments,
    )


async def lock_blocks(db: AsyncSession, district_id: str, block_ids: list[str]) -> None:
    """Hold these blocks' rows until commit (PostgreSQL; in id order): one rebuild of a block at a time across
    replicas, so two never read the same latest version and both write the next one."""
    if not block_ids or db.get_bind().dialect.name != "postgresql":
        return
    b = t.blocks
    await db.execute(
        select(b.c.id)
        .where(b.c.district_id == district_id, b.c.id.in_(sorted(set(block_ids))))
        .order_by(b.c.id)
        .with_for_update()
    )


async def next_version(db: AsyncSession, district_id: str, block_id: str) -> int:
    s = t.schedules
    current = await db.scalar(
        select(func.max(s.c.version)).where(s.c.district_id == district_id, s.c.block_id == block_id)
    )
    return (current or 0) + 1


async def version_caused_by(db: AsyncSession, district_id: str, block_id: str, cause_id: str) -> Any:
    """The block's schedule version (number and status) this event already caused, if any."""
    s = t.schedules
    return (
        await db.execute(
            select(s.c.version, s.c.status)
            .where(s.c.district_id == district_id, s.c.block_id == block_id, s.c.cause_event_id == cause_id)
            .order_by(s.c.version)
            .limit(1)
        )
    ).first()


async def save_schedule(
    db: AsyncSession,
    district_id: str,
    school_id: str,
    block_id: str,
    version: int,
    status: str,
    trigger: str,
    cause_event_id: str | None,
    result: Any,
    decisions: tuple[Decision, ...],
) -> None:
    now = datetime.now(UTC)
    await db.execute(
        insert(t.schedules).values(
            district_id=district_id,
            block_id=block_id,
            version=version,
            school_id=school_id,
            status=status,
            trigger=trigger,
            cause_event_id=cause_event_id,
            created_at=now,
            published_at=now if status == "published" else None,
            method=result.method,
            cost=result.cost,
            bound=result.bound,
            causes=list(result.causes),
            notes=list(result.notes),
        )
    )
    if decisions:
        await db.execute(
            insert(t.schedule_assignments),
            [
                {
                    "district_id": district_id,
                    "block_id": block_id,
                    "version": version,
                    "student_id": d.student_id,
                    "session_id": d.session_id,
                    "reason": d.reason,
                    "pinned": d.pinned,
                    "previous_session_id": d.previous_session_id,
                    "fit_key": d.fit_key,
                    "notes": list(d.notes),
                }
                for d in decisions
            ],
        )


async def mark_published(db: AsyncSession, district_id: str, block_id: str, version: int) -> None:
    s = t.schedules
    scope = and_(s.c.district_id == district_id, s.c.block_id == block_id)
    await db.execute(update(s).where(scope, s.c.status == "published").values(status="superseded"))
    await db.execute(
        update(s).where(scope, s.c.version == version).values(status="published", published_at=datetime.now(UTC))
    )


async def publish_mode(db: AsyncSession, district_id: str, school_id: str) -> str:
    mode = await db.scalar(
        select(t.schools.c.publish_mode).where(t.schools.c.district_id == district_id, t.schools.c.id == school_id)
    )
    return mode or "auto"


async def upsert(db: AsyncSession, table: Any, key: dict[str, Any], values: dict[str, Any]) -> None:
    """Insert or update one row by its full primary key. On PostgreSQL one statement, so two replicas writing
    the same row at once (a MasteryChanged and a RegroupNeeded carrying that level) never meet a duplicate key."""
    if db.get_bind().dialect.name == "postgresql":
        statement = pg_insert(table).values(**key, **values)
        await db.execute(
            statement.on_conflict_do_update(index_elements=list(key), set_=values)
            if values
            else statement.on_conflict_do_nothing()
        )
        return
    where = and_(*(table.c[k] == v for k, v in key.items()))
    if await db.scalar(select(func.count()).select_from(table).where(where)):
        if values:
            await db.execute(update(table).where(where).values(**values))
    else:
        await db.execute(insert(table).values(**key, **values))


async def remove(db: AsyncSession, table: Any, key: dict[str, Any]) -> int:
    result = await db.execute(delete(table).where(and_(*(table.c[k] == v for k, v in key.items()))))
    return result.rowcount or 0


def _chunks(ids: list[str], size: int = 500) -> list[list[str]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)] or [[]]


async def block_of_session(db: AsyncSession, district_id: str, session_id: str) -> str | None:
    return await db.scalar(
        select(t.sessions.c.block_id).where(t.sessions.c.district_id == district_id, t.sessions.c.id == session_id)
    )


async def school_of_item(db: AsyncSession, table: Any, district_id: str, item_id: str) -> str | None:
    """The school a block, room or teacher belongs to, or None when the district has no such item."""
    return await db.scalar(select(table.c.school_id).where(table.c.district_id == district_id, table.c.id == item_id))


async def published_assignments_of(db: AsyncSession, district_id: str, student_id: str) -> list[Any]:
    """A student's assignment rows in published schedule versions."""
    s, a = t.schedules, t.schedule_assignments
    query = (
        select(a)
        .join(s, (s.c.district_id == a.c.district_id) & (s.c.block_id == a.c.block_id) & (s.c.version == a.c.version))
        .where(a.c.district_id == district_id, s.c.status == "published", a.c.student_id == student_id)
    )
    return list((await db.execute(query)).all())


async def attendance_of(
    db: AsyncSession, district_id: str, block_id: str, session_id: str, block_date: Any
) -> list[Any]:
    at = t.attendance
    return list(
        (
            await db.execute(
                select(at)
                .where(
                    at.c.district_id == district_id,
                    at.c.block_id == block_id,
                    at.c.session_id == session_id,
                    at.c.block_date == block_date,
                )
                .order_by(at.c.student_id)
            )
        ).all()
    )


async def sessions_led_by(db: AsyncSession, district_id: str, teacher_id: str) -> list[Any]:
    return list(
        (
            await db.execute(
                select(t.sessions).where(t.sessions.c.district_id == district_id, t.sessions.c.teacher_id == teacher_id)
            )
        ).all()
    )


async def school_timezone(db: AsyncSession, district_id: str, school_id: str) -> str | None:
    return await db.scalar(
        select(t.schools.c.timezone).where(t.schools.c.district_id == district_id, t.schools.c.id == school_id)
    )
