"""Benchmark: the evening's digests built, rendered and accepted by a real SMTP server; prints messages/s.

    uv run python bench/notify_digests.py [--guardians 20000] [--baseline 1000] [--connections 8] [--profile]

Each guardian has 1-3 children and each child 0-4 pieces of news from the day (mastered, moved up, needs
support, new flex group); half the families read Spanish. The district is written to a SQLite database and the
digests gathered before the clock starts. An aiosmtpd server runs in a process of its own (as a mail relay
would), offering PIPELINING, and counts what it accepts by Message-ID.

Printed, in one run on the same data:
1. build + render alone, in memory (what this bench measured before it delivered anything);
2. baseline: the delivery worker's one-at-a-time path as it was — a claim and a commit per digest, the standard
   library's EmailMessage, a new SMTP connection per message (aiosmtplib.send) — on the first --baseline digests;
3. the worker's DigestMailer on all the others: batches of 500 read in bulk, claimed ('sending' committed),
   built, rendered, sent over --connections reused pipelined connections, recorded 'delivered' with
   FamilyNotified — timed until the SMTP server has accepted the last one.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import multiprocessing
import os
import pstats
import random
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from mosaic_notify.adapters import tables as t
from mosaic_notify.adapters.channels import Outgoing
from mosaic_notify.adapters.codec import news_to_json
from mosaic_notify.adapters.digests import gather_due_digests
from mosaic_notify.adapters.email import EmailSender
from mosaic_notify.domain.contacts import Guardian
from mosaic_notify.domain.digest import build_daily_digest
from mosaic_notify.domain.messages import Audience, MessageRenderer
from mosaic_notify.domain.news import News, NewsKind
from mosaic_notify.main import MIGRATIONS
from mosaic_notify.service.delivery import DeliveryWorker
from mosaic_notify.settings import NotifySettings
from mosaic_runtime.db import make_engine, make_session_factory, run_migrations

DAY = date(2026, 11, 23)
EVENING = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)  # 18:30 in New York, the default digest hour has passed
LEVELS = ["Beginning", "Developing", "Proficient", "Advanced"]
SKILLS = [
    "Ratio language",
    "Unit rates",
    "Equivalent fractions",
    "Area of triangles",
    "Main idea of a text",
    "Evidence in an argument",
    "Plant and animal cells",
    "Persevering with hard problems",
]


def make_family(rng: random.Random, index: int) -> tuple[Guardian, Audience, list[News]]:
    students = [f"s{index}-{k}" for k in range(rng.randint(1, 3))]
    language = "es" if index % 2 else "en"
    guardian = Guardian(
        "d1", f"g{index}", f"Parent{index}", "F", f"g{index}@example.org", None, None, language, tuple(students)
    )
    news = [make_news(rng, sid) for sid in students for _ in range(rng.randint(0, 4))]
    names = {sid: rng.choice(["Ana", "Luis", "Mia", "Sofía", "Omar", "Kai"]) for sid in students}
    return guardian, Audience(guardian.given_name, names, language, "America/New_York", "https://u.example/x"), news


def make_news(rng: random.Random, student_id: str) -> News:
    kind = rng.choice(list(NewsKind))
    at = datetime(2026, 11, 23, 14, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 500))
    rank = rng.randint(1, 3)
    common = dict(
        news_id=str(uuid.UUID(int=rng.getrandbits(128))),
        kind=kind,
        district_id="d1",
        student_id=student_id,
        cause_event_id=str(uuid.UUID(int=rng.getrandbits(128))),
        correlation_id=str(uuid.UUID(int=rng.getrandbits(128))),
        occurred_at=at,
    )
    if kind == NewsKind.NEW_GROUP:
        return News(
            **common,
            session_title=rng.choice(["Fractions lab", "Reading circle"]),
            starts_at=at + timedelta(days=3),
            details={"block_id": f"b{rng.randint(1, 3)}"},
        )
    return News(
        **common,
        competency_id=f"c{rng.randint(1, 40)}",
        competency_name=rng.choice(SKILLS),
        old_level=LEVELS[rank - 1],
        new_level=LEVELS[rank],
        evidence_count=rng.randint(1, 30),
        dropped=kind == NewsKind.NEEDS_SUPPORT,
    )


# --- the SMTP server, in a process of its own ------------------------------------------------------


def serve_smtp(pipe: Any) -> None:
    """aiosmtpd offering PIPELINING; counts accepted messages and repeated Message-IDs until told to stop."""
    from aiosmtpd.controller import Controller

    class Counting:
        def __init__(self) -> None:
            self.accepted, self.ids, self.repeated = 0, set(), 0

        async def handle_EHLO(self, server, session, envelope, hostname, responses):  # type: ignore[no-untyped-def]
            session.host_name = hostname
            return [*responses[:-1], "250-PIPELINING", responses[-1]]

        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            content = envelope.content
            start = content.find(b"Message-ID: ") + 12
            message_id = content[start : content.find(b"\r\n", start)]
            self.repeated += message_id in self.ids
            self.ids.add(message_id)
            self.accepted += 1
            return "250 OK"

    from mosaic_dev.devservers import _free_port

    handler = Counting()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    pipe.send(controller.port)
    while True:
        command = pipe.recv()
        if command == "stop":
            break
        pipe.send((handler.accepted, handler.repeated, time.process_time()))
    controller.stop()
    pipe.send((handler.accepted, handler.repeated, time.process_time()))


class SmtpServer:
    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipe, child = context.Pipe()
        self.process = context.Process(target=serve_smtp, args=(child,), daemon=True)
        self.process.start()
        if not self.pipe.poll(60):
            raise SystemExit("the SMTP server process did not start")
        self.port = self.pipe.recv()

    def counts(self) -> tuple[int, int, float]:
        """(accepted, repeated Message-IDs, server CPU seconds)."""
        self.pipe.send("count")
        return self.pipe.recv()

    def stop(self) -> None:
        self.pipe.send("stop")
        self.pipe.recv()
        self.process.join(10)


# --- the district in the database ------------------------------------------------------------------


async def write_district(sessions: Any, families: list[tuple[Guardian, Audience, list[News]]]) -> None:
    guardians, students, links, news, items = [], [], [], [], []
    for guardian, audience, mine in families:
        guardians.append(
            {
                "district_id": "d1",
                "guardian_id": guardian.guardian_id,
                "given_name": guardian.given_name,
                "family_name": "F",
                "email": guardian.email,
                "language": guardian.language,
                "active": True,
            }
        )
        for sid in guardian.student_ids:
            students.append({"district_id": "d1", "student_id": sid, "given_name": audience.student_names[sid]})
            links.append({"district_id": "d1", "student_id": sid, "guardian_id": guardian.guardian_id})
        for item in mine:
            news.append(
                {
                    "news_id": item.news_id,
                    "district_id": "d1",
                    "student_id": item.student_id,
                    "kind": item.kind.value,
                    "cause_event_id": item.cause_event_id,
                    "occurred_at": item.occurred_at,
                    "document": news_to_json(item),
                }
            )
            items.append(
                {
                    "district_id": "d1",
                    "guardian_id": guardian.guardian_id,
                    "channel": "email",
                    "news_id": item.news_id,
                    "due_at": EVENING - timedelta(minutes=30),
                }
            )
    async with sessions() as session, session.begin():
        for table, rows in (
            (t.guardians, guardians),
            (t.students, students),
            (t.guardian_students, links),
            (t.news, news),
            (t.digest_items, items),
        ):
            await session.execute(insert(table), rows)


class LegacyEmailSender(EmailSender):
    """The email sender as it was: the standard library's EmailMessage and a new connection per message."""

    async def send(self, outgoing: Outgoing, content: bytes | None = None) -> None:
        import aiosmtplib

        email = EmailMessage()
        email["From"] = self.settings.smtp_from
        email["To"] = outgoing.guardian.email or ""
        email["Subject"] = outgoing.message.subject
        email["Message-ID"] = self.message_id(outgoing.notification_id)
        email["Date"] = formatdate(localtime=False, usegmt=True)
        email["Content-Language"] = outgoing.message.language
        email["List-Unsubscribe"] = f"<{outgoing.unsubscribe_url}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        email["X-Mosaic-Notification-Id"] = outgoing.notification_id
        email.set_content(outgoing.message.text)
        email.add_alternative(outgoing.message.html, subtype="html")
        await aiosmtplib.send(email, hostname=self.settings.smtp_host, port=self.settings.smtp_port)


