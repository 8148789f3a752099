"""Digests mailed in batches over reused SMTP connections, and a sender killed mid-batch never mails a family
the same digest twice: the real SMTP server counts, a real process is killed with SIGKILL."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mosaic_dev.devservers import MailCatcher
from mosaic_events.ids import new_event_id
from mosaic_notify.adapters import store
from mosaic_notify.adapters import tables as t
from mosaic_notify.adapters.channels import Outgoing
from mosaic_notify.adapters.digests import gather_due_digests
from mosaic_notify.adapters.email import email_content
from mosaic_notify.domain.contacts import Guardian, Student
from mosaic_notify.domain.messages import Message, MessageRenderer
from mosaic_notify.domain.news import News, NewsKind
from mosaic_notify.domain.rules import DistrictRules
from mosaic_notify.main import MIGRATIONS, senders
from mosaic_notify.service.delivery import DeliveryWorker
from mosaic_notify.settings import NotifySettings
from mosaic_runtime.db import make_engine, make_session_factory, run_migrations
from mosaic_runtime.outbox import outbox_table

EVENING = datetime(2026, 11, 23, 23, tzinfo=UTC)  # 18:00 in New York: digest time
FAMILIES = 40

MAILER = textwrap.dedent("""
    import asyncio, sys
    from datetime import datetime
    from mosaic_notify.adapters.digests import DigestMailer
    from mosaic_notify.adapters.email import EmailSender
    from mosaic_notify.domain.messages import MessageRenderer
    from mosaic_notify.settings import NotifySettings
    from mosaic_runtime.db import make_engine, make_session_factory

    async def main(url: str, port: int, now: datetime) -> None:
        settings = NotifySettings(database_url=url, kafka_enabled=False, smtp_port=port, smtp_connections=2)
        async def unexpected(*args, **kwargs):
            raise SystemExit("a send failed")
        mailer = DigestMailer(make_session_factory(make_engine(url)), settings, MessageRenderer(),
                              EmailSender(settings), lambda: now, failed=unexpected, uncertain=unexpected)
        print("sending", flush=True)
        await mailer.send_due(now)

    asyncio.run(main(sys.argv[1], int(sys.argv[2]), datetime.fromisoformat(sys.argv[3])))
