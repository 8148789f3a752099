"""Learner plans in the evidence service's database: the only place their words are kept."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_evidence.adapters.tables import learner_plans, plan_goals, plan_notes

GOAL_FIELDS = (
    "goal_id",
    "what",
    "why",
    "steps",
    "target_date",
    "competency_ids",
    "status",
    "reflection",
    "created_at",
    "updated_at",
)
NOTE_FIELDS = ("note_id", "goal_id", "kind", "author_id", "author_relationship", "text", "written_at")


def _json(row: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    out = {}
    for name in fields:
        value = getattr(row, name)
        out[name] = value.isoformat() if hasattr(value, "isoformat") else value
    return out


async def read_plan(session: AsyncSession, district_id: str, student_id: str) -> dict[str, Any]:
    """The whole plan, goals oldest first, notes newest first; an empty plan when the student has none yet."""
    profile = (
        await session.execute(
            select(learner_plans).where(
                learner_plans.c.district_id == district_id, learner_plans.c.student_id == student_id
            )
        )
    ).first()
    goals = (
        await session.execute(
            select(plan_goals)
            .where(plan_goals.c.district_id == district_id, plan_goals.c.student_id == student_id)
            .order_by(plan_goals.c.created_at, plan_goals.c.goal_id)
        )
    ).all()
    notes = (
        await session.execute(
            select(plan_notes)
            .where(plan_notes.c.district_id == district_id, plan_notes.c.student_id == student_id)
            .order_by(plan_notes.c.written_at.desc(), plan_notes.c.note_id)
        )
    ).all()
    return {
        "student_id": student_id,
        "interests": list(profile.interests) if profile else [],
        "strengths": list(profile.strengths) if profile else [],
        "updated_at": profile.updated_at.isoformat() if profile else None,
        "goals": [_json(g, GOAL_FIELDS) for g in goals],
        "notes": [_json(n, NOTE_FIELDS) for n in notes],
    }


async def save_profile(
    session: AsyncSession, district_id: str, student_id: str, interests: list[str], strengths: list[str], now: datetime
) -> None:
    values = {"interests": interests, "strengths": strengths, "updated_at": now}
    done = await session.execute(
        update(learner_plans)
        .where(learner_plans.c.district_id == district_id, learner_plans.c.student_id == student_id)
        .values(**values)
    )
    if done.rowcount == 0:
        await session.execute(insert(learner_plans).values(district_id=district_id, student_id=student_id, **values))


async def one_goal(session: AsyncSession, district_id: str, student_id: str, goal_id: str) -> dict | None:
    row = (
        await session.execute(
            select(plan_goals).where(
                plan_goals.c.district_id == district_id,
                plan_goals.c.student_id == student_id,
                plan_goals.c.goal_id == goal_id,
            )
        )
    ).first()
    return _row_goal(row) if row else None


def _row_goal(row: Any) -> dict[str, Any]:
    return {name: getattr(row, name) for name in GOAL_FIELDS}


async def add_goal(session: AsyncSession, district_id: str, student_id: str, goal: dict[str, Any]) -> None:
    await session.execute(insert(plan_goals).values(district_id=district_id, student_id=student_id, **goal))


async def change_goal(session: AsyncSession, district_id: str, goal_id: str, changes: dict[str, Any]) -> None:
    await session.execute(
        update(plan_goals)
        .where(plan_goals.c.district_id == district_id, plan_goals.c.goal_id == goal_id)
        .values(**changes)
    )


async def add_note(session: AsyncSession, district_id: str, student_id: str, note: dict[str, Any]) -> None:
    await session.execute(insert(plan_notes).values(district_id=district_id, student_id=student_id, **note))
