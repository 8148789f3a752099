"""Recording checks: each refusal names its problem and field."""

from datetime import date

import pytest

from mosaic_events.catalog import Competency, Enrollment, Person
from mosaic_evidence.domain.corrections import (
    CorrectionRequest,
    RetractionRequest,
    apply,
    to_corrected,
    to_retracted,
    validate_correction,
    validate_retraction,
)
from mosaic_evidence.domain.recording import EvidenceItem, Recorder, to_recorded, validate_evidence
from mosaic_evidence.domain.reference import ReferenceView

TODAY = date(2026, 10, 1)


@pytest.fixture
def view() -> ReferenceView:
    people = [
        Person(id="ana", role="student", given_name="Ana", family_name="Ruiz", school_ids=("s1",)),
        Person(id="ben", role="student", given_name="Ben", family_name="Ode", school_ids=("s1",)),
        Person(id="t1", role="teacher", given_name="Tia", family_name="Lo", school_ids=("s1",)),
        Person(id="t2", role="teacher", given_name="Tom", family_name="Ek", school_ids=("s1",)),
        Person(id="p1", role="parent", given_name="Pia", family_name="Ruiz", related_ids=("ana",)),
        Person(id="sa", role="siteAdministrator", given_name="Sam", family_name="Ash", school_ids=("s1",)),
    ]
    enrollments = [
        Enrollment(section_id="math", user_id="ana", role="student"),
        Enrollment(section_id="math", user_id="t1", role="teacher", primary=True),
        Enrollment(section_id="art", user_id="ben", role="student"),
        Enrollment(section_id="art", user_id="t2", role="teacher"),
    ]
    competencies = [
        Competency(id="c1", code="6.RP.A.1", statement="ratio language"),
        Competency(id="c2", statement="collaboration", kind="Disposition"),
    ]
    return ReferenceView.build("d1", people=people, enrollments=enrollments, competencies=competencies)


def item(**overrides) -> EvidenceItem:
    fields = {
        "student_id": "ana",
        "competency_ids": ["c1"],
        "kind": "rubric_rating",
        "observed_on": "2026-09-20",
        "score": {"value": 3, "minimum": 1, "maximum": 4},
    }
    return EvidenceItem.model_validate({**fields, **overrides})


def codes(problems) -> list[tuple[str, str]]:
    return [(p.code, p.field) for p in problems]


def test_a_teacher_of_the_students_section_may_record(view):
    assert validate_evidence(item(), view, Recorder("t1", frozenset({"teacher"})), today=TODAY) == []


def test_a_competency_may_be_named_by_its_code_and_is_recorded_by_id(view):
    evidence = item(competency_ids=["6.RP.A.1", "c2"])
    assert validate_evidence(evidence, view, Recorder("t1"), today=TODAY) == []
    recorded = to_recorded(evidence, evidence_id="e1", recorded_by="t1", view=view)
    assert recorded.competency_ids == ("c1", "c2")
    assert recorded.score.normalized == pytest.approx(2 / 3)


def test_an_unknown_student_is_named(view):
    assert codes(validate_evidence(item(student_id="zed"), view, Recorder("t1"))) == [("unknown_student", "student_id")]


def test_a_guardian_is_not_a_student(view):
    assert codes(validate_evidence(item(student_id="p1"), view, Recorder("t1"))) == [("not_a_student", "student_id")]


def test_an_unknown_competency_names_its_position(view):
    problems = validate_evidence(item(competency_ids=["c1", "9.ZZ.1"]), view, Recorder("t1"))
    assert codes(problems) == [("unknown_competency", "competency_ids[1]")]
    assert "9.ZZ.1" in problems[0].message


def test_a_teacher_outside_the_students_sections_is_not_permitted(view):
    problems = validate_evidence(item(), view, Recorder("t2", frozenset({"teacher"})))
    assert codes(problems) == [("not_permitted", "recorded_by")]
    assert "t2" in problems[0].message and "ana" in problems[0].message


