"""Chaos with replicas: 3 mastery, 2 scheduling and 2 notify processes on one PostgreSQL and a real broker; one
of them, chosen at random, is killed (SIGKILL) every few seconds and started again while a generated district's
evidence streams in. Afterwards the mastery projection equals a single-process fold, each section got as many
RegroupNeeded as the single-process fold emits, each planned e-mail reached the SMTP server exactly once, and
nothing went to a dead-letter topic.

The district's rules make the RegroupNeeded count independent of how partitions interleave (one student's change
is enough, no debounce, every evidence at one instant), so the assertion is exact; see ADR 0018.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select

from mosaic_dev import synthetic_events as synthetic
from mosaic_dev.devservers import MailCatcher
from mosaic_dev.postgres import temporary_database
from mosaic_dev.pytest_plugin import POSTGRES_URL_VARIABLE
from mosaic_dev.topic_io import read_to_end, start_group_at_the_end
from mosaic_events import Envelope, decode, encode, new_envelope
from mosaic_events.catalog import Person, PersonDetailsChanged, RosterChanged
from mosaic_events.topics import REGROUP, TOPICS, Topic
from mosaic_events.tracing import kafka_headers
from mosaic_mastery import main as mastery_main
from mosaic_mastery.adapters.checksum import projection_checksum
from mosaic_mastery.adapters.emissions import caused_by_event
from mosaic_mastery.adapters.rebuild import write_state
from mosaic_mastery.adapters.store import ProjectionStore
from mosaic_mastery.domain.config import DistrictConfig, DistrictSettings
from mosaic_mastery.domain.facts import from_envelope
from mosaic_mastery.domain.projection import LevelChanged, ProjectionState, apply
from mosaic_mastery.domain.regroup import RegroupDue
from mosaic_notify import main as notify_main
from mosaic_notify.adapters import tables as notify_tables
from mosaic_notify.domain.news import news_from_mastery
from mosaic_runtime.auth import generate_signing_key
from mosaic_runtime.db import POSITIONS, RUNTIME_METADATA, make_engine, make_session_factory, run_migrations
from mosaic_runtime.db import runtime_tables as chassis_tables
from mosaic_runtime.outbox import outbox_table
from mosaic_runtime.topics_admin import ensure_topics
from mosaic_scheduling import main as scheduling_main

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not os.environ.get(POSTGRES_URL_VARIABLE), reason=f"needs PostgreSQL ({POSTGRES_URL_VARIABLE})"),
]

STUDENTS, SECTION_SIZE, EVIDENCE = 48, 12, 600
REPLICAS = {"mastery": 3, "scheduling": 2, "notify": 2}
KILL_EVERY_SECONDS = (1.5, 3.0)
MIN_KILLS, MAX_KILLS = 3, 8
WAIT = 240.0
KINDS = (
    "evidence",
    "reference",
    "people",
)  # private inputs; what the services emit goes to the catalog's topics (outbox)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Replica:
    """One service process; killed with SIGKILL and started again with the same environment."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.command, self.env, self.log = name, command, env, log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(self.command, env=self.env, stdout=out, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def uvicorn(module: str) -> list[str]:
    return [sys.executable, "-m", "uvicorn", f"{module}:app", "--port", str(free_port()), "--log-level", "warning"]


def guardians(district: str) -> tuple[Envelope, list[Envelope]]:
    """One guardian per student, told by e-mail, as evidence publishes them: ids and links on the roster,
    names and contacts on mosaic.people.v1."""
    ids = [f"{district}-g{i:06d}" for i in range(STUDENTS)]
    people = tuple(Person(id=g, role="guardian", related_ids=(f"{district}-st{i:06d}",)) for i, g in enumerate(ids))
    roster = new_envelope(
        RosterChanged(import_id="guardians", school_id=f"{district}-school-1", mode="delta", people=people),
        district_id=district,
        producer="evidence",
        school_id=f"{district}-school-1",
    )
    details = [
        new_envelope(
            PersonDetailsChanged(
                person_id=g,
                role="guardian",
                given_name="Parent",
                family_name=str(i),
                email=f"g{i}@{district}.example.org",
            ),
            district_id=district,
            producer="evidence",
        )
        for i, g in enumerate(ids)
    ]
    return roster, details


