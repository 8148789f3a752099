"""Teachers lead: placements with priority classes (a pin is a teacher-priority placement), support
plans and students' requests. A placement or its cancellation rebuilds the block."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, status

from mosaic_runtime.access import Decision, Rule, allow, insist
from mosaic_runtime.app import Context, Session
from mosaic_runtime.auth import DistrictPrincipal
from mosaic_runtime.publishing import publisher_of
from mosaic_runtime.responses import errors
from mosaic_scheduling.api.deps import not_found, referents_exist, schedule_answer, solver_of
from mosaic_scheduling.api.schemas import (
    PlacementChanged,
    PlacementIn,
    PlacementView,
    RequestIn,
    RequestRecorded,
    SupportPlan,
    SupportPlanEnded,
    SupportPlanIn,
)
from mosaic_scheduling.domain.model import Priority
from mosaic_scheduling.service import read_schedules
from mosaic_scheduling.service.outcomes import Conflict, Invalid, NotFound
from mosaic_scheduling.service.place_student import cancel_placement as cancel_placement_of
from mosaic_scheduling.service.place_student import place_student
from mosaic_scheduling.service.request_sessions import request_sessions
from mosaic_scheduling.service.support_plan import end_support_plan, set_support_plan

router = APIRouter(prefix="/v1/districts/{district_id}", tags=["placements"])
PLACING = allow(Rule.PLACEMENT)


@router.post(
    "/blocks/{block_id}/placements",
    response_model=PlacementChanged,
    responses=errors(409),
    status_code=201,
    summary="Place a student in a session with a priority class; a higher class bumps a lower one",
    dependencies=[Depends(PLACING), Depends(referents_exist)],
)
async def create_placement(
    district_id: str,
    block_id: str,
    body: PlacementIn,
    principal: DistrictPrincipal,
    session: Session,
    ctx: Context,
    access: Annotated[Decision, Depends(PLACING)],
) -> dict[str, Any]:
    priority = Priority[body.priority.upper()]
    if priority > Priority.STUDENT_CHOICE or principal.user_id != body.student_id:
        insist(
            access,
            Rule.SCHOOL_SETUP if priority == Priority.ADMIN_REQUIRED else Rule.BLOCK_WORK,
            f"a {body.priority} placement",
        )
    try:
        placed = await place_student(
            session,
            district_id,
            block_id,
            body.student_id,
            body.session_id,
            priority,
            principal.user_id,
            body.note,
            solver_of(ctx),
        )
    except NotFound as exc:
        raise not_found(str(exc)) from None
    except Invalid as exc:
        raise HTTPException(422, detail=str(exc)) from None
    except Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
    publisher_of(ctx).committed()
    return {
        "id": placed.placement_id,
        "message": placed.message,
        "schedule": schedule_answer(placed.rebuilt, placed.events),
    }


@router.delete(
    "/blocks/{block_id}/placements/{placement_id}",
    response_model=PlacementChanged,
    responses=errors(409),
    summary="Cancel a placement; the student returns to the one it bumped if that session has room",
    dependencies=[Depends(allow(Rule.BLOCK_WORK))],
)
async def cancel_placement(
    district_id: str, block_id: str, placement_id: str, principal: DistrictPrincipal, session: Session, ctx: Context
) -> dict[str, Any]:
    try:
        cancelled = await cancel_placement_of(
            session, district_id, block_id, placement_id, principal.user_id, solver_of(ctx)
        )
    except NotFound as exc:
        raise not_found(str(exc)) from None
    except Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
    publisher_of(ctx).committed()
    return {
        "id": placement_id,
        "message": cancelled.message,
        "schedule": schedule_answer(cancelled.rebuilt, cancelled.events),
    }


@router.get(
    "/blocks/{block_id}/placements",
    response_model=list[PlacementView],
    summary="A block's placements, active, bumped and cancelled",
    dependencies=[Depends(allow(Rule.BLOCK_DATA))],
)
async def list_placements(district_id: str, block_id: str, session: Session) -> list[dict[str, Any]]:
    return await read_schedules.placements(session, district_id, block_id)


@router.put(
    "/students/{student_id}/support-plan",
    response_model=SupportPlan,
    summary="A student's support plan: the session kind required",
    dependencies=[Depends(allow(Rule.STUDENT_PLAN)), Depends(referents_exist)],
)
async def put_support_plan(district_id: str, student_id: str, body: SupportPlanIn, session: Session) -> dict[str, Any]:
    await set_support_plan(session, district_id, student_id, body.model_dump())
    return {"student_id": student_id, **body.model_dump()}


@router.delete(
    "/students/{student_id}/support-plan",
    response_model=SupportPlanEnded,
    summary="End a student's support plan",
    dependencies=[Depends(allow(Rule.STUDENT_PLAN))],
)
async def delete_support_plan(district_id: str, student_id: str, session: Session) -> dict[str, Any]:
    try:
        await end_support_plan(session, district_id, student_id)
    except NotFound as exc:
        raise not_found(str(exc)) from None
    return {"student_id": student_id, "removed": True}


@router.put(
    "/blocks/{block_id}/requests/{student_id}",
    response_model=RequestRecorded,
    summary="A student's requested sessions, best first",
    dependencies=[Depends(allow(Rule.STUDENT_REQUEST)), Depends(referents_exist)],
)
async def put_request(
    district_id: str, block_id: str, student_id: str, body: RequestIn, session: Session
) -> dict[str, Any]:
    try:
        await request_sessions(session, district_id, block_id, student_id, body.session_ids)
    except NotFound as exc:
        raise not_found(str(exc)) from None
    except Invalid as exc:
        raise HTTPException(422, detail=str(exc)) from None
    return {
        "block_id": block_id,
        "student_id": student_id,
        "session_ids": body.session_ids,
        "note": "honoured at the next regroup where no hard limit prevents it",
    }
