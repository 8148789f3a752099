"""Notify's domain: pure functions and value objects, no Kafka, HTTP or SQL."""
