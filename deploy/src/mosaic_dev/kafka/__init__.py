"""A real Apache Kafka broker (KRaft, one node) on loopback, resolved from Maven Central: no Docker needed."""

from mosaic_dev.kafka.broker import QUICK_START_JVM_OPTIONS, BrokerEndpoints, LocalKafka
from mosaic_dev.kafka.class_sharing import can_dump_class_archive, class_archive_path
from mosaic_dev.kafka.config import free_port, port_is_free, server_properties
from mosaic_dev.kafka.jars import (
    HOW_TO_GET_A_BROKER,
    KAFKA_VERSION,
    KafkaUnavailable,
    cache_dir,
    fetch_jars,
    jars_present,
    lib_dir,
)

__all__ = [
    "HOW_TO_GET_A_BROKER",
    "KAFKA_VERSION",
    "QUICK_START_JVM_OPTIONS",
    "BrokerEndpoints",
    "KafkaUnavailable",
    "LocalKafka",
    "cache_dir",
    "can_dump_class_archive",
    "class_archive_path",
    "fetch_jars",
    "free_port",
    "jars_present",
    "lib_dir",
    "port_is_free",
    "server_properties",
]
