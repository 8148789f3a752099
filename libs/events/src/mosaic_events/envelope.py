"""The envelope every event travels in (architecture brief, invariant 2)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationError,
    model_validator,
)

from mosaic_events.errors import MalformedEvent, describe
from mosaic_events.ids import derived_event_id, new_event_id
from mosaic_events.registry import EventData, event_class


class Envelope(BaseModel):
    """One immutable event: who, when, about whom, caused by what, and its typed data."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: UUID = Field(description="UUIDv7 for a new fact; UUIDv5 of the cause for a derived one")
    type: str = Field(min_length=1, description="the event type, e.g. EvidenceRecorded")
    version: int = Field(ge=1, description="the type's contract version; a breaking change is a new version")
    occurred_at: AwareDatetime = Field(description="when it happened in the world")
    recorded_at: AwareDatetime = Field(description="when Mosaic recorded it")
    district_id: str = Field(min_length=1, description="the tenant: every event carries its district")
    school_id: str | None = Field(default=None, description="the school, where there is one")
    subject: str | None = Field(default=None, description="the student, where there is one")
    correlation_id: UUID = Field(description="the id of the first event of the chain this one belongs to")
    causation_id: UUID | None = Field(default=None, description="the id of the event that caused this one")
    producer: str = Field(min_length=1, description="the service that emitted it")
    data: SerializeAsAny[EventData] = Field(description="the typed payload of `type` at `version`")

    @model_validator(mode="before")
    @classmethod
    def _typed_data(cls, raw: Any) -> Any:
        """Validate `data` against the class registered for (`type`, `version`)."""
        if not isinstance(raw, dict) or "type" not in raw or "version" not in raw:
            return raw
        data_cls = event_class(str(raw["type"]), _as_int(raw["version"]))
        data = raw.get("data")
        if not isinstance(data, dict | EventData):
            return raw  # field validation reports the missing or mistyped `data` with the rest
        if isinstance(data, EventData):
            if type(data) is not data_cls:
                raise ValueError(f"data is a {type(data).__name__}, not {data_cls.__name__}")
            return raw
        try:
            return {**raw, "data": data_cls.model_validate(data)}
        except ValidationError as exc:
            raise MalformedEvent(describe(exc, prefix="data")) from None

    @property
    def kafka_key(self) -> bytes:
        """The record key: the student for student topics, else the entity the type names."""
        field = self.data.key_field
        key = self.subject if field == "subject" else getattr(self.data, field)
        if not key:
            raise ValueError(f"{self.type} needs a {field!r} to key its Kafka record")
        return str(key).encode()

    @property
    def topic(self) -> str:
        return self.data.topic().name


def _as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise MalformedEvent(f"field 'version': must be an integer, got {value!r}") from None


def new_envelope(
    data: EventData,
    *,
    district_id: str,
    producer: str,
    subject: str | None = None,
    school_id: str | None = None,
    occurred_at: datetime | None = None,
    correlation_id: UUID | None = None,
    event_id: UUID | None = None,
    causation_id: UUID | None = None,
) -> Envelope:
    """A new fact, not derived from one event (e.g. a teacher recorded evidence, a notification went out).

    `event_id` is derived by the caller when the fact has a key of its own (a settings version, a
    notification), so a retry repeats it; `causation_id` names the event it follows from, if any.
    """
    now = datetime.now(UTC)
    eid = event_id or new_event_id()
    return Envelope(
        id=eid,
        type=data.event_type,
        version=data.version,
        occurred_at=occurred_at or now,
        recorded_at=now,
        district_id=district_id,
        school_id=school_id,
        subject=subject,
        correlation_id=correlation_id or eid,
        causation_id=causation_id,
        producer=producer,
        data=data,
    )


class _SameAsCause:
    """The default `subject` of a derived event: its cause's student."""


SAME_AS_CAUSE: Final = _SameAsCause()


def derived_envelope(
    cause: Envelope,
    data: EventData,
    *,
    producer: str,
    discriminators: tuple[str, ...] = (),
    subject: str | _SameAsCause | None = SAME_AS_CAUSE,
    school_id: str | None = None,
    occurred_at: datetime | None = None,
) -> Envelope:
    """An event caused by `cause`; its id is derived from the cause so re-emission is idempotent.

    It is about the cause's student unless `subject` says otherwise (None: about no one student).
    """
    return Envelope(
        id=derived_event_id(cause.id, data.event_type, *discriminators),
        type=data.event_type,
        version=data.version,
        occurred_at=occurred_at or cause.occurred_at,
        recorded_at=datetime.now(UTC),
        district_id=cause.district_id,
        school_id=school_id or cause.school_id,
        subject=cause.subject if isinstance(subject, _SameAsCause) else subject,
        correlation_id=cause.correlation_id,
        causation_id=cause.id,
        producer=producer,
        data=data,
    )
