"""Send dead letters back to their source topic once, and record it; or record that they are discarded."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from mosaic_dev.ops.ledger import LEDGER_TOPIC, Ledger, entry
from mosaic_dev.ops.letters import REDRIVE_OF, Letter


@dataclass
class Outcome:
    done: list[str] = field(default_factory=list)  # source positions (re-drive) or letter ids (discard)
    skipped: list[str] = field(default_factory=list)  # already settled: nothing sent again


def by_source(letters: Sequence[Letter]) -> dict[str, list[Letter]]:
    """Letters grouped by the record they came from (several groups may dead-letter one record)."""
    grouped: dict[str, list[Letter]] = {}
    for letter in letters:
        grouped.setdefault(letter.source, []).append(letter)
    return grouped


def redrive(
    bootstrap: str, letters: Sequence[Letter], ledger: Ledger, advance: Callable[[int], None] = lambda _: None
) -> Outcome:
    """Publish each source record once (acks=all) with its key and original headers, then record it.

    A crash between the send and the record could send one record twice; consumers skip an envelope id
    they have already applied, so that second copy changes nothing.
    """
    from kafka import KafkaProducer

    outcome = Outcome()
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", client_id="mosaic-ops", retries=5)
    try:
        for source, group in by_source(letters).items():
            first = group[0]
            if ledger.redrive_of(first) is not None:
                outcome.skipped.append(source)
            else:
                headers = [*first.original_headers(), (REDRIVE_OF, source.encode())]
                sent = producer.send(first.source_topic, value=first.value, key=first.key, headers=headers)
                metadata = sent.get(timeout=30)
                record = entry("redriven", group, to=f"{metadata.topic}/{metadata.partition}/{metadata.offset}")
                _record(producer, f"source:{source}", record)
                ledger.entries[f"source:{source}"] = record
                outcome.done.append(source)
            advance(len(group))
    finally:
        producer.close()
    return outcome


def discard(
    bootstrap: str, letters: Sequence[Letter], ledger: Ledger, advance: Callable[[int], None] = lambda _: None
) -> Outcome:
    """Record that these letters need nothing more (Kafka keeps them until the DLQ's retention ends)."""
    from kafka import KafkaProducer

    outcome = Outcome()
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", client_id="mosaic-ops", retries=5)
    try:
        for letter in letters:
            if ledger.settled(letter) is not None:
                outcome.skipped.append(letter.id)
            else:
                record = entry("discarded", [letter])
                _record(producer, f"letter:{letter.id}", record)
                ledger.entries[f"letter:{letter.id}"] = record
                outcome.done.append(letter.id)
            advance(1)
    finally:
        producer.close()
    return outcome


def _record(producer: object, key: str, value: dict[str, object]) -> None:
    producer.send(LEDGER_TOPIC, key=key.encode(), value=json.dumps(value).encode()).get(timeout=30)  # type: ignore[attr-defined]
