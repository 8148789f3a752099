"""Replicas on one PostgreSQL: two scheduling processes get RegroupNeeded for two sections of one block at once
(the regroup topic is keyed by section, so they sit on different partitions). Each rebuild must see the other's
version: version 1 published then superseded by version 2, never a duplicate key on the schedule's version."""

from __future__ import annotations

import asyncio
import os
import uuid

import httpx
import pytest
from sqlalchemy import select

from mosaic_dev.pytest_plugin import POSTGRES_URL_VARIABLE
from mosaic_events import new_envelope
from mosaic_events.catalog import Enrollment, RosterChanged, Section
from mosaic_runtime.auth import mint_token
from mosaic_runtime.consumer import BatchApplier
from mosaic_runtime.db import make_engine, make_session_factory
from mosaic_scheduling.adapters import tables as t
from mosaic_scheduling.consumers import HANDLERS
from mosaic_scheduling.domain.regroup import SolverSettings
from mosaic_scheduling.main import build_app
from mosaic_scheduling.settings import SchedulingSettings

from .conftest_helpers import record_of
from .test_service_on_broker import KEY, SCHOOL, define_school, facts

pytestmark = pytest.mark.integration
OTHER = "math-6b"
SOLVER = SolverSettings(time_limit_seconds=5, workers=1)


@pytest.mark.skipif(not os.environ.get(POSTGRES_URL_VARIABLE), reason=f"needs PostgreSQL ({POSTGRES_URL_VARIABLE})")
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_two_replicas_rebuilding_one_block_write_two_versions(kafka_bootstrap, database_url) -> None:
    district = f"d-{uuid.uuid4().hex[:8]}"
    run = uuid.uuid4().hex[:8]
    settings = SchedulingSettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        topic_overrides={
            n: f"test.scheduling-replicas.{run}.{n}"
            for n in ("mosaic.mastery.v1", "mosaic.reference.v1", "mosaic.regroup.v1")
        },
        consumer_group=f"scheduling-test-{district}",
        oidc_jwks_json=KEY.jwks_json,
        solver_time_limit_seconds=5,
    )
    [roster], levels, regroup = facts(district)
    other_roster = new_envelope(
        RosterChanged(
            import_id="i2",
            school_id=SCHOOL,
            sections=(Section(id=OTHER, school_id=SCHOOL, title="Math 6B"),),
            enrollments=tuple(
                Enrollment(section_id=OTHER, user_id=e.user_id, role="student") for e in roster.data.enrollments[:2]
            ),
        ),
        district_id=district,
        producer="test",
        school_id=SCHOOL,
    )
    other = new_envelope(
        regroup.data.model_copy(update={"section_id": OTHER}), district_id=district, producer="test", school_id=SCHOOL
    )
    app = build_app(settings)
    async with app.router.lifespan_context(app):
        await define_school(app, district)
        # The block names both sections: the roster that has them comes first (scheduling checks its writes).
        roster_engine = make_engine(database_url)
        try:
            reading = BatchApplier("scheduling", HANDLERS, make_session_factory(roster_engine), deps=SOLVER)
            assert await reading.apply([record_of(e, 0, i) for i, e in enumerate([roster, other_roster])]) == []
        finally:
            await roster_engine.dispose()
        admin = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
        async with admin:
            token = mint_token(KEY, district_id=district, user_id="a", roles=("administrator",))
            response = await admin.put(
                f"/v1/districts/{district}/blocks/win",
                headers={"Authorization": f"Bearer {token}"},
                json={
                    "school_id": SCHOOL,
                    "name": "WIN",
                    "weekday": "TH",
                    "starts_at": "10:00",
                    "minutes": 45,
                    "starts_on": "2026-09-03",
                    "section_ids": ["math-6a", OTHER],
                },
            )
            assert response.status_code == 200, response.text
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    solver = SOLVER
    try:
        setup = BatchApplier("scheduling", HANDLERS, sessions, deps=solver)
        assert await setup.apply([record_of(e, 0, 2 + i) for i, e in enumerate(levels)]) == []
        first = BatchApplier("scheduling", HANDLERS, sessions, deps=solver)
        second = BatchApplier("scheduling", HANDLERS, sessions, deps=solver)
        await asyncio.gather(first.apply([record_of(regroup, 1, 0)]), second.apply([record_of(other, 2, 0)]))
        async with sessions() as session:
            versions = (
                await session.execute(
                    select(t.schedules.c.version, t.schedules.c.status)
                    .where(t.schedules.c.district_id == district)
                    .order_by(t.schedules.c.version)
                )
            ).all()
    finally:
        await engine.dispose()
    assert [tuple(v) for v in versions] == [(1, "superseded"), (2, "published")]
