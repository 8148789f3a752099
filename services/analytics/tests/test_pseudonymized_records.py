"""Pseudonyms are stable within a district's key version and differ across districts and versions; a record
carries nothing that names a person or joins back to the named topics."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from mosaic_analytics.domain.pseudonyms import Pseudonymizer
from mosaic_analytics.service.publish_record import analytics_record
from mosaic_analytics.settings import AnalyticsSettings
from mosaic_events import encode, new_envelope
from mosaic_events.catalog import (
    EvidenceRecorded,
    EvidenceRetracted,
    LearningObserved,
    LearningRetracted,
    MasteryChanged,
    Score,
)
from mosaic_runtime.settings import InsecureSettings

ids = st.text(min_size=1, max_size=40)
KEYS = {"*": {1: "first-secret-of-the-district", 2: "second-secret-after-rotation"}}


@given(district=ids, person=ids)
def test_a_person_keeps_one_pseudonym_within_a_key_version(district: str, person: str) -> None:
    a = Pseudonymizer(district, 1, b"s" * 32)
    b = Pseudonymizer(district, 1, b"s" * 32)
    assert a.of(person) == b.of(person)
    assert re.fullmatch("[0-9a-f]{32}", a.of(person)) and a.of(person) != person


@given(districts=st.lists(ids, min_size=2, max_size=2, unique=True), person=ids)
def test_the_same_person_id_differs_across_districts(districts: list[str], person: str) -> None:
    [one, other] = districts
    assert Pseudonymizer(one, 1, b"k" * 32).of(person) != Pseudonymizer(other, 1, b"k" * 32).of(person)


@given(person=ids)
def test_a_rotated_key_gives_every_person_a_new_pseudonym(person: str) -> None:
    assert Pseudonymizer("d", 1, b"old-key" * 4).of(person) != Pseudonymizer("d", 2, b"new-key" * 4).of(person)


def test_outside_development_there_is_no_default_key() -> None:
    with pytest.raises(InsecureSettings, match="MOSAIC_ANALYTICS_PSEUDONYM_KEYS"):
        AnalyticsSettings(environment="production", database_url="sqlite+aiosqlite://", oidc_jwks_json="{}")
    with pytest.raises(InsecureSettings, match="fewer than 16 characters"):
        AnalyticsSettings(
            environment="production",
            database_url="sqlite+aiosqlite://",
            oidc_jwks_json="{}",
            pseudonym_keys={"*": {1: "short"}},
        )
    dev = AnalyticsSettings(environment="development", database_url="sqlite+aiosqlite://")
    assert dev.current_key("any")[0] == 1


def test_the_current_key_is_the_districts_highest_version_else_the_default() -> None:
    settings = AnalyticsSettings(
        database_url="sqlite+aiosqlite://", pseudonym_keys={**KEYS, "d-own": {3: "the-district-brings-its-own-key"}}
    )
    assert settings.current_key("d-any") == (2, b"second-secret-after-rotation")
    assert settings.current_key("d-own") == (3, b"the-district-brings-its-own-key")
    with pytest.raises(ValidationError, match="no key versions"):
        AnalyticsSettings(database_url="sqlite+aiosqlite://", pseudonym_keys={"d-1": {}})


def _evidence(comment: str) -> object:
    data = EvidenceRecorded(
        evidence_id="ev-1",
        student_id="stu-ana",
        competency_ids=("c-1",),
        kind="observation",
        observed_on=date(2026, 11, 2),
        recorded_by="tea-bo",
        score=Score(value=3, minimum=1, maximum=4),
        section_id="sec-9",
        comment=comment,
        reflection="Ana said she liked it",
        artifact_url="https://x/ana.pdf",
        source="portal",
        source_ref="stmt-77",
        verified_by="coach-cy",
    )
    return new_envelope(
        data,
        district_id="d-1",
        producer="evidence",
        subject="stu-ana",
        school_id="sch-1",
        occurred_at=datetime(2026, 11, 2, 9, tzinfo=UTC),
    )


def test_evidence_becomes_a_record_without_comment_ids_or_links_to_its_cause() -> None:
    cause = _evidence("Ana Lopez (ana@example.org, 555-0101) struggled")
    settings = AnalyticsSettings(database_url="sqlite+aiosqlite://", pseudonym_keys=KEYS)
    record = analytics_record(cause, settings.current_key)  # type: ignore[arg-type]
    raw = encode(record).decode()
    for secret_or_link in (
        "Ana",
        "ana@",
        "555-0101",
        "stu-ana",
        "tea-bo",
        "sec-9",
        "ev-1",
        "stmt-77",
        "coach-cy",
        "ana.pdf",
        str(cause.id),
        str(cause.correlation_id),
    ):  # type: ignore[attr-defined]
        assert secret_or_link not in raw, secret_or_link
    assert record.subject is None and record.causation_id is None
    assert isinstance(record.data, LearningObserved)
    assert record.data.learner == Pseudonymizer("d-1", 2, b"second-secret-after-rotation").of("stu-ana")
    assert record.data.key_version == 2 and record.data.score == pytest.approx(2 / 3, abs=1e-6)
    assert record.kafka_key == record.data.learner.encode()


def test_the_record_id_repeats_for_the_same_cause_and_changes_with_the_key_version() -> None:
    cause = _evidence("fine")
    before = AnalyticsSettings(database_url="sqlite+aiosqlite://", pseudonym_keys={"*": {1: KEYS["*"][1]}})
    after = AnalyticsSettings(database_url="sqlite+aiosqlite://", pseudonym_keys=KEYS)
    once, again = (analytics_record(cause, before.current_key) for _ in range(2))  # type: ignore[arg-type]
    rotated = analytics_record(cause, after.current_key)  # type: ignore[arg-type]
    assert once.id == again.id
    assert rotated.id != once.id and rotated.data.learner != once.data.learner  # type: ignore[attr-defined]
    assert uuid.UUID(str(once.id)).version == 5


def test_a_mastery_change_keeps_levels_and_drops_the_statement_and_evidence_ids() -> None:
    change = MasteryChanged(
        student_id="stu-ana",
        competency_id="c-1",
        competency_code="M.1",
        competency_name="Adds fractions",
        old_level="Developing",
        new_level="Proficient",
        old_rank=1,
        new_rank=2,
        mastered=True,
        estimate=0.8,
        method="latest",
        evidence_count=3,
        cause_evidence_ids=("ev-1", "ev-2"),
        section_ids=("sec-9",),
    )
    cause = new_envelope(change, district_id="d-1", producer="mastery", subject="stu-ana")
    settings = AnalyticsSettings(database_url="sqlite+aiosqlite://", pseudonym_keys=KEYS)
    raw = encode(analytics_record(cause, settings.current_key)).decode()
    assert "Proficient" in raw and "M.1" in raw
    for gone in ("stu-ana", "ev-1", "sec-9", "Adds fractions"):
        assert gone not in raw


def test_a_retraction_names_the_same_evidence_pseudonym_and_drops_its_reason() -> None:
    settings = AnalyticsSettings(database_url="sqlite+aiosqlite://", pseudonym_keys=KEYS)
    observed = analytics_record(_evidence("fine"), settings.current_key)  # type: ignore[arg-type]
    retraction = EvidenceRetracted(
        evidence_id="ev-1",
        student_id="stu-ana",
        competency_ids=("c-1",),
        reason="Ana Lopez copied it",
        retracted_by="tea-bo",
    )
    cause = new_envelope(retraction, district_id="d-1", producer="evidence", subject="stu-ana")
    record = analytics_record(cause, settings.current_key)
    assert isinstance(record.data, LearningRetracted)
    assert record.data.evidence == observed.data.evidence  # type: ignore[attr-defined]
    assert record.data.learner == observed.data.learner  # type: ignore[attr-defined]
    assert record.data.evidence != record.data.learner
    raw = encode(record).decode()
    for gone in ("Ana", "copied", "tea-bo", "ev-1", "stu-ana"):
        assert gone not in raw
