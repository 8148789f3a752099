"""xAPI and Caliper fixtures from ../shared/data, as they are: what becomes evidence and why the rest does not.
(What is refused as malformed is in test_standards_validation.py.)"""

import json
from datetime import date
from pathlib import Path

import pytest

from mosaic_events.catalog import Competency, Enrollment, Person
from mosaic_evidence.domain.caliper import translate_events
from mosaic_evidence.domain.caliper_validation import event_list
from mosaic_evidence.domain.recording import Recorder, validate_evidence
from mosaic_evidence.domain.reference import ReferenceView
from mosaic_evidence.domain.standards import ActivityMapping, StandardsMapping
from mosaic_evidence.domain.xapi import statement_id, translate_statements

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
TODAY = date(2026, 11, 23)
CBT = "http://example.adlnet.gov/xapi/example/simpleCBT"
QUIZ = "https://example.edu/terms/201601/courses/7/sections/1/assess/1"


@pytest.fixture
def view() -> ReferenceView:
    people = [
        Person(
            id="learner", role="student", given_name="Ex", family_name="Learner", email="example.learner@adlnet.gov"
        ),
        Person(id="s554433", role="student", given_name="Caliper", family_name="Student"),
    ]
    return ReferenceView.build(
        "d1",
        people=people,
        competencies=[Competency(id="c1", statement="tax returns"), Competency(id="c2", statement="quizzing")],
        enrollments=[Enrollment(section_id="x", user_id="learner", role="student")],
    )


def mapping(**actors) -> StandardsMapping:
    return StandardsMapping(
        activities=[
            ActivityMapping(activity_id=CBT, competency_ids=["c1"]),
            ActivityMapping(activity_id=QUIZ, competency_ids=["c2"]),
        ],
        actors=actors,
    )


def xapi_examples():
    return json.loads((DATA / "xapi" / "spec-examples.json").read_text(encoding="utf-8"))


def test_the_spec_examples_each_get_an_outcome_and_the_scored_one_is_evidence(view):
    outcomes = translate_statements(xapi_examples(), mapping(), view, received_on=TODAY)
    assert [o.status for o in outcomes] == [
        "voided",
        "no_score",
        "not_evidence",
        "not_evidence",
        "evidence",
        "no_score",
        "not_evidence",
        "no_score",
        "no_score",
    ]
    scored = outcomes[4]
    assert scored.source_ref == "7ccd3322-e1a5-411a-a67d-6a735c76f119" and scored.activity_id == CBT
    item = scored.item
    assert (item.student_id, item.competency_ids, item.observed_on) == ("learner", ["c1"], date(2015, 12, 18))
    assert (item.score.value, item.score.minimum, item.score.maximum) == (0.95, 0.0, 1.0)
    assert validate_evidence(item, view, Recorder("lrs", frozenset({"integration"}))) == []
    assert outcomes[0].voids == "e05aa883-acaf-40ad-bf54-02c8ce485fb0"
    assert "attended carries no result.score" in outcomes[5].reason
    broken = translate_statements([{"actor": {}, "verb": {}}, 7], mapping(), view, received_on=TODAY)
    assert [(o.status, o.reason) for o in broken] == [
        ("invalid", "statement lacks object"),
        ("invalid", "a statement must be a JSON object"),
    ]


def test_an_unmapped_activity_is_reported_with_its_id(view):
    outcomes = translate_statements([xapi_examples()[4]], StandardsMapping(), view, received_on=TODAY)
    assert [(o.status, o.activity_id) for o in outcomes] == [("unmapped_activity", CBT)]


