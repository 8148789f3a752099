"""Shared route dependencies: who may do what, the solver settings, and a rebuild as part of an answer."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, status
from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_runtime.app import ServiceContext
from mosaic_runtime.auth import Principal
from mosaic_scheduling.domain.regroup import SolverSettings
from mosaic_scheduling.domain.validation import Problem
from mosaic_scheduling.service.outcomes import RebuiltConcurrently
from mosaic_scheduling.service.rebuild_block import Rebuilt, rebuild_on_request

ADMIN_ROLES = ("administrator", "siteAdministrator", "districtAdministrator")
STAFF_ROLES = (*ADMIN_ROLES, "teacher", "aide")


def require(principal: Principal, roles: tuple[str, ...], what: str) -> None:
    if not principal.has_any(*roles):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            detail=f"{what} needs one of the roles {list(roles)}; you have {sorted(principal.roles)}")


def solver_of(ctx: ServiceContext) -> SolverSettings:
    settings = ctx.settings
    return SolverSettings(time_limit_seconds=settings.solver_time_limit_seconds,  # type: ignore[attr-defined]
                          workers=settings.solver_workers)  # type: ignore[attr-defined]


def refused(problems: list[Problem]) -> HTTPException:
    return HTTPException(422,
                         detail={"message": "the definition was refused; fix every problem listed",
                                 "problems": [{"field": p.field, "message": p.message} for p in problems]})


def not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=what)


async def rebuild_now(session: AsyncSession, ctx: ServiceContext, district_id: str, block_id: str, trigger: str,
                      regroup: bool = True, draft_only: bool = False) -> dict[str, Any] | None:
    """Rebuild a block in the caller's transaction (published events go to the outbox), as an answer's part."""
    if not regroup:
        return None
    try:
        outcome, events = await rebuild_on_request(session, district_id, block_id, trigger, solver_of(ctx),
                                                   draft_only=draft_only)
    except RebuiltConcurrently as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
    return schedule_answer(outcome, events)


def schedule_answer(outcome: Rebuilt, events: int) -> dict[str, Any]:
    """A rebuild as part of an answer: the version it made, its status, why, and the events it queued."""
    return {"version": outcome.version, "status": outcome.status, "causes": list(outcome.causes), "events": events}
