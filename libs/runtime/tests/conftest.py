"""Fixtures for the chassis tests; the sample service lives in ./sample_service."""

import sys
import uuid
from pathlib import Path

import pytest
from kafka.admin import KafkaAdminClient, NewTopic

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def topic(kafka_bootstrap: str) -> str:
    name = f"test.chassis.{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.create_topics([NewTopic(name, 2, 1), NewTopic(f"{name}.dlq", 1, 1)])
    admin.close()
    return name
