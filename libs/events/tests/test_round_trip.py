"""Every registered event type survives encode → decode unchanged (property-based)."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mosaic_events import EventData, all_event_classes, decode, encode

from .strategies import envelopes

ROUND_TRIP = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("cls", all_event_classes(), ids=lambda c: f"{c.event_type}.v{c.version}")
@ROUND_TRIP
@given(data=st.data())
def test_every_event_type_round_trips_through_json_equal(cls: type[EventData], data: st.DataObject) -> None:
    envelope = data.draw(envelopes(cls, keyed=False))
    decoded = decode(encode(envelope))
    assert decoded == envelope
    assert type(decoded.data) is cls
    assert encode(decoded) == encode(envelope)


def test_the_catalog_covers_the_brief() -> None:
    brief = {
        "EvidenceRecorded",
        "EvidenceCorrected",
        "EvidenceRetracted",
        "FrameworkPublished",
        "RosterChanged",
        "MasteryChanged",
        "RegroupNeeded",
        "SchedulePublished",
        "GroupAssignmentChanged",
        "FamilyNotified",
        "NotificationFailed",
    }
    assert brief <= {cls.event_type for cls in all_event_classes()}
