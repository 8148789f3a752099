"""The topic-admin helper against a real broker: catalog topics carry the contract's partitions and retention."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from kafka.admin import ConfigResource, ConfigResourceType

from mosaic_events.topics import DLQ_RETENTION_MS, EVIDENCE, FOREVER, TOPICS, Topic
from mosaic_runtime.topics_admin import admin_client, delete_topics, describe, ensure_topics, topic_specs


def _eventually(check: Callable[[], bool], what: str, attempts: int = 100) -> None:
    """Topic config changes reach the broker's metadata cache a moment after the admin call returns."""
    for _ in range(attempts):
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"never became true: {what}")


def test_catalog_topics_exist_with_contract_partitions_and_retention(kafka_bootstrap: str) -> None:
    states = describe(kafka_bootstrap, [spec.name for spec in topic_specs()])
    for topic in TOPICS:
        assert states[topic.name].partitions == topic.partitions, topic.name
        assert states[topic.name].config["retention.ms"] == str(topic.retention_ms), topic.name
        assert states[topic.dlq].config["retention.ms"] == str(DLQ_RETENTION_MS), topic.dlq
    assert states[EVIDENCE.name].config["retention.ms"] == "-1"  # evidence is kept forever
    assert states[EVIDENCE.name].config["cleanup.policy"] == "delete"


def test_ensure_topics_is_idempotent_restores_drifted_retention_and_deletes(kafka_bootstrap: str) -> None:
    topic = Topic(f"test.admin.{uuid.uuid4().hex[:8]}", "student", 2, FOREVER, "a test topic")
    assert sorted(ensure_topics(kafka_bootstrap, [topic])) == sorted([topic.name, topic.dlq])
    assert ensure_topics(kafka_bootstrap, [topic]) == []
    assert describe(kafka_bootstrap, [topic.name])[topic.name].partitions == 2

    def retention() -> str:
        return describe(kafka_bootstrap, [topic.name])[topic.name].config["retention.ms"]

    with admin_client(kafka_bootstrap) as admin:
        admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic.name, {"retention.ms": "1000"})])
    _eventually(lambda: retention() == "1000", "retention drifted to 1000")
    ensure_topics(kafka_bootstrap, [topic])
    _eventually(lambda: retention() == "-1", "ensure_topics restored retention -1")

    assert sorted(delete_topics(kafka_bootstrap, [topic.name, topic.dlq, "test.admin.never-existed"])) == sorted(
        [topic.name, topic.dlq]
    )


def test_partitions_override_applies_to_topic_and_dlq() -> None:
    specs = {spec.name: spec for spec in topic_specs([EVIDENCE], partitions_override=1)}
    assert specs[EVIDENCE.name].partitions == specs[EVIDENCE.dlq].partitions == 1
    assert specs[EVIDENCE.dlq].config["retention.ms"] == str(DLQ_RETENTION_MS)
