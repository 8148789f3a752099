"""Dead letters as the DLQ topics hold them: read every `<topic>.dlq` from its start to its end."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from mosaic_events.topics import TOPICS

REASON = "x-mosaic-reason"
ERROR = "x-mosaic-error"
SOURCE = "x-mosaic-source"
GROUP = "x-mosaic-consumer-group"
REDRIVE_OF = "x-mosaic-redrive-of"


@dataclass(frozen=True)
class Letter:
    """One record in a DLQ; `id` is `<dlq topic>:<partition>:<offset>`."""

    dlq_topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]

    @property
    def id(self) -> str:
        return f"{self.dlq_topic}:{self.partition}:{self.offset}"

    def header(self, name: str, default: str = "") -> str:
        for key, value in self.headers:
            if key == name:
                return value.decode(errors="replace")
        return default

    @property
    def reason(self) -> str:
        return self.header(REASON, "unknown")

    @property
    def group(self) -> str:
        return self.header(GROUP, "?")

    @property
    def error(self) -> str:
        return self.header(ERROR)

    @property
    def source(self) -> str:
        """The dead-lettered record's position, `<topic>/<partition>/<offset>`: what a re-drive sends once."""
        return self.header(SOURCE) or f"{self.source_topic}/?/{self.id}"

    @property
    def source_topic(self) -> str:
        source = self.header(SOURCE)
        return source.rsplit("/", 2)[0] if source else self.dlq_topic.removesuffix(".dlq")

    @property
    def recorded_at(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp_ms / 1000, UTC)

    def age_seconds(self, now: datetime | None = None) -> float:
        return ((now or datetime.now(UTC)) - self.recorded_at).total_seconds()

    def original_headers(self) -> list[tuple[str, bytes]]:
        """The headers the record had before it was dead-lettered (without Mosaic's x-mosaic-* additions)."""
        return [(k, v) for k, v in self.headers if not k.startswith("x-mosaic-")]


def dlq_topics(source_topics: Iterable[str] | None = None) -> list[str]:
    """The DLQs of the given source topics (default: every topic in the catalog)."""
    names = list(source_topics) if source_topics else [t.name for t in TOPICS]
    return [name if name.endswith(".dlq") else f"{name}.dlq" for name in names]


def read_letters(
    bootstrap: str, topics: Iterable[str], advance: Callable[[int], None] = lambda _: None
) -> list[Letter]:
    """Every record in the DLQ topics, up to their end offsets at the time of the call."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        group_id=None,
        consumer_timeout_ms=2000,
        client_id="mosaic-ops",
    )
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        if not partitions:
            return []
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = {tp: end for tp, end in consumer.end_offsets(partitions).items() if end > consumer.position(tp)}
        letters: list[Letter] = []
        while ends:
            for tp, records in consumer.poll(timeout_ms=1000).items():
                for r in records:
                    if tp in ends and r.offset < ends[tp]:
                        letters.append(
                            Letter(
                                r.topic,
                                r.partition,
                                r.offset,
                                r.timestamp,
                                r.key,
                                r.value or b"",
                                tuple((k, v or b"") for k, v in r.headers),
                            )
                        )
                        advance(1)
                if tp in ends and consumer.position(tp) >= ends[tp]:
                    del ends[tp]
        return sorted(letters, key=lambda letter: (letter.timestamp_ms, letter.id))
    finally:
        consumer.close()


def count_letters(bootstrap: str, topics: Iterable[str]) -> int:
    """How many records the DLQs hold (for a progress bar's total)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        if not partitions:
            return 0
        starts = consumer.beginning_offsets(partitions)
        return sum(end - starts[tp] for tp, end in consumer.end_offsets(partitions).items())
    finally:
        consumer.close()
