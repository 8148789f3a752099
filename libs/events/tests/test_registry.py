"""One definition per event type: the registry refuses a second one and types without a topic."""

import pytest

from mosaic_events import EventData, all_event_classes, event_class
from mosaic_events.registry import register


def test_a_second_definition_of_a_type_is_refused() -> None:
    class EvidenceRecordedAgain(EventData):
        event_type = "EvidenceRecorded"

        evidence_id: str

    with pytest.raises(ValueError, match="event type EvidenceRecorded v1 is already defined by"):
        register(EvidenceRecordedAgain)
    assert event_class("EvidenceRecorded", 1).__name__ == "EvidenceRecorded"


def test_a_type_that_no_topic_carries_is_refused() -> None:
    class Homeless(EventData):
        event_type = "HomelessEventNoTopicCarries"

    with pytest.raises(KeyError, match="no topic carries event type 'HomelessEventNoTopicCarries'"):
        register(Homeless)
    assert "HomelessEventNoTopicCarries" not in {cls.event_type for cls in all_event_classes()}


def test_each_type_string_is_defined_once() -> None:
    keys = [(cls.event_type, cls.version) for cls in all_event_classes()]
    assert len(keys) == len(set(keys))


def test_every_type_is_frozen_and_refuses_unknown_fields() -> None:
    for cls in all_event_classes():
        assert cls.model_config.get("frozen") is True, cls
        assert cls.model_config.get("extra") == "forbid", cls
        assert cls.__doc__ and cls.__doc__.strip(), f"{cls.event_type} needs a docstring: docs/events.md uses it"
