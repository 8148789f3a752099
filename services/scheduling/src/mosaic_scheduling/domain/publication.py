"""What a published schedule says on the schedule topic: the whole block, and each student who moved."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from mosaic_events.catalog import Assignment, GroupAssignmentChanged, ScheduledSession, SchedulePublished
from mosaic_scheduling.domain.model import FlexBlock, Session


@dataclass(frozen=True)
class Placed:
    """One student's place in a schedule as stored (a decision, or a draft's row)."""

    student_id: str
    session_id: str
    reason: str
    pinned: bool = False


def occurrence(block: FlexBlock, on_or_after: date, timezone: str) -> tuple[date, datetime, datetime]:
    """The next meeting of the block (or its first one), as a date and zone-aware start and end."""
    day = block.next_occurrence(on_or_after) or block.starts_on
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, block.starts_at, tzinfo=zone)
    end = datetime.combine(day, block.ends_at, tzinfo=zone)
    return day, start, end


def schedule_published(
    block: FlexBlock,
    sessions: Sequence[Session],
    placed: Sequence[Placed],
    version: int,
    trigger: str,
    when: tuple[date, datetime, datetime],
) -> SchedulePublished:
    day, start, end = when
    return SchedulePublished(
        block_id=block.id,
        school_id=block.school_id,
        block_date=day,
        starts_at=start,
        ends_at=end,
        schedule_version=version,
        trigger=trigger,
        sessions=tuple(
            ScheduledSession(
                session_id=s.id,
                title=s.title,
                kind=s.kind,
                room_id=s.room_id,
                teacher_id=s.teacher_id,
                competency_ids=s.competency_ids,
            )
            for s in sessions
        ),
        assignments=tuple(
            Assignment(student_id=p.student_id, session_id=p.session_id, reason=p.reason, pinned=p.pinned)
            for p in placed
        ),
    )


def assignment_changes(
    block: FlexBlock,
    sessions: Sequence[Session],
    placed: Sequence[Placed],
    before: Mapping[str, str],
    version: int,
    when: tuple[date, datetime, datetime],
) -> list[GroupAssignmentChanged]:
    """One change per student whose session differs from the last published schedule (new students too)."""
    by_id = {s.id: s for s in sessions}
    _, start, end = when
    changes = []
    for p in placed:
        if before.get(p.student_id) == p.session_id:
            continue
        session = by_id[p.session_id]
        changes.append(
            GroupAssignmentChanged(
                block_id=block.id,
                school_id=block.school_id,
                student_id=p.student_id,
                old_session_id=before.get(p.student_id),
                new_session_id=p.session_id,
                session_title=session.title,
                session_kind=session.kind,
                room_id=session.room_id,
                teacher_id=session.teacher_id,
                starts_at=start,
                ends_at=end,
                reason=p.reason,
                schedule_version=version,
            )
        )
    return changes
