"""notify reads version 2 of MasteryChanged and GroupAssignmentChanged: what v1 could say is news as before,
what only v2 can say (no level left, a student leaving a block) tells a family nothing yet."""

from __future__ import annotations

from datetime import UTC, datetime

from mosaic_events import new_envelope
from mosaic_events.catalog import GroupAssignmentChanged, GroupAssignmentChangedV1, MasteryChanged, MasteryChangedV1
from mosaic_events.upcasting import upcast
from mosaic_notify.domain.news import news_from_assignment, news_from_mastery

MASTERY = {
    "student_id": "s-1",
    "competency_id": "c-1",
    "old_level": "Developing",
    "old_rank": 1,
    "method": "latest",
    "cause_evidence_ids": ("e-1",),
}
WHEN = {"starts_at": datetime(2026, 12, 3, 15, tzinfo=UTC), "ends_at": datetime(2026, 12, 3, 16, tzinfo=UTC)}
ASSIGNMENT = {
    "block_id": "b-1",
    "school_id": "sch-1",
    "student_id": "s-1",
    "old_session_id": "reteach-0",
    "reason": "regroup",
    "schedule_version": 4,
}


def envelope(data):  # type: ignore[no-untyped-def]
    return upcast(new_envelope(data, district_id="d-1", producer="test", subject="s-1"))


def test_a_v1_mastery_change_is_the_same_news_as_its_v2_twin() -> None:
    fields = {
        **MASTERY,
        "new_level": "Proficient",
        "new_rank": 2,
        "mastered": True,
        "estimate": 0.8,
        "evidence_count": 3,
    }
    from_v1 = news_from_mastery(envelope(MasteryChangedV1(**fields)))
    from_v2 = news_from_mastery(envelope(MasteryChanged(**fields)))
    assert from_v1 is not None and from_v2 is not None
    assert (from_v1.kind, from_v1.new_level) == (from_v2.kind, from_v2.new_level)


def test_no_level_left_is_not_news() -> None:
    gone = MasteryChanged(**MASTERY, new_level=None, new_rank=None, mastered=False, estimate=None, evidence_count=0)
    assert news_from_mastery(envelope(gone)) is None


def test_a_new_session_is_news_from_either_version_and_leaving_the_block_is_not() -> None:
    session = {"new_session_id": "extend-0", "session_title": "Extend", "session_kind": "skill_group", **WHEN}
    from_v1 = news_from_assignment(envelope(GroupAssignmentChangedV1(**ASSIGNMENT, **session)))
    from_v2 = news_from_assignment(envelope(GroupAssignmentChanged(**ASSIGNMENT, **session)))
    assert from_v1 is not None and from_v1.news_id == from_v2.news_id
    left = GroupAssignmentChanged(
        **ASSIGNMENT, new_session_id=None, session_title=None, session_kind=None, starts_at=None, ends_at=None
    )
    assert news_from_assignment(envelope(left)) is None
