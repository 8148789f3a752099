"""Replay to a point in time for scheduling and notify, on the real broker, with the once-only guarantees intact.

Each test builds live state, takes a cut, adds more after it, stops the service, replays to the cut into a new
database (the state at the cut, nothing published, nothing delivered), switches the group to it, and resumes:
the state catches up to the live one with no second SchedulePublished and no second e-mail.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from kafka.admin import KafkaAdminClient, NewTopic
from sqlalchemy import MetaData, func, select
from typer.testing import CliRunner

from mosaic_dev.devservers import MailCatcher
from mosaic_dev.ops.cli import app as ops_app
from mosaic_dev.ops.positions import stored_positions
from mosaic_dev.ops.replay import REPLAYABLE
from mosaic_dev.postgres import temporary_database
from mosaic_dev.pytest_plugin import POSTGRES_URL_VARIABLE
from mosaic_dev.topic_io import district_envelopes, produce_envelopes
from mosaic_events import Envelope, new_envelope, topics
from mosaic_events.catalog import (
    Enrollment,
    GroupAssignmentChanged,
    MasteryChanged,
    Person,
    PersonDetailsChanged,
    RegroupNeeded,
    RosterChanged,
    Section,
    StudentLevelChange,
)
from mosaic_runtime.auth import generate_signing_key, mint_token
from mosaic_runtime.db import OUTBOX, POSITIONS, RUNTIME_METADATA, make_engine, runtime_tables

pytestmark = pytest.mark.integration
KEY = generate_signing_key()
LABELS = ("Beginning", "Developing", "Proficient", "Advanced")


def private_topics(bootstrap: str, service: str, names: Iterable[str]) -> dict[str, str]:
    """Every topic the service consumes, renamed to this run's own (people included)."""
    run = uuid.uuid4().hex[:10]
    own = {f"mosaic.{name}.v1": f"test.replay-{service}.{run}.{name}" for name in names}
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(topic, 2, 1) for topic in own.values()])
    admin.close()
    return own


async def count_on_topic(bootstrap: str, topic: str, district: str) -> Counter[str]:
    """The district's records on a shared topic, by event type, and the distinct ids (under "ids")."""
    envelopes = await district_envelopes(bootstrap, topic, district)
    counts = Counter(e.type for e in envelopes)
    counts["ids"] = len({e.id for e in envelopes})
    return counts


async def snapshot(url: str, metadata: MetaData, names: Iterable[str]) -> dict[str, list[tuple]]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return {
                n: sorted(tuple(map(str, r)) for r in await conn.execute(select(metadata.tables[n]))) for n in names
            }
    finally:
        await engine.dispose()


def table_kinds(service: str, metadata: MetaData) -> tuple[list[str], list[str], list[str]]:
    """(rebuilt from the log, copied from live: the API's, carried from live: what the service told)."""
    how = REPLAYABLE[service]
    rebuilt = [n for n in metadata.tables if n not in (*how.not_in_the_log, *how.told, OUTBOX)]
    return sorted(rebuilt), list(how.not_in_the_log), list(how.told)


async def run_until(build: Callable[[], Any], done: Callable[[Any], Awaitable[bool]], timeout: float = 180.0) -> None:
    app = build()
    async with app.router.lifespan_context(app), asyncio.timeout(timeout):
        while not await done(app.state.ctx.sessions):
            await asyncio.sleep(0.2)


async def scalar(sessions: Any, query: Any) -> Any:
    async with sessions() as session:
        return await session.scalar(query)


def caught_up(group: str, records: int, also: Callable[[Any], Awaitable[bool]]) -> Callable[[Any], Awaitable[bool]]:
    """Positions cover `records` records, the outbox is sent, and `also` holds."""
    from mosaic_runtime.outbox import outbox_table

    positions = runtime_tables(RUNTIME_METADATA)[POSITIONS]
    outbox = outbox_table()

    async def check(sessions: Any) -> bool:
        applied = await scalar(
            sessions,
            select(func.coalesce(func.sum(positions.c.next_offset), 0)).where(positions.c.consumer_group == group),
        )
        unsent = await scalar(sessions, select(func.count()).select_from(outbox).where(outbox.c.sent.is_(False)))
        return applied >= records and unsent == 0 and await also(sessions)

    return check


