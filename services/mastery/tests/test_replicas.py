"""Replicas on one PostgreSQL: two batch appliers (two mastery processes) on different partitions at once.

Students of one section sit on different partitions, so both replicas read and write that section's watch in
the same moments. The district's rules make each level change on a followed competency its own RegroupNeeded
(threshold one student, no debounce), so the count per section does not depend on how the partitions
interleave and must equal the single-process run's, as must the projection's checksum. Every evidence happens
at one instant: the debounce compares event times, and partitions running ahead of each other in event time
would otherwise change which changes fall inside a window (a property of the rule, not of the replicas).
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter

import pytest
from aiokafka import ConsumerRecord
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mosaic_dev import synthetic_events as synthetic
from mosaic_dev.postgres import temporary_database
from mosaic_dev.pytest_plugin import POSTGRES_URL_VARIABLE
from mosaic_events import decode
from mosaic_mastery.adapters.checksum import projection_checksum
from mosaic_mastery.adapters.store import ProjectionStore
from mosaic_mastery.consumers import HANDLERS
from mosaic_mastery.domain.config import DistrictSettings
from mosaic_runtime.consumer import BatchApplier
from mosaic_runtime.db import make_engine, make_session_factory, run_migrations
from mosaic_runtime.outbox import outbox_table

from .conftest import MIGRATIONS, as_records

SECTION_SIZE = 8
STUDENTS = 32


async def _prepared(url: str) -> tuple[async_sessionmaker[AsyncSession], list[ConsumerRecord], list[ConsumerRecord]]:
    """A migrated database with the district's settings and reference applied; the evidence still to apply."""
    await run_migrations(url, MIGRATIONS)
    sessions = make_session_factory(make_engine(url))
    reference, stream = synthetic.district("d1", students=STUDENTS, events=600, section_size=SECTION_SIZE)
    sections = {
        f"d1-sec{j:04d}": ("math-6.S0.T0", "math-6.S0.T1", "math-6.S1.T0", "math-6.S0")
        for j in range(STUDENTS // SECTION_SIZE)
    }
    async with sessions() as session, session.begin():
        await ProjectionStore().save_settings(
            session,
            "d1",
            DistrictSettings(
                grouping_competencies=sections, regroup_threshold=1 / SECTION_SIZE, regroup_debounce_minutes=0
            ),
        )
    applier = BatchApplier("mastery", HANDLERS, sessions, deps=ProjectionStore())
    assert await applier.apply(as_records(reference)) == []
    evidence = [e.model_copy(update={"occurred_at": synthetic.T0}) for e in stream]
    return sessions, as_records(evidence, partitions=4), reference


async def _outcome(sessions: async_sessionmaker[AsyncSession]) -> tuple[tuple[str, int], Counter[str]]:
    async with sessions() as session:
        checksum = await projection_checksum(session)
        regroups = Counter(
            e.data.section_id
            for e in map(decode, await session.scalars(select(outbox_table().c.value)))
            if e.type == "RegroupNeeded"
        )
    return checksum, regroups


async def _replica(sessions: async_sessionmaker[AsyncSession], records: list[ConsumerRecord]) -> None:
    """One process: its own store (and caches), small batches of its partitions' records, in order."""
    applier = BatchApplier("mastery", HANDLERS, sessions, deps=ProjectionStore())
    for start in range(0, len(records), 3):
        assert await applier.apply(records[start : start + 3]) == []
        await asyncio.sleep(0)


@pytest.mark.skipif(not os.environ.get(POSTGRES_URL_VARIABLE), reason=f"needs PostgreSQL ({POSTGRES_URL_VARIABLE})")
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_two_replicas_on_one_section_lose_and_double_nothing(database_url: str) -> None:
    with temporary_database(os.environ[POSTGRES_URL_VARIABLE]) as single_url:
        single, records, _ = await _prepared(single_url)
        await _replica(single, records)
        expected = await _outcome(single)

    replicas, records, _ = await _prepared(database_url)
    first = [r for r in records if r.partition in (0, 1)]
    second = [r for r in records if r.partition in (2, 3)]
    await asyncio.gather(_replica(replicas, first), _replica(replicas, second))
    checksum, regroups = await _outcome(replicas)

    assert sum(expected[1].values()) > 20
    assert len(expected[1]) == STUDENTS // SECTION_SIZE
    assert checksum == expected[0]
    assert regroups == expected[1]


@pytest.mark.skipif(not os.environ.get(POSTGRES_URL_VARIABLE), reason=f"needs PostgreSQL ({POSTGRES_URL_VARIABLE})")
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_an_old_owner_still_applying_after_a_rebalance_applies_nothing_twice(database_url: str) -> None:
    """Both replicas get the same partitions' records (the old owner has not seen the rebalance yet): the
    position rows' locks make the second wait and skip what the first committed."""
    with temporary_database(os.environ[POSTGRES_URL_VARIABLE]) as single_url:
        single, records, _ = await _prepared(single_url)
        await _replica(single, records)
        expected = await _outcome(single)

    replicas, records, _ = await _prepared(database_url)
    await asyncio.gather(_replica(replicas, records), _replica(replicas, records))
    async with replicas() as session:
        outbox = list(await session.scalars(select(outbox_table().c.event_id)))

    assert await _outcome(replicas) == expected
    assert len(outbox) == len(set(outbox))
