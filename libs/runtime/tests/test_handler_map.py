"""A handler map is keyed by event class and decides about every type on its topics; nothing is skipped silently."""

from __future__ import annotations

import pytest
from aiokafka import ConsumerRecord

from mosaic_events import Envelope, derived_envelope, encode
from mosaic_events.catalog import (
    EvidenceCorrected,
    EvidenceRecorded,
    EvidenceRetracted,
    RosterChanged,
)
from mosaic_events.topics import EVIDENCE, REFERENCE
from mosaic_runtime.consumer import BatchApplier, HandlerMap, UnitOfWork, UnmappedEventTypes, subscribed_topics
from mosaic_runtime.settings import ServiceSettings
from sample_service.harness import evidence, mastery_changed


async def remember(uow: UnitOfWork, event: EvidenceRecorded, envelope: Envelope) -> None:
    uow.deps.append((type(event).__name__, envelope.id))


def test_a_map_that_decides_nothing_about_a_type_on_its_topic_refuses_to_start() -> None:
    with pytest.raises(UnmappedEventTypes) as refused:
        HandlerMap({EvidenceRecorded: remember}).check()
    assert "EvidenceCorrected v1 (mosaic.evidence.v1)" in str(refused.value)
    assert "EvidenceRetracted v1 (mosaic.evidence.v1)" in str(refused.value)


def test_topics_come_from_the_catalog_in_the_maps_order_and_settings_only_rename_them() -> None:
    handlers = HandlerMap({RosterChanged: remember, EvidenceRecorded: remember})
    assert handlers.topics() == (REFERENCE, EVIDENCE)
    settings = ServiceSettings(database_url="sqlite+aiosqlite://", topic_overrides={EVIDENCE.name: "private.ev"})
    assert subscribed_topics(handlers, settings) == (REFERENCE.name, "private.ev")


def record(envelope: Envelope, offset: int) -> ConsumerRecord:
    value = encode(envelope)
    return ConsumerRecord(EVIDENCE.name, 0, offset, 0, 0, envelope.kafka_key, value, None, 0, len(value), [])


async def test_handled_events_arrive_typed_ignored_ones_are_skipped_and_the_rest_dead_lettered(sessions) -> None:
    recorded = evidence("s-1")
    data = recorded.data
    same = {"evidence_id": data.evidence_id, "student_id": "s-1", "competency_ids": ("c-1",)}
    fix = EvidenceCorrected(**same, observed_on=data.observed_on, score=data.score, reason="typo", corrected_by="t")
    corrected = derived_envelope(recorded, fix, producer="test")
    retracted = derived_envelope(recorded, EvidenceRetracted(**same, reason="mix-up", retracted_by="t"), producer="t")
    stray = mastery_changed(recorded)  # a type that does not belong on the evidence topic
    seen: list[tuple[str, object]] = []
    handlers = HandlerMap(
        {EvidenceRecorded: remember}, ignored=(EvidenceCorrected,), dead_lettered=(EvidenceRetracted,)
    )
    applier = BatchApplier("map-test", handlers, sessions, deps=seen)  # type: ignore[arg-type]

    dead = await applier.apply([record(e, n) for n, e in enumerate([recorded, corrected, retracted, stray])])

    assert seen == [("EvidenceRecorded", recorded.id)]
    assert [(d.record.offset, d.reason) for d in dead] == [(2, "unhandled"), (3, "unhandled")]
    assert "MasteryChanged v2 has no handler here" in dead[1].error  # the current version (ADR 0012)
