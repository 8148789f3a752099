"""How every Kafka client of a service authenticates: SASL (SCRAM) and/or TLS from its settings, in the shape
each client library wants (FastStream broker, aiokafka producer/consumer, kafka-python admin)."""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from faststream.security import BaseSecurity

    from mosaic_runtime.settings import ServiceSettings


def ssl_context(settings: ServiceSettings) -> ssl.SSLContext | None:
    """A TLS context trusting the cluster's CA (and presenting a client certificate, where one is set)."""
    if not settings.kafka_security_protocol.endswith("SSL"):
        return None
    context = ssl.create_default_context(cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None)
    if settings.kafka_ssl_certfile:
        context.load_cert_chain(
            str(settings.kafka_ssl_certfile), str(settings.kafka_ssl_keyfile) if settings.kafka_ssl_keyfile else None
        )
    return context


def _password(settings: ServiceSettings) -> str:
    return settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else ""


def aiokafka_security(settings: ServiceSettings) -> dict[str, Any]:
    """Keyword arguments for AIOKafkaProducer / AIOKafkaConsumer / AIOKafkaAdminClient."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return {}
    options: dict[str, Any] = {"security_protocol": protocol, "ssl_context": ssl_context(settings)}
    if protocol.startswith("SASL"):
        options |= {
            "sasl_mechanism": settings.kafka_sasl_mechanism,
            "sasl_plain_username": settings.kafka_sasl_username,
            "sasl_plain_password": _password(settings),
        }
    return options


AIOKAFKA_SECURITY_KEYS = (
    "security_protocol",
    "ssl_context",
    "sasl_mechanism",
    "sasl_plain_username",
    "sasl_plain_password",
)


def security_of(client_config: dict[str, Any]) -> dict[str, Any]:
    """The SASL/TLS part of an aiokafka client config (e.g. a producer's), for the other clients of one tool."""
    return {k: v for k, v in client_config.items() if k in AIOKAFKA_SECURITY_KEYS}


def kafka_python_security(settings: ServiceSettings) -> dict[str, Any]:
    """Keyword arguments for kafka-python's KafkaAdminClient (topic administration)."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return {}
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol.endswith("SSL"):
        options["ssl_context"] = ssl_context(settings)
    if protocol.startswith("SASL"):
        options |= {
            "sasl_mechanism": settings.kafka_sasl_mechanism,
            "sasl_plain_username": settings.kafka_sasl_username,
            "sasl_plain_password": _password(settings),
        }
    return options


def faststream_security(settings: ServiceSettings) -> BaseSecurity | None:
    """FastStream's security object for the service's broker (consumers and the outbox relay share it)."""
    from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    context = ssl_context(settings)
    if protocol == "SSL":
        return BaseSecurity(ssl_context=context, use_ssl=True)
    kind = {"SCRAM-SHA-512": SASLScram512, "SCRAM-SHA-256": SASLScram256, "PLAIN": SASLPlaintext}[
        settings.kafka_sasl_mechanism
    ]
    return kind(
        settings.kafka_sasl_username or "", _password(settings), ssl_context=context, use_ssl=protocol == "SASL_SSL"
    )
