"""Defining a school's flex time: blocks, rooms, teachers and sessions. Bad definitions are refused
with every reason; a change to a block's sessions rebuilds that block's schedule."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_runtime.access import Rule, allow
from mosaic_runtime.app import Context, Session
from mosaic_runtime.publishing import publisher_of
from mosaic_runtime.responses import errors
from mosaic_scheduling.adapters import repository as repo
from mosaic_scheduling.adapters import tables as t
from mosaic_scheduling.api.deps import not_found, rebuild_now, referents_exist, refused
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
from mosaic_scheduling.domain.validation import validate_school

router = APIRouter(prefix="/v1/districts/{district_id}", tags=["definitions"])
SETUP = [Depends(allow(Rule.SCHOOL_SETUP))]
SETUP_OF_KNOWN_SCHOOL = [*SETUP, Depends(referents_exist)]
Regroup = Annotated[bool, Query(description="rebuild the block's schedule now (false when setting up in bulk)")]


@router.put("/schools/{school_id}",
            response_model=Defined,
            summary="A school's publishing mode (auto or approval) and time zone",
            dependencies=SETUP_OF_KNOWN_SCHOOL)
async def put_school(district_id: str, school_id: str, body: SchoolIn,
                     session: Session) -> dict[str, Any]:
    async with session.begin():
        await repo.upsert(session, t.schools, {"district_id": district_id, "id": school_id}, body.model_dump())
    return {"id": school_id, **body.model_dump()}


@router.put("/blocks/{block_id}",
            response_model=Defined,
            summary="Define or change a flex block (refused if it overlaps another)",
            dependencies=SETUP_OF_KNOWN_SCHOOL)
async def put_block(district_id: str, block_id: str, body: BlockIn,
                    session: Session) -> dict[str, Any]:
    values = body.model_dump(mode="json")
    values.update(starts_on=body.starts_on, until=body.until, starts_at=body.starts_at.strftime("%H:%M"))
    return await _define(session, district_id, t.blocks, block_id, body.school_id, values, "a block")


@router.put("/rooms/{room_id}",
            response_model=Defined,
            summary="Define or change a room and its capacity", dependencies=SETUP_OF_KNOWN_SCHOOL)
async def put_room(district_id: str, room_id: str, body: RoomIn,
                   session: Session) -> dict[str, Any]:
    return await _define(session, district_id, t.rooms, room_id, body.school_id, body.model_dump(),
                         "a room")


@router.put("/teachers/{teacher_id}",
            response_model=Defined,
            summary="Define a teacher's expertise and flex-time availability",
            dependencies=SETUP_OF_KNOWN_SCHOOL)
async def put_teacher(district_id: str, teacher_id: str, body: TeacherIn,
                      session: Session) -> dict[str, Any]:
    values = body.model_dump(mode="json")
    values["availability"] = [{**w, "starts_at": w["starts_at"][:5], "ends_at": w["ends_at"][:5]}
                              for w in values["availability"]]
    return await _define(session, district_id, t.teachers, teacher_id, body.school_id, values,
                         "a teacher")


@router.put("/sessions/{session_id}",
            response_model=SessionDefined, responses=errors(409),
            summary="Define or change a session; its block is rebuilt", dependencies=SETUP)
async def put_session(district_id: str, session_id: str, body: SessionIn,
                      session: Session, ctx: Context, regroup: Regroup = True) -> dict[str, Any]:
    async with session.begin():
        school_id = await repo.school_of_block(session, district_id, body.block_id)
        if school_id is None:
            raise not_found(f"no block {body.block_id!r} in district {district_id!r}; define the block first")
        values = body.model_dump(exclude={"band"})
        values.update(school_id=school_id, band_lowest=body.band.lowest if body.band else None,
                      band_highest=body.band.highest if body.band else None)
        await repo.upsert(session, t.sessions, {"district_id": district_id, "id": session_id}, values)
        await _validate(session, district_id, school_id)
        outcome = await rebuild_now(session, ctx, district_id, body.block_id, f"session {session_id} changed",
                                 regroup)
    publisher_of(ctx).committed()
    return {"id": session_id, **body.model_dump(mode="json"), "schedule": outcome}


@router.delete("/sessions/{session_id}",
               response_model=SessionRemoved, responses=errors(409),
               summary="Remove a session; its block is rebuilt", dependencies=SETUP)
async def delete_session(district_id: str, session_id: str, session: Session,
                         ctx: Context, regroup: Regroup = True) -> dict[str, Any]:
    async with session.begin():
        row = (await session.execute(select(t.sessions).where(t.sessions.c.district_id == district_id,
                                                              t.sessions.c.id == session_id))).first()
        if row is None:
            raise not_found(f"no session {session_id!r} in district {district_id!r}")
        await repo.remove(session, t.sessions, {"district_id": district_id, "id": session_id})
        outcome = await rebuild_now(session, ctx, district_id, row.block_id, f"session {session_id} removed", regroup)
    publisher_of(ctx).committed()
    return {"removed": session_id, "schedule": outcome}


@router.delete("/{kind}/{item_id}",
               response_model=Removed,
               summary="Remove a block, room or teacher (refused if sessions still use it)",
               dependencies=SETUP)
async def delete_definition(district_id: str, kind: str, item_id: str,
                            session: Session) -> dict[str, str]:
    tables = {"blocks": t.blocks, "rooms": t.rooms, "teachers": t.teachers}
    if kind not in tables:
        raise not_found(f"nothing called {kind!r} can be removed here; use blocks, rooms, teachers or sessions")
    table = tables[kind]
    async with session.begin():
        school_id = await session.scalar(select(table.c.school_id).where(table.c.district_id == district_id,
                                                                         table.c.id == item_id))
        if school_id is None:
            raise not_found(f"no {kind[:-1]} {item_id!r} in district {district_id!r}")
        await repo.remove(session, table, {"district_id": district_id, "id": item_id})
        await _validate(session, district_id, school_id)
    return {"removed": item_id}


@router.get("/schools/{school_id}/definition",
            response_model=SchoolDefinition,
            summary="Everything defined for a school's flex time",
            dependencies=[Depends(allow(Rule.SCHOOL_OFFER))])
async def get_definition(district_id: str, school_id: str,
                         session: Session) -> dict[str, Any]:
    school = await repo.load_school(session, district_id, school_id)
    return {"school_id": school_id, "publish_mode": await repo.publish_mode(session, district_id, school_id),
            "blocks": [_public(b) for b in school.blocks], "rooms": [_public(r) for r in school.rooms],
            "teachers": [_public(x) for x in school.teachers], "sessions": [_public(s) for s in school.sessions],
            "problems": [{"field": p.field, "message": p.message} for p in validate_school(school)]}


async def _define(session: AsyncSession, district_id: str, table: Any, item_id: str,
                  school_id: str, values: dict[str, Any], what: str) -> dict[str, Any]:
    async with session.begin():
        await repo.upsert(session, table, {"district_id": district_id, "id": item_id}, values)
        await _validate(session, district_id, school_id)
    return {"id": item_id, **{k: (str(v) if v is not None and not isinstance(v, int | list) else v)
                              for k, v in values.items()}}


async def _validate(session: AsyncSession, district_id: str, school_id: str) -> None:
    """Refuse (and roll back) a change that leaves the school's definition with problems."""
    problems = validate_school(await repo.load_school(session, district_id, school_id))
    if problems:
        raise refused(problems)


def _public(item: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return {k: (sorted(v) if isinstance(v, frozenset) else v) for k, v in asdict(item).items()}
