"""Which xAPI statements and Caliper events were received, by id, with a hash of their content: the same id
with the same content is a resend, with other content a conflict (409)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_evidence.adapters.tables import received_statements


async def known_hashes(session: AsyncSession, district_id: str, source: str, ids: list[str]) -> dict[str, str]:
    """Statement id → content hash, for the ids already received."""
    if not ids:
        return {}
    rows = await session.execute(
        select(received_statements.c.statement_id, received_statements.c.content_hash).where(
            received_statements.c.district_id == district_id,
            received_statements.c.source == source,
            received_statements.c.statement_id.in_(sorted(set(ids))),
        )
    )
    return {r.statement_id: r.content_hash for r in rows}


async def remember(session: AsyncSession, district_id: str, source: str, hashes: dict[str, str]) -> None:
    if hashes:
        now = datetime.now(UTC)
        await session.execute(
            received_statements.insert(),
            [
                {
                    "district_id": district_id,
                    "source": source,
                    "statement_id": sid,
                    "content_hash": digest,
                    "received_at": now,
                }
                for sid, digest in hashes.items()
            ],
        )
