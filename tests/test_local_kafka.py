"""The local Kafka launcher runs a real broker: it answers, keeps data over a restart on the same port, stops clean."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from mosaic_dev.kafka import (
    KafkaUnavailable,
    LocalKafka,
    can_dump_class_archive,
    class_archive_path,
    fetch_jars,
    jars_present,
    lib_dir,
)


async def _produce(bootstrap: str, topic: str, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=b"student-1")
    finally:
        await producer.stop()


async def _read_all(bootstrap: str, topic: str, count: int) -> list[bytes]:
    """Read `count` records of partition 0 from the beginning (no consumer group needed)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        values: list[bytes] = []
        while len(values) < count:
            batch = await consumer.getmany(partition, timeout_ms=10_000, max_records=count)
            if not batch:
                break
            values += [record.value for record in batch[partition]]
        return values
    finally:
        await consumer.stop()


def _java_processes_using(data_dir: Path) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "kafka.Kafka" in cmdline and str(data_dir) in cmdline:
            pids.append(int(proc.name))
    return pids


async def test_broker_round_trip_survives_restart_on_same_port_and_stops_clean(local_kafka: LocalKafka) -> None:
    topic = f"test.local-kafka.{uuid.uuid4().hex[:8]}"
    bootstrap, first_pid = local_kafka.bootstrap, local_kafka.pid

    await _produce(bootstrap, topic, b"before restart")
    assert await _read_all(bootstrap, topic, 1) == [b"before restart"]

    local_kafka.restart()
    assert local_kafka.bootstrap == bootstrap
    assert local_kafka.pid != first_pid
    await _produce(bootstrap, topic, b"after restart")
    assert await _read_all(bootstrap, topic, 2) == [b"before restart", b"after restart"]

    pid = local_kafka.pid
    local_kafka.stop()
    assert not local_kafka.running
    assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert _java_processes_using(local_kafka.data_dir) == []

    java = shutil.which("java")
    assert java is not None
    if can_dump_class_archive(java):  # the first clean stop leaves the class-data archive for faster starts
        assert class_archive_path(lib_dir(), java).is_file()
    assert list(lib_dir().glob("*.tmp")) == []


def test_cached_jars_are_reused_without_maven(monkeypatch: pytest.MonkeyPatch) -> None:
    fetch_jars()
    assert jars_present()
    monkeypatch.setenv("PATH", "/nonexistent")  # no mvn: a second fetch must not need it
    assert fetch_jars() == lib_dir()


def test_missing_java_fails_with_how_to_get_a_broker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    broker = LocalKafka(tmp_path)
    with pytest.raises(KafkaUnavailable, match="Java 17") as failure:
        broker.start()
    assert "KAFKA_BOOTSTRAP_SERVERS" in str(failure.value)
    assert "Docker" in str(failure.value)


def test_cluster_ids_never_start_with_a_dash() -> None:
    """An id starting with "-" made `StorageTool format -t <id>` fail about once in 64 starts."""
    from mosaic_dev.kafka.broker import _kafka_uuid

    ids = [_kafka_uuid() for _ in range(5000)]
    assert not [cluster_id for cluster_id in ids if cluster_id.startswith("-")]
    assert all(len(cluster_id) == 22 for cluster_id in ids)
