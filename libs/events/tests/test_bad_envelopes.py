"""A bad envelope is refused with an error that names the field and says what is wrong."""

import json
from collections.abc import Callable
from datetime import date

import pytest
from hypothesis import given, settings

from mosaic_events import MalformedEvent, UnknownEventType, UnsupportedVersion, decode, encode, new_envelope
from mosaic_events.catalog import EvidenceRecorded, Score

from .strategies import any_envelope

Edit = Callable[[dict], object]


@pytest.fixture(scope="module")
def good() -> dict:
    """Ana's rubric score from the architecture brief, as it travels on the wire."""
    score = EvidenceRecorded(
        evidence_id="ev-1",
        student_id="ana",
        competency_ids=("6.RP.A.1",),
        kind="rubric_rating",
        observed_on=date(2026, 11, 19),
        recorded_by="teacher-7",
        score=Score(value=3, minimum=1, maximum=4),
        section_id="math-6b",
    )
    return json.loads(encode(new_envelope(score, district_id="d-1", producer="evidence", subject="ana")))


def edited(good: dict, edit: Edit) -> bytes:
    payload = json.loads(json.dumps(good))
    edit(payload)
    return json.dumps(payload).encode()


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (lambda p: p.pop("district_id"), "field 'district_id': Field required"),
        (lambda p: p["data"].pop("score"), "field 'data.score': Field required"),
        (lambda p: p["data"]["score"].update(value="high"), "field 'data.score.value': Input should be a valid number"),
        (lambda p: p.update(id="not-a-uuid"), "field 'id': Input should be a valid UUID"),
        (lambda p: p.update(occurred_at="2026-11-23T08:00:00"), "field 'occurred_at': Input should have timezone info"),
        (lambda p: p.update(colour="red"), "field 'colour': Extra inputs are not permitted"),
        (lambda p: p["data"].update(colour="red"), "field 'data.colour': Extra inputs are not permitted"),
        (lambda p: p["data"].update(competency_ids=[]), "field 'data.competency_ids': Tuple should have at least 1"),
        (
            lambda p: p["data"]["score"].update(value=9, minimum=1, maximum=4),
            "field 'data.score': Value error, score 9",
        ),
        (lambda p: p.update(data=None), "field 'data': Input should be a valid dictionary"),
    ],
    ids=[
        "missing-field",
        "missing-data-field",
        "wrong-type",
        "bad-uuid",
        "naive-time",
        "unknown-field",
        "unknown-data-field",
        "empty-list",
        "score-off-scale",
        "no-data",
    ],
)
def test_a_malformed_envelope_is_refused_naming_the_field(good: dict, edit: Edit, named: str) -> None:
    with pytest.raises(MalformedEvent) as refused:
        decode(edited(good, edit))
    assert named in str(refused.value)
    assert refused.value.reason == "malformed"


def test_a_missing_type_is_reported_first(good: dict) -> None:
    with pytest.raises(MalformedEvent, match=r"^field 'type': Field required"):
        decode(edited(good, lambda p: p.pop("type")))


def test_a_version_that_is_not_a_number_says_so(good: dict) -> None:
    with pytest.raises(MalformedEvent, match=r"^field 'version': must be an integer, got 'two'"):
        decode(edited(good, lambda p: p.update(version="two")))


def test_an_unknown_type_is_refused_by_name(good: dict) -> None:
    with pytest.raises(UnknownEventType, match="unknown event type 'EvidenceInvented'") as refused:
        decode(edited(good, lambda p: p.update(type="EvidenceInvented")))
    assert refused.value.reason == "unknown-type"


def test_a_newer_version_is_refused_listing_the_known_ones(good: dict) -> None:
    with pytest.raises(
        UnsupportedVersion, match=r"'EvidenceRecorded' version 2 is not supported \(known: \[1\]\)"
    ) as refused:
        decode(edited(good, lambda p: p.update(version=2)))
    assert refused.value.reason == "unsupported-version"


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"[1, 2]", "an envelope must be a JSON object, got list"),
        (b'"EvidenceRecorded"', "an envelope must be a JSON object, got str"),
    ],
)
def test_bytes_that_are_not_a_json_object_are_refused(raw: bytes, says: str) -> None:
    with pytest.raises(MalformedEvent, match=says):
        decode(raw)


@settings(max_examples=25, deadline=None)
@given(envelope=any_envelope())
def test_dropping_any_required_data_field_is_refused_naming_it(envelope) -> None:
    payload = json.loads(encode(envelope))
    required = [name for name, info in type(envelope.data).model_fields.items() if info.is_required()]
    for name in required:
        broken = {**payload, "data": {k: v for k, v in payload["data"].items() if k != name}}
        with pytest.raises(MalformedEvent, match=f"field 'data.{name}': Field required"):
            decode(json.dumps(broken))
