"""The pure domain: what is news, who hears it on which channel and when, digests, words, signatures."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mosaic_events import new_envelope
from mosaic_events.catalog import MasteryChanged, Person, RosterChanged
from mosaic_notify.domain.contacts import Guardian, contacts_from_roster
from mosaic_notify.domain.digest import build_daily_digest
from mosaic_notify.domain.messages import Audience, MessageRenderer
from mosaic_notify.domain.news import News, NewsKind, news_from_mastery
from mosaic_notify.domain.planning import plan_deliveries
from mosaic_notify.domain.preferences import (
    Channel,
    ChannelPreference,
    Frequency,
    Preferences,
    QuietHours,
    quiet_until,
)
from mosaic_notify.domain.retry import backoff_delay
from mosaic_notify.domain.rules import DistrictRules
from mosaic_notify.domain.signing import (
    read_unsubscribe_token,
    unsubscribe_token,
    verify_signature,
    webhook_signature,
)

NY = ZoneInfo("America/New_York")
GUARDIAN = Guardian("d1", "g1", "José", "Pérez", "jose@example.org", None, "+15550001", "es", ("s1", "s2"))


def mastery(
    old_rank: int | None, new_rank: int, mastered: bool = False, evidence: int = 3, recalculation: bool = False
) -> MasteryChanged:
    levels = ["Beginning", "Developing", "Proficient", "Advanced"]
    return MasteryChanged(
        student_id="s1",
        competency_id="c1",
        competency_code="6.RP.A.1",
        competency_name="Ratio language",
        old_level=None if old_rank is None else levels[old_rank],
        new_level=levels[new_rank],
        old_rank=old_rank,
        new_rank=new_rank,
        mastered=mastered,
        estimate=0.5,
        method="decaying_average",
        evidence_count=evidence,
        cause_evidence_ids=("e1",),
        recalculation=recalculation,
    )


def news(kind: NewsKind, student: str = "s1", competency: str = "c1", at: datetime | None = None) -> News:
    return News(
        str(uuid.uuid4()),
        kind,
        "d1",
        student,
        str(uuid.uuid4()),
        str(uuid.uuid4()),
        at or datetime(2026, 11, 23, 15, tzinfo=UTC),
        competency_id=competency,
        competency_name="Ratio language",
        old_level="Developing",
        new_level="Proficient",
        evidence_count=4,
    )


def test_mastery_changes_become_mastered_moved_up_or_needs_support():
    def kind(data: MasteryChanged) -> NewsKind | None:
        found = news_from_mastery(new_envelope(data, district_id="d1", producer="mastery", subject="s1"))
        return found.kind if found else None

    assert kind(mastery(1, 2, mastered=True)) == NewsKind.MASTERED
    assert kind(mastery(0, 1)) == NewsKind.MOVED_UP
    assert kind(mastery(2, 1)) == NewsKind.NEEDS_SUPPORT
    assert kind(mastery(None, 0, evidence=8)) == NewsKind.NEEDS_SUPPORT  # stalled at the lowest level
    assert kind(mastery(None, 0, evidence=1)) is None
    assert kind(mastery(1, 2, mastered=True, recalculation=True)) is None  # the district's method changed


def test_the_same_event_always_yields_the_same_news_id():
    envelope = new_envelope(mastery(1, 2, True), district_id="d1", producer="mastery", subject="s1")
    assert news_from_mastery(envelope).news_id == news_from_mastery(envelope).news_id  # type: ignore[union-attr]


def test_guardians_are_linked_to_students_from_either_side_of_the_roster():
    roster = RosterChanged(
        import_id="i",
        school_id="sch",
        people=(
            Person(id="s1", role="student", given_name="Ana", family_name="P", related_ids=("g1",)),
            Person(
                id="g1", role="parent", given_name="José", family_name="P", email="j@x.org", preferred_language="es-MX"
            ),
            Person(id="g2", role="guardian", given_name="Eva", family_name="Q", related_ids=("s9",)),
            Person(id="t1", role="teacher", given_name="T", family_name="T"),
        ),
    )
    contacts = contacts_from_roster("d1", roster)
    by_id = {g.guardian_id: g for g in contacts.guardians}
    assert set(by_id) == {"g1", "g2"}
    assert by_id["g1"].student_ids == ("s1",) and by_id["g1"].language == "es"
    assert by_id["g2"].student_ids == ("s9",) and by_id["g2"].language == "en"
    assert [s.student_id for s in contacts.students] == ["s1"]
    assert {g.email for g in contacts.guardians} == {None}  # contacts come from the people topic only
    part_two = RosterChanged(
        import_id="i",
        school_id="sch",
        part=2,
        parts=2,
        people=(Person(id="s5", role="student", given_name="Eli", family_name="P", related_ids=("g1",)),),
    )
    assert contacts_from_roster("d1", part_two).other_links == (("g1", "s5"),)  # g1 came in part one


def test_quiet_hours_that_cross_midnight_end_the_next_morning_in_the_guardians_zone():
    prefs = Preferences(timezone="America/New_York", quiet_hours=QuietHours(time(21), time(7)))
    late = datetime(2026, 11, 23, 22, 30, tzinfo=NY).astimezone(UTC)
    assert quiet_until(prefs, late) == datetime(2026, 11, 24, 7, tzinfo=NY)
    assert quiet_until(prefs, datetime(2026, 11, 24, 6, tzinfo=NY)) == datetime(2026, 11, 24, 7, tzinfo=NY)
    assert quiet_until(prefs, datetime(2026, 11, 24, 12, tzinfo=NY)) is None


def test_instant_news_waits_out_quiet_hours_and_urgent_news_does_not():
    prefs = Preferences(channels={Channel.EMAIL: ChannelPreference()})
    late = datetime(2026, 11, 23, 23, tzinfo=NY)
    [held] = plan_deliveries(news(NewsKind.MASTERED), GUARDIAN, prefs, DistrictRules(), late)
    assert held.due_at == datetime(2026, 11, 24, 7, tzinfo=NY) and not held.digest
    urgent = DistrictRules(urgent_kinds=frozenset({NewsKind.MASTERED}))
    [now] = plan_deliveries(news(NewsKind.MASTERED), GUARDIAN, prefs, urgent, late)
    assert now.due_at == late and not now.digest


def test_digest_only_kinds_and_daily_channels_go_into_the_digest_at_the_chosen_hour():
    prefs = Preferences(
        channels={
            Channel.EMAIL: ChannelPreference(Frequency.DAILY, digest_hour=18),
            Channel.SMS: ChannelPreference(Frequency.INSTANT),
        },
        quiet_hours=None,
    )
    morning = datetime(2026, 11, 23, 9, tzinfo=NY)
    plans = {p.channel: p for p in plan_deliveries(news(NewsKind.MASTERED), GUARDIAN, prefs, DistrictRules(), morning)}
    assert plans[Channel.EMAIL].digest and plans[Channel.EMAIL].due_at == datetime(2026, 11, 23, 18, tzinfo=NY)
    assert not plans[Channel.SMS].digest and plans[Channel.SMS].due_at == morning
    [moved] = [
        p
        for p in plan_deliveries(news(NewsKind.MOVED_UP), GUARDIAN, prefs, DistrictRules(), morning)
        if p.channel == Channel.SMS
    ]
    assert moved.digest  # district rule: moved-up is digest-only by default


def test_opted_out_off_and_unwanted_kinds_plan_nothing():
    rules = DistrictRules(portal_webhook_url="https://portal.example/hook")
    base = Preferences(channels={Channel.EMAIL: ChannelPreference(), Channel.PORTAL: ChannelPreference(Frequency.OFF)})
    at = datetime(2026, 11, 23, 12, tzinfo=NY)
    assert plan_deliveries(news(NewsKind.MASTERED), GUARDIAN, base.opt_out(Channel.EMAIL), rules, at) == []
    unwanted = Preferences(kinds=frozenset({NewsKind.NEW_GROUP}))
    assert plan_deliveries(news(NewsKind.MASTERED), GUARDIAN, unwanted, rules, at) == []


def test_a_digest_keeps_the_latest_news_per_competency_and_puts_good_news_first():
    first = news(NewsKind.MOVED_UP, at=datetime(2026, 11, 23, 14, tzinfo=UTC))
    later = news(NewsKind.MASTERED, at=datetime(2026, 11, 23, 16, tzinfo=UTC))
    support = news(NewsKind.NEEDS_SUPPORT, competency="c2")
    other_child = news(NewsKind.MOVED_UP, student="s2")
    stranger = news(NewsKind.MASTERED, student="s-not-mine")
    digest = build_daily_digest(GUARDIAN, [support, first, later, other_child, stranger], date(2026, 11, 23))
    assert digest is not None
    assert [(sid, [n.kind for n in items]) for sid, items in digest.by_student] == [
        ("s1", [NewsKind.MASTERED, NewsKind.NEEDS_SUPPORT]),
        ("s2", [NewsKind.MOVED_UP]),
    ]
    assert set(digest.covered_news_ids) == {first.news_id, later.news_id, support.news_id, other_child.news_id}
    assert build_daily_digest(GUARDIAN, [stranger], date(2026, 11, 23)) is None


def test_messages_speak_the_guardians_language_with_local_dates_and_no_bare_codes():
    renderer = MessageRenderer()
    item = News(
        "n",
        NewsKind.NEW_GROUP,
        "d1",
        "s1",
        "c",
        "c",
        datetime(2026, 11, 23, tzinfo=UTC),
        session_title="Fractions",
        starts_at=datetime(2026, 11, 26, 15, tzinfo=UTC),
        details={"block_id": "b"},
    )
    spanish = renderer.render_news(item, Audience("José", {"s1": "Ana"}, "es", "America/Chicago", "https://u"))
    assert "jueves, 26 de noviembre de 2026" in spanish.text and "9:00" in spanish.text
    assert "Algo para conversar en casa" in spanish.text and "https://u" in spanish.text
    nameless = News(
        "n2",
        NewsKind.MASTERED,
        "d1",
        "s1",
        "c",
        "c",
        datetime(2026, 11, 23, tzinfo=UTC),
        competency_code="6.RP.A.1",
        new_level="proficient",
    )
    english = renderer.render_news(nameless, Audience("Eva", {}, "fr", "America/Chicago"))
    assert english.language == "en"  # no French templates yet: English, not an error
    assert "6.RP.A.1" not in english.text and "one of the skills" in english.text and "Proficient" in english.text
    assert "<p>" in english.html and "your child" in english.text


def test_a_webhook_signature_verifies_only_for_the_same_body_secret_and_a_fresh_timestamp():
    body = b'{"a": 1}'
    header = webhook_signature("s3cret", 1_700_000_000, body)
    assert verify_signature("s3cret", header, body, now=1_700_000_100)
    assert verify_signature(["old", "s3cret"], header, body, now=1_700_000_100)  # rotation
    assert not verify_signature("s3cret", header, b'{"a": 2}', now=1_700_000_100)
    assert not verify_signature("other", header, body, now=1_700_000_100)
    assert not verify_signature("s3cret", header, body, now=1_700_000_000 + 301)  # replayed too late
    assert not verify_signature("s3cret", "garbage", body)


def test_unsubscribe_tokens_round_trip_and_refuse_tampering():
    token = unsubscribe_token("k", "d1", "g1", "email")
    assert read_unsubscribe_token("k", token) == ("d1", "g1", "email")
    assert read_unsubscribe_token("other-key", token) is None
    assert read_unsubscribe_token("k", token[:-1] + ("0" if token[-1] != "0" else "1")) is None
    payload = token.partition(".")[0]
    assert read_unsubscribe_token("k", f"{payload}.æ\U000f2888") is None  # not ASCII: refused, not a 500
    assert not verify_signature("s3cret", "t=1700000000,v1=æ", b"{}", now=1_700_000_000)


def test_retries_back_off_exponentially_up_to_a_cap():
    delays = [backoff_delay(a, 30, 600, "n").total_seconds() for a in range(1, 8)]
    assert 24 <= delays[0] <= 36 and 48 <= delays[1] <= 72
    assert all(d <= 600 * 1.2 for d in delays) and delays[-1] >= 600 * 0.8
    assert backoff_delay(3, 30, 600, "n") == backoff_delay(3, 30, 600, "n") != timedelta(0)


def test_a_move_is_news_each_time_and_a_resent_change_is_the_same_news():
    from mosaic_events.catalog import GroupAssignmentChanged
    from mosaic_notify.domain.news import news_from_assignment

    starts = datetime(2026, 11, 26, 15, tzinfo=UTC)

    def moved(old: str | None, new: str, version: int) -> GroupAssignmentChanged:
        return GroupAssignmentChanged(
            block_id="b1",
            school_id="sch",
            student_id="s1",
            old_session_id=old,
            new_session_id=new,
            session_title="Fractions lab",
            session_kind="skill_group",
            starts_at=starts,
            ends_at=starts,
            reason="regroup",
            schedule_version=version,
        )

    def news_id(change: GroupAssignmentChanged) -> str:
        return news_from_assignment(new_envelope(change, district_id="d1", producer="scheduling", subject="s1")).news_id

    first, back = news_id(moved("y", "x", 2)), news_id(moved("z", "x", 5))
    assert first != back  # moving back to a group told before is news again
    assert news_id(moved("y", "x", 2)) == first  # the same change re-sent is the same news
    assert (
        news_from_assignment(
            new_envelope(moved(None, "x", 1), district_id="d1", producer="scheduling", subject="s1")
        ).kind
        == NewsKind.NEW_GROUP
    )


def test_a_weekly_digest_goes_out_on_the_chosen_day_and_hour():
    from mosaic_notify.domain.preferences import next_digest_at

    prefs = Preferences(timezone="America/New_York")
    friday_5pm = ChannelPreference(Frequency.WEEKLY, digest_hour=17, weekly_day=4)
    monday = datetime(2026, 11, 23, 9, tzinfo=NY)
    assert next_digest_at(prefs, friday_5pm, monday) == datetime(2026, 11, 27, 17, tzinfo=NY)
    assert next_digest_at(prefs, friday_5pm, datetime(2026, 11, 27, 17, tzinfo=NY)) == datetime(
        2026, 12, 4, 17, tzinfo=NY
    )
