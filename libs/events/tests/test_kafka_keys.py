"""Kafka keys follow the brief: student topics by the student, section/block topics by that id."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mosaic_events import TOPICS, EventData, all_event_classes, topic_for_type

from .strategies import envelopes, sample_envelope

KEY_FIELD_FOR_TOPIC_KEY = {
    "student": {"subject"},
    "section": {"section_id"},
    "flex block": {"block_id"},
    "entity": {"framework_id", "school_id"},
    "person": {"person_id"},
    "learner pseudonym": {"learner"},
}


@pytest.mark.parametrize("cls", all_event_classes(), ids=lambda c: c.event_type)
def test_each_type_is_keyed_by_what_its_topic_promises(cls: type[EventData]) -> None:
    topic = topic_for_type(cls.event_type)
    assert cls.key_field in KEY_FIELD_FOR_TOPIC_KEY[topic.key], f"{cls.event_type} on {topic.name}"
    assert cls.key_field == "subject" or cls.key_field in cls.model_fields


@pytest.mark.parametrize("cls", all_event_classes(), ids=lambda c: c.event_type)
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_the_record_key_is_the_student_or_the_entity(cls: type[EventData], data: st.DataObject) -> None:
    envelope = data.draw(envelopes(cls))
    expected = envelope.subject if cls.key_field == "subject" else getattr(envelope.data, cls.key_field)
    assert envelope.kafka_key == expected.encode()
    assert envelope.topic == topic_for_type(cls.event_type).name


@pytest.mark.parametrize(
    "cls", [c for c in all_event_classes() if c.key_field == "subject"], ids=lambda c: c.event_type
)
def test_a_student_event_without_a_student_cannot_be_keyed(cls: type[EventData]) -> None:
    envelope = sample_envelope(cls).model_copy(update={"subject": None})
    with pytest.raises(ValueError, match=f"{cls.event_type} needs a 'subject'"):
        _ = envelope.kafka_key


def test_student_topics_have_the_most_partitions() -> None:
    student = [t.partitions for t in TOPICS if t.key == "student" and t.name != "mosaic.notify.v1"]
    others = [t.partitions for t in TOPICS if t.key != "student"]
    assert min(student) >= max(others)
