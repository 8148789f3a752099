"""Define a school's flex time: the school, blocks, rooms, teachers and sessions; a definition that leaves the
school with problems is refused (rolled back); a change to a block's sessions rebuilds that block."""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_scheduling.adapters import repository as repo
from mosaic_scheduling.adapters import tables as t
from mosaic_scheduling.domain.regroup import SolverSettings
from mosaic_scheduling.domain.validation import Problem, validate_school
from mosaic_scheduling.service.outcomes import Invalid, NotFound
from mosaic_scheduling.service.rebuild_block import Rebuilt, rebuild_on_request

Kind = Literal["blocks", "rooms", "teachers"]
TABLES: dict[str, Any] = {"blocks": t.blocks, "rooms": t.rooms, "teachers": t.teachers}


class DefinitionRefused(Invalid):
    """The change would leave the school's definition with these problems; nothing was saved."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("the definition was refused; fix every problem listed")
        self.problems = problems


async def define_school(db: AsyncSession, district_id: str, school_id: str, values: dict[str, Any]) -> None:
    async with db.begin():
        await repo.upsert(db, t.schools, {"district_id": district_id, "id": school_id}, values)


async def define_item(
    db: AsyncSession, district_id: str, kind: Kind, item_id: str, school_id: str, values: dict[str, Any]
) -> None:
    """Save a block, room or teacher if the school stays valid; DefinitionRefused otherwise."""
    async with db.begin():
        await repo.upsert(db, TABLES[kind], {"district_id": district_id, "id": item_id}, values)
        await _check(db, district_id, school_id)


async def define_session(
    db: AsyncSession,
    district_id: str,
    session_id: str,
    block_id: str,
    values: dict[str, Any],
    solver: SolverSettings | None,
) -> tuple[Rebuilt, int] | None:
    """Save a session in its block's school and rebuild the block (unless solver is None); one commit."""
    async with db.begin():
        school_id = await repo.school_of_block(db, district_id, block_id)
        if school_id is None:
            raise NotFound(f"no block {block_id!r} in district {district_id!r}; define the block first")
        await repo.upsert(
            db, t.sessions, {"district_id": district_id, "id": session_id}, {**values, "school_id": school_id}
        )
        await _check(db, district_id, school_id)
        return await _rebuild(db, district_id, block_id, f"session {session_id} changed", solver)


async def remove_session(
    db: AsyncSession, district_id: str, session_id: str, solver: SolverSettings | None
) -> tuple[Rebuilt, int] | None:
    """Remove a session and rebuild its block (unless solver is None); one commit."""
    async with db.begin():
        block_id = await repo.block_of_session(db, district_id, session_id)
        if block_id is None:
            raise NotFound(f"no session {session_id!r} in district {district_id!r}")
        await repo.remove(db, t.sessions, {"district_id": district_id, "id": session_id})
        return await _rebuild(db, district_id, block_id, f"session {session_id} removed", solver)


async def remove_item(db: AsyncSession, district_id: str, kind: str, item_id: str) -> None:
    """Remove a block, room or teacher; refused while sessions still use it."""
    if kind not in TABLES:
        raise NotFound(f"nothing called {kind!r} can be removed here; use blocks, rooms, teachers or sessions")
    async with db.begin():
        school_id = await repo.school_of_item(db, TABLES[kind], district_id, item_id)
        if school_id is None:
            raise NotFound(f"no {kind[:-1]} {item_id!r} in district {district_id!r}")
        await repo.remove(db, TABLES[kind], {"district_id": district_id, "id": item_id})
        await _check(db, district_id, school_id)


async def _check(db: AsyncSession, district_id: str, school_id: str) -> None:
    problems = validate_school(await repo.load_school(db, district_id, school_id))
    if problems:
        raise DefinitionRefused(problems)


async def _rebuild(
    db: AsyncSession, district_id: str, block_id: str, trigger: str, solver: SolverSettings | None
) -> tuple[Rebuilt, int] | None:
    return None if solver is None else await rebuild_on_request(db, district_id, block_id, trigger, solver)
