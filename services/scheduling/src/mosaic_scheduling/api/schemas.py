"""Request and response bodies of the scheduling API (they are its OpenAPI schema)."""

from __future__ import annotations

from datetime import date, time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mosaic_scheduling.domain.model import SessionKind, Weekday

PriorityName = Literal["open", "student_choice", "required", "teacher_priority", "admin_required"]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SchoolIn(Body):
    publish_mode: Literal["auto", "approval"] = Field(
        "auto", description="auto: a rebuilt schedule is published at once; approval: it waits as a draft")
    timezone: str = Field("UTC", description="IANA zone the school's blocks are in, e.g. America/Chicago")


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
    capacity: int = Field(gt=0)


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
    lowest: int = Field(ge=0)
    highest: int = Field(ge=0)


class SessionIn(Body):
    block_id: str
    title: str = Field(min_length=1)
    kind: SessionKind
    room_id: str | None = None
    teacher_id: str | None = None
    competency_ids: list[str] = Field(default_factory=list)
    band: BandIn | None = Field(None, description="level ranks a skill group is pitched at, 0 = lowest")
    capacity: int | None = Field(None, gt=0, description="fewer seats than the room, if wanted")
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
