"""Each Kafka client library gets the service's SASL/TLS settings in its own shape; plaintext adds nothing."""

from __future__ import annotations

import ssl

import pytest
from faststream.security import SASLScram512
from pydantic import ValidationError

from mosaic_runtime.kafka_security import aiokafka_security, faststream_security, kafka_python_security, security_of
from mosaic_runtime.producer import producer_config
from mosaic_runtime.settings import ServiceSettings


def _settings(**kafka: object) -> ServiceSettings:
    return ServiceSettings(database_url="sqlite+aiosqlite://", **kafka)  # type: ignore[arg-type]


def test_plaintext_adds_no_options() -> None:
    settings = _settings()
    assert aiokafka_security(settings) == {} and kafka_python_security(settings) == {}
    assert faststream_security(settings) is None


def test_scram_over_tls_reaches_every_client() -> None:
    settings = _settings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username="mosaic-evidence-kafka",
        kafka_sasl_password="s3cret-password",
    )
    options = aiokafka_security(settings)
    assert options["security_protocol"] == "SASL_SSL" and options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "mosaic-evidence-kafka"
    assert options["sasl_plain_password"] == "s3cret-password"
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    from_producer = security_of(producer_config(settings))
    assert from_producer.keys() == options.keys()
    assert {k: v for k, v in from_producer.items() if k != "ssl_context"} == {
        k: v for k, v in options.items() if k != "ssl_context"
    }
    assert kafka_python_security(settings)["sasl_plain_password"] == "s3cret-password"
    security = faststream_security(settings)
    assert isinstance(security, SASLScram512) and security.use_ssl


def test_sasl_without_credentials_is_refused_naming_the_variables() -> None:
    needs = "MOSAIC_SERVICE_KAFKA_SASL_USERNAME and MOSAIC_SERVICE_KAFKA_SASL_PASSWORD"
    with pytest.raises(ValidationError, match=needs):
        _settings(kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_username="someone")


def test_the_password_never_shows_in_the_settings_repr() -> None:
    settings = _settings(
        kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_username="u", kafka_sasl_password="s3cret-password"
    )
    assert "s3cret-password" not in repr(settings)
