"""Stable ids for a generated district: the same seed and name always give the same id."""

from __future__ import annotations

import uuid

GENERATOR_NAMESPACE = uuid.UUID("9a3e6c51-2f4b-5d8a-b1c7-4e0f2a6d8c93")


def stable_id(seed: int, kind: str, *parts: object) -> str:
    """A UUIDv5 naming one generated thing, e.g. stable_id(7, "student", 12)."""
    return str(uuid.uuid5(GENERATOR_NAMESPACE, "|".join([str(seed), kind, *map(str, parts)])))
