"""The publish port's OUTBOX mode: rows join the caller's transaction, and a derived id is added only once."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mosaic_runtime.outbox import outbox_table
from mosaic_runtime.publishing import to_outbox
from sample_service.harness import evidence, mastery_changed


async def outbox_ids(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as session:
        return list((await session.execute(select(outbox_table().c.event_id))).scalars())


async def test_a_re_emitted_derived_event_is_added_to_the_outbox_once(sessions) -> None:
    derived = mastery_changed(evidence("s-1"))
    async with sessions() as session, session.begin():
        assert await to_outbox(session, [derived]) == [derived]
    async with sessions() as session, session.begin():
        assert await to_outbox(session, [derived]) == []  # a retry after a crash decides the same id
    assert await outbox_ids(sessions) == [str(derived.id)]


async def test_outbox_rows_roll_back_with_the_state_they_belong_to(sessions) -> None:
    with pytest.raises(RuntimeError):
        async with sessions() as session, session.begin():
            await to_outbox(session, [mastery_changed(evidence("s-2"))])
            raise RuntimeError("the state's write failed")
    assert await outbox_ids(sessions) == []
