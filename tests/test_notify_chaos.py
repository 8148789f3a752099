"""Chaos: the notify process is killed (SIGKILL) at random moments while 1,000 mastery changes stream through.

Every guardian must get each piece of news exactly once, counted at a real SMTP server in this test process.
The process restarts from what it committed; notifications left mid-send are settled by asking the mail
server's message search for their derived Message-ID before anything is sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import create_engine, text

from mosaic_dev.devservers import MailCatcher
from mosaic_events import encode, new_envelope
from mosaic_events.catalog import MasteryChanged, Person, PersonDetailsChanged, RosterChanged
from mosaic_events.topics import Topic
from mosaic_notify.domain.ids import notification_id
from mosaic_notify.domain.news import news_id_for
from mosaic_runtime.topics_admin import ensure_topics

pytestmark = pytest.mark.integration

STUDENTS = 200
SECOND_GUARDIANS = 50  # the first 50 students have two guardians
CHANGES_PER_STUDENT = 5  # 1,000 changes in all
KILLS = 5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def roster(district: str) -> tuple[RosterChanged, list[PersonDetailsChanged]]:
    """As evidence publishes one: ids and links on the reference topic, names and addresses on the people topic."""
    people, details = [], []
    for i in range(STUDENTS):
        people.append(Person(id=f"s{i}", role="student"))
        details.append(PersonDetailsChanged(person_id=f"s{i}", role="student", given_name=f"Kid{i}", family_name="F"))
        guardians = [f"g{i}"] + ([f"h{i}"] if i < SECOND_GUARDIANS else [])
        people += [
            Person(id=g, role="guardian", preferred_language="es" if i % 2 else "en", related_ids=(f"s{i}",))
            for g in guardians
        ]
        details += [
            PersonDetailsChanged(
                person_id=g,
                role="guardian",
                given_name=f"Parent {g}",
                family_name="F",
                email=f"{g}@{district}.example.org",
            )
            for g in guardians
        ]
    return RosterChanged(import_id=str(uuid.uuid4()), school_id="school-1", people=tuple(people)), details


def mastered(student: str, competency: int) -> MasteryChanged:
    return MasteryChanged(
        student_id=student,
        competency_id=f"c{competency}",
        competency_name=f"Skill number {competency}",
        old_level="Developing",
        new_level="Proficient",
        old_rank=1,
        new_rank=2,
        mastered=True,
        estimate=0.9,
        method="decaying_average",
        evidence_count=4,
        cause_evidence_ids=(str(uuid.uuid4()),),
    )


class NotifyProcess:
    """`mosaic-notify serve` as a real child process, started again after each kill."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log, self.process = env, log, None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "mosaic_notify.cli", "serve"], env=self.env, stdout=out, stderr=subprocess.STDOUT
            )

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()