def single_process(
    reference: list[Envelope], evidence: list[Envelope], settings: DistrictSettings, district: str
) -> tuple[ProjectionState, Counter[str], set[str]]:
    """The fold of one process: the state, RegroupNeeded per section, and the news ids families are told."""
    state = ProjectionState(configs={district: DistrictConfig(settings)})
    regroups: Counter[str] = Counter()
    news: set[str] = set()
    for envelope in reference + evidence:
        fact = from_envelope(envelope)
        if fact is None:
            continue
        for emission in apply(state, fact):
            if isinstance(emission, RegroupDue):
                regroups[emission.section_id] += 1
            elif isinstance(emission, LevelChanged):
                told = news_from_mastery(caused_by_event(emission, envelope))
                if told is not None:
                    news.add(told.news_id)
    return state, regroups, news


async def wait_until(
    check: Callable[[], Awaitable[bool]], what: str, timeout: float = WAIT, progress: dict[str, int] | None = None
) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not await check():
                await asyncio.sleep(0.5)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout}s waiting for {what}; last seen {progress}") from None


async def start_at_the_end(database_url: str, group: str, service: str, private: set[str], bootstrap: str) -> None:
    """The group starts at the current end of the shared catalog topics the service reads: they carry every
    earlier test's districts, which would otherwise be read first (as a new service started from now)."""
    handlers = importlib.import_module(f"mosaic_{service}.consumers").HANDLERS
    shared = [t.name for t in handlers.topics() if t.name not in private]
    await start_group_at_the_end(database_url, group, shared, bootstrap)


async def read_topic(bootstrap: str, topic: str) -> list[bytes]:
    return [record.value or b"" for record in await read_to_end(bootstrap, topic)]


@contextlib.contextmanager
def databases(server: str) -> Iterator[dict[str, str]]:
    with temporary_database(server) as m, temporary_database(server) as s, temporary_database(server) as n:
        yield {"mastery": m, "scheduling": s, "notify": n}


