"""Learner plans: topic mosaic.plans.v1, keyed by student, kept a year (not forever).

Only ids, statuses, dates and competency ids travel here; what people wrote (goals in words, reflections,
comments, reviews) stays in the evidence service's database, where erasing a person erases it (ADR plans-0009).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from mosaic_events.registry import EventData, register

GoalStatus = Literal["active", "achieved", "paused", "dropped"]
PlanChange = Literal["plan_updated", "goal_set", "goal_updated", "reflected", "commented", "reviewed"]


@register
class LearnerPlanChanged(EventData):
    """A student's plan changed: the student set or changed a goal or the plan, or someone commented or reviewed it."""

    event_type = "LearnerPlanChanged"

    student_id: str
    change: PlanChange
    changed_by: str = Field(description="the person's id (the student, a teacher or a guardian)")
    goal_id: str | None = None
    goal_status: GoalStatus | None = None
    competency_ids: tuple[str, ...] = ()
    target_date: date | None = None
    note_id: str | None = Field(default=None, description="the comment or review, readable in the evidence API")
