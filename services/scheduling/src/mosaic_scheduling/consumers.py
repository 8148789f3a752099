"""What the scheduling service does when an event arrives: one map from event class to handler.

MasteryChanged and RosterChanged keep local views (levels, sections and enrolments); a
RegroupNeeded for a section rebuilds every block that section takes part in.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from opentelemetry import context as otel_context

from mosaic_events import Envelope
from mosaic_events.catalog import (
    FrameworkPublished,
    MasteryChanged,
    PersonDetailsChanged,
    PersonErased,
    RegroupNeeded,
    RosterChanged,
)
from mosaic_runtime.app import ServiceContext
from mosaic_runtime.consumer import HandlerMap, RejectEvent, UnitOfWork, subscribe
from mosaic_runtime.publishing import publisher_of
from mosaic_scheduling.adapters import erasure_store
from mosaic_scheduling.adapters import repository as repo
from mosaic_scheduling.adapters import tables as t
from mosaic_scheduling.domain.regroup import SolverSettings
from mosaic_scheduling.service.check_referents import unknown_section, unknown_student
from mosaic_scheduling.service.rebuild_block import rebuild_block

log = logging.getLogger(__name__)
PENDING = "scheduling.regroups"


def roster_complete(uow: UnitOfWork) -> Callable[[], Awaitable[bool]]:
    return lambda: uow.has_read_all_of(RosterChanged.topic())


async def keep_mastery_level(uow: UnitOfWork, change: MasteryChanged, envelope: Envelope) -> None:
    refusal = await unknown_student(uow.session, envelope.district_id, change.student_id, roster_complete(uow))
    if refusal is not None:
        raise RejectEvent(refusal)
    key = {"district_id": envelope.district_id, "student_id": change.student_id, "competency_id": change.competency_id}
    if change.new_rank is None:  # v2: no level left (its evidence retracted), as if never assessed
        await repo.remove(uow.session, t.mastery_levels, key)
        return
    await repo.upsert(
        uow.session,
        t.mastery_levels,
        key,
        {"rank": change.new_rank, "label": change.new_level, "code": change.competency_code},
    )


async def keep_roster(uow: UnitOfWork, roster: RosterChanged, envelope: Envelope) -> None:
    district = envelope.district_id
    for section in roster.sections:
        await repo.upsert(
            uow.session,
            t.roster_sections,
            {"district_id": district, "id": section.id},
            {"school_id": section.school_id, "title": section.title},
        )
    for person in roster.people:
        await repo.upsert(
            uow.session,
            t.roster_people,
            {"district_id": district, "id": person.id},
            {
                "role": person.role,
                "given_name": "",
                "family_name": "",  # no names on the log
                "school_ids": list(person.school_ids),
                "related_ids": list(person.related_ids),
            },
        )
    for enrollment in roster.enrollments:
        await repo.upsert(
            uow.session,
            t.roster_enrollments,
            {"district_id": district, "section_id": enrollment.section_id, "user_id": enrollment.user_id},
            {"role": enrollment.role},
        )
    for section_id, user_id in roster.removed.enrollments:
        await repo.remove(
            uow.session, t.roster_enrollments, {"district_id": district, "section_id": section_id, "user_id": user_id}
        )
    for section_id in roster.removed.sections:
        await repo.remove(uow.session, t.roster_sections, {"district_id": district, "id": section_id})
    for person_id in roster.removed.people:
        await repo.remove(uow.session, t.roster_people, {"district_id": district, "id": person_id})


async def forget_person(uow: UnitOfWork, erased: PersonErased, envelope: Envelope) -> None:
    """A district erased the person: their placements, attendance, requests, plans and levels go (ADR 0019).
    Published schedules on the log keep ids only; nothing is re-published, so no new event derives from this."""
    counts = await erasure_store.erase(uow.session, envelope.district_id, erased.person_id)
    log.info("erased person %s (erasure %s): %s", erased.person_id, erased.erasure_id, counts)


async def regroup_section(uow: UnitOfWork, need: RegroupNeeded, envelope: Envelope) -> None:
    """Keep the levels it carries now; rebuild every block the section takes part in before the commit."""
    refusal = await unknown_section(uow.session, envelope.district_id, need.section_id, roster_complete(uow))
    if refusal is not None:
        raise RejectEvent(refusal)
    # The levels that made the regroup due travel with it: a RegroupNeeded may overtake the
    # MasteryChanged events it summarises (another topic), and the rebuild must see them.
    for change in need.changes:
        if change.new_rank is not None:
            await repo.upsert(
                uow.session,
                t.mastery_levels,
                {
                    "district_id": envelope.district_id,
                    "student_id": change.student_id,
                    "competency_id": change.competency_id,
                },
                {"rank": change.new_rank, "label": change.new_level},
            )
    uow.cache.setdefault(PENDING, []).append((need, envelope))


async def rebuild_blocks(uow: UnitOfWork) -> None:
    """Rebuild the blocks of the batch's RegroupNeeded, having locked them all first in one order (district,
    block), so replicas handling other sections of the same blocks wait instead of deadlocking."""
    pending: list[tuple[RegroupNeeded, Envelope]] = uow.cache.pop(PENDING, [])
    work = [
        (need, envelope, await repo.blocks_with_section(uow.session, envelope.district_id, need.section_id))
        for need, envelope in pending
    ]
    wanted: dict[str, set[str]] = {}
    for _, envelope, blocks in work:
        wanted.setdefault(envelope.district_id, set()).update(b.id for b in blocks)
    for district in sorted(wanted):
        await repo.lock_blocks(uow.session, district, sorted(wanted[district]))
    for need, envelope, blocks in work:
        # Rebuilt at batch end, outside the RegroupNeeded's span: work in its trace, so what the rebuild emits
        # (SchedulePublished and the GroupAssignmentChanged derived from it) stays in the evidence's trace.
        token = otel_context.attach(uow.trace_contexts.get(str(envelope.id)) or otel_context.get_current())
        try:
            await _rebuild(uow, need, envelope, blocks)
        finally:
            otel_context.detach(token)


async def _rebuild(uow: UnitOfWork, need: RegroupNeeded, envelope: Envelope, blocks: list[Any]) -> None:
    solver: SolverSettings = uow.deps
    for block in blocks:
        outcome = await rebuild_block(
            uow.session,
            envelope.district_id,
            block.id,
            cause=envelope,
            trigger=f"RegroupNeeded for section {need.section_id}: {need.reason}",
            solver=solver,
            emit=uow.emit,
        )
        log.info(
            "regrouped block %s for section %s: %s v%s %s",
            block.id,
            need.section_id,
            outcome.status,
            outcome.version,
            "; ".join(outcome.causes),
        )


HANDLERS = HandlerMap(
    {
        MasteryChanged: keep_mastery_level,
        RosterChanged: keep_roster,
        RegroupNeeded: regroup_section,
        PersonErased: forget_person,
    },
    # groups follow levels and rosters, not the framework's text; scheduling keeps no names (ADR 0019)
    ignored=(FrameworkPublished, PersonDetailsChanged),
    before_commit=rebuild_blocks,
)


def setup_consumers(ctx: ServiceContext) -> None:
    """Mastery and roster views, and RegroupNeeded → rebuild: one effectively-once batch consumer."""
    settings = ctx.settings
    solver = SolverSettings(
        time_limit_seconds=settings.solver_time_limit_seconds,  # type: ignore[attr-defined]
        workers=settings.solver_workers,
    )  # type: ignore[attr-defined]
    subscribe(ctx, HANDLERS, deps=solver, on_committed=publisher_of(ctx).committed)
