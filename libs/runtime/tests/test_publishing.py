"""The publish port: OUTBOX rows join the caller's transaction and a derived id is added only once; ACKNOWLEDGED
waits for the broker's next acknowledgement, not for a deadline on the whole write."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from faststream.kafka import KafkaBroker
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mosaic_dev.topic_io import district_envelopes
from mosaic_events import Envelope
from mosaic_events.topics import EVIDENCE
from mosaic_runtime import publishing
from mosaic_runtime.outbox import outbox_table
from mosaic_runtime.publishing import BrokerUnavailable, Publisher, to_outbox
from sample_service.harness import evidence, mastery_changed


async def outbox_ids(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as session:
        return list((await session.execute(select(outbox_table().c.event_id))).scalars())


async def test_a_re_emitted_derived_event_is_added_to_the_outbox_once(sessions) -> None:
    derived = mastery_changed(evidence("s-1"))
    async with sessions() as session, session.begin():
        assert await to_outbox(session, [derived]) == [derived]
    async with sessions() as session, session.begin():
        assert await to_outbox(session, [derived]) == []  # a retry after a crash decides the same id
    assert await outbox_ids(sessions) == [str(derived.id)]


async def test_outbox_rows_roll_back_with_the_state_they_belong_to(sessions) -> None:
    with pytest.raises(RuntimeError):
        async with sessions() as session, session.begin():
            await to_outbox(session, [mastery_changed(evidence("s-2"))])
            raise RuntimeError("the state's write failed")
    assert await outbox_ids(sessions) == []


class _OneSendAtATime(Publisher):
    """A real Publisher on a real broker whose sends take turns and each wait `delay` first: a large write whose
    acknowledgements arrive one chunk at a time, over longer than the timeout."""

    def __init__(self, broker: KafkaBroker, timeout: float, delay: float) -> None:
        super().__init__(broker, lambda: None, timeout)
        self.delay, self.turn, self.sends = delay, asyncio.Lock(), 0

    async def _send(self, envelopes, trace_ctx_of) -> None:  # type: ignore[no-untyped-def]
        async with self.turn:
            self.sends += 1
            await asyncio.sleep(self.delay)
            await super()._send(envelopes, trace_ctx_of)


def _district_evidence(count: int) -> tuple[str, list[Envelope]]:
    district = f"d-{uuid.uuid4().hex[:10]}"
    return district, [evidence(f"s-{i}").model_copy(update={"district_id": district}) for i in range(count)]


async def test_a_write_is_acknowledged_while_acks_keep_coming_however_long_it_takes(kafka_bootstrap, monkeypatch):
    """A whole district's roster takes longer to send than the timeout; the timeout bounds the wait for the next
    acknowledgement, so five sends of 1 s each succeed under a 3 s timeout and every event is on the log once."""
    monkeypatch.setattr(publishing, "SEND_CHUNK", 10)
    district, envelopes = _district_evidence(50)
    broker = KafkaBroker(kafka_bootstrap)
    await broker.start()
    try:
        publisher = _OneSendAtATime(broker, timeout=3.0, delay=1.0)
        started = time.monotonic()
        await publisher.acknowledged(envelopes)
        assert time.monotonic() - started >= 5.0 and publisher.sends == 5
    finally:
        await broker.stop()
    on_log = await district_envelopes(kafka_bootstrap, EVIDENCE.name, district)
    assert sorted(str(e.id) for e in on_log) == sorted(str(e.id) for e in envelopes)


async def test_no_acknowledgement_within_the_timeout_is_unavailable_and_a_retry_waits_for_the_same_send(
    kafka_bootstrap,
):
    """Nothing acknowledged for the timeout: BrokerUnavailable naming the count; the send lives on, and the retry
    (same event ids) waits for it instead of sending again."""
    _, envelopes = _district_evidence(3)
    broker = KafkaBroker(kafka_bootstrap)
    await broker.start()
    try:
        publisher = _OneSendAtATime(broker, timeout=0.5, delay=1.5)
        with pytest.raises(BrokerUnavailable, match="none of the 3 event"):
            await publisher.acknowledged(envelopes)
        await asyncio.sleep(1.5)  # meanwhile the first send lands
        await publisher.acknowledged(envelopes)  # the retry waits for it: nothing is sent twice
        assert publisher.sends == 1
    finally:
        await broker.stop()
