"""Defining a school's flex time: blocks, rooms, teachers and sessions. Bad definitions are refused
with every reason; a change to a block's sessions rebuilds that block's schedule."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_runtime.access import Rule, allow
from mosaic_runtime.app import Context, Session
from mosaic_runtime.publishing import publisher_of
from mosaic_runtime.responses import errors
from mosaic_scheduling.api.deps import not_found, referents_exist, refused, schedule_answer, solver_of
from mosaic_scheduling.api.schemas import (
    BlockIn,
    Defined,
    Removed,
    RoomIn,
    SchoolDefinition,
    SchoolIn,
    SessionDefined,
    SessionIn,
    SessionRemoved,
    TeacherIn,
)
from mosaic_scheduling.service.define_school import (
    DefinitionRefused,
    Kind,
    define_item,
    define_school,
    define_session,
    remove_item,
    remove_session,
)
from mosaic_scheduling.service.outcomes import NotFound, RebuiltConcurrently
from mosaic_scheduling.service.read_definition import school_definition

router = APIRouter(prefix="/v1/districts/{district_id}", tags=["definitions"])
SETUP = [Depends(allow(Rule.SCHOOL_SETUP))]
SETUP_OF_KNOWN_SCHOOL = [*SETUP, Depends(referents_exist)]
Regroup = Annotated[bool, Query(description="rebuild the block's schedule now (false when setting up in bulk)")]


@router.put(
    "/schools/{school_id}",
    response_model=Defined,
    summary="A school's publishing mode (auto or approval) and time zone",
    dependencies=SETUP_OF_KNOWN_SCHOOL,
)
async def put_school(district_id: str, school_id: str, body: SchoolIn, session: Session) -> dict[str, Any]:
    await define_school(session, district_id, school_id, body.model_dump())
    return {"id": school_id, **body.model_dump()}


@router.put(
    "/blocks/{block_id}",
    response_model=Defined,
    summary="Define or change a flex block (refused if it overlaps another)",
    dependencies=SETUP_OF_KNOWN_SCHOOL,
)
async def put_block(district_id: str, block_id: str, body: BlockIn, session: Session) -> dict[str, Any]:
    values = body.model_dump(mode="json")
    values.update(starts_on=body.starts_on, until=body.until, starts_at=body.starts_at.strftime("%H:%M"))
    return await _define(session, district_id, "blocks", block_id, body.school_id, values)


@router.put(
    "/rooms/{room_id}",
    response_model=Defined,
    summary="Define or change a room and its capacity",
    dependencies=SETUP_OF_KNOWN_SCHOOL,
)
async def put_room(district_id: str, room_id: str, body: RoomIn, session: Session) -> dict[str, Any]:
    return await _define(session, district_id, "rooms", room_id, body.school_id, body.model_dump())


@router.put(
    "/teachers/{teacher_id}",
    response_model=Defined,
    summary="Define a teacher's expertise and flex-time availability",
    dependencies=SETUP_OF_KNOWN_SCHOOL,
)
async def put_teacher(district_id: str, teacher_id: str, body: TeacherIn, session: Session) -> dict[str, Any]:
    values = body.model_dump(mode="json")
    values["availability"] = [
        {**w, "starts_at": w["starts_at"][:5], "ends_at": w["ends_at"][:5]} for w in values["availability"]
    ]
    return await _define(session, district_id, "teachers", teacher_id, body.school_id, values)


@router.put(
    "/sessions/{session_id}",
    response_model=SessionDefined,
    responses=errors(409),
    summary="Define or change a session; its block is rebuilt",
    dependencies=SETUP,
)
async def put_session(
    district_id: str, session_id: str, body: SessionIn, session: Session, ctx: Context, regroup: Regroup = True
) -> dict[str, Any]:
    values = body.model_dump(exclude={"band"})
    values.update(
        band_lowest=body.band.lowest if body.band else None, band_highest=body.band.highest if body.band else None
    )
    with _refusals():
        rebuilt = await define_session(
            session, district_id, session_id, body.block_id, values, solver_of(ctx) if regroup else None
        )
    publisher_of(ctx).committed()
    return {
        "id": session_id,
        **body.model_dump(mode="json"),
        "schedule": schedule_answer(*rebuilt) if rebuilt else None,
    }


@router.delete(
    "/sessions/{session_id}",
    response_model=SessionRemoved,
    responses=errors(409),
    summary="Remove a session; its block is rebuilt",
    dependencies=SETUP,
)
async def delete_session(
    district_id: str, session_id: str, session: Session, ctx: Context, regroup: Regroup = True
) -> dict[str, Any]:
    with _refusals():
        rebuilt = await remove_session(session, district_id, session_id, solver_of(ctx) if regroup else None)
    publisher_of(ctx).committed()
    return {"removed": session_id, "schedule": schedule_answer(*rebuilt) if rebuilt else None}


@router.delete(
    "/{kind}/{item_id}",
    response_model=Removed,
    summary="Remove a block, room or teacher (refused if sessions still use it)",
    dependencies=SETUP,
)
async def delete_definition(district_id: str, kind: str, item_id: str, session: Session) -> dict[str, str]:
    with _refusals():
        await remove_item(session, district_id, kind, item_id)
    return {"removed": item_id}


@router.get(
    "/schools/{school_id}/definition",
    response_model=SchoolDefinition,
    summary="Everything defined for a school's flex time",
    dependencies=[Depends(allow(Rule.SCHOOL_OFFER))],
)
async def get_definition(district_id: str, school_id: str, session: Session) -> dict[str, Any]:
    return await school_definition(session, district_id, school_id)


async def _define(
    session: AsyncSession, district_id: str, kind: Kind, item_id: str, school_id: str, values: dict[str, Any]
) -> dict[str, Any]:
    with _refusals():
        await define_item(session, district_id, kind, item_id, school_id, values)
    return {
        "id": item_id,
        **{k: (str(v) if v is not None and not isinstance(v, int | list) else v) for k, v in values.items()},
    }


@contextmanager
def _refusals() -> Iterator[None]:
    """A use case's refusal as an answer: 422 with every problem, 404, or 409 for a concurrent rebuild."""
    try:
        yield
    except DefinitionRefused as exc:
        raise refused(exc.problems) from None
    except NotFound as exc:
        raise not_found(str(exc)) from None
    except RebuiltConcurrently as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
