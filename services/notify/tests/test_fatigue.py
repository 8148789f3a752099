"""No notification fatigue: the same news once per window, a daily cap on instant messages, urgent news apart.

The pure rules first; then scores that swing, streamed through the real broker into the real consumer (one
replica and two), with what the real SMTP server receives counted.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select

from mosaic_events import new_envelope
from mosaic_events.catalog import MasteryChanged, Person, PersonDetailsChanged, RosterChanged
from mosaic_notify.adapters import store
from mosaic_notify.adapters import tables as t
from mosaic_notify.domain.news import News, NewsKind
from mosaic_notify.domain.pace import pace_plan, repeat_key, told_too_recently
from mosaic_notify.domain.planning import PlannedDelivery
from mosaic_notify.domain.preferences import Channel, Preferences
from mosaic_notify.domain.rules import DistrictRules
from mosaic_notify.main import build_app

from .conftest import Notify

NOON_UTC = datetime(2026, 11, 23, 17, tzinfo=UTC)  # noon in New York
LEVELS = ["Beginning", "Developing", "Proficient", "Advanced"]


def news(kind: NewsKind, competency: str | None = "c1", at: datetime = NOON_UTC, student: str = "s1") -> News:
    return News(f"n-{kind}-{competency}-{at}", kind, "d1", student, "c", "c", at, competency_id=competency)


# --- the rules, pure -------------------------------------------------------------------------


def test_the_same_kind_of_news_about_the_same_competency_is_the_same_news() -> None:
    assert repeat_key(news(NewsKind.MASTERED)) == repeat_key(news(NewsKind.MASTERED, at=NOON_UTC + timedelta(1)))
    assert repeat_key(news(NewsKind.MASTERED)) != repeat_key(news(NewsKind.NEEDS_SUPPORT))
    assert repeat_key(news(NewsKind.MASTERED)) != repeat_key(news(NewsKind.MASTERED, "c2"))
    assert repeat_key(news(NewsKind.MASTERED)) != repeat_key(news(NewsKind.MASTERED, student="s2"))
    assert repeat_key(news(NewsKind.NEW_GROUP, None)) is None  # a move is news every time


def test_news_told_within_the_districts_window_is_not_told_again() -> None:
    told = NOON_UTC
    assert not told_too_recently(None, news(NewsKind.MASTERED), 168)
    assert told_too_recently(told, news(NewsKind.MASTERED, at=told + timedelta(days=6, hours=23)), 168)
    assert not told_too_recently(told, news(NewsKind.MASTERED, at=told + timedelta(days=7)), 168)
    assert not told_too_recently(told, news(NewsKind.MASTERED, at=told + timedelta(hours=24)), 24)


def test_a_district_sets_its_own_limits_or_takes_the_services_defaults() -> None:
    assert DistrictRules().pace_limits(168, 3) == (168, 3)
    assert DistrictRules(repeat_window_hours=1, daily_instant_cap=0).pace_limits(168, 3) == (1, 0)


def test_past_the_daily_cap_instant_news_waits_for_the_digest_unless_urgent() -> None:
    prefs = Preferences(quiet_hours=None)
    instant = PlannedDelivery(Channel.EMAIL, NOON_UTC, digest=False)
    assert pace_plan(instant, 2, False, prefs, 3, NOON_UTC) == instant
    held = pace_plan(instant, 3, False, prefs, 3, NOON_UTC)
    assert held.digest and held.due_at == datetime(2026, 11, 23, 23, tzinfo=UTC)  # 18:00 in New York
    assert pace_plan(instant, 3, True, prefs, 3, NOON_UTC) == instant  # the district's urgent class


# --- through the broker, the consumer and SMTP ----------------------------------------------------


def swing(student: str, competency: str, up: bool, name: str) -> MasteryChanged:
    old, new = (1, 2) if up else (2, 1)
    return MasteryChanged(
        student_id=student,
        competency_id=competency,
        competency_code=f"X.{competency}",
        competency_name=name,
        old_level=LEVELS[old],
        new_level=LEVELS[new],
        old_rank=old,
        new_rank=new,
        mastered=up,
        estimate=0.7,
        method="decaying_average",
        evidence_count=4,
        cause_evidence_ids=("e1",),
    )


async def stream(notify: Notify, changes: list[MasteryChanged], start: datetime) -> None:
    """Publish each change a few seconds after the last, then wait until the consumer has recorded them all."""
    async with notify.sessions() as session:
        before = await session.scalar(select(func.count()).select_from(t.news)) or 0
    for i, change in enumerate(changes):
        await notify.publish(
            new_envelope(
                change,
                district_id=notify.district,
                producer="mastery",
                subject=change.student_id,
                occurred_at=start + timedelta(seconds=5 * i),
            )
        )

    async def consumed() -> bool:
        async with notify.sessions() as session:
            return await session.scalar(select(func.count()).select_from(t.news)) == before + len(changes)

    await notify.wait_for(f"{len(changes)} changes consumed", consumed, timeout_s=60)


async def settle(notify: Notify) -> list[EmailMessage]:
    """Let the delivery workers send whatever is due (none left pending and due, none mid-send); read the mailbox."""
    n = t.notifications
    await notify.worker.run_once()

    async def idle() -> bool:
        async with notify.sessions() as session:
            busy = await session.scalar(
                select(func.count())
                .select_from(n)
                .where((n.c.status == "sending") | ((n.c.status == "pending") & (n.c.due_at <= notify.clock.now)))
            )
        return busy == 0

    await notify.wait_for("every due message sent", idle)
    return notify.mail.mailbox.snapshot()


def subjects(mails: list[EmailMessage]) -> list[str]:
    return [str(m["Subject"]) for m in mails]


@pytest.mark.integration
async def test_swinging_scores_reach_the_family_once_per_news_and_at_most_three_times_a_day(notify: Notify):
    await notify.add_family("g-jun", "s-jun", "Jun", language="en")
    noon = notify.clock.now
    # Ratio language swings up and down six times; four other skills are mastered in between.
    changes = []
    for i in range(6):
        changes += [swing("s-jun", "c1", True, "Ratio language"), swing("s-jun", "c1", False, "Ratio language")]
        if i < 4:
            changes.append(swing("s-jun", f"c{i + 2}", True, f"Skill {i + 2}"))
    await stream(notify, changes, noon)
    mails = await settle(notify)
    assert sorted(subjects(mails)) == [
        "Jun mastered “Ratio language”",
        "Jun mastered “Skill 2”",
        "Jun mastered “Skill 3”",
    ]

    notify.clock.now = noon.replace(hour=18)
    mails = await settle(notify)
    assert len(mails) == 4
    digest = mails[3].get_body(("plain",)).get_content()
    assert mails[3]["Subject"] == "What's new with Jun (3 updates)"
    assert "“Skill 4”" in digest and "“Skill 5”" in digest  # past the cap: waited for the digest
    assert "extra support with “Ratio language”" in digest and "mastered “Ratio language”" not in digest

    # The next day the cap starts again; the week's window still holds Ratio language back.
    notify.clock.now = noon + timedelta(days=1)
    await stream(
        notify, [swing("s-jun", "c1", True, "Ratio language"), swing("s-jun", "c7", True, "Skill 7")], notify.clock.now
    )
    mails = await settle(notify)
    assert subjects(mails)[4:] == ["Jun mastered “Skill 7”"]


@pytest.mark.integration
async def test_a_district_sets_its_window_its_cap_and_an_urgent_class_that_passes_the_cap(notify: Notify):
    reply = await notify.client.put(
        f"/v1/districts/{notify.district}/rules",
        headers=notify.headers("districtAdministrator"),
        json={"urgent_kinds": ["needs_support"], "daily_instant_cap": 1, "repeat_window_hours": 1},
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["daily_instant_cap"] == 1 and reply.json()["repeat_window_hours"] == 1
    await notify.add_family("g-mia", "s-mia", "Mia", language="es")
    noon = notify.clock.now
    changes = [
        swing("s-mia", "c1", True, "Ratio language"),
        swing("s-mia", "c2", True, "Area"),
        swing("s-mia", "c1", False, "Ratio language"),
        swing("s-mia", "c1", False, "Ratio language"),
    ]
    await stream(notify, changes, noon)
    mails = await settle(notify)
    assert sorted(subjects(mails)) == [
        "Mia domina «Ratio language»",
        "Mia podría necesitar un poco más de apoyo con «Ratio language»",
    ]
    # Two hours later the one-hour window has passed: the same news may be told again, past the cap if urgent.
    later = noon + timedelta(hours=2)
    notify.clock.now = later
    await stream(notify, [swing("s-mia", "c1", False, "Ratio language")], later)
    mails = await settle(notify)
    assert len(mails) == 3 and "apoyo" in mails[2]["Subject"]


async def add_big_family(notify: Notify, guardian: str, students: list[str]) -> None:
    """As evidence publishes a roster: ids and links on the reference topic, names and contacts on people."""
    roster = RosterChanged(
        import_id=str(uuid.uuid4()),
        school_id="school-1",
        people=(
            *(Person(id=s, role="student") for s in students),
            Person(id=guardian, role="parent", preferred_language="en", related_ids=tuple(students)),
        ),
    )
    await notify.publish(new_envelope(roster, district_id=notify.district, producer="evidence", school_id="school-1"))
    details = [
        *(
            PersonDetailsChanged(person_id=s, role="student", given_name=f"Kid{s[-1]}", family_name="Lee")
            for s in students
        ),
        PersonDetailsChanged(
            person_id=guardian, role="parent", given_name="Kim", family_name="Lee", email=f"{guardian}@example.org"
        ),
    ]
    for detail in details:
        await notify.publish(new_envelope(detail, district_id=notify.district, producer="evidence"))

    async def linked() -> bool:
        async with notify.sessions() as session:
            guardian_row = await store.load_guardian(session, notify.district, guardian)
        return (
            guardian_row is not None
            and guardian_row.email is not None
            and len(guardian_row.student_ids) == len(students)
        )

    await notify.wait_for(f"{guardian} linked to {len(students)} students", linked)


@pytest.mark.integration
async def test_two_replicas_in_one_group_share_the_cap_because_it_lives_in_the_database(notify: Notify):
    """A guardian of four children: their news arrives on different partitions, consumed by two replicas."""
    second = build_app(notify.settings, notify.clock)
    async with second.router.lifespan_context(second):
        students = [f"s-kid{k}" for k in range(4)]
        await add_big_family(notify, "g-many", students)
        changes = [swing(student, f"c{k}", True, f"Skill {k}") for k in range(3) for student in students]
        await stream(notify, changes, notify.clock.now)
        await second.state.ctx.state["worker"].run_once()  # type: ignore[attr-defined]
        mails = await settle(notify)
        assert len(mails) == 3  # 12 masteries, 3 instant messages
        async with notify.sessions() as session:
            waiting = await session.scalar(select(func.count()).select_from(t.digest_items))
        assert waiting == 9
        assert len({m["Message-ID"] for m in mails}) == 3
