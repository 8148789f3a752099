"""Mastery's handler map on FastStream's in-memory broker: evidence in, MasteryChanged in the outbox.

The same wiring as production (`setup_consumers`: collect the facts, fold the batch before the commit),
a real database, no Kafka; test_service_on_broker.py covers what only a real broker shows.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import date

import pytest

from mosaic_dev import synthetic_events as synthetic
from mosaic_dev.handler_harness import HandlerHarness, handler_harness
from mosaic_events import Envelope
from mosaic_mastery.consumers import setup_consumers
from mosaic_mastery.main import MIGRATIONS
from mosaic_mastery.settings import MasterySettings

DISTRICT, SCHOOL, SECTION = "d-handlers", "school-1", "sec-1"
RATIOS = "math-6.S0.T0"


@pytest.fixture
async def harness(database_url: str) -> AsyncIterator[HandlerHarness]:
    settings = MasterySettings(database_url=database_url, kafka_enabled=False)
    async with handler_harness(settings, MIGRATIONS, setup_consumers) as running:
        await running.deliver(
            synthetic.framework(DISTRICT, strands=1, per_strand=2),
            synthetic.roster(DISTRICT, SCHOOL, {SECTION: ["ana", "ben"]}),
        )
        yield running


def _quiz(student: str, score: float, n: int) -> Envelope:
    return synthetic.evidence(
        DISTRICT, student, (RATIOS,), score, evidence_id=f"e{n}", observed_on=date(2026, 9, 1 + n)
    )


async def test_evidence_moves_a_level_and_the_change_is_in_the_outbox_caused_by_it(harness) -> None:
    first = _quiz("ana", 4, 1)

    await harness.deliver(first)

    changes = [e for e in await harness.outbox() if e.type == "MasteryChanged" and e.data.competency_id == RATIOS]
    [change] = changes
    assert (change.data.student_id, change.data.old_level, change.data.cause_evidence_ids) == ("ana", None, ("e1",))
    assert change.causation_id == first.id and change.data.section_ids == (SECTION,)


async def test_a_retraction_takes_the_evidence_back_out_of_the_level(harness) -> None:
    await harness.deliver(_quiz("ben", 4, 1), _quiz("ben", 1, 2))
    before = [
        e.data.new_level
        for e in await harness.outbox()
        if e.type == "MasteryChanged" and e.data.competency_id == RATIOS
    ]

    await harness.deliver(synthetic.retraction(DISTRICT, "ben", "e2", (RATIOS,), rng=random.Random(2)))

    after = [e for e in await harness.outbox() if e.type == "MasteryChanged" and e.data.competency_id == RATIOS]
    assert len(after) == len(before) + 1
    assert after[-1].data.old_level == before[-1] and after[-1].data.new_level == before[0]
    assert harness.dead_letters == []
