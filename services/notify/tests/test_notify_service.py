"""The service end to end: real broker, real SMTP server, real webhook receiver, an injected clock."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from mosaic_dev.topic_io import dead_letters
from mosaic_events import new_envelope
from mosaic_events.catalog import MasteryChanged
from mosaic_notify.adapters import tables as t
from mosaic_notify.domain.signing import SIGNATURE_HEADER, verify_signature
from mosaic_runtime.db import PROCESSED, RUNTIME_METADATA, runtime_tables
from mosaic_runtime.outbox import outbox_table

from .conftest import Notify

pytestmark = pytest.mark.integration
NY = ZoneInfo("America/New_York")


def change(
    student: str, competency: str, old: int | None, new: int, *, mastered: bool = False, name: str | None = None
) -> MasteryChanged:
    levels = ["Beginning", "Developing", "Proficient", "Advanced"]
    return MasteryChanged(
        student_id=student,
        competency_id=competency,
        competency_code=f"X.{competency}",
        competency_name=name,
        old_level=None if old is None else levels[old],
        new_level=levels[new],
        old_rank=old,
        new_rank=new,
        mastered=mastered,
        estimate=0.8,
        method="decaying_average",
        evidence_count=5,
        cause_evidence_ids=("e1",),
    )


async def set_portal(notify: Notify) -> None:
    reply = await notify.client.put(
        f"/v1/districts/{notify.district}/rules",
        headers=notify.headers("districtAdministrator"),
        json={"portal_webhook_url": f"{notify.hooks.url}/portal"},
    )
    assert reply.status_code == 200, reply.text


async def count(notify: Notify, table, *where) -> int:  # type: ignore[no-untyped-def]
    async with notify.sessions() as session:
        return await session.scalar(select(func.count()).select_from(table).where(*where)) or 0


async def test_a_mastery_change_reaches_the_guardian_once_by_email_in_their_language_and_by_signed_webhook(
    notify: Notify,
) -> None:
    await set_portal(notify)
    await notify.publish_framework()
    await notify.add_family("g-ana", "s-ana", "Ana", language="es")
    event = new_envelope(
        change("s-ana", "c1", 1, 2, mastered=True),
        district_id=notify.district,
        producer="mastery",
        subject="s-ana",
        occurred_at=notify.clock.now,
    )
    trace_id = uuid.uuid4().hex
    await notify.publish(event, traceparent=f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01")
    await notify.wait_for("an email and a webhook", lambda: notify.mail.mailbox.snapshot() and notify.hooks.received)

    [email] = notify.mail.mailbox.snapshot()
    assert email["To"] == "g-ana@example.org"
    assert email["Subject"] == "Ana domina «Ratio language»"  # the framework's words, in Spanish
    assert email["List-Unsubscribe"].startswith("<http://notify.test/v1/unsubscribe/")
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = email.get_body(("plain",)).get_content()
    html = email.get_body(("html",)).get_content()
    assert "Algo para conversar en casa" in text and "«Competente»" in text and "X.c1" not in text
    assert "<p>" in html and "Ratio language" in html

    [hook] = notify.hooks.received
    assert verify_signature(notify.settings.webhook_secret, hook.headers[SIGNATURE_HEADER], hook.body)
    assert hook.json()["cause_event_ids"] == [str(event.id)] and hook.json()["language"] == "es"

    # The same event again (an upstream re-send), then a later change as a marker that both were consumed.
    await notify.publish(event)
    marker = new_envelope(
        change("s-ana", "c9", 0, 1),
        district_id=notify.district,
        producer="mastery",
        subject="s-ana",
        occurred_at=notify.clock.now,
    )
    await notify.publish(marker)
    await notify.wait_for(
        "the marker consumed", lambda: count(notify, t.news, t.news.c.cause_event_id == str(marker.id))
    )
    await notify.worker.run_once()
    assert len(notify.mail.mailbox.snapshot()) == 1 and len(notify.hooks.received) == 1
    outbox = outbox_table()
    assert await count(notify, outbox, outbox.c.topic == "mosaic.notify.v1") == 2  # FamilyNotified: email, portal
    async with notify.sessions() as session:
        headers = (await session.execute(select(outbox.c.headers))).scalars().all()
    assert all(dict(h)["traceparent"].split("-")[1] == trace_id for h in headers)  # the evidence's trace, hop 5
    await notify.wait_for(
        "FamilyNotified relayed to Kafka",
        lambda: _equals(count(notify, outbox, outbox.c.topic == "mosaic.notify.v1", outbox.c.sent.is_(True)), 2),
    )
    log = await notify.client.get(
        f"/v1/districts/{notify.district}/guardians/g-ana/notifications", headers=notify.headers()
    )
    assert sorted((n["channel"], n["status"], [e["outcome"] for e in n["log"]]) for n in log.json()) == [
        ("email", "delivered", ["sending", "delivered"]),
        ("portal", "delivered", ["sending", "delivered"]),
    ]


async def test_quiet_hours_hold_a_message_until_they_end(notify: Notify) -> None:
    notify.clock.now = datetime.now(NY).replace(hour=22, minute=30)
    await notify.add_family("g-quiet", "s-quiet", "Luis", language="en")
    event = new_envelope(
        change("s-quiet", "c1", 1, 2, mastered=True, name="Fractions"),
        district_id=notify.district,
        producer="mastery",
        subject="s-quiet",
        occurred_at=notify.clock.now,
    )
    await notify.publish(event)
    await notify.wait_for("the notification planned", lambda: count(notify, t.notifications))
    await notify.worker.run_once()
    assert notify.mail.mailbox.snapshot() == []
    async with notify.sessions() as session:
        due = await session.scalar(select(t.notifications.c.due_at))
    assert due == (notify.clock.now + timedelta(days=1)).replace(hour=7, minute=0, second=0, microsecond=0)

    notify.clock.now = due + timedelta(seconds=1)
    notify.worker.wake()
    await notify.wait_for("the held email going out", lambda: notify.mail.mailbox.snapshot())
    [email] = notify.mail.mailbox.snapshot()
    assert email["Subject"] == "Luis mastered “Fractions”"


async def test_a_daily_digest_gathers_the_days_news_into_one_email_at_the_chosen_hour(notify: Notify) -> None:
    notify.clock.now = datetime.now(NY).replace(hour=10, minute=0)
    await notify.add_family("g-digest", "s-digest", "Sofía", language="es")
    reply = await notify.client.put(
        f"/v1/districts/{notify.district}/guardians/g-digest/preferences",
        headers=notify.headers(),
        json={
            "language": "es",
            "timezone": "America/New_York",
            "quiet_hours": None,
            "channels": {"email": {"frequency": "daily", "digest_hour": 18}},
        },
    )
    assert reply.status_code == 200, reply.text
    for competency, old, new, mastered in (("c1", 1, 2, True), ("c2", 0, 1, False), ("c3", 2, 1, False)):
        await notify.publish(
            new_envelope(
                change("s-digest", competency, old, new, mastered=mastered, name=f"Skill {competency}"),
                district_id=notify.district,
                producer="mastery",
                subject="s-digest",
                occurred_at=notify.clock.now,
            )
        )
    await notify.wait_for("three items waiting for the digest", lambda: _equals(count(notify, t.digest_items), 3))
    await notify.worker.run_once()
    assert notify.mail.mailbox.snapshot() == []

    notify.clock.now = notify.clock.now.replace(hour=18)
    notify.worker.wake()
    await notify.wait_for("the digest email", lambda: notify.mail.mailbox.snapshot())
    await notify.worker.run_once()
    [email] = notify.mail.mailbox.snapshot()
    assert email["Subject"] == "Novedades de Sofía (3 avisos)"
    text = email.get_body(("plain",)).get_content()
    assert text.index("Skill c1") < text.index("Skill c2") < text.index("Skill c3")  # mastered first, support last


async def test_unsubscribing_from_the_emails_link_stops_the_next_email(notify: Notify) -> None:
    await set_portal(notify)
    await notify.add_family("g-unsub", "s-unsub", "Mia", language="en")
    first = new_envelope(
        change("s-unsub", "c1", 1, 2, mastered=True, name="Area"),
        district_id=notify.district,
        producer="mastery",
        subject="s-unsub",
        occurred_at=notify.clock.now,
    )
    await notify.publish(first)
    await notify.wait_for("the first email", lambda: notify.mail.mailbox.snapshot())
    [email] = notify.mail.mailbox.snapshot()
    link = urlparse(email["List-Unsubscribe"].strip("<>"))

    page = await notify.client.get(link.path)
    assert page.status_code == 200 and '<form method="post">' in page.text  # opening the link changes nothing
    done = await notify.client.post(link.path, content=b"List-Unsubscribe=One-Click")
    assert done.status_code == 200 and "will not receive" in done.text
    forged = await notify.client.post(link.path[:-2] + "00")
    assert forged.status_code == 404

    second = new_envelope(
        change("s-unsub", "c2", 1, 2, mastered=True, name="Volume"),
        district_id=notify.district,
        producer="mastery",
        subject="s-unsub",
        occurred_at=notify.clock.now,
    )
    await notify.publish(second)
    await notify.wait_for("the portal hearing of the second change", lambda: len(notify.hooks.received) == 2)
    await notify.worker.run_once()
    assert len(notify.mail.mailbox.snapshot()) == 1
    prefs = await notify.client.get(
        f"/v1/districts/{notify.district}/guardians/g-unsub/preferences", headers=notify.headers()
    )
    assert prefs.json()["opted_out"] == ["email"]


async def _equals(value, expected: int) -> bool:  # type: ignore[no-untyped-def]
    return (await value) == expected


async def test_a_new_flex_session_is_told_once_by_its_change_and_the_published_schedule_adds_nothing(notify: Notify):
    from mosaic_events.catalog import Assignment, GroupAssignmentChanged, ScheduledSession, SchedulePublished

    await notify.add_family("g-flex", "s-flex", "Omar", language="en")
    starts = notify.clock.now + timedelta(days=2)
    schedule = SchedulePublished(
        block_id="b-thu",
        school_id="school-1",
        starts_at=starts,
        ends_at=starts + timedelta(minutes=45),
        schedule_version=1,
        trigger="regroup",
        sessions=(ScheduledSession(session_id="lab", title="Fractions lab", kind="reteach"),),
        assignments=(Assignment(student_id="s-flex", session_id="lab", reason="fractions"),),
    )
    moved = GroupAssignmentChanged(
        block_id="b-thu",
        school_id="school-1",
        student_id="s-flex",
        old_session_id=None,
        new_session_id="lab",
        session_title="Fractions lab",
        session_kind="reteach",
        starts_at=starts,
        ends_at=starts,
        reason="regroup",
        schedule_version=1,
    )
    await notify.publish(
        new_envelope(schedule, district_id=notify.district, producer="scheduling", occurred_at=notify.clock.now)
    )
    change_event = new_envelope(
        moved, district_id=notify.district, producer="scheduling", subject="s-flex", occurred_at=notify.clock.now
    )
    await notify.publish(change_event)
    await notify.wait_for("the flex email", lambda: notify.mail.mailbox.snapshot())
    processed = runtime_tables(RUNTIME_METADATA)[PROCESSED]
    await notify.wait_for(
        "the assignment change consumed", lambda: count(notify, processed, processed.c.event_id == str(change_event.id))
    )
    assert await count(notify, t.news) == 1
    await notify.worker.run_once()
    [email] = notify.mail.mailbox.snapshot()
    assert "Fractions lab" in email["Subject"] and "Omar" in email["Subject"]


async def test_news_about_a_student_the_roster_lacks_is_dead_lettered_and_the_next_is_told(notify: Notify) -> None:
    await notify.add_family("g-ana", "s-ana", "Ana", language="en")
    await notify.wait_for("the family on file", lambda: count(notify, t.guardian_students))
    forged, real = (
        new_envelope(
            change(student, "c1", 1, 2, mastered=True),
            district_id=notify.district,
            producer="mastery",
            subject=student,
            occurred_at=notify.clock.now,
        )
        for student in ("s-ghost", "s-ana")
    )
    await notify.publish(forged)
    await notify.publish(real)
    await notify.wait_for("an e-mail to Ana's guardian", lambda: notify.mail.mailbox.snapshot())
    mastery_topic = notify.settings.topic_overrides["mosaic.mastery.v1"]
    letters = lambda: dead_letters(notify.settings.kafka_bootstrap_servers, mastery_topic)  # noqa: E731
    await notify.wait_for("the forged change in the dead-letter topic", letters)
    [letter] = await letters()
    assert (letter.reason, letter.group) == ("rejected", notify.settings.consumer_group)
    assert "student_id: no student 's-ghost'" in letter.error
    assert await count(notify, t.news, t.news.c.student_id == "s-ghost") == 0
