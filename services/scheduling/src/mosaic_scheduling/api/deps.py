"""Shared route dependencies: who may do what, the solver settings, and committing with the outbox."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, status
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_events import Envelope
from mosaic_runtime import outbox
from mosaic_runtime.app import ServiceContext
from mosaic_scheduling.domain.regroup import SolverSettings
from mosaic_scheduling.domain.validation import Problem
from mosaic_scheduling.regrouping import Emit


def solver_of(ctx: ServiceContext) -> SolverSettings:
    settings = ctx.settings
    return SolverSettings(time_limit_seconds=settings.solver_time_limit_seconds,  # type: ignore[attr-defined]
                          workers=settings.solver_workers)  # type: ignore[attr-defined]


def outbox_emit(session: AsyncSession, sent: list[Envelope]) -> Emit:
    async def emit(envelope: Envelope) -> None:
        await outbox.emit(session, envelope)
        sent.append(envelope)

    return emit


def refused(problems: list[Problem]) -> HTTPException:
    return HTTPException(422,
                         detail={"message": "the definition was refused; fix every problem listed",
                                 "problems": [{"field": p.field, "message": p.message} for p in problems]})


def not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=what)


async def rebuild_now(session: AsyncSession, ctx: ServiceContext, district_id: str, block_id: str, trigger: str,
                      regroup: bool = True, draft_only: bool = False) -> dict[str, Any] | None:
    """Rebuild a block in the caller's transaction; published events go to the outbox."""
    from mosaic_scheduling.regrouping import rebuild_block

    if not regroup:
        return None
    sent: list[Envelope] = []
    try:
        outcome = await rebuild_block(session, district_id, block_id, trigger=trigger, cause=None,
                                      solver=solver_of(ctx), emit=outbox_emit(session, sent), draft_only=draft_only)
    except IntegrityError:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=f"block {block_id!r} was being rebuilt at the same "
                                                             "time; nothing was changed, try again") from None
    return {"version": outcome.version, "status": outcome.status, "causes": list(outcome.causes),
            "events": len(sent)}
