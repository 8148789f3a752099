"""One definition per event type: the base class and the registry that refuses duplicates."""

from __future__ import annotations

from typing import ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

from mosaic_events.topics import Topic, topic_for_type


class EventData(BaseModel):
    """The payload of one event type. Subclasses are frozen value objects.

    `event_type` and `version` name the contract; `key_field` names the data field that
    keys the Kafka record (`subject` means the envelope's student).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    version: ClassVar[int] = 1
    key_field: ClassVar[str] = "subject"

    @classmethod
    def topic(cls) -> Topic:
        return topic_for_type(cls.event_type)


_REGISTRY: dict[tuple[str, int], type[EventData]] = {}
E = TypeVar("E", bound=type[EventData])


def register(cls: E) -> E:
    """Add an event type to the catalog; a second definition of the same type is an error."""
    key = (cls.event_type, cls.version)
    if key in _REGISTRY:
        raise ValueError(f"event type {key[0]} v{key[1]} is already defined by {_REGISTRY[key]}")
    topic_for_type(cls.event_type)  # every type must live on a registered topic
    _REGISTRY[key] = cls
    return cls


def event_class(event_type: str, version: int) -> type[EventData]:
    from mosaic_events.errors import UnknownEventType, UnsupportedVersion

    cls = _REGISTRY.get((event_type, version))
    if cls is not None:
        return cls
    known = sorted(v for (t, v) in _REGISTRY if t == event_type)
    if not known:
        raise UnknownEventType(f"unknown event type {event_type!r}")
    raise UnsupportedVersion(f"event type {event_type!r} version {version} is not supported (known: {known})")


def all_event_classes() -> list[type[EventData]]:
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]
