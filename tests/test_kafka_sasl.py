"""Kafka clients authenticate with SCRAM-SHA-512 from settings: on a broker whose SASL_PLAINTEXT listener admits
only known users, a service (its FastStream broker, the bulk producer, the topic admin) connects with its
credentials, and is refused without them or with a wrong password."""

from __future__ import annotations

import asyncio
import json
import secrets
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from mosaic_dev.idp import DevIdentityProvider
from mosaic_dev.kafka import QUICK_START_JVM_OPTIONS, LocalKafka, free_port
from mosaic_dev.stack import ServiceSpec, service_env, start_service, stop_service, wait_until_ready
from mosaic_events.topics import DAY_MS, Topic
from mosaic_runtime.kafka import make_broker
from mosaic_runtime.kafka_security import aiokafka_security, kafka_python_security
from mosaic_runtime.producer import producer_config
from mosaic_runtime.settings import ServiceSettings
from mosaic_runtime.topics_admin import admin_client, ensure_topics

USER, PASSWORD = "mosaic-analytics", "scram-" + secrets.token_hex(8)
TOPIC = "mosaic.sasl-check.v1"


@pytest.fixture(scope="module")
def scram_kafka() -> Iterator[LocalKafka]:
    broker = LocalKafka(jvm_options=QUICK_START_JVM_OPTIONS, scram_users={USER: PASSWORD})
    try:
        broker.start()
        yield broker
    finally:
        broker.close()


def _settings(bootstrap: str, **security: str) -> ServiceSettings:
    return ServiceSettings(
        database_url="sqlite+aiosqlite://", kafka_bootstrap_servers=bootstrap, service_name="analytics", **security
    )  # type: ignore[arg-type]


def _scram(bootstrap: str, password: str = PASSWORD) -> ServiceSettings:
    return _settings(
        bootstrap, kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_username=USER, kafka_sasl_password=password
    )


async def _produce_and_read(settings: ServiceSettings, value: bytes) -> list[bytes]:
    producer = AIOKafkaProducer(**producer_config(settings, request_timeout_ms=8000))
    try:
        await producer.start()
        await producer.send_and_wait(TOPIC, value, key=b"k")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        **aiokafka_security(settings),
    )
    await consumer.start()
    try:
        partition = TopicPartition(TOPIC, 0)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        batch = await consumer.getmany(partition, timeout_ms=10_000)
        return [r.value or b"" for r in batch.get(partition, [])]
    finally:
        await consumer.stop()


async def _broker_pings(settings: ServiceSettings) -> bool:
    broker = make_broker(settings)
    try:
        await asyncio.wait_for(broker.connect(), timeout=15)
        return bool(await broker.ping(timeout=5))
    except (KafkaError, TimeoutError, OSError):
        return False
    finally:
        await broker.stop()


@pytest.mark.integration
def test_clients_connect_with_scram_credentials_and_are_refused_without(scram_kafka: LocalKafka) -> None:
    sasl = scram_kafka.sasl_bootstrap
    with admin_client(sasl, timeout_ms=10_000, security=kafka_python_security(_scram(sasl))) as admin:
        assert isinstance(admin.list_topics(), list)
    check_topic = Topic(TOPIC, "student", 1, DAY_MS, "only for this test")
    assert ensure_topics(sasl, topics=(check_topic,), security=kafka_python_security(_scram(sasl))) == [
        TOPIC,
        f"{TOPIC}.dlq",
    ]

    assert asyncio.run(_produce_and_read(_scram(sasl), b"with credentials")) == [b"with credentials"]
    assert asyncio.run(_broker_pings(_scram(sasl)))

    # Without credentials the SASL listener does not speak to the client; with a wrong password it says no.
    assert not asyncio.run(_broker_pings(_settings(sasl)))
    assert not asyncio.run(_broker_pings(_scram(sasl, password="not-the-password")))
    with pytest.raises(KafkaError):
        asyncio.run(_produce_and_read(_scram(sasl, password="not-the-password"), b"never"))


@pytest.mark.integration
def test_a_service_process_becomes_ready_only_with_its_kafka_credentials(
    scram_kafka: LocalKafka, tmp_path: Path
) -> None:
    idp = DevIdentityProvider(tmp_path)
    spec = ServiceSpec("analytics", free_port())
    keys = {
        "MOSAIC_ANALYTICS_PSEUDONYM_KEYS": json.dumps({"*": {"1": "sasl-test-pseudonym-key"}}),
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "MOSAIC_ANALYTICS_KAFKA_SASL_USERNAME": USER,
        "MOSAIC_ANALYTICS_KAFKA_SASL_PASSWORD": PASSWORD,
    }
    env = service_env(
        spec, data_dir=tmp_path, bootstrap=scram_kafka.sasl_bootstrap, jwks_file=idp.jwks_file, extra=keys
    )
    service = start_service(spec, env, tmp_path / "logs")
    try:
        wait_until_ready(service, timeout=240)
        with urllib.request.urlopen(f"{spec.url}/readyz", timeout=5) as response:
            assert response.status == 200
    finally:
        stop_service(service)

    missing = {**keys}
    del missing["MOSAIC_ANALYTICS_KAFKA_SASL_PASSWORD"]
    env = service_env(
        spec, data_dir=tmp_path, bootstrap=scram_kafka.sasl_bootstrap, jwks_file=idp.jwks_file, extra=missing
    )
    env.pop("MOSAIC_ANALYTICS_KAFKA_SASL_PASSWORD", None)
    refused = start_service(spec, env, tmp_path / "logs-refused")
    try:
        refused.process.wait(timeout=120)
        assert refused.process.returncode != 0
        assert "KAFKA_SASL_PASSWORD" in refused.log_file.read_text()
    finally:
        stop_service(refused)