async def wait_accepted(server: SmtpServer, expected: int) -> tuple[int, int, float]:
    while True:
        accepted, repeated, cpu = server.counts()
        if accepted >= expected:
            return accepted, repeated, cpu
        await asyncio.sleep(0.005)


async def run(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    families = [make_family(rng, i) for i in range(args.guardians)]
    renderer = MessageRenderer()
    server = SmtpServer()
    folder = Path(tempfile.mkdtemp(prefix="notify-bench-"))
    url = f"sqlite+aiosqlite:///{folder / 'notify.db'}"
    await run_migrations(url, MIGRATIONS)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    await write_district(sessions, families)
    settings = NotifySettings(
        database_url=url,
        kafka_enabled=False,
        smtp_port=server.port,
        smtp_connections=args.connections,
        lease_seconds=600,
    )
    clock = lambda: EVENING  # noqa: E731

    # 1. build + render alone, in memory
    gc.freeze()
    started = time.perf_counter()
    rendered = 0
    for guardian, audience, news in families:
        digest = build_daily_digest(guardian, news, DAY)
        if digest is not None:
            renderer.render_digest(digest, audience)
            rendered += 1
    render_only = rendered / (time.perf_counter() - started)

    started = time.perf_counter()
    gathered = await gather_due_digests(sessions, EVENING)
    gather_s = time.perf_counter() - started
    async with sessions() as session:
        ids = (
            (
                await session.execute(
                    select(t.notifications.c.notification_id).order_by(t.notifications.c.notification_id)
                )
            )
            .scalars()
            .all()
        )

    # 2. baseline: one at a time, a new connection per message
    legacy = DeliveryWorker(sessions, settings, {"email": LegacyEmailSender(settings)}, renderer, clock)
    sample = ids[: args.baseline]
    limit = asyncio.Semaphore(settings.delivery_concurrency)

    async def one(notification_id: str) -> None:
        async with limit:
            await legacy.deliver(notification_id)

    started, cpu_started = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one(i) for i in sample))
    before, _, _ = await wait_accepted(server, len(sample))
    baseline_s, baseline_cpu = time.perf_counter() - started, time.process_time() - cpu_started

    # 3. the DigestMailer on the rest
    worker = DeliveryWorker(sessions, settings, {"email": EmailSender(settings)}, renderer, clock)
    assert worker.digests is not None
    profile = cProfile.Profile() if args.profile else None
    _, _, server_cpu_started = server.counts()
    started, cpu_started = time.perf_counter(), time.process_time()
    if profile:
        profile.enable()
    while await worker.digests.send_due(EVENING):
        pass
    if profile:
        profile.disable()
    accepted, repeated, server_cpu = await wait_accepted(server, len(ids))
    mailed_s, mailed_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    server_cpu -= server_cpu_started
    mailed = accepted - before
    await worker.digests.sender.pool.close()
    server.stop()
    await engine.dispose()

    load = os.getloadavg()[0]
    print(
        f"guardians: {args.guardians:,}; digests: {gathered:,} (gathered in {gather_s:.2f} s); "
        f"load average {load:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"build + render alone, in memory: {render_only:,.0f} messages/s")
    print(
        f"baseline, one at a time, a connection per message ({len(sample):,} digests): "
        f"{len(sample) / baseline_s:,.0f} messages/s accepted by SMTP "
        f"({len(sample) / baseline_cpu:,.0f} per CPU-second of the sender)"
    )
    print(
        f"DigestMailer, {args.connections} pipelined connections ({mailed:,} digests): {mailed / mailed_s:,.0f} "
        f"messages/s built, rendered and accepted by SMTP in {mailed_s:.2f} s"
    )
    print(
        f"  CPU: sender {mailed_cpu:.2f} s ({mailed / mailed_cpu:,.0f} messages per CPU-second), "
        f"SMTP server {server_cpu:.2f} s; ratio to baseline {mailed / mailed_s / (len(sample) / baseline_s):.1f}x"
    )
    print(f"  accepted by the server in all: {accepted:,} of {len(ids):,}; the same Message-ID twice: {repeated}")
    if profile:
        pstats.Stats(profile).sort_stats("tottime").print_stats(args.profile)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guardians", type=int, default=20_000)
    parser.add_argument("--baseline", type=int, default=1_000, help="digests sent the old way first")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="print the N costliest functions")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
