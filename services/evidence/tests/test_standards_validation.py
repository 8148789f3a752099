"""Each rule of xAPI 1.0.3 (Data section, ADL LRS conformance) and of Caliper 1.1/1.2 that the edge enforces:
a statement or event that breaks it is refused with the field at fault and what to do. Statements are written
here; the third-party examples in ../shared/data are checked as they are, where present."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mosaic_evidence.domain import caliper_validation, xapi_validation
from mosaic_evidence.domain.xapi_validation import comparable, validate_statements

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
STATEMENT_ID = "3a6f2c1e-8d4b-4e7a-9c2f-5b1d0e9a7c34"


def statement(**changes: Any) -> dict:
    """A scored statement by one learner; `changes` set (or with None, remove) dotted paths."""
    body: dict[str, Any] = {
        "id": STATEMENT_ID,
        "actor": {"objectType": "Agent", "name": "Ana Alvarez", "mbox": "mailto:ana@school.example"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/scored", "display": {"en-US": "scored"}},
        "object": {
            "objectType": "Activity",
            "id": "https://quiz.example/ratios/1",
            "definition": {"name": {"en-US": "Ratios quiz 1"}},
        },
        "result": {"score": {"raw": 7, "min": 0, "max": 10, "scaled": 0.7}, "success": True, "completion": True},
        "timestamp": "2026-11-20T10:15:00.000Z",
    }
    for path, value in changes.items():
        *parents, last = path.split("__")
        node = body
        for key in parents:
            node = node.setdefault(key, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return body


SUB = {
    "objectType": "SubStatement",
    "actor": {"mbox": "mailto:b@school.example"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"},
    "object": {"id": "https://quiz.example/ratios/2"},
}


def problems_of(body: Any) -> list[tuple[int | None, str]]:
    return [(p.index, p.field) for p in validate_statements(body if isinstance(body, list) else [body])]


def reasons_of(body: Any) -> str:
    return " ".join(p.reason for p in validate_statements(body if isinstance(body, list) else [body]))


XAPI_RULES = {  # rule → (the statement that breaks it, the field named, a fragment of the reason)
    "actor_two_ifis": (
        statement(actor__account={"homePage": "https://lms.example", "name": "ana"}),
        "actor",
        "exactly one inverse functional identifier",
    ),
    "actor_no_ifi": (statement(actor={"name": "Ana"}), "actor", "found none"),
    "mbox_not_mailto": (statement(actor__mbox="ana@school.example"), "actor.mbox", "mailto:"),
    "mbox_sha1sum_not_hex": (statement(actor={"mbox_sha1sum": "xyz"}), "actor.mbox_sha1sum", ""),
    "openid_not_uri": (statement(actor={"openid": "not a uri"}), "actor.openid", "URI"),
    "account_without_home_page": (statement(actor={"account": {"name": "ana"}}), "actor.account.homePage", "required"),
    "anonymous_group_without_members": (statement(actor={"objectType": "Group"}), "actor.member", "members"),
    "group_member_is_a_group": (
        statement(
            actor={"objectType": "Group", "member": [{"objectType": "Group", "mbox": "mailto:g@school.example"}]}
        ),
        "actor.member[0].objectType",
        "Agents",
    ),
    "identified_group_two_ifis": (
        statement(actor={"objectType": "Group", "mbox": "mailto:g@school.example", "openid": "https://id.example/g"}),
        "actor",
        "exactly one",
    ),
    "actor_object_type_unknown": (statement(actor__objectType="Robot"), "actor.objectType", "Robot"),
    "verb_without_id": (statement(verb={"display": {"en-US": "scored"}}), "verb.id", "IRI"),
    "verb_id_not_iri": (statement(verb__id="scored"), "verb.id", "IRI"),
    "verb_display_bad_language_tag": (
        statement(verb__display={"not a tag!": "x"}),
        "verb.display.not a tag!",
        "Language tag",
    ),
    "object_id_not_iri": (statement(object__id="ratios quiz"), "object.id", "IRI"),
    "object_without_id": (statement(object={"objectType": "Activity"}), "object.id", "required"),
    "statement_id_not_uuid": (statement(id="statement-1"), "id", "UUID"),
    "timestamp_not_iso8601": (statement(timestamp="yesterday"), "timestamp", "ISO 8601"),
    "timestamp_date_only": (statement(timestamp="2026-11-20"), "timestamp", "date and time"),
    "timestamp_a_number": (statement(timestamp=1763633700), "timestamp", "ISO 8601"),
    "timestamp_negative_zero_offset": (statement(timestamp="2026-11-20T10:15:00-00:00"), "timestamp", "-00:00"),
    "stored_not_iso8601": (statement(stored="last week"), "stored", "ISO 8601"),
    "scaled_above_1": (statement(result__score={"scaled": 1.5}), "result.score.scaled", "−1..1"),
    "scaled_below_minus_1": (statement(result__score={"scaled": -1.01}), "result.score.scaled", "−1..1"),
    "raw_above_max": (
        statement(result__score={"raw": 11, "min": 0, "max": 10}),
        "result.score.raw",
        "outside min..max",
    ),
    "raw_below_a_min_of_0": (
        statement(result__score={"raw": -1, "min": 0, "max": 10}),
        "result.score.raw",
        "outside min..max",
    ),
    "min_equal_to_max": (statement(result__score={"raw": 5, "min": 5, "max": 5}), "result.score.min", "less than max"),
    "min_above_max": (statement(result__score={"min": 10, "max": 0}), "result.score.min", "less than max"),
    "raw_a_string": (statement(result__score={"raw": "abc", "max": 10}), "result.score.raw", "not a number"),
    "raw_a_numeric_string": (statement(result__score={"raw": "5", "max": 10}), "result.score.raw", "not a number"),
    "max_a_string": (statement(result__score={"raw": 5, "max": "x"}), "result.score.max", "not a number"),
    "raw_a_list": (statement(result__score={"raw": [1], "max": 10}), "result.score.raw", "not a number"),
    "raw_true": (statement(result__score={"raw": True, "max": 10}), "result.score.raw", "not true/false"),
    "scaled_a_string": (statement(result__score={"scaled": "x"}), "result.score.scaled", "not a number"),
    "success_yes": (statement(result__success="yes"), "result.success", "true or false"),
    "success_1": (statement(result__success=1), "result.success", "true or false"),
    "completion_0": (statement(result__completion=0), "result.completion", "true or false"),
    "duration_not_iso8601": (statement(result__duration="5 minutes"), "result.duration", "PT1H30M"),
    "unknown_top_level_property": (statement(grade="A"), "grade", "remove it"),
    "unknown_result_property": (statement(result__grade="A"), "result.grade", "remove it"),
    "version_not_1_0_x": (statement(version="2.0.0"), "version", "1.0.x"),
    "voiding_an_activity": (
        statement(verb__id=xapi_validation.VOIDED, result=None),
        "object.objectType",
        "StatementRef",
    ),
    "voiding_a_ref_that_is_not_a_uuid": (
        statement(verb__id=xapi_validation.VOIDED, result=None, object={"objectType": "StatementRef", "id": "x"}),
        "object.id",
        "UUID",
    ),
    "context_platform_on_a_non_activity": (
        statement(object={"objectType": "StatementRef", "id": STATEMENT_ID}, result=None, context={"platform": "LMS"}),
        "context",
        "Activity",
    ),
    "statement_not_an_object": ("hello", "", "JSON object"),
    "statement_ref_id_not_uuid": (
        statement(result=None, object={"objectType": "StatementRef", "id": "stmt-1"}),
        "object.id",
        "UUID",
    ),
    "sub_statement_with_an_id": (statement(result=None, object={**SUB, "id": STATEMENT_ID}), "object.id", "remove it"),
    "sub_statement_in_a_sub_statement": (
        statement(result=None, object={**SUB, "object": SUB}),
        "object.object.objectType",
        "cannot hold another SubStatement",
    ),
    "sub_statement_actor_two_ifis": (
        statement(
            result=None, object={**SUB, "actor": {"mbox": "mailto:b@school.example", "openid": "https://id.example/b"}}
        ),
        "object.actor",
        "exactly one",
    ),
    "instructor_without_ifi": (statement(context={"instructor": {"name": "Tess"}}), "context.instructor", "found none"),
    "team_not_a_group": (
        statement(context={"team": {"mbox": "mailto:t@school.example"}}),
        "context.team.objectType",
        "Group",
    ),
    "extension_key_not_iri": (statement(result__extensions={"tries": 1}), "result.extensions.tries", "IRI"),
    "registration_not_uuid": (statement(context={"registration": "abc"}), "context.registration", "UUID"),
    "attachment_usage_type_not_iri": (
        statement(
            attachments=[
                {
                    "usageType": "x",
                    "display": {"en-US": "x"},
                    "contentType": "text/plain",
                    "length": 1,
                    "sha2": "a" * 64,
                }
            ]
        ),
        "attachments[0].usageType",
        "IRI",
    ),
}


@pytest.mark.parametrize("rule", list(XAPI_RULES))
def test_a_statement_breaking_an_xapi_rule_is_refused_with_the_field_and_what_to_do(rule):
    body, field, fragment = XAPI_RULES[rule]
    problems = validate_statements([statement(id="0f9e8d7c-6b5a-4c3d-9e2f-1a0b9c8d7e6f"), body])
    assert {(p.index, p.field) for p in problems} == {(1, field)}, problems
    assert fragment in problems[0].reason
    assert problems[0].as_dict()["index"] == 1


XAPI_VALID = {
    "scored_statement": statement(),
    "no_id_and_no_timestamp": statement(id=None, timestamp=None),
    "version_1_0_3": statement(version="1.0.3"),
    "timestamp_with_an_offset": statement(timestamp="2026-11-20T11:15:00+01:00"),
    "account_actor": statement(actor={"account": {"homePage": "https://lms.example", "name": "ana"}}),
    "anonymous_group": statement(
        actor={
            "objectType": "Group",
            "member": [{"mbox": "mailto:a@school.example"}, {"openid": "https://id.example/b"}],
        }
    ),
    "identified_group": statement(
        actor={"objectType": "Group", "account": {"homePage": "https://lms.example", "name": "team-1"}}
    ),
    "raw_on_a_scale_from_0": statement(result__score={"raw": 0, "min": 0, "max": 4}),
    "negative_scaled": statement(result__score={"scaled": -0.5}),
    "voiding": statement(
        id="5d8e6f1a-2b3c-4d5e-8f9a-0b1c2d3e4f5a",
        verb__id=xapi_validation.VOIDED,
        result=None,
        object={"objectType": "StatementRef", "id": STATEMENT_ID},
    ),
    "sub_statement": statement(
        result=None,
        object={
            "objectType": "SubStatement",
            "actor": {"mbox": "mailto:b@school.example"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"},
            "object": {"id": "https://quiz.example/ratios/2"},
        },
    ),
    "extensions_hold_anything": statement(result__extensions={"https://quiz.example/ext/tries": [1, "two", None]}),
}


@pytest.mark.parametrize("case", list(XAPI_VALID))
def test_a_statement_keeping_the_rules_is_taken(case):
    assert validate_statements([XAPI_VALID[case]]) == []


def test_an_empty_list_is_refused():
    assert problems_of([]) == [(None, "")]


def test_two_statements_with_one_id_in_a_batch_are_refused():
    twin = statement(result__score={"raw": 3, "max": 10})
    assert problems_of([statement(), twin]) == [(1, "id")]
    assert "statement 0 of this batch has the same id" in reasons_of([statement(), twin])


def test_every_problem_of_every_statement_is_listed_at_once():
    bad = [statement(), statement(id="x", result__success="yes"), 7, statement(id=None, actor={"name": "nobody"})]
    assert problems_of(bad) == [(1, "id"), (1, "result.success"), (2, ""), (3, "actor")]


def test_a_reason_quotes_a_large_value_only_in_part():
    reason = reasons_of(statement(result__score={"raw": "9" * 10_000, "max": 10}))
    assert len(reason) < 200 and "…" in reason


def test_resent_statements_compare_as_xapi_does():
    """Data §2.3.1: what an LRS may set (authority, stored, version) and the timestamp's notation don't count."""
    sent = statement()
    again = {
        **statement(timestamp="2026-11-20T11:15:00+01:00", version="1.0.3", stored="2026-11-21T00:00:00Z"),
        "authority": {"mbox": "mailto:lrs@school.example"},
    }
    assert comparable(again) == comparable(sent)
    assert comparable(statement(result__score={"raw": 8, "min": 0, "max": 10})) != comparable(sent)


def test_the_xapi_specification_examples_are_valid_statements_except_the_fragment():
    examples = (
        json.loads((DATA / "xapi" / "spec-examples.json").read_text("utf-8"))
        if (DATA / "xapi").exists()
        else pytest.skip("../shared/data is not here")
    )
    invalid = {i: [p.field for p in validate_statements([e])] for i, e in enumerate(examples)}
    assert {i: fields for i, fields in invalid.items() if fields} == {6: ["objectType"]}  # a SubStatement alone
    assert problems_of([e for i, e in enumerate(examples) if i != 6]) == [(7, "id")]  # two share an id


# Caliper ---------------------------------------------------------------------------------------------------

V1P1, V1P2 = caliper_validation.CONTEXTS
GRADE_ID = "urn:uuid:6f1b3c2a-9d8e-4f7a-b6c5-0a1b2c3d4e5f"


def grade_event(**changes: Any) -> dict:
    body: dict[str, Any] = {
        "@context": V1P1,
        "id": GRADE_ID,
        "type": "GradeEvent",
        "action": "Graded",
        "actor": {"id": "https://lms.example/autograder", "type": "SoftwareApplication"},
        "object": {
            "id": "https://lms.example/attempts/1",
            "type": "Attempt",
            "assignee": {"id": "https://lms.example/users/ana", "type": "Person"},
            "assignable": {"id": "https://lms.example/assessments/ratios-1", "type": "Assessment"},
        },
        "eventTime": "2026-11-20T10:15:00.000Z",
        "generated": {"id": "https://lms.example/attempts/1/score", "type": "Score", "scoreGiven": 8, "maxScore": 10},
    }
    for path, value in changes.items():
        *parents, last = path.split("__")
        node = body
        for key in parents:
            node = node[key]
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return body


def envelope(*events: Any, **changes: Any) -> dict:
    body = {
        "sensor": "https://lms.example/sensors/1",
        "sendTime": "2026-11-20T10:16:00.000Z",
        "dataVersion": V1P1,
        "data": list(events) or [grade_event()],
    }
    return {
        **{k: v for k, v in body.items() if changes.get(k, 1) is not None},
        **{k: v for k, v in changes.items() if v is not None},
    }


CALIPER_RULES = {  # rule → (the body that breaks it, (index, field) named, a fragment of the reason)
    "empty_object": ({}, (None, ""), "not Caliper"),
    "a_string": ("hello", (None, ""), "not Caliper"),
    "an_empty_list": ([], (None, ""), "no events"),
    "envelope_without_sensor": (envelope(sensor=None), (None, "sensor"), "needs this field"),
    "envelope_without_send_time": (envelope(sendTime=None), (None, "sendTime"), "needs this field"),
    "envelope_without_data_version": (envelope(dataVersion=None), (None, "dataVersion"), "needs this field"),
    "envelope_without_data": (envelope(data=None), (None, "data"), "needs this field"),
    "envelope_sensor_not_iri": (envelope(sensor="sensor one"), (None, "sensor"), "not an IRI"),
    "envelope_send_time_not_iso8601": (envelope(sendTime="now"), (None, "sendTime"), "ISO 8601"),
    "envelope_unknown_data_version": (envelope(dataVersion="1.0"), (None, "dataVersion"), "version"),
    "envelope_data_not_a_list": (envelope(data={"type": "GradeEvent"}), (None, "data"), "array"),
    "envelope_data_empty": (envelope(data=[]), (None, "data"), "non-empty"),
    "envelope_unknown_field": (envelope(extra=1), (None, "extra"), "remove it"),
    "event_not_an_object": (envelope(grade_event(), 7), (1, ""), "JSON object"),
    "event_without_type": (envelope(grade_event(type=None)), (0, "type"), "needs a type"),
    "event_without_context": (envelope(grade_event(**{"@context": None})), (0, "@context"), "context"),
    "event_other_context": (envelope(grade_event(**{"@context": "http://schema.org"})), (0, "@context"), "context"),
    "event_id_not_urn_uuid": (envelope(grade_event(id="event-1")), (0, "id"), "urn:uuid:"),
    "event_type_unknown": (envelope(grade_event(type="ScoreEvent")), (0, "type"), "not a Caliper event type"),
    "action_not_of_the_type": (envelope(grade_event(action="Viewed")), (0, "action"), "not an action of a GradeEvent"),
    "event_without_actor": (envelope(grade_event(actor=None)), (0, "actor"), "needs an actor"),
    "event_without_object": (envelope(grade_event(object=None)), (0, "object"), "needs an object"),
    "event_time_not_iso8601": (envelope(grade_event(eventTime="10:15")), (0, "eventTime"), "ISO 8601"),
    "score_given_a_word": (
        envelope(grade_event(generated__scoreGiven="ten")),
        (0, "generated.scoreGiven"),
        "not a number",
    ),
    "score_given_true": (
        envelope(grade_event(generated__scoreGiven=True)),
        (0, "generated.scoreGiven"),
        "not true/false",
    ),
    "max_score_a_string": (envelope(grade_event(generated__maxScore="x")), (0, "generated.maxScore"), "not a number"),
    "score_given_above_max_score": (
        envelope(grade_event(generated__scoreGiven=11)),
        (0, "generated.scoreGiven"),
        "outside 0..10",
    ),
    "max_score_zero": (
        envelope(grade_event(generated__maxScore=0, generated__scoreGiven=0)),
        (0, "generated.maxScore"),
        "above 0",
    ),
    "entity_id_not_iri": ({"@context": V1P1, "type": "Person", "id": "ana"}, (0, "id"), "not an IRI"),
}


@pytest.mark.parametrize("rule", list(CALIPER_RULES))
def test_caliper_breaking_a_rule_is_refused_with_the_field_and_what_to_do(rule):
    body, where, fragment = CALIPER_RULES[rule]
    problems = caliper_validation.validate_body(body)
    assert [(p.index, p.field) for p in problems] == [where], problems
    assert fragment in problems[0].reason


CALIPER_VALID = {
    "envelope_1_1": envelope(),
    "envelope_1_2": envelope(grade_event(**{"@context": V1P2}), dataVersion=V1P2),
    "context_list": envelope(grade_event(**{"@context": [V1P1, "https://lms.example/ctx"]})),
    "bare_event": grade_event(),
    "bare_list": [grade_event(), grade_event(id="urn:uuid:0b0c0d0e-1f2a-4b3c-8d4e-5f6a7b8c9d0e")],
    "grade_without_score": envelope(grade_event(generated=None)),
    "generic_event_any_action": envelope(grade_event(type="Event", action="Searched", generated=None)),
    "view_event": envelope(grade_event(type="ViewEvent", action="Viewed", generated=None)),
    "entity": {"@context": V1P1, "type": "LearningObjective", "id": "https://lms.example/objectives/1"},
}


@pytest.mark.parametrize("case", list(CALIPER_VALID))
def test_caliper_keeping_the_rules_is_taken(case):
    assert caliper_validation.validate_body(CALIPER_VALID[case]) == []


def test_every_caliper_fixture_of_shared_data_is_valid():
    folder = DATA / "caliper"
    if not folder.exists():
        pytest.skip("../shared/data is not here")
    for path in sorted(folder.glob("*.json")):
        assert caliper_validation.validate_body(json.loads(path.read_text("utf-8"))) == [], path.name


def test_a_grade_event_breaking_several_rules_lists_each():
    bad = grade_event(id="1", action="Viewed", generated__scoreGiven="ten")
    problems = caliper_validation.validate_body(envelope(grade_event(), copy.deepcopy(bad)))
    assert [(p.index, p.field) for p in problems] == [(1, "id"), (1, "action"), (1, "generated.scoreGiven")]


# Whatever arrives, the checks answer with problems, never with an exception (which would be a 500). -------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*prefix, key))
    return found


@given(data=st.data())
@settings(max_examples=300)
def test_any_change_to_a_statement_or_event_is_answered_with_problems_not_an_error(data):
    for original, check in (
        (statement(), lambda b: validate_statements([b])),
        (envelope(), caliper_validation.validate_body),
    ):
        body = copy.deepcopy(original)
        if check is caliper_validation.validate_body:
            body = body["data"][0] if data.draw(st.booleans()) else body
        path = data.draw(st.sampled_from(paths(body)))
        node = body
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = data.draw(JSON)
        problems = check(body)
        assert all(isinstance(p.reason, str) and p.reason for p in problems)


@given(body=JSON)
@settings(max_examples=300)
def test_any_json_at_all_is_answered_with_problems_not_an_error(body):
    validate_statements(body if isinstance(body, list) else [body])
    caliper_validation.validate_body(body)


def test_a_body_nested_thousands_deep_is_refused_not_a_crash():
    deep: Any = {}
    for _ in range(5000):
        deep = {"a": deep}
    body = statement(result__extensions={"https://quiz.example/ext/x": deep})
    assert problems_of(body) == [(0, "")] and "nest deeper" in reasons_of(body)
    assert caliper_validation.validate_body(envelope(grade_event(extensions=deep)))[0].field == ""
