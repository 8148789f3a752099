"""Many outbox rows in one INSERT: a batch of evidence can decide hundreds of MasteryChanged.

Rows are exactly what `mosaic_runtime.outbox.emit` writes (same table, columns, headers with the current
trace context); only the round trips differ — one statement per batch instead of one per envelope.
(Asked of the chassis as `outbox.emit_many`; this goes away when it lands.)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_events import Envelope, encode
from mosaic_events.tracing import kafka_headers
from mosaic_runtime.outbox import outbox_table


async def emit_all(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
    """Add the envelopes to the outbox in the session's transaction, in order."""
    if not envelopes:
        return
    now = datetime.now(UTC)
    await session.execute(insert(outbox_table()), [
        {"event_id": str(e.id), "topic": e.topic, "key": e.kafka_key, "value": encode(e),
         "headers": [[k, v.decode()] for k, v in kafka_headers(e)], "created_at": now, "sent": False}
        for e in envelopes])
