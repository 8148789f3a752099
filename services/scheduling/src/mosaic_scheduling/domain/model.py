"""What a school offers in its flex time: blocks, sessions, rooms, teachers and who takes part.

Plain frozen dataclasses; no framework. Times are wall-clock times of the school's day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import IntEnum
from typing import Literal

Weekday = Literal["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
WEEKDAYS: tuple[Weekday, ...] = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")

SessionKind = Literal["skill_group", "project_team", "enrichment", "intervention", "open_studio"]
SESSION_KINDS: tuple[SessionKind, ...] = ("skill_group", "project_team", "enrichment", "intervention", "open_studio")


@dataclass(frozen=True)
class FlexBlock:
    """A recurring slot of flexible time, e.g. WIN time every Thursday 10:00 for 45 minutes."""

    id: str
    school_id: str
    name: str
    weekday: Weekday
    starts_at: time
    minutes: int
    starts_on: date
    until: date | None = None
    every_weeks: int = 1
    section_ids: tuple[str, ...] = ()
    student_ids: tuple[str, ...] = ()

    @property
    def ends_at(self) -> time:
        end = datetime.combine(date.min, self.starts_at) + timedelta(minutes=self.minutes)
        return end.time()

    def occurs_on(self, day: date) -> bool:
        """Whether the block meets on `day` (its weekday, within its dates, on its week rhythm)."""
        if WEEKDAYS[day.weekday()] != self.weekday or day < self.starts_on:
            return False
        if self.until is not None and day > self.until:
            return False
        return ((day - self.starts_on).days // 7) % self.every_weeks == 0

    def next_occurrence(self, on_or_after: date) -> date | None:
        """The first date the block meets on or after `on_or_after`, if it still meets."""
        day = max(on_or_after, self.starts_on)
        for _ in range(7 * self.every_weeks + 7):
            if self.occurs_on(day):
                return day
            day += timedelta(days=1)
        return None


@dataclass(frozen=True)
class Room:
    id: str
    school_id: str
    name: str
    capacity: int


@dataclass(frozen=True)
class AvailabilityWindow:
    """A teacher is free for flex time on this weekday between these times."""

    weekday: Weekday
    starts_at: time
    ends_at: time

    def covers(self, block: FlexBlock) -> bool:
        return self.weekday == block.weekday and self.starts_at <= block.starts_at and block.ends_at <= self.ends_at


@dataclass(frozen=True)
class Teacher:
    id: str
    school_id: str
    name: str
    expertise: frozenset[str] = frozenset()
    availability: tuple[AvailabilityWindow, ...] = ()

    def available_for(self, block: FlexBlock) -> bool:
        return any(window.covers(block) for window in self.availability)


@dataclass(frozen=True)
class LevelBand:
    """Levels a skill group is pitched at, as ranks on the district's scale (0 = lowest)."""

    lowest: int
    highest: int

    def contains(self, rank: int) -> bool:
        return self.lowest <= rank <= self.highest

    def distance(self, rank: int) -> int:
        return max(self.lowest - rank, rank - self.highest, 0)


@dataclass(frozen=True)
class Session:
    """One offering in one block: a skill group, a project team, enrichment, intervention, open studio."""

    id: str
    block_id: str
    title: str
    kind: SessionKind
    room_id: str | None
    teacher_id: str | None
    competency_ids: tuple[str, ...] = ()
    band: LevelBand | None = None
    capacity: int | None = None
    locked: bool = False


@dataclass(frozen=True)
class SupportPlan:
    """A student's plan (e.g. an IEP) requires a kind of session in flex time; placed first."""

    student_id: str
    required_kind: SessionKind
    note: str = ""


class Priority(IntEnum):
    """Placement classes, as flex-period tools rank them; a higher class bumps a lower one."""

    OPEN = 1
    STUDENT_CHOICE = 2
    REQUIRED = 3
    TEACHER_PRIORITY = 4
    ADMIN_REQUIRED = 5

    @property
    def binding(self) -> bool:
        """Required and above hold the student in the session; below that they are preferences."""
        return self >= Priority.REQUIRED


PlacementState = Literal["active", "bumped", "cancelled"]


@dataclass(frozen=True)
class Placement:
    """Someone put a student in a session with a priority class; a teacher's pin is one of these."""

    id: str
    block_id: str
    student_id: str
    session_id: str
    priority: Priority
    placed_by: str
    placed_at: datetime
    state: PlacementState = "active"
    note: str = ""


@dataclass(frozen=True)
class StudentRequest:
    """Voice and choice: the sessions a student asked for, best first."""

    student_id: str
    session_ids: tuple[str, ...]


@dataclass(frozen=True)
class Level:
    """A student's current level on one competency, from the mastery stream."""

    rank: int
    label: str
    code: str | None = None


@dataclass(frozen=True)
class PreviousAssignment:
    """Where a student was in the last published schedule, and the fit data it was decided on."""

    session_id: str
    fit_key: str = ""


@dataclass(frozen=True)
class School:
    """Everything defined for one school's flex time."""

    id: str
    blocks: tuple[FlexBlock, ...] = ()
    sessions: tuple[Session, ...] = ()
    rooms: tuple[Room, ...] = ()
    teachers: tuple[Teacher, ...] = ()

    def sessions_of(self, block_id: str) -> tuple[Session, ...]:
        return tuple(s for s in self.sessions if s.block_id == block_id)

    def room(self, room_id: str | None) -> Room | None:
        return next((r for r in self.rooms if r.id == room_id), None)

    def teacher(self, teacher_id: str | None) -> Teacher | None:
        return next((t for t in self.teachers if t.id == teacher_id), None)

    def block(self, block_id: str) -> FlexBlock | None:
        return next((b for b in self.blocks if b.id == block_id), None)


@dataclass(frozen=True)
class Participant:
    """A student who takes part in a block, with what the engine needs to know about them."""

    id: str
    levels: dict[str, Level] = field(default_factory=dict)
    support_plan: SupportPlan | None = None
    request: StudentRequest | None = None
    previous: PreviousAssignment | None = None
