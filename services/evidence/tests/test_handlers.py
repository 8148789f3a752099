"""Evidence's handler map on FastStream's in-memory broker: evidence that reached the topic some other way
(the bulk importer) shows in the evidence view, and what cannot be read goes to the dead-letter topic.

The same wiring as production (`setup_consumers`), a real database, no Kafka; test_evidence_service.py and
test_bulk_import.py cover what only a real broker shows.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date

import pytest

from mosaic_dev.handler_harness import HandlerHarness, handler_harness
from mosaic_events import Envelope, new_envelope
from mosaic_events.catalog import EvidenceRecorded, EvidenceRetracted, Score
from mosaic_evidence.adapters import evidence_store
from mosaic_evidence.consumers import setup_consumers
from mosaic_evidence.main import MIGRATIONS
from mosaic_evidence.settings import EvidenceSettings

DISTRICT = "d1"


@pytest.fixture
async def harness(database_url: str) -> AsyncIterator[HandlerHarness]:
    settings = EvidenceSettings(database_url=database_url, kafka_enabled=False)
    async with handler_harness(settings, MIGRATIONS, setup_consumers) as running:
        yield running


def _imported(evidence_id: str, value: float) -> Envelope:
    recorded = EvidenceRecorded(
        evidence_id=evidence_id,
        student_id="ana",
        competency_ids=("c-fractions",),
        kind="assessment_score",
        observed_on=date(2026, 3, 2),
        recorded_by="t1",
        score=Score(value=value, minimum=0, maximum=4),
        source="import",
    )
    return new_envelope(recorded, district_id=DISTRICT, producer="mosaic-evidence/import", subject="ana")


async def test_imported_evidence_shows_in_the_view_and_a_retraction_withdraws_it(harness) -> None:
    await harness.deliver(_imported("ev-1", 3), _imported("ev-2", 1))
    retraction = EvidenceRetracted(
        evidence_id="ev-2",
        student_id="ana",
        competency_ids=("c-fractions",),
        reason="entered for the wrong student",
        retracted_by="t1",
    )

    await harness.deliver(new_envelope(retraction, district_id=DISTRICT, producer="test", subject="ana"))

    async with harness.sessions() as session:
        kept = await evidence_store.one_evidence(session, DISTRICT, "ev-1")
        withdrawn = await evidence_store.one_evidence(session, DISTRICT, "ev-2")
    assert kept is not None and (kept["score"]["value"], kept["retracted"], kept["source"]) == (3, False, "import")
    assert withdrawn is not None and withdrawn["retracted"]
    assert [h["type"] for h in withdrawn["history"]] == ["EvidenceRecorded", "EvidenceRetracted"]
    assert await harness.outbox() == [] and harness.dead_letters == []


async def test_a_record_that_is_not_an_envelope_goes_to_the_dead_letter_topic(harness) -> None:
    topic = _imported("ev-3", 2).topic

    await harness.deliver_raw(topic, b'{"type": "EvidenceRecorded", "data": "half a record', headers={"type": "?"})
    await harness.deliver(_imported("ev-3", 2))

    [letter] = harness.dead_letters
    assert (letter.topic, letter.event_type) == (f"{topic}.dlq", "?")
    assert letter.reason and letter.error
    async with harness.sessions() as session:
        assert await evidence_store.one_evidence(session, DISTRICT, "ev-3") is not None  # the consumer carried on


async def test_the_projection_meeting_the_api_writing_the_same_event_does_nothing_and_fails_nothing(harness) -> None:
    """The acknowledged write holds the event uncommitted while its own consumer already sees it on the topic."""
    event = _imported("ev-3", 2)
    async with harness.sessions() as api, api.begin():
        assert await evidence_store.apply_envelope(api, event)

        async def projection() -> bool:
            async with harness.sessions() as session, session.begin():
                return await evidence_store.apply_envelope(session, event)

        racing = asyncio.create_task(projection())
        await asyncio.sleep(0.3)  # the projection waits on the API's uncommitted rows
    assert await racing is False
    async with harness.sessions() as session:
        found = await evidence_store.one_evidence(session, DISTRICT, "ev-3")
    assert found is not None and [h["type"] for h in found["history"]] == ["EvidenceRecorded"]
