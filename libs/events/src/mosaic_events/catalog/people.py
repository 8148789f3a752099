"""Personal details: topic mosaic.people.v1, compacted and keyed by person, so an erasure leaves nothing behind.

The permanent topics (evidence, reference) carry ids only; a name or a contact lives here and in the
store of the service that owns it (evidence, for the roster). See ADR 0019.
"""

from __future__ import annotations

from pydantic import Field

from mosaic_events.registry import EventData, register


@register
class PersonDetailsChanged(EventData):
    """A person's name and contacts as the roster now has them (the whole record, not a diff)."""

    event_type = "PersonDetailsChanged"
    key_field = "person_id"

    person_id: str
    role: str = Field(description="the person's roster role, so a consumer can file the details before the roster")
    given_name: str | None = None
    family_name: str | None = None
    email: str | None = None
    phone: str | None = None
    sms: str | None = None


@register
class PersonErased(EventData):
    """A district erased a person: every service deletes or anonymizes what it holds about them.

    Compaction keeps this record as the person's last word, so the details before it disappear
    from the topic and a replay knows the id is gone.
    """

    event_type = "PersonErased"
    key_field = "person_id"

    person_id: str
    erasure_id: str = Field(description="the erasure request; events derived from it take their ids from it")
    role: str | None = Field(default=None, description="the person's roster role when erased, if known")
