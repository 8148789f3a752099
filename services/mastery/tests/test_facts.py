"""The rebuild's fast decoder gives exactly the facts the live consumer gets from the one serializer."""

from __future__ import annotations

import orjson

from mosaic_dev import synthetic_events as synthetic
from mosaic_events import encode
from mosaic_mastery.domain.facts import from_envelope, from_record


def test_fast_and_validated_decoding_agree_on_every_generated_event():
    reference, stream = synthetic.district("d1", students=40, events=600)
    envelopes = reference + list(stream)
    assert {e.type for e in envelopes} >= {
        "EvidenceRecorded",
        "EvidenceCorrected",
        "EvidenceRetracted",
        "FrameworkPublished",
        "RosterChanged",
    }
    for envelope in envelopes:
        assert from_record(encode(envelope)) == from_envelope(envelope)


def test_records_the_live_consumer_refuses_are_skipped_by_the_replay_too():
    _, stream = synthetic.district("d1", students=5, events=3)
    good = orjson.loads(encode(next(stream)))
    bad_kind = {**good, "data": {**good["data"], "kind": "gossip"}}
    extra_field = {**good, "surprise": 1}
    out_of_scale = {**good, "data": {**good["data"], "score": {"value": 9, "minimum": 0, "maximum": 4}}}
    for payload in (bad_kind, extra_field, out_of_scale):
        assert from_record(orjson.dumps(payload)) is None
    assert from_record(b"{not json") is None
    assert from_record(orjson.dumps({**good, "type": "SomethingElse"})) is None
