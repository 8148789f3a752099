"""Create the catalog's topics (and their dead-letter topics) with the partitions and retention the contract sets."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mosaic_events.topics import DLQ_RETENTION_MS, TOPICS, Topic

if TYPE_CHECKING:
    from kafka.admin import KafkaAdminClient

log = logging.getLogger(__name__)

TOPIC_ALREADY_EXISTS = 36
UNKNOWN_TOPIC_OR_PARTITION = 3


@dataclass(frozen=True)
class TopicSpec:
    """What a topic must look like on the broker."""

    name: str
    partitions: int
    config: dict[str, str]


@dataclass(frozen=True)
class TopicState:
    """What a topic looks like on the broker."""

    name: str
    partitions: int
    config: dict[str, str]


def topic_specs(topics: Iterable[Topic] = TOPICS, partitions_override: int | None = None) -> list[TopicSpec]:
    """Each catalog topic and its `<topic>.dlq`; the DLQ has the same partitions and DLQ_RETENTION_MS."""
    specs = []
    for topic in topics:
        partitions = partitions_override or topic.partitions
        specs.append(TopicSpec(topic.name, partitions, topic.config()))
        dlq_config = {**topic.config(), "retention.ms": str(DLQ_RETENTION_MS), "cleanup.policy": "delete"}
        specs.append(TopicSpec(topic.dlq, partitions, dlq_config))
    return specs


@contextmanager
def admin_client(
    bootstrap: str, timeout_ms: int = 30000, security: Mapping[str, Any] | None = None
) -> Iterator[KafkaAdminClient]:
    """A kafka-python admin client; `security` is `kafka_security.kafka_python_security(settings)` (SASL/TLS)."""
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap,
        client_id="mosaic-topics-admin",
        bootstrap_timeout_ms=timeout_ms,
        request_timeout_ms=timeout_ms,
        **(security or {}),
    )
    try:
        yield admin
    finally:
        admin.close()


def ensure_topics(
    bootstrap: str,
    topics: Iterable[Topic] = TOPICS,
    partitions_override: int | None = None,
    replication_factor: int = -1,
    security: Mapping[str, Any] | None = None,
) -> list[str]:
    """Create missing topics and set the contract's config on existing ones; returns the names created.

    Existing topics keep their partition count (adding partitions would move keys); a mismatch is logged.
    `replication_factor=-1` takes the broker's default.replication.factor.
    """
    specs = topic_specs(topics, partitions_override)
    with admin_client(bootstrap, security=security) as admin:
        created = _create_missing(admin, specs, replication_factor)
        existing = [spec for spec in specs if spec.name not in created]
        if existing:
            _reconcile(admin, existing)
        admin.wait_for_topics([spec.name for spec in specs], timeout_ms=60000)
    return created


def _create_missing(admin: KafkaAdminClient, specs: list[TopicSpec], replication_factor: int) -> list[str]:
    import kafka.errors as errors

    request = {
        spec.name: {"num_partitions": spec.partitions, "replication_factor": replication_factor, "configs": spec.config}
        for spec in specs
    }
    response = admin.create_topics(request, raise_errors=False)
    created = []
    for result in response["topics"]:
        code = result["error_code"]
        if code == 0:
            created.append(result["name"])
        elif code != TOPIC_ALREADY_EXISTS:
            error = errors.for_code(code).__name__
            raise RuntimeError(f"creating topic {result['name']!r} failed: {error}: {result.get('error_message')}")
    return created


def _reconcile(admin: KafkaAdminClient, specs: list[TopicSpec]) -> None:
    """Bring existing topics' config to the contract (e.g. a topic auto-created by a producer got 7-day retention)."""
    from kafka.admin import ConfigResource, ConfigResourceType

    states = describe(admin, [spec.name for spec in specs])
    changes = []
    for spec in specs:
        state = states[spec.name]
        if state.partitions != spec.partitions:
            log.warning(
                "topic %s has %d partitions, the catalog says %d; left as is (adding partitions moves keys)",
                spec.name,
                state.partitions,
                spec.partitions,
            )
        drift = {key: value for key, value in spec.config.items() if state.config.get(key) != value}
        if drift:
            log.warning("topic %s: setting %s to match the catalog", spec.name, drift)
            changes.append(ConfigResource(ConfigResourceType.TOPIC, spec.name, drift))
    if changes:
        admin.alter_configs(changes, raise_on_unknown=False)


def describe(admin_or_bootstrap: KafkaAdminClient | str, names: Iterable[str]) -> dict[str, TopicState]:
    """Partition count and effective config of each named topic; raises KeyError naming any that do not exist."""
    if isinstance(admin_or_bootstrap, str):
        with admin_client(admin_or_bootstrap) as admin:
            return describe(admin, names)
    from kafka.admin import ConfigResource, ConfigResourceType

    admin = admin_or_bootstrap
    names = list(names)
    metadata = {topic["name"]: topic for topic in admin.describe_topics(names)}
    missing = [name for name in names if name not in metadata or metadata[name]["error_code"] != 0]
    if missing:
        raise KeyError(f"topics not on the broker: {', '.join(missing)}")
    resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
    configs = admin.describe_configs(resources, config_filter="all")["topic"]
    return {
        name: TopicState(
            name, len(metadata[name]["partitions"]), {key: entry["value"] for key, entry in configs[name].items()}
        )
        for name in names
    }


def delete_topics(bootstrap: str, names: Iterable[str]) -> list[str]:
    """Delete the named topics; missing ones are fine. Returns the names deleted."""
    import kafka.errors as errors

    names = list(names)
    if not names:
        return []
    with admin_client(bootstrap) as admin:
        response = admin.delete_topics(names, raise_errors=False)
    deleted = []
    for result in response["topics"]:
        code = result["error_code"]
        if code == 0:
            deleted.append(result["name"])
        elif code != UNKNOWN_TOPIC_OR_PARTITION:
            raise RuntimeError(f"deleting topic {result['name']!r} failed: {errors.for_code(code).__name__}")
    return deleted
