"""What happens when an event arrives: the one map from event class to handler.

Each handler gets `uow.deps`, the service's `Wiring` (its settings and clock), so tests can move time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from mosaic_events import Envelope
from mosaic_events.catalog import (
    AttendanceTaken,
    FrameworkPublished,
    GroupAssignmentChanged,
    MasteryChanged,
    RosterChanged,
    SchedulePublished,
)
from mosaic_notify.adapters import store
from mosaic_notify.adapters.fanout import tell, tell_new_guardian
from mosaic_notify.domain.contacts import contacts_from_roster
from mosaic_notify.domain.news import news_from_assignment, news_from_mastery
from mosaic_notify.settings import NotifySettings
from mosaic_runtime.app import ServiceContext
from mosaic_runtime.consumer import HandlerMap, UnitOfWork, subscribe


@dataclass(frozen=True)
class Wiring:
    settings: NotifySettings
    clock: Callable[[], datetime]


async def on_roster_changed(uow: UnitOfWork, roster: RosterChanged, envelope: Envelope) -> None:
    wiring: Wiring = uow.deps
    contacts = contacts_from_roster(envelope.district_id, roster)
    for student in contacts.students:
        await store.save_student(uow.session, student)
    for guardian in contacts.guardians:
        for student_id in await store.save_guardian(uow.session, guardian):
            await tell_new_guardian(uow.session, guardian, student_id, wiring.clock(), wiring.settings)
    for guardian_id, student_id in contacts.other_links:
        if await store.link_guardian(uow.session, envelope.district_id, guardian_id, student_id):
            linked = await store.load_guardian(uow.session, envelope.district_id, guardian_id)
            if linked is not None:
                await tell_new_guardian(uow.session, linked, student_id, wiring.clock(), wiring.settings)
    await store.remove_people(uow.session, envelope.district_id, contacts.removed_ids)


async def on_framework_published(uow: UnitOfWork, framework: FrameworkPublished, envelope: Envelope) -> None:
    for c in framework.competencies:
        await store.save_competency(uow.session, envelope.district_id, c.id, c.code,
                                    c.abbreviated_statement or c.statement)


async def on_mastery_changed(uow: UnitOfWork, change: MasteryChanged, envelope: Envelope) -> None:
    wiring: Wiring = uow.deps
    news = news_from_mastery(envelope)
    if news is None:
        return
    framework_name = await store.competency_name(uow.session, envelope.district_id, change.competency_id)
    if framework_name:
        news = replace(news, competency_name=framework_name)
    await tell(uow.session, news, wiring.clock(), wiring.settings)


async def on_group_assignment_changed(uow: UnitOfWork, _change: GroupAssignmentChanged, envelope: Envelope) -> None:
    wiring: Wiring = uow.deps
    await tell(uow.session, news_from_assignment(envelope), wiring.clock(), wiring.settings)


HANDLERS = HandlerMap(
    {
        RosterChanged: on_roster_changed,
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
