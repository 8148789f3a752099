"""mosaic-ops dlq on a real broker: letters of every reason, from a real effectively-once consumer, listed,
shown against their schema, re-driven once after a fix (recorded), and discarded."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest
from faststream.kafka import KafkaBroker
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from typer.testing import CliRunner

from mosaic_dev.ops.cli import app
from mosaic_dev.ops.ledger import LEDGER_TOPIC
from mosaic_events import Envelope, encode, new_envelope
from mosaic_events.catalog import EvidenceCorrected, EvidenceRecorded, EvidenceRetracted
from mosaic_events.tracing import kafka_headers
from mosaic_runtime.consumer import HandlerMap, RejectEvent, UnitOfWork, subscribe
from mosaic_runtime.db import RUNTIME_METADATA, make_engine, make_session_factory, runtime_tables
from mosaic_runtime.settings import ServiceSettings

runtime_tables(RUNTIME_METADATA)


def evidence(competency: str) -> Envelope:
    data = EvidenceRecorded(
        evidence_id=str(uuid.uuid4()),
        student_id="s-1",
        competency_ids=(competency,),
        kind="rubric_rating",
        observed_on="2026-11-02",
        recorded_by="t-1",
        score={"value": 3, "minimum": 1, "maximum": 4},
    )
    return new_envelope(data, district_id="d-1", producer="test", subject="s-1")


@dataclass
class FrameworkAwareConsumer:
    """Applies evidence on competencies it knows; rejects the rest (trust at the edges) to the DLQ."""

    known: set[str] = field(default_factory=lambda: {"c-1"})
    applied: list[str] = field(default_factory=list)

    async def apply(self, uow: UnitOfWork, evidence: EvidenceRecorded, envelope: Envelope) -> None:
        unknown = set(evidence.competency_ids) - self.known
        if unknown:
            raise RejectEvent(f"competency {sorted(unknown)} is not in district d-1's framework")
        self.applied.append(str(envelope.id))


@asynccontextmanager
async def consuming(
    bootstrap: str, topic: str, group: str, consumer: FrameworkAwareConsumer, database: Path
) -> AsyncIterator[None]:
    engine = make_engine(f"sqlite+aiosqlite:///{database}")
    async with engine.begin() as conn:
        await conn.run_sync(RUNTIME_METADATA.create_all)
    broker = KafkaBroker(bootstrap)
    settings = ServiceSettings(
        service_name="ops-test",
        kafka_bootstrap_servers=bootstrap,
        consumer_group=group,
        topic_overrides={"mosaic.evidence.v1": topic},
        oidc_jwks_json='{"keys": []}',
    )
    handlers = HandlerMap({EvidenceRecorded: consumer.apply}, ignored=(EvidenceCorrected, EvidenceRetracted))
    subscribe(SimpleNamespace(settings=settings, broker=broker, sessions=make_session_factory(engine)), handlers)
    await broker.start()
    try:
        yield
    finally:
        await broker.stop()
        await engine.dispose()


def records_in(bootstrap: str, topic: str) -> list:
    reader = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(reader.partitions_for_topic(topic) or ())]
        reader.assign(partitions)
        reader.seek_to_beginning(*partitions)
        ends = reader.end_offsets(partitions)
        out: list = []
        while any(reader.position(tp) < end for tp, end in ends.items()):
            for records in reader.poll(timeout_ms=1000).values():
                out.extend(records)
        return out
    finally:
        reader.close()


async def eventually(predicate, what: str, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.3)


async def ops(bootstrap: str, *args: str) -> str:
    """Run mosaic-ops as an operator would (off the event loop: the consumer keeps running meanwhile)."""
    result = await asyncio.to_thread(CliRunner().invoke, app, [*args, "--bootstrap", bootstrap])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


@pytest.fixture
def topic(kafka_bootstrap: str) -> str:
    name = f"test.ops.{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.create_topics([NewTopic(name, 2, 1), NewTopic(f"{name}.dlq", 2, 1)])
    admin.close()
    return name


@pytest.mark.integration
async def test_letters_of_every_reason_are_listed_shown_redriven_once_and_discarded(kafka_bootstrap, topic, tmp_path):
    group = f"ops-{uuid.uuid4().hex[:6]}"
    good, late = evidence("c-1"), evidence("c-late")
    newer = {**json.loads(encode(evidence("c-1"))), "version": 9}
    unknown = {**json.loads(encode(evidence("c-1"))), "type": "EvidenceTeleported"}
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    for key, value, headers in [
        (b"s-1", encode(good), kafka_headers(good)),
        (b"s-1", b'{"id": "not json', []),
        (b"s-1", json.dumps(unknown).encode(), []),
        (b"s-1", json.dumps(newer).encode(), []),
        (b"s-1", encode(late), kafka_headers(late)),
    ]:
        producer.send(topic, key=key, value=value, headers=list(headers)).get(30)
    producer.close()

    consumer = FrameworkAwareConsumer()
    dlq = f"{topic}.dlq"
    async with consuming(kafka_bootstrap, topic, group, consumer, tmp_path / "state.db"):
        await eventually(lambda: len(records_in(kafka_bootstrap, dlq)) == 4, "four letters")
        assert consumer.applied == [str(good.id)]

        listing = await ops(kafka_bootstrap, "dlq", "list", "--topic", topic, "--letters")
        for reason in ("malformed", "unknown-type", "unsupported-version", "rejected"):
            assert f"{group} │ {reason} " in listing, listing
        assert "4 letter(s) waiting" in listing
        letters = records_in(kafka_bootstrap, dlq)
        assert {dict(r.headers)["x-mosaic-consumer-group"].decode() for r in letters} == {group}
        by_reason = {dict(r.headers)["x-mosaic-reason"].decode(): f"{dlq}:{r.partition}:{r.offset}" for r in letters}

        shown = await ops(kafka_bootstrap, "dlq", "show", by_reason["malformed"])
        assert "not JSON" in shown and "x-mosaic-reason" in shown
        shown = await ops(kafka_bootstrap, "dlq", "show", by_reason["unknown-type"])
        assert "no event type 'EvidenceTeleported'" in shown and "EvidenceRecorded" in shown
        shown = await ops(kafka_bootstrap, "dlq", "show", by_reason["unsupported-version"])
        assert "EvidenceRecorded v9 is newer than this Mosaic knows (known: v1)" in shown
        assert "version" in shown and "const 1" in shown  # the diff names the field and what v1 expects
        shown = await ops(kafka_bootstrap, "dlq", "show", by_reason["rejected"])
        assert "matches the schema" in shown and "c-late" in shown

        # The fix: the framework now has the competency. Re-drive the rejected letter: applied once.
        consumer.known.add("c-late")
        out = await ops(kafka_bootstrap, "dlq", "redrive", "--topic", topic, "--reason", "rejected", "--yes")
        assert "re-driven: 1 record(s); already re-driven before: 0" in out
        await eventually(lambda: str(late.id) in consumer.applied, "the re-driven evidence applied")
        # Again, by filter (settled letters are not selected) and by id (selected, recognised, not sent).
        out = await ops(kafka_bootstrap, "dlq", "redrive", "--topic", topic, "--reason", "rejected", "--yes")
        assert "re-driven: 0 record(s); already re-driven before: 0" in out
        out = await ops(kafka_bootstrap, "dlq", "redrive", by_reason["rejected"], "--yes")
        assert "re-driven: 0 record(s); already re-driven before: 1" in out
        redriven = [r for r in records_in(kafka_bootstrap, topic) if "x-mosaic-redrive-of" in dict(r.headers)]
        assert len(redriven) == 1 and redriven[0].value == encode(late)
        await asyncio.sleep(2)
        assert consumer.applied == [str(good.id), str(late.id)]

        # The other three after a fix elsewhere (say a newer consumer): each goes back once; this consumer
        # still cannot read them, so they return as new letters marked as re-drives, and it carries on.
        out = await ops(kafka_bootstrap, "dlq", "redrive", "--topic", topic, "--group", group, "--yes")
        assert "re-driven: 3 record(s); already re-driven before: 0" in out
        await eventually(lambda: len(records_in(kafka_bootstrap, dlq)) == 7, "three letters back")
        returned = [r for r in records_in(kafka_bootstrap, dlq) if "x-mosaic-redrive-of" in dict(r.headers)]
        assert len(returned) == 3

        out = await ops(kafka_bootstrap, "dlq", "discard", "--topic", topic, "--group", group, "--yes")
        assert "discarded: 3; already settled: 0" in out
        listing = await ops(kafka_bootstrap, "dlq", "list", "--topic", topic)
        assert "0 letter(s) waiting" in listing
        everything = await ops(kafka_bootstrap, "dlq", "list", "--topic", topic, "--all", "--letters")
        assert "7 letter(s)" in everything and everything.count("redriven") == 4
        assert everything.count("discarded") == 3

    ledger = [r for r in records_in(kafka_bootstrap, LEDGER_TOPIC) if topic in r.key.decode()]
    assert len(ledger) == 4 + 3  # four re-drives (one per source record), three discards
    assert consumer.applied == [str(good.id), str(late.id)]  # nothing applied twice