""")


@pytest.fixture
async def mail() -> AsyncIterator[MailCatcher]:
    catcher = MailCatcher().start()
    yield catcher
    catcher.stop()


@pytest.fixture
async def engines() -> AsyncIterator[list]:
    """Engines the test opened, disposed after it (their aiosqlite threads must not outlive the loop)."""
    opened: list = []
    yield opened
    for engine in opened:
        await engine.dispose()


async def district_with_digests(database_url: str, engines: list) -> object:
    """FAMILIES guardians, each with a child and two pieces of news gathered into a due email digest."""
    await run_migrations(database_url, MIGRATIONS)
    engine = make_engine(database_url)
    engines.append(engine)
    sessions = make_session_factory(engine)
    async with sessions() as session, session.begin():
        for i in range(FAMILIES):
            await store.save_student(session, Student("d1", f"s{i}", f"Kid{i}"))
            await store.save_guardian(
                session,
                Guardian(
                    "d1",
                    f"g{i}",
                    f"Parent{i}",
                    "F",
                    f"g{i}@example.org",
                    None,
                    None,
                    "es" if i % 2 else "en",
                    (f"s{i}",),
                ),
            )
            for k, kind in enumerate((NewsKind.MASTERED, NewsKind.NEEDS_SUPPORT)):
                item = News(
                    str(new_event_id()),
                    kind,
                    "d1",
                    f"s{i}",
                    str(new_event_id()),
                    str(new_event_id()),
                    EVENING - timedelta(hours=3),
                    competency_id=f"c{k}",
                    competency_name=f"Skill {k}",
                    new_level="Proficient",
                    evidence_count=k + 1,
                )
                await store.add_news(session, item)
                await session.execute(
                    t.digest_items.insert().values(
                        district_id="d1", guardian_id=f"g{i}", channel="email", news_id=item.news_id, due_at=EVENING
                    )
                )
    assert await gather_due_digests(sessions, EVENING) == FAMILIES
    return sessions


def recipients(mail: MailCatcher) -> Counter[str]:
    return Counter(str(m["To"]) for m in mail.mailbox.snapshot())


async def statuses(sessions) -> Counter[str]:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        return Counter(
            dict(
                (
                    await session.execute(
                        select(t.notifications.c.status, func.count()).group_by(t.notifications.c.status)
                    )
                ).all()
            )
        )


async def kill_mid_batch(database_url: str, mail: MailCatcher, tmp_path: Path) -> int:
    """Run the mailer in a process of its own and SIGKILL it once some, not all, digests were accepted."""
    script = tmp_path / "mailer.py"
    script.write_text(MAILER)
    mail.handler.delay_s = 0.05
    process = subprocess.Popen(
        [sys.executable, str(script), database_url, str(mail.port), EVENING.isoformat()],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while len(mail.mailbox.snapshot()) < 5 and time.monotonic() < deadline and process.poll() is None:
        await asyncio.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    mail.handler.delay_s = 0.0
    accepted = len(mail.mailbox.snapshot())
    assert 5 <= accepted < FAMILIES, f"killed after {accepted} digests; {process.stderr.read().decode()[-2000:]}"
    return accepted


@pytest.mark.parametrize("lookup", [True, False], ids=["provider-search", "no-search"])
async def test_a_mailer_killed_mid_batch_never_mails_a_family_twice(
    database_url: str, mail: MailCatcher, tmp_path: Path, lookup: bool, engines: list
):
    sessions = await district_with_digests(database_url, engines)
    accepted = await kill_mid_batch(database_url, mail, tmp_path)
    assert (await statuses(sessions))["sending"] == FAMILIES  # the whole batch was claimed before a byte left

    settings = NotifySettings(
        database_url=database_url,
        kafka_enabled=False,
        smtp_port=mail.port,
        smtp_lookup_url=mail.lookup_url if lookup else None,
    )
    clock = [EVENING + timedelta(seconds=settings.lease_seconds + 1)]  # the dead mailer's lease has run out
    worker = DeliveryWorker(sessions, settings, senders(settings), MessageRenderer(), lambda: clock[0])
    await worker.run_once()
    await worker.run_once()

    assert max(recipients(mail).values()) == 1  # nobody twice
    if lookup:  # the provider said which it had: those are delivered, the rest sent now
        assert len(recipients(mail)) == FAMILIES and await statuses(sessions) == Counter(delivered=FAMILIES)
        async with sessions() as session:
            events = [json.loads(v) for v in (await session.execute(select(outbox_table().c.value))).scalars()]
        assert sorted(e["data"]["guardian_id"] for e in events if e["type"] == "FamilyNotified") == sorted(
            f"g{i}" for i in range(FAMILIES)
        )  # once each, whether reconciled or sent after the crash
    else:  # nobody can tell: held, never resent (at most once)
        assert len(recipients(mail)) == accepted and await statuses(sessions) == Counter(in_doubt=FAMILIES)


async def test_due_digests_go_out_in_batches_on_reused_connections(database_url: str, mail: MailCatcher, engines: list):
    sessions = await district_with_digests(database_url, engines)
    settings = NotifySettings(database_url=database_url, kafka_enabled=False, smtp_port=mail.port, smtp_connections=3)
    worker = DeliveryWorker(sessions, settings, senders(settings), MessageRenderer(), lambda: EVENING)
    assert worker.digests is not None
    assert await worker.digests.send_due(EVENING) == FAMILIES
    assert len(recipients(mail)) == FAMILIES and await statuses(sessions) == Counter(delivered=FAMILIES)
    assert worker.digests.sender.pool._open <= 3  # type: ignore[attr-defined]
    spanish = next(m for m in mail.mailbox.snapshot() if m["To"] == "g1@example.org")
    assert spanish["Subject"] == "Novedades de Kid1 (2 avisos)"
    assert "Según 1 trabajo reciente" in spanish.get_body(("plain",)).get_content()


@pytest.mark.parametrize(
    ("eight_bit", "longest_line", "sent_as"), [(True, 200, "8bit"), (True, 600, "base64"), (False, 200, "base64")]
)
def test_message_bytes_read_back_as_the_message_that_was_written(
    eight_bit: bool, longest_line: int, sent_as: str
) -> None:
    guardian = Guardian("d1", "g1", "José", "P", "jose@example.org", None, None, "es", ("s1",))
    text = "Hola, José:\n.una línea que empieza con punto\n" + "ñ" * longest_line + "\n"  # 2 bytes a letter
    message = Message("es", "Novedades de Sofía y Zoë — " + "á" * 60, text, f"<p>{text}</p>", "corto")
    outgoing = Outgoing("3f2c", guardian, "email", message, (), True, "https://u.example/x", DistrictRules())
    content = email_content(
        outgoing, sender="Mosaic <no-reply@mosaic.local>", message_id="<3f2c@mosaic.local>", eight_bit=eight_bit
    )
    raw = content.data
    assert content.eight_bit == (sent_as == "8bit") and raw.count(f"Transfer-Encoding: {sent_as}".encode()) == 2
    assert all(len(line) <= 998 for line in raw.split(b"\r\n")) and raw.isascii() == (sent_as == "base64")
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == message.subject and parsed["To"] == "jose@example.org"
    assert parsed["Message-ID"] == "<3f2c@mosaic.local>" and parsed["Content-Language"] == "es"
    assert parsed["List-Unsubscribe"] == "<https://u.example/x>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed.get_body(("plain",)).get_content().replace("\r\n", "\n") == text
    assert parsed.get_body(("html",)).get_content().replace("\r\n", "\n") == f"<p>{text}</p>"
