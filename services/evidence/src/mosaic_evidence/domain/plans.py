"""Learner plans: what a student writes about their goals, interests and strengths (who may call: access.py).

Pure: the requests people send, how a note's author stands to the student, and the event a change becomes. The
plan's words stay in the database; the event carries ids, statuses and dates only (ADR plans-0009).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mosaic_events.catalog import GoalStatus, LearnerPlanChanged, PlanChange
from mosaic_evidence.domain.recording import DISTRICT_WIDE_ROLES, Problem, Recorder, effective_roles
from mosaic_evidence.domain.reference import ReferenceView

Relationship = Literal["student", "teacher", "guardian", "district"]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PlanProfile(_Request):
    """What the student names about themself."""

    interests: list[str] = Field(default_factory=list, max_length=20)
    strengths: list[str] = Field(default_factory=list, max_length=20)


class GoalDraft(_Request):
    """A goal as the student sets it: what, why, the steps, by when, on which competencies."""

    what: str = Field(min_length=1, max_length=300)
    why: str = Field(default="", max_length=2000)
    steps: list[str] = Field(default_factory=list, max_length=20)
    target_date: date | None = None
    competency_ids: list[str] = Field(default_factory=list, max_length=10)


class GoalChange(_Request):
    """What the student changes on a goal; fields left out stay as they are."""

    what: str | None = Field(default=None, min_length=1, max_length=300)
    why: str | None = Field(default=None, max_length=2000)
    steps: list[str] | None = Field(default=None, max_length=20)
    target_date: date | None = None
    competency_ids: list[str] | None = Field(default=None, max_length=10)
    status: GoalStatus | None = None
    reflection: str | None = Field(default=None, max_length=2000)


class NoteDraft(_Request):
    """A comment on the plan (or one goal), or a review written at a conference."""

    text: str = Field(min_length=1, max_length=2000)
    goal_id: str | None = None


def relationship(reader: Recorder, student_id: str, view: ReferenceView) -> Relationship | None:
    """How a note's author stands to the student (stored with the note); who may call is the access policy's."""
    if reader.user_id == student_id:
        return "student"
    if view.sections_taught_by(reader.user_id) & view.sections_of_student(student_id):
        return "teacher"
    if student_id in view.related_of(reader.user_id) and view.role_of(reader.user_id) != "student":
        return "guardian"
    if effective_roles(reader, view) & DISTRICT_WIDE_ROLES:
        return "district"
    return None


def unknown_student(student_id: str, view: ReferenceView) -> list[Problem]:
    """A plan belongs to a student on the roster; any other id is a 404."""
    if view.role_of(student_id) != "student":
        return [Problem("unknown_student", "student_id", f"no student {student_id!r} in the roster")]
    return []


def plan_event(
    student_id: str,
    change: PlanChange,
    changed_by: str,
    *,
    goal: dict[str, Any] | None = None,
    note_id: str | None = None,
) -> LearnerPlanChanged:
    """The event of a change: ids, status, dates and competencies, never the words."""
    return LearnerPlanChanged(
        student_id=student_id,
        change=change,
        changed_by=changed_by,
        note_id=note_id,
        goal_id=goal["goal_id"] if goal else None,
        goal_status=goal["status"] if goal else None,
        competency_ids=tuple(goal["competency_ids"]) if goal else (),
        target_date=goal["target_date"] if goal else None,
    )
