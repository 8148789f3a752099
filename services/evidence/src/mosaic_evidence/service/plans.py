"""Learner-plan use cases: read the plan; the student writes it; teachers and guardians comment; teachers review.

The access policy has admitted the caller before these run (api/plans.py declares each route's rule). Each
write checks its input against the roster and framework, writes the words to the database and
decides a LearnerPlanChanged (ids and statuses only); `commands.run_write` commits after the broker's ack.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_events.catalog import LearnerPlanChanged
from mosaic_evidence.adapters import plan_store, reference_store
from mosaic_evidence.domain.plans import GoalChange, GoalDraft, NoteDraft, PlanProfile, plan_event, unknown_student
from mosaic_evidence.domain.plans import relationship as relationship_of
from mosaic_evidence.domain.recording import Problem, Recorder, check_competencies
from mosaic_evidence.domain.reference import ReferenceView
from mosaic_evidence.service.events import envelope_for, keyed_event_id
from mosaic_evidence.service.results import Decision, Done, Refused, Result

PLAN_IDS = uuid.UUID("5f0c2a7e-91d4-4b3a-8e6f-0a1b2c3d4e5f")


async def _view(
    session: AsyncSession, district_id: str, caller: Recorder, student_id: str, refs: Sequence[str] = ()
) -> ReferenceView:
    return await reference_store.load_view_for(
        session, district_id, person_ids={caller.user_id, student_id}, competency_refs=list(refs)
    )


def _why(problems: list[Problem]) -> Refused:
    codes = {p.code for p in problems}
    why: Literal["not_found", "invalid"] = "not_found" if "unknown_student" in codes else "invalid"
    return Refused(why, {"detail": problems[0].message, "problems": [p.as_dict() for p in problems]})


def _refused(problems: list[Problem]) -> Decision:
    return Decision(_why(problems))


def _new_id(district_id: str, key: str | None, what: str) -> str:
    return str(uuid.uuid5(PLAN_IDS, f"{what}|{district_id}|{key}") if key else uuid.uuid4())


def _decided(
    district_id: str, student_id: str, event: LearnerPlanChanged, key: str | None, body: Any, created: bool = False
) -> Decision:
    envelope = envelope_for(event, district_id, subject=student_id, event_id=keyed_event_id(district_id, key, 0))
    return Decision(Done(body, created), [envelope])


async def read_plan(session: AsyncSession, district_id: str, student_id: str, caller: Recorder) -> Result:
    """The plan as the caller may see it (everyone allowed sees all of it)."""
    problems = unknown_student(student_id, await _view(session, district_id, caller, student_id))
    if problems:
        return _why(problems)
    return Done(await plan_store.read_plan(session, district_id, student_id))


async def update_profile(
    session: AsyncSession, district_id: str, student_id: str, profile: PlanProfile, caller: Recorder, key: str | None
) -> Decision:
    problems = unknown_student(student_id, await _view(session, district_id, caller, student_id))
    if problems:
        return _refused(problems)
    await plan_store.save_profile(
        session, district_id, student_id, profile.interests, profile.strengths, datetime.now(UTC)
    )
    event = plan_event(student_id, "plan_updated", caller.user_id)
    return _decided(district_id, student_id, event, key, await plan_store.read_plan(session, district_id, student_id))


def _competencies(refs: list[str], view: ReferenceView) -> tuple[list[str], list[Problem]]:
    problems = check_competencies(refs, view)
    return ([view.resolve_competency(r) for r in refs] if not problems else [], problems)  # type: ignore[misc]


async def set_goal(
    session: AsyncSession, district_id: str, student_id: str, draft: GoalDraft, caller: Recorder, key: str | None
) -> Decision:
    view = await _view(session, district_id, caller, student_id, draft.competency_ids)
    problems = unknown_student(student_id, view)
    competency_ids, unknown = _competencies(draft.competency_ids, view)
    if problems or unknown:
        return _refused(problems or unknown)
    now = datetime.now(UTC)
    goal = {
        "goal_id": _new_id(district_id, key, "goal"),
        "what": draft.what,
        "why": draft.why,
        "steps": draft.steps,
        "target_date": draft.target_date,
        "competency_ids": competency_ids,
        "status": "active",
        "reflection": "",
        "created_at": now,
        "updated_at": now,
    }
    await plan_store.add_goal(session, district_id, student_id, goal)
    body = {
        **goal,
        "target_date": draft.target_date and draft.target_date.isoformat(),
        "created_at": now.isoformat(),
        "updated_at": now.isoformat(),
    }
    return _decided(
        district_id, student_id, plan_event(student_id, "goal_set", caller.user_id, goal=goal), key, body, created=True
    )


async def change_goal(
    session: AsyncSession,
    district_id: str,
    student_id: str,
    goal_id: str,
    change: GoalChange,
    caller: Recorder,
    key: str | None,
) -> Decision:
    view = await _view(session, district_id, caller, student_id, change.competency_ids or [])
    problems = unknown_student(student_id, view)
    if problems:
        return _refused(problems)
    goal = await plan_store.one_goal(session, district_id, student_id, goal_id)
    if goal is None:
        return Decision(Refused("not_found", {"detail": f"student {student_id} has no goal {goal_id}"}))
    changes = change.model_dump(exclude_unset=True)
    if change.competency_ids is not None:
        changes["competency_ids"], unknown = _competencies(change.competency_ids, view)
        if unknown:
            return _refused(unknown)
    changes["updated_at"] = datetime.now(UTC)
    await plan_store.change_goal(session, district_id, goal_id, changes)
    goal.update(changes)
    only_reflected = set(changes) == {"reflection", "updated_at"}
    event = plan_event(student_id, "reflected" if only_reflected else "goal_updated", caller.user_id, goal=goal)
    return _decided(district_id, student_id, event, key, await plan_store.read_plan(session, district_id, student_id))


async def add_note(
    session: AsyncSession,
    district_id: str,
    student_id: str,
    note: NoteDraft,
    kind: str,
    caller: Recorder,
    key: str | None,
) -> Decision:
    """A comment (teacher or guardian) or a conference review (teacher) on the plan or one of its goals."""
    view = await _view(session, district_id, caller, student_id)
    problems = unknown_student(student_id, view)
    if problems:
        return _refused(problems)
    goal = None
    if note.goal_id is not None:
        goal = await plan_store.one_goal(session, district_id, student_id, note.goal_id)
        if goal is None:
            return _refused([Problem("bad_value", "goal_id", f"student {student_id} has no goal {note.goal_id}")])
    now = datetime.now(UTC)
    note_id = _new_id(district_id, key, kind)
    row: dict[str, Any] = {
        "note_id": note_id,
        "goal_id": note.goal_id,
        "kind": kind,
        "author_id": caller.user_id,
        "author_relationship": relationship_of(caller, student_id, view),
        "text": note.text,
        "written_at": now,
    }
    await plan_store.add_note(session, district_id, student_id, row)
    event = plan_event(
        student_id, "reviewed" if kind == "review" else "commented", caller.user_id, goal=goal, note_id=note_id
    )
    return _decided(district_id, student_id, event, key, {**row, "written_at": now.isoformat()}, created=True)
