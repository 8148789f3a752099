"""Refuse bad flex-time definitions with reasons a scheduler can act on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from itertools import combinations

from mosaic_scheduling.domain.model import FlexBlock, School, Session


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition: where (`field`) and what to do about it (`message`)."""

    field: str
    message: str


class DefinitionRefused(ValueError):
    """A school's flex-time definition breaks a rule; `problems` lists every reason."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))


def blocks_overlap(a: FlexBlock, b: FlexBlock) -> bool:
    """Whether two blocks ever meet at the same time on the same date."""
    if a.weekday != b.weekday or not (a.starts_at < b.ends_at and b.starts_at < a.ends_at):
        return False
    first = max(a.starts_on, b.starts_on)
    last = min(a.until or date.max, b.until or date.max)
    day = a.next_occurrence(first)
    horizon = first + timedelta(weeks=a.every_weeks * b.every_weeks + 1)
    while day is not None and day <= last and day <= horizon:
        if b.occurs_on(day):
            return True
        day = a.next_occurrence(day + timedelta(days=1))
    return False


def validate_school(school: School) -> list[Problem]:
    """Every problem with the school's definition; an empty list means it can be scheduled."""
    return [
        *_block_problems(school),
        *_room_and_teacher_problems(school),
        *_session_problems(school),
        *_double_bookings(school),
    ]


def ensure_valid(school: School) -> None:
    problems = validate_school(school)
    if problems:
        raise DefinitionRefused(problems)


def _block_problems(school: School) -> list[Problem]:
    problems = []
    for block in school.blocks:
        where = f"blocks[{block.id}]"
        if block.minutes <= 0:
            problems.append(Problem(f"{where}.minutes", f"must be positive, got {block.minutes}"))
        if block.every_weeks < 1:
            problems.append(Problem(f"{where}.every_weeks", f"must be 1 or more, got {block.every_weeks}"))
        if block.until is not None and block.until < block.starts_on:
            problems.append(Problem(f"{where}.until", f"{block.until} is before starts_on {block.starts_on}"))
    for a, b in combinations(school.blocks, 2):
        if a.minutes > 0 and b.minutes > 0 and a.every_weeks >= 1 and b.every_weeks >= 1 and blocks_overlap(a, b):
            problems.append(
                Problem(
                    f"blocks[{b.id}]",
                    f"overlaps block {a.id!r} ({a.weekday} {a.starts_at:%H:%M}-{a.ends_at:%H:%M}); "
                    "move one of them or end one before the other starts",
                )
            )
    return problems


def _room_and_teacher_problems(school: School) -> list[Problem]:
    problems = [
        Problem(f"rooms[{r.id}].capacity", f"must be positive, got {r.capacity}")
        for r in school.rooms
        if r.capacity <= 0
    ]
    for teacher in school.teachers:
        for i, window in enumerate(teacher.availability):
            if window.ends_at <= window.starts_at:
                problems.append(
                    Problem(
                        f"teachers[{teacher.id}].availability[{i}]",
                        f"ends at {window.ends_at} which is not after its start {window.starts_at}",
                    )
                )
    return problems


def _session_problems(school: School) -> list[Problem]:
    problems = []
    for session in school.sessions:
        problems += _one_session_problems(school, session)
    return problems


def _one_session_problems(school: School, session: Session) -> list[Problem]:
    where = f"sessions[{session.id}]"
    problems = []
    if school.block(session.block_id) is None:
        problems.append(Problem(f"{where}.block_id", f"no block {session.block_id!r} in school {school.id}"))
    if session.room_id is None:
        problems.append(Problem(f"{where}.room_id", "a session needs a room; assign one before scheduling"))
    elif school.room(session.room_id) is None:
        problems.append(Problem(f"{where}.room_id", f"no room {session.room_id!r} in school {school.id}"))
    if session.teacher_id is not None and school.teacher(session.teacher_id) is None:
        problems.append(Problem(f"{where}.teacher_id", f"no teacher {session.teacher_id!r} in school {school.id}"))
    if session.capacity is not None and session.capacity <= 0:
        problems.append(Problem(f"{where}.capacity", f"must be positive when given, got {session.capacity}"))
    if session.kind == "skill_group" and not session.competency_ids:
        problems.append(Problem(f"{where}.competency_ids", "a skill group needs at least one competency"))
    if session.kind == "skill_group" and session.band is None:
        problems.append(Problem(f"{where}.band", "a skill group needs a level band (lowest and highest rank)"))
    if session.band is not None and session.band.lowest > session.band.highest:
        problems.append(
            Problem(f"{where}.band", f"lowest rank {session.band.lowest} is above highest {session.band.highest}")
        )
    return problems


def _double_bookings(school: School) -> list[Problem]:
    """A teacher or a room in two places at once: same block, or blocks that overlap."""
    problems = []
    blocks = {b.id: b for b in school.blocks}
    for a, b in combinations(school.sessions, 2):
        same_time = a.block_id == b.block_id or (
            a.block_id in blocks and b.block_id in blocks and blocks_overlap(blocks[a.block_id], blocks[b.block_id])
        )
        if not same_time:
            continue
        if a.teacher_id is not None and a.teacher_id == b.teacher_id:
            problems.append(
                Problem(
                    f"sessions[{b.id}].teacher_id",
                    f"teacher {b.teacher_id!r} already leads session {a.id!r} at the same time",
                )
            )
        if a.room_id is not None and a.room_id == b.room_id:
            problems.append(
                Problem(
                    f"sessions[{b.id}].room_id", f"room {b.room_id!r} already holds session {a.id!r} at the same time"
                )
            )
    return problems
