"""Rebuild a block's schedule on the latest data: publish it (auto) or keep it as a draft (approval, preview).

Shared by the consumer (a RegroupNeeded) and the API (a teacher's request, a change to the block's
sessions or placements). It runs inside the caller's transaction; events go to the outbox.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_events import Envelope
from mosaic_scheduling.adapters import repository as repo
from mosaic_scheduling.domain.model import PreviousAssignment
from mosaic_scheduling.domain.regroup import SolverSettings, regroup
from mosaic_scheduling.service.outcomes import Emit, NotFound, RebuiltConcurrently, block_of, emit_to_outbox
from mosaic_scheduling.service.publish_schedule import publish_version


@dataclass(frozen=True)
class Rebuilt:
    block_id: str
    version: int
    status: str  # published | draft | infeasible
    causes: tuple[str, ...] = ()
    published_events: int = 0


async def rebuild_block(
    db: AsyncSession,
    district_id: str,
    block_id: str,
    *,
    trigger: str,
    cause: Envelope | None,
    solver: SolverSettings,
    emit: Emit,
    draft_only: bool = False,
) -> Rebuilt:
    """Regroup the block on the latest data; publish it (auto) or keep it as a draft (approval / preview)."""
    await repo.lock_blocks(db, district_id, [block_id])  # a no-op when the caller already holds it
    school_id = await repo.school_of_block(db, district_id, block_id)
    if school_id is None:
        raise NotFound(f"no block {block_id!r} in district {district_id!r}")
    if cause is not None and (done := await repo.version_caused_by(db, district_id, block_id, str(cause.id))):
        # Already rebuilt for this cause (a database restored or replayed behind its published schedules):
        # what it published stays published, once.
        return Rebuilt(block_id, done.version, done.status)
    school = await repo.load_school(db, district_id, school_id)
    block = block_of(school, block_id)
    published = await repo.latest_schedule(db, district_id, block_id)
    previous = {
        a.student_id: PreviousAssignment(a.session_id, a.fit_key) for a in (published.assignments if published else [])
    }
    participants = await repo.load_participants(db, district_id, block, previous)
    placements = await repo.load_placements(db, district_id, block_id)
    result = await asyncio.to_thread(regroup, school, block_id, participants, placements, solver)
    version = await repo.next_version(db, district_id, block_id)
    cause_id = str(cause.id) if cause is not None else None
    if result.status == "infeasible":
        await repo.save_schedule(
            db, district_id, school_id, block_id, version, "infeasible", trigger, cause_id, result, ()
        )
        return Rebuilt(block_id, version, "infeasible", result.causes)
    automatic = not draft_only and await repo.publish_mode(db, district_id, school_id) == "auto"
    await repo.save_schedule(
        db, district_id, school_id, block_id, version, "draft", trigger, cause_id, result, result.decisions
    )
    if not automatic:
        return Rebuilt(block_id, version, "draft")
    sent = await publish_version(db, district_id, block_id, version, cause=cause, emit=emit)
    return Rebuilt(block_id, version, "published", published_events=sent)


async def rebuild_now(
    db: AsyncSession, district_id: str, block_id: str, trigger: str, solver: SolverSettings, *, draft_only: bool = False
) -> tuple[Rebuilt, int]:
    """A teacher's request or a preview: rebuild and commit; returns the outcome and the events queued."""
    async with db.begin():
        return await rebuild_on_request(db, district_id, block_id, trigger, solver, draft_only=draft_only)


async def rebuild_on_request(
    db: AsyncSession, district_id: str, block_id: str, trigger: str, solver: SolverSettings, *, draft_only: bool = False
) -> tuple[Rebuilt, int]:
    """A person asked (or changed what the block is built from): rebuild in the caller's transaction; returns
    the outcome and how many events went to the outbox."""
    sent: list[Envelope] = []
    try:
        outcome = await rebuild_block(
            db,
            district_id,
            block_id,
            trigger=trigger,
            cause=None,
            solver=solver,
            emit=emit_to_outbox(db, sent),
            draft_only=draft_only,
        )
    except IntegrityError:
        raise RebuiltConcurrently(
            f"block {block_id!r} was being rebuilt at the same time; nothing was changed, try again"
        ) from None
    return outcome, len(sent)
