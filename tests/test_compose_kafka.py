"""The compose broker, run as compose runs it but outside a container: deploy/docker/kafka/start.sh formats the
storage with docker-compose.yml's SCRAM users and starts Kafka (from Maven's jars) on server.properties, moved to
free local ports. Then the `topics` one-shot creates the catalog as compose runs it, every service connects with
the credentials compose gives it, and a client without them, or with a wrong password, is refused."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from mosaic_dev.kafka import free_port
from mosaic_dev.kafka.config import LOG4J_PROPERTIES
from mosaic_dev.kafka.jars import fetch_jars, require_tool
from mosaic_events.topics import EVIDENCE, TOPICS
from mosaic_runtime.kafka_security import aiokafka_security
from mosaic_runtime.settings import ServiceSettings

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[1]
KAFKA_DIR = ROOT / "deploy/docker/kafka"
SERVICES = ("evidence", "mastery", "scheduling", "notify", "analytics")


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def scram_users() -> dict[str, str]:
    pairs = compose()["services"]["kafka"]["environment"]["KAFKA_SCRAM_USERS"].split(",")
    return dict(pair.split("=", 1) for pair in pairs)


def service_credentials(service: str) -> tuple[str, str, str]:
    env = compose()["services"][service]["environment"]
    prefix = f"MOSAIC_{service.upper()}_"
    return env["KAFKA_SECURITY_PROTOCOL"], env[f"{prefix}KAFKA_SASL_USERNAME"], env[f"{prefix}KAFKA_SASL_PASSWORD"]


@dataclass
class ComposeBroker:
    bootstrap: str  # the INTERNAL listener, as services reach it
    host_bootstrap: str  # the HOST listener, as a developer's tools reach it
    process: subprocess.Popen[bytes]
    log: Path


def local_config(tmp: Path, internal: int, controller: int, host: int) -> Path:
    """server.properties with compose's host names and ports moved to this machine's free ports."""
    text = (KAFKA_DIR / "server.properties").read_text()
    text = text.replace("kafka:9093", f"127.0.0.1:{controller}").replace("kafka:9092", f"127.0.0.1:{internal}")
    text = text.replace("localhost:9094", f"127.0.0.1:{host}")
    text = re.sub(r"INTERNAL://:9092", f"INTERNAL://127.0.0.1:{internal}", text)
    text = re.sub(r"CONTROLLER://:9093", f"CONTROLLER://127.0.0.1:{controller}", text)
    text = re.sub(r"HOST://:9094", f"HOST://127.0.0.1:{host}", text)
    text = re.sub(r"(?m)^log\.dirs=.*$", f"log.dirs={tmp / 'data'}", text)
    assert ":9092" not in text and ":9093" not in text and ":9094" not in text, text
    config = tmp / "server.properties"
    config.write_text(text)
    return config


def kafka_bin(tmp: Path) -> Path:
    """kafka-storage.sh and kafka-server-start.sh as the image has them, running the jars Maven fetched."""
    java, lib = require_tool("java"), fetch_jars()
    (tmp / "log4j.properties").write_text(LOG4J_PROPERTIES)
    options = f"-Xmx384m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Dlog4j.configuration=file:{tmp}/log4j.properties"
    run = f'exec {java} {options} -cp "{lib}/*"'
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    for name, main in (("kafka-storage.sh", "kafka.tools.StorageTool"), ("kafka-server-start.sh", "kafka.Kafka")):
        script = bin_dir / name
        script.write_text(f'#!/usr/bin/env bash\n{run} {main} "$@"\n')
        script.chmod(0o755)
    return bin_dir


def settings(bootstrap: str, protocol: str = "PLAINTEXT", user: str | None = None, password: str | None = None):  # type: ignore[no-untyped-def]
    return ServiceSettings(
        service_name="compose-check",
        database_url="sqlite+aiosqlite:///:memory:",
        kafka_bootstrap_servers=bootstrap,
        kafka_security_protocol=protocol,
        kafka_sasl_username=user,
        kafka_sasl_password=password,
    )  # type: ignore[arg-type]


async def round_trip(config: ServiceSettings, topic: str, value: bytes) -> bytes | None:
    """Produce one record and read it back; raises KafkaError when the broker refuses the client."""
    security = aiokafka_security(config)
    producer = AIOKafkaProducer(bootstrap_servers=config.kafka_bootstrap_servers, request_timeout_ms=8000, **security)
    try:
        await asyncio.wait_for(producer.start(), 20)
        sent = await producer.send_and_wait(topic, value, key=b"compose-check")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=config.kafka_bootstrap_servers, group_id=None, enable_auto_commit=False, **security
    )
    try:
        await asyncio.wait_for(consumer.start(), 20)
        partition = TopicPartition(topic, sent.partition)
        consumer.assign([partition])
        consumer.seek(partition, sent.offset)
        batch = await consumer.getmany(partition, timeout_ms=10_000)
        records = batch.get(partition, [])
        return records[0].value if records else None
    finally:
        await consumer.stop()


def refused(config: ServiceSettings) -> bool:
    try:
        asyncio.run(asyncio.wait_for(round_trip(config, EVIDENCE.name, b"must not land"), 30))
    except (KafkaError, TimeoutError, OSError):
        return True
    return False


@pytest.fixture(scope="module")
def compose_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeBroker]:
    tmp = tmp_path_factory.mktemp("compose-kafka")
    internal, controller, host = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "KAFKA_BIN": str(kafka_bin(tmp)),
        "MOSAIC_KAFKA_CONFIG": str(local_config(tmp, internal, controller, host)),
        "MOSAIC_KAFKA_WORK": str(tmp / "work"),
        "KAFKA_SCRAM_USERS": compose()["services"]["kafka"]["environment"]["KAFKA_SCRAM_USERS"],
    }
    log = tmp / "broker.out"
    with open(log, "ab") as out:
        process = subprocess.Popen(
            ["bash", str(KAFKA_DIR / "start.sh")], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    broker = ComposeBroker(f"127.0.0.1:{internal}", f"127.0.0.1:{host}", process, log)
    try:
        admin = settings(broker.bootstrap, "SASL_PLAINTEXT", "admin", scram_users()["admin"])
        deadline = time.monotonic() + 180
        while not _answers(admin):
            assert process.poll() is None, f"start.sh exited {process.returncode}:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"the compose broker never answered:\n{log.read_text()[-3000:]}"
            time.sleep(1)
        yield broker
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _answers(config: ServiceSettings) -> bool:
    from kafka.admin import KafkaAdminClient

    from mosaic_runtime.kafka_security import kafka_python_security

    try:
        admin = KafkaAdminClient(
            bootstrap_servers=config.kafka_bootstrap_servers, request_timeout_ms=3000, **kafka_python_security(config)
        )
    except Exception:  # not up yet, whatever the client says
        return False
    try:
        admin.list_topics()
        return True
    except Exception:
        return False
    finally:
        admin.close()


def test_every_compose_service_has_a_scram_user_of_its_own() -> None:
    users = scram_users()
    assert {"broker", "admin", *SERVICES} <= set(users)
    for service in SERVICES:
        protocol, user, password = service_credentials(service)
        assert (protocol, user, users[user]) == ("SASL_PLAINTEXT", service, password)


def test_the_topics_one_shot_and_every_service_connect_as_compose_configures_them(compose_broker) -> None:
    one_shot = compose()["services"]["topics"]
    assert one_shot["command"] == ["mosaic-dev", "topics"]
    env = {**os.environ, **one_shot["environment"], "KAFKA_BOOTSTRAP_SERVERS": compose_broker.bootstrap}
    done = subprocess.run(
        [sys.executable, "-m", "mosaic_dev.cli", "topics"], env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "topics ready" in done.stdout

    for service in SERVICES:
        protocol, user, password = service_credentials(service)
        value = f"{service} was here".encode()
        config = settings(compose_broker.bootstrap, protocol, user, password)
        assert asyncio.run(round_trip(config, EVIDENCE.name, value)) == value, service
    host = settings(compose_broker.host_bootstrap, "SASL_PLAINTEXT", "admin", scram_users()["admin"])
    assert asyncio.run(round_trip(host, TOPICS[0].name, b"from the host")) == b"from the host"


def test_a_client_without_credentials_or_with_a_wrong_password_is_refused(compose_broker) -> None:
    assert refused(settings(compose_broker.bootstrap))
    assert refused(settings(compose_broker.bootstrap, "SASL_PLAINTEXT", "evidence", "not-the-password"))
    assert refused(settings(compose_broker.host_bootstrap, "SASL_PLAINTEXT", "nobody", "dev-evidence-scram"))
