"""Request and response bodies of the scheduling API (they are its OpenAPI schema)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from functools import cache
from typing import Annotated, Any, Literal
from zoneinfo import available_timezones

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, field_validator

from mosaic_scheduling.domain.model import SessionKind, Weekday

MAX_SEATS = 10_000  # more than any room; keeps every count well inside a database integer
MAX_RANK = 100  # level ranks of a mastery scale
# A schedule version as a path parameter: versions count up from 1, far below a database integer's limit.
Version = Annotated[int, Path(ge=1, le=2_000_000_000, description="the schedule's version")]
PriorityName = Literal["open", "student_choice", "required", "teacher_priority", "admin_required"]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SchoolIn(Body):
    publish_mode: Literal["auto", "approval"] = Field(
        "auto", description="auto: a rebuilt schedule is published at once; approval: it waits as a draft"
    )
    timezone: str = Field("UTC", description="IANA zone the school's blocks are in, e.g. America/Chicago")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value not in _zones():
            raise ValueError(f"{value!r} is not an IANA time zone; use a name like America/Chicago or UTC")
        return value


class BlockIn(Body):
    school_id: str
    name: str = Field(min_length=1)
    weekday: Weekday
    starts_at: time
    minutes: int = Field(gt=0, le=600)
    starts_on: date
    until: date | None = None
    every_weeks: int = Field(1, ge=1, le=8)
    section_ids: list[str] = Field(default_factory=list, description="sections whose students take part")
    student_ids: list[str] = Field(default_factory=list, description="students taking part by name")


class RoomIn(Body):
    school_id: str
    name: str = Field(min_length=1)
    capacity: int = Field(gt=0, le=MAX_SEATS)


class AvailabilityIn(Body):
    weekday: Weekday
    starts_at: time
    ends_at: time


class TeacherIn(Body):
    school_id: str
    name: str = Field(min_length=1)
    expertise: list[str] = Field(default_factory=list, description="competency ids or codes they teach well")
    availability: list[AvailabilityIn] = Field(default_factory=list, description="when they are free for flex time")


class BandIn(Body):
    lowest: int = Field(ge=0, le=MAX_RANK)
    highest: int = Field(ge=0, le=MAX_RANK)


class SessionIn(Body):
    block_id: str
    title: str = Field(min_length=1)
    kind: SessionKind
    room_id: str | None = None
    teacher_id: str | None = None
    competency_ids: list[str] = Field(default_factory=list)
    band: BandIn | None = Field(None, description="level ranks a skill group is pitched at, 0 = lowest")
    capacity: int | None = Field(None, gt=0, le=MAX_SEATS, description="fewer seats than the room, if wanted")
    locked: bool = Field(False, description="a locked group keeps its members and takes nobody new")


class SupportPlanIn(Body):
    required_kind: SessionKind
    note: str = ""


class RequestIn(Body):
    session_ids: list[str] = Field(min_length=1, max_length=5, description="best first")


class PlacementIn(Body):
    student_id: str
    session_id: str
    priority: PriorityName = "teacher_priority"
    note: str = ""


class AttendanceMarkIn(Body):
    student_id: str
    status: Literal["present", "absent", "tardy", "excused"]


class AttendanceIn(Body):
    block_date: date
    marks: list[AttendanceMarkIn] = Field(min_length=1)


class RegroupIn(Body):
    reason: str = Field("teacher request", min_length=1)


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


# --- responses ------------------------------------------------------------------------------------------------


class Open(BaseModel):
    """A response that echoes a definition: the fields named here, and the definition's own beside them."""

    model_config = ConfigDict(extra="allow")


class Rebuilt(BaseModel):
    version: int
    status: str = Field(description="published, draft, unchanged or infeasible")
    causes: list[str]
    events: int


class Defined(Open):
    id: str


class SessionDefined(Defined):
    schedule: Rebuilt | None = Field(description="the block's rebuild; null when regroup=false")


class Removed(BaseModel):
    removed: str


class SessionRemoved(Removed):
    schedule: Rebuilt | None


class Problem(BaseModel):
    field: str
    message: str


class SchoolDefinition(BaseModel):
    school_id: str
    publish_mode: str
    blocks: list[dict[str, Any]]
    rooms: list[dict[str, Any]]
    teachers: list[dict[str, Any]]
    sessions: list[dict[str, Any]]
    problems: list[Problem]


class PlacementChanged(BaseModel):
    id: str
    message: str
    schedule: Rebuilt | None


class PlacementView(BaseModel):
    id: str
    student_id: str
    session_id: str
    priority: PriorityName
    placed_by: str
    placed_at: str
    state: str
    note: str


class SupportPlan(BaseModel):
    student_id: str
    required_kind: SessionKind
    note: str


class SupportPlanEnded(BaseModel):
    student_id: str
    removed: bool


class RequestRecorded(BaseModel):
    block_id: str
    student_id: str
    session_ids: list[str]
    note: str


class BlockRebuilt(Rebuilt):
    block_id: str


class Assignment(BaseModel):
    student_id: str
    session_id: str
    reason: str
    pinned: bool
    notes: list[str]


class ScheduleAssignment(Assignment):
    previous_session_id: str | None


class ScheduleVersion(BaseModel):
    block_id: str
    version: int
    status: str
    trigger: str
    method: str
    cost: int | None
    bound: float | None
    causes: list[str]
    notes: list[str]
    summary: dict[str, int] = Field(description="how many students moved and how many stayed")
    assignments: list[ScheduleAssignment]


class ScheduleDecided(BaseModel):
    block_id: str
    version: int
    status: str
    events: int | None = None


class ScheduleGroup(Open):
    sessions: dict[str, dict[str, Any]]
    students: list[Assignment]
    size: int


class PublishedSchedule(BaseModel):
    block_id: str
    version: int
    published_at: datetime | None
    by: Literal["session", "room", "teacher"]
    groups: list[ScheduleGroup]
    notes: list[str]

    @field_validator("published_at")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        """Stored in UTC; SQLite hands it back without its zone, and a date-time must carry one."""
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class WeekEntry(BaseModel):
    date: date
    starts_at: str
    ends_at: str
    block_id: str
    block: str
    session_id: str
    session: str | None
    room_id: str | None
    teacher_id: str | None
    reason: str


class StudentWeek(BaseModel):
    student_id: str
    week_of: date
    sessions: list[WeekEntry]


class AttendanceTakenView(BaseModel):
    block_id: str
    session_id: str
    block_date: date
    marks: int
    event_id: str


class AttendanceMarkView(BaseModel):
    student_id: str
    status: str
    taken_by: str


class AttendanceView(BaseModel):
    block_id: str
    session_id: str
    block_date: date
    marks: list[AttendanceMarkView]
