"""A rebuild split over worker processes (each a share of the evidence partitions) writes exactly what
one process writes, and what folding every envelope live gives."""

from __future__ import annotations

import pytest

from mosaic_dev import synthetic_events as synthetic
from mosaic_mastery.adapters.checksum import projection_checksum
from mosaic_mastery.adapters.rebuild import rebuild, write_state
from mosaic_mastery.adapters.tables import mastery_records
from mosaic_mastery.domain.facts import from_envelope
from mosaic_mastery.domain.projection import ProjectionState, apply
from mosaic_mastery.main import MIGRATIONS
from mosaic_runtime.db import make_engine, make_session_factory, run_migrations

from .kafka_helpers import private_topics, produce

pytestmark = pytest.mark.integration


async def _rebuilt(url: str, bootstrap: str, topics: tuple[str, str], workers: int) -> tuple[tuple[str, int], int]:
    await run_migrations(url, MIGRATIONS)
    engine = make_engine(url)
    try:
        report = await rebuild(make_session_factory(engine), bootstrap, topics, "g", workers=workers, max_records=500)
        async with make_session_factory(engine)() as session:
            assert report.records == len((await session.execute(mastery_records.select())).all())
            return await projection_checksum(session), report.workers
    finally:
        await engine.dispose()


async def test_worker_processes_rebuild_the_same_projection_as_one(kafka_bootstrap, database_url) -> None:
    """Each rebuild replaces the tables, so one database holds each result in turn."""
    topics = await private_topics(kafka_bootstrap, evidence_partitions=6)
    reference, stream = synthetic.district("d-workers", students=40, events=1200, section_size=20)
    evidence = list(stream)
    await produce(kafka_bootstrap, topics[1], reference)
    await produce(kafka_bootstrap, topics[0], evidence)

    one, used_one = await _rebuilt(database_url, kafka_bootstrap, topics, 1)
    three, used_three = await _rebuilt(database_url, kafka_bootstrap, topics, 3)

    assert (used_one, used_three) == (1, 3)
    assert one == three
    assert one[1] > 1000
    assert one == await _live_fold(database_url, [*reference, *evidence])


async def _live_fold(url: str, envelopes: list) -> tuple[str, int]:
    """Every envelope through the live fold (`apply`, settled as it goes), written and hashed."""
    state = ProjectionState()
    for envelope in envelopes:
        fact = from_envelope(envelope)
        if fact is not None:
            apply(state, fact)
    await run_migrations(url, MIGRATIONS)
    engine = make_engine(url)
    try:
        async with make_session_factory(engine)() as session, session.begin():
            await write_state(session, state)
        async with make_session_factory(engine)() as session:
            return await projection_checksum(session)
    finally:
        await engine.dispose()
