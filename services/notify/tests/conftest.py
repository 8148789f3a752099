"""A running notify service against the real broker, a real SMTP server and a real webhook receiver."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from mosaic_dev.devservers import HttpReceiver, MailCatcher
from mosaic_events import Envelope, encode, new_envelope
from mosaic_events.catalog import Competency, FrameworkPublished, Person, PersonDetailsChanged, RosterChanged
from mosaic_events.topics import Topic
from mosaic_notify.adapters import store
from mosaic_notify.main import build_app
from mosaic_notify.settings import NotifySettings
from mosaic_runtime.auth import SigningKey, generate_signing_key, mint_token
from mosaic_runtime.topics_admin import ensure_topics


@dataclass
class FakeClock:
    """Noon in New York today unless a test moves it: outside the default quiet hours whenever the suite runs."""

    now: datetime = field(
        default_factory=lambda: datetime.now(ZoneInfo("America/New_York")).replace(
            hour=12, minute=0, second=0, microsecond=0
        )
    )

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Notify:
    """One notify service and what it talks to; a district of its own per test."""

    settings: NotifySettings
    app: object
    client: httpx.AsyncClient
    clock: FakeClock
    mail: MailCatcher
    hooks: HttpReceiver
    producer: AIOKafkaProducer
    key: SigningKey
    district: str

    @property
    def sessions(self):  # type: ignore[no-untyped-def]
        return self.app.state.ctx.sessions  # type: ignore[attr-defined]

    @property
    def worker(self):  # type: ignore[no-untyped-def]
        return self.app.state.ctx.state["worker"]  # type: ignore[attr-defined]

    async def publish(self, envelope: Envelope, traceparent: str | None = None) -> None:
        topic = self.settings.topic_overrides[envelope.topic]
        headers = [("traceparent", traceparent.encode())] if traceparent else None
        await self.producer.send_and_wait(topic, encode(envelope), key=envelope.kafka_key, headers=headers)

    def headers(self, *roles: str, user: str = "portal-1") -> dict[str, str]:
        token = mint_token(self.key, district_id=self.district, user_id=user, roles=roles or ("portal",))
        return {"Authorization": f"Bearer {token}"}

    async def wait_for(self, what: str, check: Callable[[], object], timeout_s: float = 30) -> None:
        """Poll until `check()` is truthy; fail saying what never happened."""

        async def until() -> None:
            while not await _maybe_await(check()):
                await asyncio.sleep(0.05)

        try:
            await asyncio.wait_for(until(), timeout_s)
        except TimeoutError:
            pytest.fail(f"waited {timeout_s}s and {what} never happened")

    async def add_family(self, guardian: str, student: str, student_name: str, language: str = "es") -> None:
        """As evidence publishes a roster: ids and links on the reference topic, names and contacts on people."""
        roster = RosterChanged(
            import_id=str(uuid.uuid4()),
            school_id="school-1",
            people=(
                Person(id=student, role="student"),
                Person(id=guardian, role="parent", preferred_language=language, related_ids=(student,)),
            ),
        )
        await self.publish(new_envelope(roster, district_id=self.district, producer="evidence", school_id="school-1"))
        for details in (
            PersonDetailsChanged(person_id=student, role="student", given_name=student_name, family_name="Pérez"),
            PersonDetailsChanged(
                person_id=guardian,
                role="parent",
                given_name="José",
                family_name="Pérez",
                email=f"{guardian}@example.org",
                sms="+1555" + guardian[-6:],
            ),
        ):
            await self.publish(new_envelope(details, district_id=self.district, producer="evidence"))

        async def known() -> bool:
            async with self.sessions() as session:
                found = await store.load_guardian(session, self.district, guardian)
                names = await store.student_names(session, self.district, [student])
                return (
                    found is not None
                    and found.email is not None
                    and found.language == language
                    and bool(names.get(student))
                    and found.student_ids == (student,)
                )

        await self.wait_for(f"guardian {guardian} arriving from the roster", known)

    async def publish_framework(self) -> None:
        framework = FrameworkPublished(
            framework_id=f"fw-{self.district}",
            title="Math 6",
            competencies=(
                Competency(
                    id="c1",
                    code="6.RP.A.1",
                    statement="Understand ratio concepts and use ratio language.",
                    abbreviated_statement="Ratio language",
                ),
            ),
        )
        await self.publish(new_envelope(framework, district_id=self.district, producer="evidence"))

        async def known() -> bool:
            async with self.sessions() as session:
                return await store.competency_name(session, self.district, "c1") is not None

        await self.wait_for("the framework arriving", known)


async def _maybe_await(value: object) -> object:
    return await value if asyncio.iscoroutine(value) else value  # type: ignore[misc]


def make_topics(bootstrap: str, prefix: str) -> dict[str, str]:
    names = {kind: f"{prefix}.{kind}" for kind in ("reference", "people", "mastery", "schedule")}
    ensure_topics(bootstrap, [Topic(name, "test", 3, 24 * 3600 * 1000, "notify test") for name in names.values()])
    return names


@pytest.fixture
async def notify(kafka_bootstrap: str, database_url: str) -> AsyncIterator[Notify]:
    uid = uuid.uuid4().hex[:10]
    topics = await asyncio.to_thread(make_topics, kafka_bootstrap, f"test.notify.{uid}")
    mail, hooks = MailCatcher().start(), HttpReceiver().start()
    key = generate_signing_key()
    settings = NotifySettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        consumer_group=f"test-notify-{uid}",
        topic_overrides={f"mosaic.{name}.v1": topic for name, topic in topics.items()},
        smtp_host="127.0.0.1",
        smtp_port=mail.port,
        smtp_lookup_url=mail.lookup_url,
        oidc_jwks_json=key.jwks_json,
        delivery_poll_seconds=0.1,
        outbox_poll_seconds=0.1,
        unsubscribe_base_url="http://notify.test",
    )
    clock = FakeClock()
    app = build_app(settings, clock)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://notify.test") as client:
                yield Notify(settings, app, client, clock, mail, hooks, producer, key, f"district-{uid}")
    finally:
        await producer.stop()
        mail.stop()
        hooks.stop()