async def test_replicas_killed_at_random_keep_the_projection_the_regroups_and_the_emails_exact(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    uid = uuid.uuid4().hex[:8]
    district, group = f"rc-{uid}", f"rc-{uid}"
    names = {kind: f"test.replica-chaos.{uid}.{kind}" for kind in KINDS}
    await asyncio.to_thread(
        ensure_topics,
        kafka_bootstrap,
        [  # and each one's .dlq
            *TOPICS,
            *(Topic(name, "test", 6, 24 * 3600 * 1000, "replica chaos") for name in names.values()),
        ],
    )
    reference, stream = synthetic.district(district, students=STUDENTS, events=EVIDENCE, section_size=SECTION_SIZE)
    family, contacts = guardians(district)
    reference.append(family)
    evidence = [e.model_copy(update={"occurred_at": synthetic.T0}) for e in stream]
    sections = [f"{district}-sec{j:04d}" for j in range(STUDENTS // SECTION_SIZE)]
    settings = DistrictSettings(
        regroup_threshold=1 / SECTION_SIZE,
        regroup_debounce_minutes=0,
        grouping_competencies={s: ("math-6.S0.T0", "math-6.S0.T1", "math-6.S1.T0", "math-6.S0") for s in sections},
    )
    expected_state, expected_regroups, expected_news = single_process(reference, evidence, settings, district)

    mail = MailCatcher().start()
    jwks = generate_signing_key().jwks_json
    overrides = json.dumps({f"mosaic.{kind}.v1": name for kind, name in names.items()})
    with databases(os.environ[POSTGRES_URL_VARIABLE]) as urls:
        for service, module in (("mastery", mastery_main), ("scheduling", scheduling_main), ("notify", notify_main)):
            await run_migrations(urls[service], module.MIGRATIONS)
            await start_at_the_end(urls[service], f"{group}-{service}", service, set(names), kafka_bootstrap)
        engine = make_engine(urls["mastery"])
        mastery_sessions = make_session_factory(engine)
        notify_engine = make_engine(urls["notify"])
        notify_sessions = make_session_factory(notify_engine)
        async with mastery_sessions() as session, session.begin():
            await ProjectionStore().save_settings(session, district, settings)

        def env(service: str, **extra: str) -> dict[str, str]:
            prefix = f"MOSAIC_{service.upper()}_"
            return {
                **os.environ,
                "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
                f"{prefix}DATABASE_URL": urls[service],
                f"{prefix}TOPIC_OVERRIDES": overrides,
                f"{prefix}CONSUMER_GROUP": f"{group}-{service}",
                f"{prefix}CONSUMER_SESSION_TIMEOUT_MS": "6000",
                f"{prefix}MIGRATE_AT_START": "false",
                f"{prefix}OIDC_JWKS_JSON": jwks,
                f"{prefix}LOG_LEVEL": "WARNING",
                f"{prefix}OUTBOX_POLL_SECONDS": "0.1",
                **{prefix + k: v for k, v in extra.items()},
            }

        notify_env = env(
            "notify",
            HTTP_PORT="0",
            SMTP_PORT=str(mail.port),
            SMTP_LOOKUP_URL=mail.lookup_url,
            DEFAULT_QUIET_HOURS="",
            LEASE_SECONDS="3",
            SEND_TIMEOUT_SECONDS="1",
            DELIVERY_POLL_SECONDS="0.2",
            MAX_NEWS_AGE_HOURS="1000000",
        )
        replicas = [
            Replica(
                f"mastery-{i}",
                uvicorn("mosaic_mastery.main"),
                env("mastery", CONSUMER_MAX_RECORDS="50"),
                tmp_path / f"mastery-{i}.log",
            )
            for i in range(REPLICAS["mastery"])
        ]
        replicas += [
            Replica(
                f"scheduling-{i}",
                uvicorn("mosaic_scheduling.main"),
                env("scheduling", SOLVER_TIME_LIMIT_SECONDS="2"),
                tmp_path / f"scheduling-{i}.log",
            )
            for i in range(REPLICAS["scheduling"])
        ]
        replicas += [
            Replica(
                f"notify-{i}",
                [sys.executable, "-m", "mosaic_notify.cli", "serve"],
                {**notify_env, "MOSAIC_NOTIFY_HTTP_PORT": str(free_port())},
                tmp_path / f"notify-{i}.log",
            )
            for i in range(REPLICAS["notify"])
        ]
        positions = chassis_tables(RUNTIME_METADATA)[POSITIONS]

        async def consumed(topic: str) -> int:
            async with mastery_sessions() as session:
                return await session.scalar(
                    select(func.coalesce(func.sum(positions.c.next_offset), 0)).where(
                        positions.c.consumer_group == f"{group}-mastery", positions.c.topic == topic
                    )
                )

        progress: dict[str, int] = {}

        async def settled() -> bool:
            """Mastery consumed everything and published its outbox; notify told each news and sent each e-mail.
            Notify also reads other tests' districts on the shared mastery topic: only this district counts."""
            n, news = notify_tables.notifications, notify_tables.news
            progress["evidence consumed"] = await consumed(names["evidence"])
            async with mastery_sessions() as session:
                progress["mastery outbox unsent"] = await session.scalar(
                    select(func.count()).select_from(outbox_table()).where(outbox_table().c.sent.is_(False))
                )
            async with notify_sessions() as session:
                progress["news told"] = await session.scalar(
                    select(func.count()).select_from(news).where(news.c.district_id == district)
                )
                progress["notifications open"] = await session.scalar(
                    select(func.count())
                    .select_from(n)
                    .where(n.c.district_id == district, n.c.status.in_(("pending", "sending")))
                )
            return (
                progress["evidence consumed"] >= len(evidence)
                and progress["mastery outbox unsent"] == 0
                and progress["news told"] >= len(expected_news)
                and progress["notifications open"] == 0
            )

        rng = random.Random(uid)
        kills: Counter[str] = Counter()
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True, linger_ms=5)
        await producer.start()
        try:
            for replica in replicas:
                replica.start()
            for envelope in reference:
                await producer.send_and_wait(
                    names["reference"], encode(envelope), key=envelope.kafka_key, headers=kafka_headers(envelope)
                )
            for envelope in contacts:
                await producer.send_and_wait(
                    names["people"], encode(envelope), key=envelope.kafka_key, headers=kafka_headers(envelope)
                )
            await wait_until(lambda: _at_least(consumed(names["reference"]), len(reference)), "the roster")
            await wait_until(lambda: _at_least(consumed(names["people"]), len(contacts)), "the guardians' contacts")

            async def stream_in() -> None:
                for start in range(0, len(evidence), 30):
                    for envelope in evidence[start : start + 30]:
                        await producer.send(
                            names["evidence"], encode(envelope), key=envelope.kafka_key, headers=kafka_headers(envelope)
                        )
                    await producer.flush()
                    await asyncio.sleep(0.3)

            streaming = asyncio.create_task(stream_in())
            # Kill while evidence streams in and is folded, and at least MIN_KILLS times however fast that goes.
            while (
                sum(kills.values()) < MIN_KILLS
                or not streaming.done()
                or await consumed(names["evidence"]) < len(evidence) * 0.9
            ):
                await asyncio.sleep(rng.uniform(*KILL_EVERY_SECONDS))
                victim = rng.choice(replicas)
                victim.kill()
                victim.start()
                kills[victim.name] += 1
                if sum(kills.values()) >= MAX_KILLS:
                    break
            await streaming
            await wait_until(
                settled,
                "every evidence folded, every regroup published and every e-mail sent "
                f"(of {len(evidence)} evidence and {len(expected_news)} news)",
                progress=progress,
            )
        finally:
            for replica in replicas:
                replica.stop()
            await producer.stop()
            mail.stop()

        async with mastery_sessions() as session:
            live = await projection_checksum(session)
        n = notify_tables.notifications
        async with notify_sessions() as session:
            ours = n.c.district_id == district
            planned = set(
                await session.scalars(
                    select(n.c.notification_id).where(ours, n.c.channel == "email", n.c.digest.is_(False))
                )
            )
            statuses = Counter(await session.scalars(select(n.c.status).where(ours)))
            news = notify_tables.news
            told = set(await session.scalars(select(news.c.news_id).where(news.c.district_id == district)))
        await engine.dispose()
        await notify_engine.dispose()
        with temporary_database(os.environ[POSTGRES_URL_VARIABLE]) as single_url:
            await run_migrations(single_url, mastery_main.MIGRATIONS)
            single_engine = make_engine(single_url)
            async with make_session_factory(single_engine)() as session, session.begin():
                await write_state(session, expected_state)
            async with make_session_factory(single_engine)() as session:
                expected_checksum = await projection_checksum(session)
            await single_engine.dispose()

    regroups = Counter(
        e.data.section_id
        for e in {e.id: e for e in map(decode, await read_topic(kafka_bootstrap, REGROUP.name))}.values()
        if e.type == "RegroupNeeded" and e.district_id == district
    )
    received = Counter(m["X-Mosaic-Notification-Id"] for m in mail.mailbox.snapshot())
    dead = {
        name: sum(_of_district(value, district) for value in await read_topic(kafka_bootstrap, f"{name}.dlq"))
        for name in [*names.values(), *(t.name for t in TOPICS)]
    }
    print(
        f"\nreplica chaos: kills {dict(kills)}; checksum {live}; RegroupNeeded {dict(regroups)}; "
        f"{len(expected_news)} news, {len(planned)} e-mails planned, {sum(received.values())} received; "
        f"notification statuses {dict(statuses)}"
    )

    assert live == expected_checksum
    assert sum(expected_regroups.values()) > 10
    assert regroups == expected_regroups
    assert told >= expected_news and len(planned) > 20  # some news wait for a digest (the default preferences)
    assert not {k: v for k, v in received.items() if v > 1}, "an e-mail arrived more than once"
    assert set(received) == planned, "an e-mail was planned and never sent, or sent and never planned"
    assert statuses["delivered"] >= len(planned) and not statuses.keys() & {"failed", "in_doubt"}, statuses
    assert sum(dead.values()) == 0, f"dead letters: {dead}"


def _of_district(value: bytes, district: str) -> bool:
    try:
        return decode(value).district_id == district
    except Exception:
        return district.encode() in value


async def _at_least(value: Awaitable[int], n: int) -> bool:
    return await value >= n