def test_raw_scores_use_their_own_scale_or_the_activitys(view):
    statement = {**xapi_examples()[4], "result": {"score": {"raw": 17, "min": 0, "max": 20}}}
    assert translate_statements([statement], mapping(), view, received_on=TODAY)[0].item.score.maximum == 20
    bare = {**statement, "result": {"score": {"raw": 3}}}
    assert translate_statements([bare], mapping(), view, received_on=TODAY)[0].status == "invalid"
    scaled_mapping = StandardsMapping(
        activities=[ActivityMapping(activity_id=CBT, competency_ids=["c1"], scale_minimum=1, scale_maximum=4)]
    )
    item = translate_statements([bare], scaled_mapping, view, received_on=TODAY)[0].item
    assert (item.score.value, item.score.minimum, item.score.maximum) == (3, 1, 4)


def test_actors_resolve_through_the_mapping_or_else_are_reported(view):
    statement = {**xapi_examples()[4], "actor": {"account": {"homePage": "https://lms.example", "name": "u42"}}}
    assert translate_statements([statement], mapping(), view, received_on=TODAY)[0].status == "unknown_actor"
    mapped = mapping(**{"https://lms.example|u42": "learner"})
    assert translate_statements([statement], mapped, view, received_on=TODAY)[0].item.student_id == "learner"


def test_an_id_less_statement_gets_a_stable_id_from_its_content():
    statement = xapi_examples()[2]
    assert statement_id(statement) == statement_id(json.loads(json.dumps(statement)))
    assert statement_id(statement).startswith("sha256:")


def caliper(name: str):
    return json.loads((DATA / "caliper" / name).read_text(encoding="utf-8"))


def test_a_grade_event_becomes_evidence_on_the_scores_scale(view):
    actors = mapping(**{"https://example.edu/users/554433": "s554433"})
    [outcome] = translate_events(event_list(caliper("caliperEventGradeGraded.json")), actors, view, received_on=TODAY)
    assert outcome.status == "evidence" and outcome.source_ref == "urn:uuid:a50ca17f-5971-47bb-8fca-4e6e6879001d"
    item = outcome.item
    assert (item.student_id, item.competency_ids, item.observed_on) == ("s554433", ["c2"], date(2016, 11, 15))
    assert (item.score.value, item.score.maximum, item.comment) == (10.0, 15.0, "auto-graded exam")


def test_an_item_grade_maps_through_the_assessment_it_is_part_of(view):
    actors = mapping(**{"https://example.edu/users/554433": "s554433"})
    events = event_list(caliper("caliperEventGradeGradedItem.json"))
    [outcome] = translate_events(events, actors, view, received_on=TODAY)
    assert outcome.status == "evidence" and outcome.activity_id == QUIZ
    assert (outcome.item.score.value, outcome.item.score.maximum) == (5.0, 5.0)


def test_an_unknown_assignee_and_an_unmapped_assignable_are_reported(view):
    grade = caliper("caliperEventGradeGraded.json")
    assert translate_events([grade], mapping(), view, received_on=TODAY)[0].status == "unknown_actor"
    [unmapped] = translate_events([grade], StandardsMapping(), view, received_on=TODAY)
    assert (unmapped.status, unmapped.activity_id) == ("unmapped_activity", QUIZ)


def test_every_other_caliper_fixture_is_reported_not_dropped(view):
    expected = {
        "caliperEventAssessmentStarted.json": ["no_score"],
        "caliperEventAssessmentSubmitted.json": ["no_score"],
        "caliperEventAssessmentItemCompleted.json": ["not_evidence"],
        "caliperEventViewViewed.json": ["not_evidence"],
        "caliperEnvelopeEventSingle.json": ["no_score"],
        "caliperEnvelopeEventBatch.json": ["not_evidence", "not_evidence", "not_evidence"],
        "caliperEntityLearningObjective.json": ["not_evidence"],
    }
    for name, statuses in expected.items():
        outcomes = translate_events(event_list(caliper(name)), mapping(), view, received_on=TODAY)
        assert [o.status for o in outcomes] == statuses, name
        assert all(o.reason for o in outcomes)
    assert len(event_list(caliper("caliperEnvelopeEventBatch.json"))) == 3
