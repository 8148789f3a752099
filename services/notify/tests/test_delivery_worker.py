"""The delivery worker's state machine against a real SMTP server: retries, failures, and crashes mid-send."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, update

from mosaic_dev.devservers import MailCatcher
from mosaic_events.ids import new_event_id
from mosaic_notify.adapters import store
from mosaic_notify.adapters import tables as t
from mosaic_notify.domain.contacts import Guardian
from mosaic_notify.domain.messages import MessageRenderer
from mosaic_notify.domain.news import News, NewsKind
from mosaic_notify.main import MIGRATIONS, senders
from mosaic_notify.service.delivery import DeliveryWorker
from mosaic_notify.service.tell_news import tell
from mosaic_notify.settings import NotifySettings
from mosaic_runtime.db import make_engine, make_session_factory, run_migrations
from mosaic_runtime.outbox import outbox_table

NOON = datetime(2026, 11, 23, 17, tzinfo=UTC)  # noon in New York


@dataclass
class Rig:
    worker: DeliveryWorker
    mail: MailCatcher
    sessions: object
    clock: list[datetime]

    async def notification(self):  # type: ignore[no-untyped-def]
        async with self.sessions() as session:  # type: ignore[operator]
            return (await session.execute(select(t.notifications))).one()

    async def events(self) -> list[dict]:
        async with self.sessions() as session:  # type: ignore[operator]
            rows = (await session.execute(select(outbox_table().c.value))).scalars().all()
        return [json.loads(v) for v in rows]


async def make_rig(database_url: str, mail: MailCatcher, **overrides: object) -> tuple[Rig, object]:
    values = {"smtp_port": mail.port, "retry_base_seconds": 60, "max_attempts": 2, **overrides}
    settings = NotifySettings(database_url=database_url, kafka_enabled=False, **values)  # type: ignore[arg-type]
    await run_migrations(database_url, MIGRATIONS)
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    clock = [NOON]
    worker = DeliveryWorker(sessions, settings, senders(settings), MessageRenderer(), lambda: clock[0])
    news = News(
        str(new_event_id()),
        NewsKind.MASTERED,
        "d1",
        "s1",
        str(new_event_id()),
        str(new_event_id()),
        NOON,
        competency_id="c1",
        competency_name="Ratio language",
        new_level="Proficient",
        evidence_count=3,
    )
    async with sessions() as session, session.begin():
        await store.save_guardian(
            session, Guardian("d1", "g1", "Eva", "Q", "eva@example.org", None, None, "en", ("s1",))
        )
        assert await tell(session, news, NOON, settings) == 1
    return Rig(worker, mail, sessions, clock), engine


@pytest.fixture
async def mail() -> AsyncIterator[MailCatcher]:
    catcher = MailCatcher().start()
    yield catcher
    catcher.stop()


async def test_a_mail_server_that_is_down_means_a_retry_later_then_a_final_failure(
    database_url: str, mail: MailCatcher
):
    rig, engine = await make_rig(database_url, mail, smtp_port=1)  # nothing listens on port 1
    await rig.worker.run_once()
    first = await rig.notification()
    assert first.status == "pending" and first.attempts == 1 and first.due_at > NOON + timedelta(seconds=40)
    assert await rig.worker.run_once() == 0  # not due yet
    rig.clock[0] = first.due_at
    await rig.worker.run_once()
    final = await rig.notification()
    assert final.status == "failed" and final.attempts == 2
    failed = [e["data"] for e in await rig.events() if e["type"] == "NotificationFailed"]
    assert [(f["attempts"], f["will_retry"]) for f in failed] == [(1, True), (2, False)]
    await engine.dispose()  # type: ignore[attr-defined]


async def test_a_refused_mailbox_fails_at_once_without_retrying(database_url: str, mail: MailCatcher):
    mail.refused.add("eva@example.org")
    rig, engine = await make_rig(database_url, mail)
    await rig.worker.run_once()
    row = await rig.notification()
    assert row.status == "failed" and row.attempts == 1 and "550" in row.last_error
    assert mail.mailbox.snapshot() == []
    await engine.dispose()  # type: ignore[attr-defined]


async def test_after_a_crash_mid_send_the_worker_asks_the_mail_server_and_does_not_send_twice(
    database_url: str, mail: MailCatcher
):
    rig, engine = await make_rig(
        database_url, mail, smtp_lookup_url=mail.lookup_url, lease_seconds=30, send_timeout_seconds=5
    )
    await rig.worker.run_once()
    assert len(mail.mailbox.snapshot()) == 1
    # Rewind to the moment after the SMTP 250 and before 'delivered' (and its event) committed: the crash window.
    async with rig.sessions() as session, session.begin():  # type: ignore[operator]
        await session.execute(
            update(t.notifications).values(status="sending", lease_until=NOON + timedelta(seconds=30))
        )
        await session.execute(delete(outbox_table()))
    await rig.worker.run_once()
    assert (await rig.notification()).status == "sending"  # the lease has not expired: maybe still sending
    rig.clock[0] = NOON + timedelta(seconds=31)
    await rig.worker.run_once()
    assert (await rig.notification()).status == "delivered"
    assert len(mail.mailbox.snapshot()) == 1  # the mail server had it: not sent again
    await engine.dispose()  # type: ignore[attr-defined]


async def test_a_claim_that_never_reached_the_mail_server_is_sent_after_the_lease(database_url: str, mail: MailCatcher):
    rig, engine = await make_rig(
        database_url, mail, smtp_lookup_url=mail.lookup_url, lease_seconds=30, send_timeout_seconds=5
    )
    async with rig.sessions() as session, session.begin():  # type: ignore[operator]
        await session.execute(
            update(t.notifications).values(status="sending", attempts=1, lease_until=NOON - timedelta(seconds=1))
        )
    await rig.worker.run_once()
    assert (await rig.notification()).status == "delivered" and len(mail.mailbox.snapshot()) == 1
    await engine.dispose()  # type: ignore[attr-defined]


async def test_without_a_message_search_an_in_doubt_message_is_held_never_resent(database_url: str, mail: MailCatcher):
    rig, engine = await make_rig(database_url, mail)  # no smtp_lookup_url, in_doubt_policy=hold
    async with rig.sessions() as session, session.begin():  # type: ignore[operator]
        await session.execute(
            update(t.notifications).values(status="sending", attempts=1, lease_until=NOON - timedelta(seconds=1))
        )
    await rig.worker.run_once()
    assert (await rig.notification()).status == "in_doubt" and mail.mailbox.snapshot() == []
    [failed] = [e["data"] for e in await rig.events() if e["type"] == "NotificationFailed"]
    assert failed["will_retry"] is False and "in_doubt_policy=hold" in failed["reason"]
    await engine.dispose()  # type: ignore[attr-defined]
