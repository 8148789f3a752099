"""Consumers read the current and the previous version: every older version upcasts to the newest, keeping the
envelope (id, causation, subject, key) and every field's meaning."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given

from mosaic_events import all_event_classes, decode, encode, new_envelope
from mosaic_events.catalog import GroupAssignmentChanged, GroupAssignmentChangedV1, MasteryChanged, MasteryChangedV1
from mosaic_events.upcasting import UPCASTERS, upcast

from .strategies import envelopes


def newest_versions() -> dict[str, int]:
    newest: dict[str, int] = {}
    for cls in all_event_classes():
        newest[cls.event_type] = max(newest.get(cls.event_type, 0), cls.version)
    return newest


def test_every_older_version_has_an_upcaster() -> None:
    older = {(c.event_type, c.version) for c in all_event_classes() if c.version < newest_versions()[c.event_type]}
    assert older == set(UPCASTERS) == {("MasteryChanged", 1), ("GroupAssignmentChanged", 1)}


@given(envelopes(MasteryChangedV1))
def test_a_v1_mastery_change_reads_as_v2_with_the_same_meaning(v1) -> None:  # type: ignore[no-untyped-def]
    v2 = upcast(decode(encode(v1)))
    assert (v2.type, v2.version, type(v2.data)) == ("MasteryChanged", 2, MasteryChanged)
    assert v2.model_dump(exclude={"version", "data"}) == v1.model_dump(exclude={"version", "data"})
    assert v2.data.model_dump() == v1.data.model_dump()
    assert (v2.kafka_key, v2.topic) == (v1.kafka_key, v1.topic)


@given(envelopes(GroupAssignmentChangedV1))
def test_a_v1_assignment_change_reads_as_v2_with_the_same_meaning(v1) -> None:  # type: ignore[no-untyped-def]
    v2 = upcast(decode(encode(v1)))
    assert (v2.version, type(v2.data)) == (2, GroupAssignmentChanged)
    assert v2.data.model_dump() == v1.data.model_dump() and not v2.data.left_block


@given(envelopes(MasteryChanged))
def test_the_current_version_passes_unchanged(v2) -> None:  # type: ignore[no-untyped-def]
    assert upcast(v2) is v2


def test_v2_says_what_v1_could_not() -> None:
    gone = MasteryChanged(
        student_id="s",
        competency_id="c",
        old_level="Developing",
        new_level=None,
        old_rank=1,
        new_rank=None,
        mastered=False,
        estimate=None,
        method="latest",
        evidence_count=0,
        cause_evidence_ids=("e-1",),
    )
    left = GroupAssignmentChanged(
        block_id="b",
        school_id="sch",
        student_id="s",
        old_session_id="reteach-0",
        new_session_id=None,
        session_title=None,
        session_kind=None,
        starts_at=None,
        ends_at=None,
        reason="left the section",
        schedule_version=3,
    )
    for data in (gone, left):
        envelope = new_envelope(data, district_id="d", producer="test", subject="s")
        assert decode(encode(envelope)) == envelope
    assert left.left_block


def test_v2_refuses_half_a_level_or_a_session_without_details() -> None:
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="both present or both absent"):
        MasteryChanged(
            student_id="s",
            competency_id="c",
            old_level=None,
            new_level=None,
            new_rank=2,
            mastered=False,
            estimate=None,
            method="latest",
            evidence_count=0,
            cause_evidence_ids=(),
        )
    with pytest.raises(ValidationError, match="needs session_title"):
        GroupAssignmentChanged(
            block_id="b",
            school_id="sch",
            student_id="s",
            old_session_id=None,
            new_session_id="x",
            session_title=None,
            session_kind="skill_group",
            starts_at=datetime(2026, 1, 1, tzinfo=UTC),
            ends_at=None,
            reason="r",
            schedule_version=1,
        )
