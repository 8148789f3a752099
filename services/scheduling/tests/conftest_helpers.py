"""Envelopes as the consumer's records, for tests that drive the batch applier directly."""

from __future__ import annotations

from aiokafka import ConsumerRecord

from mosaic_events import Envelope, encode


def record_of(envelope: Envelope, partition: int, offset: int) -> ConsumerRecord:
    value = encode(envelope)
    key = envelope.kafka_key
    return ConsumerRecord(
        envelope.topic,
        partition,
        offset,
        0,
        0,
        key,
        value,
        None,
        len(key),
        len(value),
        [("type", envelope.type.encode())],
    )
