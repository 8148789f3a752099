"""Derived ids depend only on their cause, so a re-emitted event is recognisable downstream."""

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from mosaic_events import derived_envelope, derived_event_id, new_event_id
from mosaic_events.catalog import MasteryChanged, RegroupNeeded
from mosaic_events.catalog.evidence import EvidenceRecorded

from .strategies import envelopes, event_data

type_names = st.sampled_from(["MasteryChanged", "RegroupNeeded", "FamilyNotified", "GroupAssignmentChanged"])


@given(cause=st.uuids(), event_type=type_names)
def test_the_same_cause_and_type_give_the_same_id(cause: uuid.UUID, event_type: str) -> None:
    assert derived_event_id(cause, event_type) == derived_event_id(str(cause), event_type)
    assert derived_event_id(cause, event_type).version == 5


@given(cause=st.uuids(), types=st.lists(type_names, min_size=2, max_size=2, unique=True))
def test_a_different_type_gives_a_different_id(cause: uuid.UUID, types: list[str]) -> None:
    assert derived_event_id(cause, types[0]) != derived_event_id(cause, types[1])


@given(cause=st.uuids(), discriminators=st.lists(st.text(min_size=1, max_size=8), min_size=2, max_size=2, unique=True))
def test_discriminators_tell_apart_several_events_of_one_cause(cause: uuid.UUID, discriminators: list[str]) -> None:
    first, second = (derived_event_id(cause, "GroupAssignmentChanged", d) for d in discriminators)
    assert first != second


def test_a_derived_id_is_stable_across_releases() -> None:
    """The namespace is fixed forever: changing it would make every re-sent event look new."""
    cause = uuid.UUID("01936a2e-0000-7000-8000-000000000001")
    assert derived_event_id(cause, "MasteryChanged") == uuid.UUID("e1e7a982-aeea-5ff2-b930-94bf7290ac92")


@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_re_deriving_an_envelope_gives_the_same_id_and_links_the_cause(data: st.DataObject) -> None:
    cause = data.draw(envelopes(EvidenceRecorded))
    change = data.draw(event_data(MasteryChanged))
    first = derived_envelope(cause, change, producer="mastery")
    again = derived_envelope(cause, change, producer="mastery")
    assert first.id == again.id
    assert (first.causation_id, first.correlation_id, first.district_id) == (
        cause.id,
        cause.correlation_id,
        cause.district_id,
    )
    regroup = derived_envelope(cause, data.draw(event_data(RegroupNeeded)), producer="mastery")
    assert regroup.id != first.id


def test_new_facts_get_fresh_time_ordered_ids() -> None:
    ids = [new_event_id() for _ in range(50)]
    assert len(set(ids)) == 50
    assert all(i.version == 7 for i in ids)
    assert ids == sorted(ids, key=lambda i: i.bytes)
