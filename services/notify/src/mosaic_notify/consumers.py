"""What happens when an event arrives: the one map from event type to handler."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from mosaic_events import Envelope
from mosaic_events.catalog import FrameworkPublished, MasteryChanged, RosterChanged
from mosaic_notify.adapters import store
from mosaic_notify.adapters.fanout import tell, tell_new_guardian
from mosaic_notify.domain.contacts import contacts_from_roster
from mosaic_notify.domain.news import news_from_assignment, news_from_mastery
from mosaic_notify.settings import NotifySettings
from mosaic_runtime.consumer import Handler, UnitOfWork


def handlers(settings: NotifySettings, clock: Callable[[], datetime]) -> dict[str, Handler]:
    async def on_roster_changed(uow: UnitOfWork, envelope: Envelope) -> None:
        assert isinstance(envelope.data, RosterChanged)
        contacts = contacts_from_roster(envelope.district_id, envelope.data)
        for student in contacts.students:
            await store.save_student(uow.session, student)
        for guardian in contacts.guardians:
            for student_id in await store.save_guardian(uow.session, guardian):
                await tell_new_guardian(uow.session, guardian, student_id, clock(), settings)
        for guardian_id, student_id in contacts.other_links:
            if await store.link_guardian(uow.session, envelope.district_id, guardian_id, student_id):
                linked = await store.load_guardian(uow.session, envelope.district_id, guardian_id)
                if linked is not None:
                    await tell_new_guardian(uow.session, linked, student_id, clock(), settings)
        await store.remove_people(uow.session, envelope.district_id, contacts.removed_ids)

    async def on_framework_published(uow: UnitOfWork, envelope: Envelope) -> None:
        assert isinstance(envelope.data, FrameworkPublished)
        for c in envelope.data.competencies:
            await store.save_competency(uow.session, envelope.district_id, c.id, c.code,
                                        c.abbreviated_statement or c.statement)

    async def on_mastery_changed(uow: UnitOfWork, envelope: Envelope) -> None:
        assert isinstance(envelope.data, MasteryChanged)
        news = news_from_mastery(envelope)
        if news is None:
            return
        framework_name = await store.competency_name(uow.session, envelope.district_id, envelope.data.competency_id)
        if framework_name:
            news = replace(news, competency_name=framework_name)
        await tell(uow.session, news, clock(), settings)

    async def on_group_assignment_changed(uow: UnitOfWork, envelope: Envelope) -> None:
        news = news_from_assignment(envelope)
        if news is not None:
            await tell(uow.session, news, clock(), settings)

    return {
        "RosterChanged": on_roster_changed,
        "FrameworkPublished": on_framework_published,
        "MasteryChanged": on_mastery_changed,
        "GroupAssignmentChanged": on_group_assignment_changed,
    }
