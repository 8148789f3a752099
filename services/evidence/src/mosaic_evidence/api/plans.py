"""A student's learner plan: the student writes it; their teachers and guardians read and comment; teachers
add conference reviews; district administrators read."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from mosaic_evidence.api.deps import IdempotencyKey, found, recorder, write
from mosaic_evidence.domain.plans import GoalChange, GoalDraft, NoteDraft, PlanProfile
from mosaic_evidence.service import plans
from mosaic_runtime.access import Rule, allow
from mosaic_runtime.app import Context, Session
from mosaic_runtime.auth import DistrictPrincipal

router = APIRouter(prefix="/v1/districts/{district_id}/students/{student_id}/plan", tags=["learner plans"])

# Who may call each route is the access table's (docs/access.md); a caller refused a student gets the 404 of
# an unknown one.
READING = [Depends(allow(Rule.LEARNER_PLAN))]
WRITING = [Depends(allow(Rule.PLAN_WRITING))]
COMMENTING = [Depends(allow(Rule.PLAN_COMMENT))]
REVIEWING = [Depends(allow(Rule.PLAN_REVIEW))]

REFUSAL: dict[str, Any] = {"description": "refused: which field is wrong; nothing was written"}
RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such student or goal, or not one you may do this for"},
    422: REFUSAL,
    503: {"description": "Kafka did not acknowledge the event; nothing was written, retry"},
}


async def _write(ctx, district_id: str, path: str, body: Any, decide, key: str | None):
    return await write(ctx, district_id, decide, key=key, request={"path": path, "body": body.model_dump(mode="json")})


@router.get(
    "", responses=RESPONSES, summary="The plan: interests, strengths, goals, comments and reviews", dependencies=READING
)
async def read_plan(district_id: str, student_id: str, principal: DistrictPrincipal, session: Session):
    return found(await plans.read_plan(session, district_id, student_id, recorder(principal)))


@router.put("", responses=RESPONSES, summary="The student names their interests and strengths", dependencies=WRITING)
async def update_profile(
    district_id: str,
    student_id: str,
    profile: PlanProfile,
    principal: DistrictPrincipal,
    ctx: Context,
    idempotency_key: IdempotencyKey = None,
):
    caller = recorder(principal)
    return await _write(
        ctx,
        district_id,
        f"plan/{student_id}",
        profile,
        lambda s: plans.update_profile(s, district_id, student_id, profile, caller, idempotency_key),
        idempotency_key,
    )


@router.post(
    "/goals",
    status_code=201,
    responses=RESPONSES,
    summary="The student sets a goal on competencies",
    dependencies=WRITING,
)
async def set_goal(
    district_id: str,
    student_id: str,
    goal: GoalDraft,
    principal: DistrictPrincipal,
    ctx: Context,
    idempotency_key: IdempotencyKey = None,
):
    caller = recorder(principal)
    return await _write(
        ctx,
        district_id,
        f"goal/{student_id}",
        goal,
        lambda s: plans.set_goal(s, district_id, student_id, goal, caller, idempotency_key),
        idempotency_key,
    )


@router.patch(
    "/goals/{goal_id}",
    responses=RESPONSES,
    summary="The student changes a goal: its words, steps, date, status, or reflects on it",
    dependencies=WRITING,
)
async def change_goal(
    district_id: str,
    student_id: str,
    goal_id: str,
    change: GoalChange,
    principal: DistrictPrincipal,
    ctx: Context,
    idempotency_key: IdempotencyKey = None,
):
    caller = recorder(principal)
    return await _write(
        ctx,
        district_id,
        f"goal/{student_id}/{goal_id}",
        change,
        lambda s: plans.change_goal(s, district_id, student_id, goal_id, change, caller, idempotency_key),
        idempotency_key,
    )


@router.post(
    "/comments",
    status_code=201,
    responses=RESPONSES,
    summary="A teacher of the student's sections or a guardian comments on the plan or a goal",
    dependencies=COMMENTING,
)
async def comment(
    district_id: str,
    student_id: str,
    note: NoteDraft,
    principal: DistrictPrincipal,
    ctx: Context,
    idempotency_key: IdempotencyKey = None,
):
    caller = recorder(principal)
    return await _write(
        ctx,
        district_id,
        f"comment/{student_id}",
        note,
        lambda s: plans.add_note(s, district_id, student_id, note, "comment", caller, idempotency_key),
        idempotency_key,
    )


@router.post(
    "/reviews",
    status_code=201,
    responses=RESPONSES,
    summary="A teacher of the student's sections records a review at a conference",
    dependencies=REVIEWING,
)
async def review(
    district_id: str,
    student_id: str,
    note: NoteDraft,
    principal: DistrictPrincipal,
    ctx: Context,
    idempotency_key: IdempotencyKey = None,
):
    caller = recorder(principal)
    return await _write(
        ctx,
        district_id,
        f"review/{student_id}",
        note,
        lambda s: plans.add_note(s, district_id, student_id, note, "review", caller, idempotency_key),
        idempotency_key,
    )
