"""Event ids: time-ordered UUIDv7 for new facts, UUIDv5 for facts derived from a cause.

A derived id depends only on its cause, so an event re-emitted after a crash carries the
same id and downstream consumers recognise it as the one they already have.
"""

from __future__ import annotations

import uuid

import uuid6

# Namespace for derived ids; fixed forever, changing it would break deduplication.
MOSAIC_NAMESPACE = uuid.UUID("6f1c3b0e-7d2a-5b8e-9c41-0a6d2f3e9b17")


def new_event_id() -> uuid.UUID:
    """A fresh UUIDv7: unique, and sortable by creation time."""
    return uuid.UUID(str(uuid6.uuid7()))


def derived_event_id(cause_id: uuid.UUID | str, event_type: str, *discriminators: str) -> uuid.UUID:
    """UUIDv5 of the cause id and the derived type (plus discriminators when one cause yields several)."""
    name = "|".join([str(cause_id), event_type, *discriminators])
    return uuid.uuid5(MOSAIC_NAMESPACE, name)
