"""Turn one source event into its analytics record's envelope, with an id that makes it effectively once."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any

from mosaic_analytics.domain.pseudonyms import Pseudonymizer
from mosaic_analytics.domain.records import (
    group_assigned,
    learning_corrected,
    learning_observed,
    learning_retracted,
    level_changed,
)
from mosaic_events import Envelope
from mosaic_events.catalog import (
    EvidenceCorrected,
    EvidenceRecorded,
    EvidenceRetracted,
    GroupAssignmentChanged,
    MasteryChanged,
)
from mosaic_events.envelope import new_envelope
from mosaic_events.ids import derived_event_id
from mosaic_events.registry import EventData

PRODUCER = "analytics"
CurrentKey = Callable[[str], tuple[int, bytes]]
RECORDS: dict[type[EventData], Callable[[Any, Pseudonymizer], EventData]] = {
    EvidenceRecorded: learning_observed,
    EvidenceCorrected: learning_corrected,
    EvidenceRetracted: learning_retracted,
    MasteryChanged: level_changed,
    GroupAssignmentChanged: group_assigned,
}


def analytics_record(cause: Envelope, current_key: CurrentKey) -> Envelope:
    """The pseudonymized record of `cause` under its district's current key version."""
    version, secret = current_key(cause.district_id)
    p = Pseudonymizer(cause.district_id, version, secret)
    record = RECORDS[type(cause.data)](cause.data, p)
    return analytics_envelope(cause, record, p)


def analytics_envelope(cause: Envelope, record: EventData, p: Pseudonymizer) -> Envelope:
    """The id derives from the cause and the key version (a retry repeats it; a new key version makes a new
    record), blinded with the secret so nobody without it can join the record back to its cause. No subject,
    no causation id, and its own correlation id: those are the named topics' ids."""
    blind = hmac.new(p.secret, str(cause.id).encode(), hashlib.sha256).hexdigest()
    event_id = derived_event_id(cause.id, record.event_type, blind, f"k{p.key_version}")
    return new_envelope(
        record,
        district_id=cause.district_id,
        producer=PRODUCER,
        school_id=cause.school_id,
        occurred_at=cause.occurred_at,
        event_id=event_id,
    )