def invoke(*args: str) -> str:
    result = CliRunner().invoke(ops_app, list(args))
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def configure(monkeypatch: Any, service: str, values: dict[str, str]) -> None:
    """The replay runs the service's own consumers, configured as its pod is: MOSAIC_<SVC>_* variables."""
    for name, value in values.items():
        monkeypatch.setenv(f"MOSAIC_{service.upper()}_{name}", value)


def cut_between() -> Callable[[], Awaitable[datetime]]:
    async def cut() -> datetime:
        await asyncio.sleep(1.5)
        moment = datetime.now(UTC)
        await asyncio.sleep(1.5)
        return moment

    return cut


# --- scheduling ----------------------------------------------------------------------------------------------

SCHOOL, SECTION = "school-1", "math-6a"
STUDENTS = [f"st{i}" for i in range(8)]


def level(district: str, student: str, rank: int) -> Envelope:
    return new_envelope(
        MasteryChanged(
            student_id=student,
            competency_id="c1",
            competency_code="6.RP.A.1",
            old_level=None,
            new_level=LABELS[rank],
            new_rank=rank,
            mastered=rank >= 2,
            estimate=rank / 3,
            method="decaying_average",
            evidence_count=1,
            cause_evidence_ids=("e1",),
            section_ids=(SECTION,),
        ),
        district_id=district,
        producer="test",
        subject=student,
    )


def regroup(district: str, ranks: dict[str, int]) -> Envelope:
    return new_envelope(
        RegroupNeeded(
            section_id=SECTION,
            school_id=SCHOOL,
            competency_ids=("c1",),
            changes=tuple(
                StudentLevelChange(student_id=s, competency_id="c1", old_level=None, new_level=LABELS[r])
                for s, r in ranks.items()
            ),
            changed_students=len(ranks),
            section_size=len(STUDENTS),
            threshold=0.3,
            window_started_at=datetime(2026, 9, 1, tzinfo=UTC),
            reason=f"{len(ranks)} of {len(STUDENTS)} students changed level on 6.RP.A.1",
        ),
        district_id=district,
        producer="test",
        school_id=SCHOOL,
    )


