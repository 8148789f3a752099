"""What happens when an event arrives: the one map from event class to handler, each translating the event
into a use case in `service/`. Handlers get `uow.deps`, the service's `Wiring` (settings and a clock tests move).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from mosaic_events import Envelope
from mosaic_events.catalog import (
    AttendanceTaken,
    FrameworkPublished,
    GroupAssignmentChanged,
    MasteryChanged,
    PersonDetailsChanged,
    PersonErased,
    RosterChanged,
    SchedulePublished,
)
from mosaic_notify.service.check_referents import unknown_student
from mosaic_notify.service.forget_person import forget_person
from mosaic_notify.service.keep_contacts import keep_competency_names, keep_details, keep_roster
from mosaic_notify.service.tell_news import tell_group_change, tell_mastery_change
from mosaic_notify.settings import NotifySettings
from mosaic_runtime.app import ServiceContext
from mosaic_runtime.consumer import HandlerMap, RejectEvent, UnitOfWork, subscribe

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Wiring:
    settings: NotifySettings
    clock: Callable[[], datetime]


async def on_roster_changed(uow: UnitOfWork, roster: RosterChanged, envelope: Envelope) -> None:
    wiring: Wiring = uow.deps
    await keep_roster(uow.session, envelope.district_id, roster, wiring.clock(), wiring.settings)


async def on_person_details(uow: UnitOfWork, details: PersonDetailsChanged, envelope: Envelope) -> None:
    await keep_details(uow.session, envelope.district_id, details)


async def on_person_erased(uow: UnitOfWork, erased: PersonErased, envelope: Envelope) -> None:
    counts = await forget_person(uow.session, envelope.district_id, erased)
    log.info("erased person %s (erasure %s): %s", erased.person_id, erased.erasure_id, counts)


async def on_framework_published(uow: UnitOfWork, framework: FrameworkPublished, envelope: Envelope) -> None:
    await keep_competency_names(uow.session, envelope.district_id, framework)


async def refuse_unknown(uow: UnitOfWork, envelope: Envelope, student_id: str) -> None:
    refusal = await unknown_student(
        uow.session, envelope.district_id, student_id, lambda: uow.has_read_all_of(RosterChanged.topic())
    )
    if refusal is not None:
        raise RejectEvent(refusal)


async def on_mastery_changed(uow: UnitOfWork, change: MasteryChanged, envelope: Envelope) -> None:
    wiring: Wiring = uow.deps
    await refuse_unknown(uow, envelope, change.student_id)
    await tell_mastery_change(uow.session, change, envelope, wiring.clock(), wiring.settings)


async def on_group_assignment_changed(uow: UnitOfWork, change: GroupAssignmentChanged, envelope: Envelope) -> None:
    wiring: Wiring = uow.deps
    await refuse_unknown(uow, envelope, change.student_id)
    await tell_group_change(uow.session, envelope, wiring.clock(), wiring.settings)


HANDLERS = HandlerMap(
    {
        RosterChanged: on_roster_changed,
        PersonDetailsChanged: on_person_details,
        PersonErased: on_person_erased,
        FrameworkPublished: on_framework_published,
        MasteryChanged: on_mastery_changed,
        GroupAssignmentChanged: on_group_assignment_changed,
    },
    # a schedule is news only where a student moved (GroupAssignmentChanged); attendance is the SIS's
    ignored=(SchedulePublished, AttendanceTaken),
)


def setup_consumers(ctx: ServiceContext, clock: Callable[[], datetime]) -> None:
    """Roster, framework, mastery and schedule topics: one effectively-once consumer that wakes delivery."""

    def wake_delivery() -> None:
        worker = ctx.state.get("worker")
        if worker is not None:
            worker.wake()

    subscribe(ctx, HANDLERS, deps=Wiring(ctx.settings, clock), on_committed=wake_delivery)  # type: ignore[arg-type]