async def test_killing_notify_at_random_moments_never_loses_or_repeats_a_familys_news(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    uid = uuid.uuid4().hex[:10]
    district = f"chaos-{uid}"
    topics = {kind: f"test.notify-chaos.{uid}.{kind}" for kind in ("reference", "people", "mastery", "schedule")}
    await asyncio.to_thread(
        ensure_topics, kafka_bootstrap, [Topic(n, "test", 6, 24 * 3600 * 1000, "chaos") for n in topics.values()]
    )
    mail = MailCatcher().start()
    database = tmp_path / "notify.db"
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "MOSAIC_NOTIFY_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "MOSAIC_NOTIFY_CONSUMER_GROUP": f"chaos-{uid}",
        "MOSAIC_NOTIFY_CONSUMER_SESSION_TIMEOUT_MS": "6000",
        "MOSAIC_NOTIFY_HTTP_PORT": str(free_port()),
        "MOSAIC_NOTIFY_TOPIC_OVERRIDES": json.dumps({f"mosaic.{name}.v1": topic for name, topic in topics.items()}),
        "MOSAIC_NOTIFY_SMTP_PORT": str(mail.port),
        "MOSAIC_NOTIFY_SMTP_LOOKUP_URL": mail.lookup_url,
        "MOSAIC_NOTIFY_DEFAULT_QUIET_HOURS": "",
        "MOSAIC_NOTIFY_DEFAULT_DAILY_INSTANT_CAP": "1000",  # every change here is news to tell at once
        "MOSAIC_NOTIFY_LEASE_SECONDS": "3",
        "MOSAIC_NOTIFY_SEND_TIMEOUT_SECONDS": "1",
        "MOSAIC_NOTIFY_DELIVERY_POLL_SECONDS": "0.1",
        "MOSAIC_NOTIFY_LOG_LEVEL": "WARNING",
    }
    notify = NotifyProcess(env, tmp_path / "notify.log")
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    expected: list[str] = []
    try:
        links, contacts = roster(district)
        for details in contacts:
            record = new_envelope(details, district_id=district, producer="evidence")
            await producer.send_and_wait(topics["people"], encode(record), key=record.kafka_key)
        family = new_envelope(links, district_id=district, producer="evidence", school_id="school-1")
        await producer.send_and_wait(topics["reference"], encode(family), key=family.kafka_key)
        notify.start()
        # The families are known (links and addresses, from two topics) before any news is streamed.
        guardians = STUDENTS + SECOND_GUARDIANS
        await wait_until(lambda: _reachable_guardians(database) == guardians, "the guardians' addresses", 300)

        async def stream_changes() -> None:
            order = [(s, c) for c in range(CHANGES_PER_STUDENT) for s in range(STUDENTS)]
            for n, (student, competency) in enumerate(order):
                event = new_envelope(
                    mastered(f"s{student}", competency), district_id=district, producer="mastery", subject=f"s{student}"
                )
                await producer.send_and_wait(topics["mastery"], encode(event), key=event.kafka_key)
                guardians = [f"g{student}"] + ([f"h{student}"] if student < SECOND_GUARDIANS else [])
                expected.extend(notification_id(news_id_for(str(event.id)), g, "email") for g in guardians)
                if n % 100 == 99:
                    await producer.send_and_wait(topics["mastery"], encode(event), key=event.kafka_key)  # re-sent
                    # Keep streaming while the kills happen: the next 100 only once the last but one is told.
                    await wait_until(lambda n=n: len(mail.mailbox.snapshot()) >= (n - 99) * 1.1, "progress", 300)

        streaming = asyncio.create_task(stream_changes())
        # Kill points are progress, not time (a loaded machine may take 20 s just to import): after a random
        # number of emails has arrived, plus a random few milliseconds, so kills land mid-consume and mid-send.
        rng = random.Random(uid)
        total = STUDENTS * CHANGES_PER_STUDENT + SECOND_GUARDIANS * CHANGES_PER_STUDENT
        for threshold in sorted(rng.sample(range(20, total - 20), KILLS)):
            await wait_until(lambda t=threshold: len(mail.mailbox.snapshot()) >= t, f"{threshold} emails", 300)
            await asyncio.sleep(rng.uniform(0, 0.3))
            notify.kill()
            notify.start()
        await streaming
        with contextlib.suppress(AssertionError):  # the assertions below say what is missing
            await wait_until(lambda: len(mail.mailbox.snapshot()) >= len(expected), "every email", 300)
        notify.stop()  # nothing can send after this: the count is final
    finally:
        if notify.process and notify.process.poll() is None:
            notify.kill()
        await producer.stop()
        mail.stop()

    received = Counter(m["X-Mosaic-Notification-Id"] for m in mail.mailbox.snapshot())
    repeated = {k: v for k, v in received.items() if v > 1}
    missing = set(expected) - set(received)
    unexpected = set(received) - set(expected)
    outcomes = _delivery_outcomes(database)
    print(
        f"\nchaos: {len(expected)} expected emails, {sum(received.values())} received, {KILLS} kills; "
        f"delivery log outcomes: {outcomes}"
    )
    assert len(expected) == STUDENTS * CHANGES_PER_STUDENT + SECOND_GUARDIANS * CHANGES_PER_STUDENT
    assert not repeated, f"{len(repeated)} emails arrived more than once, e.g. {list(repeated.items())[:3]}"
    assert not unexpected, f"{len(unexpected)} emails nobody expected"
    assert not missing, f"{len(missing)} of {len(expected)} emails never arrived; see {tmp_path / 'notify.log'}"


async def wait_until(check, what: str, timeout_s: float) -> None:  # type: ignore[no-untyped-def]
    async def until() -> None:
        while not check():
            await asyncio.sleep(0.01)

    try:
        await asyncio.wait_for(until(), timeout_s)
    except TimeoutError:
        raise AssertionError(f"waited {timeout_s}s for {what}") from None


def _reachable_guardians(database: Path) -> int:
    """Guardians notify can write to (an address and a student), read from its database; 0 before it exists."""
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1) as db:
            return db.execute(
                "SELECT count(DISTINCT g.guardian_id) FROM notify_guardians g JOIN "
                "notify_guardian_students l ON l.guardian_id = g.guardian_id "
                "WHERE g.email IS NOT NULL"
            ).fetchone()[0]
    except sqlite3.Error:
        return 0


def _delivery_outcomes(database: Path) -> dict[str, int]:
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT outcome, count(*) FROM notify_delivery_log GROUP BY outcome")).all()
    engine.dispose()
    return {outcome: n for outcome, n in rows}
