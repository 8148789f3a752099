"""The publish port's OUTBOX mode: rows join the caller's transaction, and a derived id is added only once."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mosaic_runtime.db import RUNTIME_METADATA, make_engine, make_session_factory, runtime_tables
from mosaic_runtime.outbox import outbox_table
from mosaic_runtime.publishing import to_outbox
from sample_service.harness import evidence, mastery_changed


@pytest.fixture
async def sessions(tmp_path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/outbox.db")
    runtime_tables(RUNTIME_METADATA)
    async with engine.begin() as conn:
        await conn.run_sync(RUNTIME_METADATA.create_all)
    yield make_session_factory(engine)
    await engine.dispose()


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
