"""Flexible schedules: topic mosaic.schedule.v1, keyed by flex block."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mosaic_events.registry import EventData, register


class ScheduledSession(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    session_id: str
    title: str
    kind: str
    room_id: str | None = None
    teacher_id: str | None = None
    competency_ids: tuple[str, ...] = ()


class Assignment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    student_id: str
    session_id: str
    reason: str
    pinned: bool = False


@register
class SchedulePublished(EventData):
    """The whole schedule of one flex block occurrence, as published."""

    event_type = "SchedulePublished"
    key_field = "block_id"

    block_id: str
    school_id: str
    block_date: date | None = None
    starts_at: datetime
    ends_at: datetime
    schedule_version: int
    trigger: str
    sessions: tuple[ScheduledSession, ...]
    assignments: tuple[Assignment, ...]


@register
class GroupAssignmentChangedV1(EventData):
    """One student's session in a flex block changed."""

    event_type = "GroupAssignmentChanged"
    key_field = "block_id"

    block_id: str
    school_id: str
    student_id: str
    old_session_id: str | None
    new_session_id: str
    session_title: str
    session_kind: str
    room_id: str | None = None
    teacher_id: str | None = None
    starts_at: datetime
    ends_at: datetime
    reason: str
    schedule_version: int


@register
class GroupAssignmentChanged(EventData):
    """One student's session in a flex block changed. Version 2: a student may leave the block (no new
    session, and none of the session's details)."""

    event_type = "GroupAssignmentChanged"
    version = 2
    key_field = "block_id"

    block_id: str
    school_id: str
    student_id: str
    old_session_id: str | None
    new_session_id: str | None = Field(description="absent when the student left the block")
    session_title: str | None
    session_kind: str | None
    room_id: str | None = None
    teacher_id: str | None = None
    starts_at: datetime | None
    ends_at: datetime | None
    reason: str
    schedule_version: int

    @property
    def left_block(self) -> bool:
        return self.new_session_id is None

    @model_validator(mode="after")
    def _a_session_has_its_details(self) -> GroupAssignmentChanged:
        details = (self.session_title, self.session_kind, self.starts_at, self.ends_at)
        if self.new_session_id is not None and any(d is None for d in details):
            raise ValueError("a new session needs session_title, session_kind, starts_at and ends_at")
        if self.new_session_id is None and any(d is not None for d in (*details, self.room_id, self.teacher_id)):
            raise ValueError("a student who left the block has no session details")
        return self


class AttendanceMark(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    student_id: str
    status: Literal["present", "absent", "tardy", "excused"]


@register
class AttendanceTaken(EventData):
    """A teacher took attendance for one session, for the student information system."""

    event_type = "AttendanceTaken"
    key_field = "block_id"

    block_id: str
    session_id: str
    school_id: str
    taken_by: str
    block_date: date
    marks: tuple[AttendanceMark, ...]
