"""Pytest fixtures for a real Kafka broker and real databases; never skips when one is missing, it fails and says why.

Loaded for every run via `-p mosaic_dev.pytest_plugin`, so imports stay inside the fixtures.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path

import pytest

POSTGRES_URL_VARIABLE = "MOSAIC_TEST_POSTGRES_URL"
TESTCONTAINERS_KAFKA_IMAGE = "confluentinc/cp-kafka:7.9.0"  # Apache Kafka 3.9
DATABASE_KINDS = ["sqlite", "postgres"] if os.environ.get(POSTGRES_URL_VARIABLE) else ["sqlite"]


def pytest_configure(config: pytest.Config) -> None:
    # kafka-python 3 loads its protocol schemas with importlib.resources' legacy API on every request.
    for message in ("read_text is deprecated", "open_text is deprecated"):
        config.addinivalue_line("filterwarnings", f"ignore:{message}:DeprecationWarning")


def _docker_answers() -> bool:
    """True when a Docker engine answers a ping within a couple of seconds."""
    try:
        import docker

        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


@contextmanager
def _testcontainers_kafka() -> Iterator[str]:
    from testcontainers.community.kafka import KafkaContainer

    container = KafkaContainer(TESTCONTAINERS_KAFKA_IMAGE).with_kraft()
    container.with_env("KAFKA_MESSAGE_MAX_BYTES", str(10 * 1024 * 1024))
    with container:
        yield container.get_bootstrap_server()


@contextmanager
def _local_kafka() -> Iterator[str]:
    from mosaic_dev.kafka import QUICK_START_JVM_OPTIONS, LocalKafka

    with LocalKafka(jvm_options=QUICK_START_JVM_OPTIONS) as broker:
        yield broker.bootstrap


@contextmanager
def _configured_kafka(bootstrap: str) -> Iterator[str]:
    yield bootstrap


def _broker_source() -> tuple[str, AbstractContextManager[str]]:
    """The first broker that can be had: KAFKA_BOOTSTRAP_SERVERS, then testcontainers, then the local launcher."""
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        return f"KAFKA_BOOTSTRAP_SERVERS={configured}", _configured_kafka(configured)
    if _docker_answers():
        return f"testcontainers ({TESTCONTAINERS_KAFKA_IMAGE})", _testcontainers_kafka()
    return "the local launcher (mosaic_dev.kafka)", _local_kafka()


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap address of a real broker with the catalog's topics created."""
    from mosaic_dev.kafka import HOW_TO_GET_A_BROKER
    from mosaic_runtime.topics_admin import ensure_topics

    source, broker = _broker_source()
    with ExitStack() as stack:
        try:
            bootstrap = stack.enter_context(broker)
            ensure_topics(bootstrap)
        except Exception as exc:
            pytest.fail(
                f"No Kafka broker for the integration tests (tried {source}): {exc}\n{HOW_TO_GET_A_BROKER}",
                pytrace=False,
            )
        yield bootstrap


@pytest.fixture
def local_kafka() -> Iterator[object]:
    """A dedicated local broker this test may stop, start and restart (same ports, same data)."""
    from mosaic_dev.kafka import HOW_TO_GET_A_BROKER, QUICK_START_JVM_OPTIONS, KafkaUnavailable, LocalKafka

    broker = LocalKafka(jvm_options=QUICK_START_JVM_OPTIONS)
    try:
        broker.start()
    except KafkaUnavailable as exc:
        broker.close()
        pytest.fail(f"The local Kafka launcher could not start a broker: {exc}\n{HOW_TO_GET_A_BROKER}", pytrace=False)
    try:
        yield broker
    finally:
        broker.close()


@pytest.fixture(params=DATABASE_KINDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database per test: a SQLite file always; a fresh PostgreSQL database too when
    MOSAIC_TEST_POSTGRES_URL (a server URL, e.g. postgresql://user:pw@127.0.0.1:5432/postgres) is set."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    from mosaic_dev.postgres import temporary_database

    with temporary_database(os.environ[POSTGRES_URL_VARIABLE]) as url:
        yield url