def test_administrators_and_site_administrators_of_the_school_may_record(view):
    assert validate_evidence(item(), view, Recorder("boss", frozenset({"administrator"}))) == []
    assert validate_evidence(item(), view, Recorder("sa")) == []


def test_a_student_may_record_only_self_assessments_and_goals_for_themselves(view):
    assert validate_evidence(item(kind="self_assessment"), view, Recorder("ana")) == []
    assert validate_evidence(item(kind="goal"), view, Recorder("ana")) == []
    assert codes(validate_evidence(item(), view, Recorder("ana"))) == [("not_permitted", "recorded_by")]
    assert codes(validate_evidence(item(student_id="ben", kind="goal"), view, Recorder("ana"))) == [
        ("not_permitted", "recorded_by")
    ]


@pytest.mark.parametrize(
    ("score", "field"),
    [
        ({"value": 5, "minimum": 1, "maximum": 4}, "score.value"),
        ({"value": 0, "minimum": 1, "maximum": 4}, "score.value"),
        ({"value": 1, "minimum": 4, "maximum": 4}, "score.maximum"),
    ],
)
def test_a_score_must_fit_its_scale(view, score, field):
    problems = validate_evidence(item(score=score), view, Recorder("t1"))
    assert [p.field for p in problems] == [field]


def test_a_portfolio_artifact_needs_an_http_link_and_a_reflection(view):
    problems = validate_evidence(
        item(kind="portfolio_artifact", artifact_url="file:///etc/passwd"), view, Recorder("t1")
    )
    assert codes(problems) == [("bad_value", "artifact_url"), ("missing_field", "reflection")]
    ok = item(kind="portfolio_artifact", artifact_url="https://portfolio.example/ana/1", reflection="I learned...")
    assert validate_evidence(ok, view, Recorder("t1")) == []


def test_out_of_school_learning_needs_its_source_and_verifier(view):
    problems = validate_evidence(item(kind="out_of_school"), view, Recorder("t1"))
    assert codes(problems) == [("missing_field", "source"), ("missing_field", "verified_by")]
    ok = item(kind="out_of_school", source="City Robotics Club", verified_by="coach@club.example")
    assert validate_evidence(ok, view, Recorder("t1")) == []


def test_a_future_date_and_a_foreign_section_are_refused(view):
    problems = validate_evidence(item(observed_on="2026-12-01", section_id="art"), view, Recorder("t1"), today=TODAY)
    assert codes(problems) == [("future_date", "observed_on"), ("not_in_section", "section_id")]


def test_every_problem_is_reported_at_once(view):
    problems = validate_evidence(item(competency_ids=["nope"], score={"value": 9, "maximum": 4}), view, Recorder("t2"))
    assert codes(problems) == [
        ("unknown_competency", "competency_ids[0]"),
        ("score_out_of_scale", "score.value"),
        ("not_permitted", "recorded_by"),
    ]


def test_a_correction_then_a_retraction_fold_into_the_current_view(view):
    recorded = to_recorded(item(), evidence_id="e1", recorded_by="t1", view=view)
    state = apply(None, recorded)
    request = CorrectionRequest(reason="typo", score={"value": 4, "minimum": 1, "maximum": 4})
    assert validate_correction(state, request, view, Recorder("t1")) == []
    state = apply(state, to_corrected(state, request, view, "t1"))
    assert (state.score.value, state.revision, state.comment, state.retracted) == (4, 1, None, False)
    assert validate_retraction(state, view, Recorder("t2")) != []
    state = apply(state, to_retracted(state, RetractionRequest(reason="wrong student"), "t1"))
    assert state.retracted and state.revision == 2
    assert codes(validate_retraction(state, view, Recorder("t1"))) == [("already_retracted", "evidence_id")]
    assert codes(validate_correction(None, request, view, Recorder("t1"))) == [("unknown_evidence", "evidence_id")]
