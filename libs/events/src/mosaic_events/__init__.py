"""Mosaic's event contracts: the envelope, the catalog, the topics and the one serializer."""

from mosaic_events import catalog  # noqa: F401  (registers every type)
from mosaic_events.envelope import Envelope, derived_envelope, new_envelope
from mosaic_events.errors import EventError, MalformedEvent, UnknownEventType, UnsupportedVersion
from mosaic_events.ids import derived_event_id, new_event_id
from mosaic_events.registry import EventData, all_event_classes, event_class
from mosaic_events.serde import decode, encode
from mosaic_events.topics import TOPICS, Topic, topic_for_type, topic_named

__all__ = [
    "TOPICS",
    "Envelope",
    "EventData",
    "EventError",
    "MalformedEvent",
    "Topic",
    "UnknownEventType",
    "UnsupportedVersion",
    "all_event_classes",
    "decode",
    "derived_envelope",
    "derived_event_id",
    "encode",
    "event_class",
    "new_envelope",
    "new_event_id",
    "topic_for_type",
    "topic_named",
]