async def define_school(app: Any, district: str) -> None:
    """Rooms, teachers, a block and its two sessions, through scheduling's API (none of it is on the log)."""
    admin = mint_token(KEY, district_id=district, user_id="a", roles=("administrator",))
    base = f"/v1/districts/{district}"
    free = [{"weekday": "TH", "starts_at": "08:00", "ends_at": "15:00"}]
    block = {"school_id": SCHOOL, "name": "WIN", "weekday": "TH", "starts_at": "10:00", "minutes": 45}
    calls = [
        (f"{base}/rooms/r1", {"school_id": SCHOOL, "name": "101", "capacity": 5}),
        (f"{base}/rooms/r2", {"school_id": SCHOOL, "name": "102", "capacity": 5}),
        (f"{base}/teachers/t1", {"school_id": SCHOOL, "name": "Ms Ito", "availability": free}),
        (f"{base}/teachers/t2", {"school_id": SCHOOL, "name": "Mr Diaz", "availability": free}),
        (f"{base}/blocks/win", {**block, "starts_on": "2026-09-03", "section_ids": [SECTION]}),
    ]
    for name, room, teacher, band in (("low", "r1", "t1", (0, 1)), ("high", "r2", "t2", (2, 3))):
        session = {"block_id": "win", "title": name, "kind": "skill_group", "room_id": room, "teacher_id": teacher}
        band_of = {"competency_ids": ["c1"], "band": {"lowest": band[0], "highest": band[1]}}
        calls.append((f"{base}/sessions/{name}?regroup=false", {**session, **band_of}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        for url, body in calls:
            response = await client.put(url, json=body, headers={"Authorization": f"Bearer {admin}"})
            assert response.status_code == 200, response.text
        # A teacher's own rebuild: a schedule version (and a SchedulePublished) no record on the log explains.
        response = await client.post(
            f"{base}/blocks/win/regroup", json={"reason": "new term"}, headers={"Authorization": f"Bearer {admin}"}
        )
        assert response.status_code == 200, response.text


async def test_scheduling_replayed_to_a_cut_publishes_nothing_and_resumes_without_a_second_schedule(
    kafka_bootstrap: str, tmp_path: Path, monkeypatch: Any
) -> None:
    from mosaic_scheduling.adapters import tables as t
    from mosaic_scheduling.main import build_app
    from mosaic_scheduling.settings import SchedulingSettings

    own = private_topics(kafka_bootstrap, "scheduling", ("mastery", "reference", "people", "regroup"))
    district, group = f"d-{uuid.uuid4().hex[:8]}", f"scheduling-replay-{uuid.uuid4().hex[:8]}"
    live_url, replayed_url = (f"sqlite+aiosqlite:///{tmp_path / n}" for n in ("live.db", "replayed.db"))
    settings = SchedulingSettings(
        database_url=live_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        topic_overrides=own,
        consumer_group=group,
        oidc_jwks_json=KEY.jwks_json,
        outbox_poll_seconds=0.05,
        consumer_session_timeout_ms=6000,
        solver_time_limit_seconds=5,
    )

    def versions(n: int) -> Callable[[Any], Awaitable[bool]]:
        async def check(sessions: Any) -> bool:
            return await scalar(sessions, select(func.count()).select_from(t.schedules)) >= n

        return check

    roster = new_envelope(
        RosterChanged(
            import_id="i1",
            school_id=SCHOOL,
            sections=(Section(id=SECTION, school_id=SCHOOL, title="Math 6A"),),
            people=tuple(Person(id=s, role="student") for s in STUDENTS),
            enrollments=tuple(Enrollment(section_id=SECTION, user_id=s, role="student") for s in STUDENTS),
        ),
        district_id=district,
        producer="test",
        school_id=SCHOOL,
    )
    first = {s: i % 4 for i, s in enumerate(STUDENTS)}
    later = {s: (first[s] + 2) % 4 for s in STUDENTS[:4]}  # four students cross from one band to the other
    app = build_app(settings)
    async with app.router.lifespan_context(app):
        await produce_envelopes(kafka_bootstrap, own["mosaic.reference.v1"], [roster])
        await asyncio.wait_for(
            _until(app, lambda s: scalar(s, select(func.count()).select_from(t.roster_sections))), 60
        )
        await define_school(app, district)  # version 1, by the API
    await produce_envelopes(
        kafka_bootstrap, own["mosaic.mastery.v1"], [level(district, s, r) for s, r in first.items()]
    )
    await produce_envelopes(kafka_bootstrap, own["mosaic.regroup.v1"], [regroup(district, first)])
    before = 1 + len(first) + 1
    await run_until(lambda: build_app(settings), caught_up(group, before, versions(2)))
    rebuilt, copied, told = table_kinds("scheduling", t.metadata)
    then = await snapshot(live_url, t.metadata, rebuilt)
    cut = await cut_between()()
    await produce_envelopes(
        kafka_bootstrap, own["mosaic.mastery.v1"], [level(district, s, r) for s, r in later.items()]
    )
    await produce_envelopes(kafka_bootstrap, own["mosaic.regroup.v1"], [regroup(district, later)])
    total = before + len(later) + 1
    await run_until(lambda: build_app(settings), caught_up(group, total, versions(3)))  # and stopped
    live = await snapshot(live_url, t.metadata, [*rebuilt, *copied, *told])
    published = await count_on_topic(kafka_bootstrap, topics.SCHEDULE.name, district)
    assert published["SchedulePublished"] >= 2 and published["GroupAssignmentChanged"] >= len(STUDENTS), published

    configure(
        monkeypatch,
        "scheduling",
        {"TOPIC_OVERRIDES": json.dumps(own), "CONSUMER_GROUP": group, "OIDC_JWKS_JSON": KEY.jwks_json},
    )
    output = await asyncio.to_thread(
        invoke, "replay", "scheduling", "--until", cut.isoformat(), "--database-url", replayed_url,
        "--live-database-url", live_url, "--bootstrap", kafka_bootstrap,
    )  # fmt: skip
    print(f"\nscheduling replay:\n{output}")
    assert f"applied {before} record(s)" in output, output
    assert "carried " in output and "(0 decided again by the replay, discarded)" in output, output
    replayed = await snapshot(replayed_url, t.metadata, [*rebuilt, *copied, *told])
    assert {n: replayed[n] for n in rebuilt} == then  # levels, roster and positions as they were at the cut
    assert {n: replayed[n] for n in [*copied, *told]} == {n: live[n] for n in [*copied, *told]}
    after_replay = await count_on_topic(kafka_bootstrap, topics.SCHEDULE.name, district)
    assert after_replay == published  # the replay published nothing

    output = await asyncio.to_thread(
        invoke, "positions", "restore", "--group", group, "--database-url", replayed_url,
        "--bootstrap", kafka_bootstrap, "--yes",
    )  # fmt: skip
    assert f"{total - before} record(s) will be applied again" in output, output
    resumed = settings.model_copy(update={"database_url": replayed_url})
    await run_until(lambda: build_app(resumed), caught_up(group, total, versions(3)))
    await asyncio.sleep(1.0)
    assert await snapshot(replayed_url, t.metadata, [*rebuilt, *copied, *told]) == live
    after_switch = await count_on_topic(kafka_bootstrap, topics.SCHEDULE.name, district)
    print(f"scheduling: on {topics.SCHEDULE.name} before {dict(published)}, after the switch {dict(after_switch)}")
    assert after_switch == published  # no second SchedulePublished, no second GroupAssignmentChanged


async def _until(app: Any, count: Callable[[Any], Awaitable[int]]) -> None:
    while not await count(app.state.ctx.sessions):
        await asyncio.sleep(0.2)


# --- notify --------------------------------------------------------------------------------------------------


def details(district: str, guardian: str) -> Envelope:
    person = PersonDetailsChanged(
        person_id=guardian, role="guardian", given_name=f"Parent {guardian}", family_name="F", email=f"{guardian}@x.org"
    )
    return new_envelope(person, district_id=district, producer="evidence")


def family(district: str, links: dict[str, str]) -> Envelope:
    """A roster with guardians → their student (and the students)."""
    people = [Person(id=s, role="student") for s in sorted(set(links.values()))]
    people += [Person(id=g, role="guardian", related_ids=(s,)) for g, s in links.items()]
    roster = RosterChanged(import_id=str(uuid.uuid4()), school_id="school-1", people=tuple(people))
    return new_envelope(roster, district_id=district, producer="evidence", school_id="school-1")


def mastered(district: str, student: str, competency: str) -> Envelope:
    change = MasteryChanged(
        student_id=student,
        competency_id=competency,
        competency_name=f"Skill {competency}",
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
    return new_envelope(change, district_id=district, producer="mastery", subject=student)


def moved(district: str, student: str) -> Envelope:
    starts = datetime.now(UTC) + timedelta(days=2)
    change = GroupAssignmentChanged(
        block_id="b-thu",
        school_id="school-1",
        student_id=student,
        old_session_id=None,
        new_session_id="lab",
        session_title="Fractions lab",
        session_kind="reteach",
        starts_at=starts,
        ends_at=starts + timedelta(minutes=45),
        reason="regroup",
        schedule_version=1,
    )
    return new_envelope(change, district_id=district, producer="scheduling", subject=student)


async def next_id(url: str, table: str) -> int:
    from sqlalchemy import text

    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            return await conn.scalar(text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id'))"))
    finally:
        await engine.dispose()


async def choose_spanish(url: str, district: str, guardian: str) -> None:
    """A guardian's own preferences, as notify's preferences API saves them."""
    from mosaic_notify.adapters import store
    from mosaic_notify.domain.preferences import default_preferences
    from mosaic_runtime.db import make_session_factory

    engine = make_engine(url)
    try:
        async with make_session_factory(engine)() as session, session.begin():
            prefs = default_preferences("es", "America/New_York", None)
            await store.save_preferences(session, district, guardian, prefs, datetime.now(UTC))
    finally:
        await engine.dispose()


async def test_notify_replayed_to_a_cut_sends_nothing_and_resumes_without_a_second_email(
    kafka_bootstrap: str, database_url: str, tmp_path: Path, monkeypatch: Any
) -> None:
    with contextlib.ExitStack() as stack:
        replayed_url = (
            stack.enter_context(temporary_database(os.environ[POSTGRES_URL_VARIABLE], prefix="mosaic_replayed"))
            if database_url.startswith("postgresql")
            else f"sqlite+aiosqlite:///{tmp_path / 'replayed.db'}"
        )
        await replay_notify(kafka_bootstrap, database_url, replayed_url, tmp_path, monkeypatch)


async def replay_notify(
    kafka_bootstrap: str, live_url: str, replayed_url: str, tmp_path: Path, monkeypatch: Any
) -> None:
    """Live on `live_url` (SQLite, or PostgreSQL where ids copied with their rows must not collide later)."""
    from mosaic_notify.adapters import tables as t
    from mosaic_notify.main import build_app
    from mosaic_notify.settings import NotifySettings

    own = private_topics(kafka_bootstrap, "notify", ("reference", "people", "mastery", "schedule"))
    district, group = f"d-{uuid.uuid4().hex[:8]}", f"notify-replay-{uuid.uuid4().hex[:8]}"
    mail = MailCatcher().start()
    quiet = {"default_quiet_hours": "", "default_daily_instant_cap": 1000}
    settings = NotifySettings(
        database_url=live_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        topic_overrides=own,
        consumer_group=group,
        oidc_jwks_json=KEY.jwks_json,
        outbox_poll_seconds=0.05,
        consumer_session_timeout_ms=6000,
        smtp_port=mail.port,
        smtp_lookup_url=mail.lookup_url,
        delivery_poll_seconds=0.1,
        **quiet,
    )
    students = [f"s{i}" for i in range(4)]
    guardians = {f"g{i}": s for i, s in enumerate(students)}

    def delivered(n: int) -> Callable[[Any], Awaitable[bool]]:
        n_ = t.notifications

        async def check(sessions: Any) -> bool:
            done = await scalar(sessions, select(func.count()).select_from(n_).where(n_.c.status == "delivered"))
            waiting = await scalar(sessions, select(func.count()).select_from(n_).where(n_.c.status != "delivered"))
            return done >= n and waiting == 0

        return check

    def reachable(n: int) -> Callable[[Any], Awaitable[bool]]:
        g = t.guardians

        async def check(sessions: Any) -> bool:
            return await scalar(sessions, select(func.count()).select_from(g).where(g.c.email.is_not(None))) >= n

        return check

    try:
        # Before the cut: four families, each told of one mastered competency.
        await produce_envelopes(kafka_bootstrap, own["mosaic.people.v1"], [details(district, g) for g in guardians])
        await run_until(lambda: build_app(settings), caught_up(group, len(guardians), reachable(len(guardians))))
        await choose_spanish(live_url, district, "g1")  # through notify's API: not in the log, copied by the replay
        await produce_envelopes(kafka_bootstrap, own["mosaic.reference.v1"], [family(district, guardians)])
        await produce_envelopes(
            kafka_bootstrap, own["mosaic.mastery.v1"], [mastered(district, s, "c1") for s in students]
        )
        before = len(guardians) + 1 + len(students)
        await run_until(lambda: build_app(settings), caught_up(group, before, delivered(len(students))))
        rebuilt, copied, told = table_kinds("notify", t.metadata)
        then = await snapshot(live_url, t.metadata, rebuilt)
        cut = await cut_between()()
        # After it: two more competencies and a new flex group; then a second guardian for s3, who hears s3's
        # recent news (the mastered competency and the new group: a kind of news told again each time it happens).
        await produce_envelopes(kafka_bootstrap, own["mosaic.people.v1"], [details(district, "h3")])
        after = [mastered(district, s, "c2") for s in students[1:3]]
        await produce_envelopes(kafka_bootstrap, own["mosaic.mastery.v1"], after)
        await produce_envelopes(kafka_bootstrap, own["mosaic.schedule.v1"], [moved(district, "s3")])
        heard = len(students) + len(after) + 1
        await run_until(lambda: build_app(settings), caught_up(group, before + 1 + len(after) + 1, delivered(heard)))
        await produce_envelopes(kafka_bootstrap, own["mosaic.reference.v1"], [family(district, {"h3": "s3"})])
        total = before + 1 + len(after) + 1 + 1
        emails = heard + 2
        configure(
            monkeypatch,
            "notify",
            {
                "TOPIC_OVERRIDES": json.dumps(own),
                "CONSUMER_GROUP": group,
                "OIDC_JWKS_JSON": KEY.jwks_json,
                "SMTP_PORT": str(mail.port),
            },
        )
        app = build_app(settings)
        async with app.router.lifespan_context(app), asyncio.timeout(180):
            while not await caught_up(group, total, delivered(emails))(app.state.ctx.sessions):
                await asyncio.sleep(0.2)
            # While it runs, what it told may still move: the replay refuses rather than carry a moving record.
            refused = await asyncio.to_thread(
                CliRunner().invoke, ops_app, ["replay", "notify", "--until", cut.isoformat(),
                "--database-url", f"sqlite+aiosqlite:///{tmp_path / 'refused.db'}", "--live-database-url", live_url,
                "--bootstrap", kafka_bootstrap, "--wait-seconds", "1"],
            )  # fmt: skip
            assert refused.exit_code != 0 and "must be stopped" in refused.output, refused.output
            assert not (tmp_path / "refused.db").exists()
        live = await snapshot(live_url, t.metadata, [*rebuilt, *copied, *told])
        sent = Counter(m["X-Mosaic-Notification-Id"] for m in mail.mailbox.snapshot())
        assert len(sent) == emails and set(sent.values()) == {1}, sent
        notified = await count_on_topic(kafka_bootstrap, topics.NOTIFY.name, district)
        assert notified["FamilyNotified"] == emails, notified

        output = await asyncio.to_thread(
            invoke, "replay", "notify", "--until", cut.isoformat(), "--database-url", replayed_url,
            "--live-database-url", live_url, "--bootstrap", kafka_bootstrap,
        )  # fmt: skip
        print(f"\nnotify replay:\n{output}")
        assert f"applied {before} record(s)" in output, output
        assert "(0 decided again by the replay, discarded)" in output, output
        assert "copied 1 row(s)" in output, output
        replayed = await snapshot(replayed_url, t.metadata, [*rebuilt, *copied, *told])
        assert {n: replayed[n] for n in rebuilt} == then  # contacts, links and positions as they were at the cut
        assert {n: replayed[n] for n in [*copied, *told]} == {n: live[n] for n in [*copied, *told]}
        assert len(mail.mailbox.snapshot()) == emails  # the replay delivered nothing
        if replayed_url.startswith("postgresql"):  # ids copied with their rows: the next one is past them
            assert await next_id(replayed_url, "notify_delivery_log") > len(live["notify_delivery_log"]) > 0
        assert await count_on_topic(kafka_bootstrap, topics.NOTIFY.name, district) == notified

        # The same cut named by offsets (where the replay stopped each partition) rebuilds the same state.
        stored = await stored_positions(replayed_url, group)
        named = [f"{tp}/{p}={stored.get((tp, p), 0)}" for tp in own.values() for p in (0, 1)]
        by_offset = f"sqlite+aiosqlite:///{tmp_path / 'by_offset.db'}"
        output = await asyncio.to_thread(
            invoke, "replay", "notify", *(a for n in named for a in ("--until-offset", n)), "--database-url",
            by_offset, "--live-database-url", live_url, "--bootstrap", kafka_bootstrap,
        )  # fmt: skip
        assert f"applied {before} record(s)" in output, output
        assert await snapshot(by_offset, t.metadata, [*rebuilt, *copied, *told]) == replayed

        output = await asyncio.to_thread(
            invoke, "positions", "restore", "--group", group, "--database-url", replayed_url,
            "--bootstrap", kafka_bootstrap, "--yes",
        )  # fmt: skip
        assert f"{total - before} record(s) will be applied again" in output, output
        resumed = settings.model_copy(update={"database_url": replayed_url})
        await run_until(lambda: build_app(resumed), caught_up(group, total, delivered(emails)))
        await run_until(lambda: build_app(resumed), lambda _s: asyncio.sleep(2.0, True))  # time for a wrong send
        assert await snapshot(replayed_url, t.metadata, [*rebuilt, *copied, *told]) == live
        again = Counter(m["X-Mosaic-Notification-Id"] for m in mail.mailbox.snapshot())
        after_switch = await count_on_topic(kafka_bootstrap, topics.NOTIFY.name, district)
        print(f"notify: e-mails before {sum(sent.values())}, after the switch {sum(again.values())}; "
              f"on {topics.NOTIFY.name} before {dict(notified)}, after {dict(after_switch)}")  # fmt: skip
        assert again == sent  # no second e-mail
        assert after_switch == notified
        # News after the switch is told, once, by the service on its new database (s3 has two guardians now).
        await produce_envelopes(kafka_bootstrap, own["mosaic.mastery.v1"], [mastered(district, "s3", "c3")])
        await run_until(lambda: build_app(resumed), caught_up(group, total + 1, delivered(emails + 2)))
        later = Counter(m["X-Mosaic-Notification-Id"] for m in mail.mailbox.snapshot())
        assert len(later) == emails + 2 and set(later.values()) == {1}, later
    finally:
        mail.stop()
