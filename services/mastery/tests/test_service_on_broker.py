"""The running service on a real broker: evidence in, MasteryChanged out with the right levels; a section
crossing its regroup threshold yields exactly one RegroupNeeded; the portal reads the new levels."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta

import httpx
import pytest
from sqlalchemy import func, select

from mosaic_dev import synthetic_events as synthetic
from mosaic_events import derived_event_id, topics
from mosaic_mastery.adapters.store import ProjectionStore
from mosaic_mastery.domain.config import DistrictSettings
from mosaic_mastery.main import MIGRATIONS, build_app
from mosaic_mastery.settings import MasterySettings
from mosaic_runtime.auth import generate_signing_key, mint_token
from mosaic_runtime.db import POSITIONS, RUNTIME_METADATA, make_engine, make_session_factory, run_migrations
from mosaic_runtime.db import runtime_tables as chassis_tables
from mosaic_runtime.outbox import outbox_table

from .kafka_helpers import end_offsets, people_topic, private_topics, produce, read_since

pytestmark = pytest.mark.integration

T0, PARENT, SECTION = "math-6.S0.T0", "math-6.S0", "sec-1"
STUDENTS = [f"st{i}" for i in range(8)]


async def caught_up(sessions, group: str, records: int, timeout: float = 120.0) -> None:
    """Wait until the consumer stored positions past `records` records and the outbox is empty."""
    positions = chassis_tables(RUNTIME_METADATA)[POSITIONS]
    async with asyncio.timeout(timeout):
        while True:
            async with sessions() as session:
                done = await session.scalar(
                    select(func.coalesce(func.sum(positions.c.next_offset), 0)).where(
                        positions.c.consumer_group == group
                    )
                )
                unsent = await session.scalar(
                    select(func.count()).select_from(outbox_table()).where(outbox_table().c.sent.is_(False))
                )
            if done >= records and unsent == 0:
                return
            await asyncio.sleep(0.2)


def scored(district: str, student: str, score: float, n: int):
    return synthetic.evidence(
        district,
        student,
        (T0,),
        score,
        evidence_id=f"{district}-e{n}",
        observed_on=date(2026, 9, 1) + timedelta(n),
        section_id=SECTION,
    )


async def test_evidence_in_mastery_changed_out_and_one_regroup_for_the_section(kafka_bootstrap, database_url):
    evidence_topic, reference_topic = await private_topics(kafka_bootstrap)
    district, group, key = f"d-{uuid.uuid4().hex[:8]}", f"mastery-test-{uuid.uuid4().hex[:8]}", generate_signing_key()
    settings = MasterySettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        topic_overrides={
            "mosaic.evidence.v1": evidence_topic,
            "mosaic.reference.v1": reference_topic,
            "mosaic.people.v1": people_topic(reference_topic),
        },
        consumer_group=group,
        oidc_jwks_json=key.jwks_json,
        consumer_max_records=3,
        outbox_poll_seconds=0.05,
    )
    await run_migrations(database_url, MIGRATIONS)
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    async with sessions() as session, session.begin():
        await ProjectionStore().save_settings(
            session,
            district,
            DistrictSettings(
                regroup_threshold=0.5, regroup_debounce_minutes=60, grouping_competencies={SECTION: (T0,)}
            ),
        )
    mastery_starts = await end_offsets(kafka_bootstrap, topics.MASTERY.name)
    regroup_starts = await end_offsets(kafka_bootstrap, topics.REGROUP.name)
    app = build_app(settings)
    try:
        async with app.router.lifespan_context(app):
            await produce(
                kafka_bootstrap,
                reference_topic,
                [
                    synthetic.framework(district, strands=1, per_strand=2),
                    synthetic.roster(district, "school-1", {SECTION: STUDENTS}),
                ],
            )
            evidence = [scored(district, s, 4, n) for n, s in enumerate(STUDENTS)]
            await produce(kafka_bootstrap, evidence_topic, evidence)
            await caught_up(sessions, group, 2 + len(evidence))

            changes = await read_since(kafka_bootstrap, mastery_starts, district)
            on_target = sorted((e for e in changes if e.data.competency_id == T0), key=lambda e: e.data.student_id)
            assert [
                (e.data.student_id, e.data.old_level, e.data.new_level, e.data.mastered, e.data.estimate)
                for e in on_target
            ] == [(s, None, "Advanced", True, 1.0) for s in STUDENTS]
            by_cause = {e.causation_id: e for e in on_target}
            for cause in evidence:
                emitted = by_cause[cause.id]
                assert emitted.id == derived_event_id(cause.id, "MasteryChanged", T0)
                assert emitted.data.cause_evidence_ids == (cause.data.evidence_id,)
                assert emitted.data.section_ids == (SECTION,) and emitted.data.method == "decaying_average"
            assert len([e for e in changes if e.data.competency_id == PARENT]) == len(STUDENTS)

            regroups = await read_since(kafka_bootstrap, regroup_starts, district)
            assert len(regroups) == 1, [r.data.reason for r in regroups]
            assert regroups[0].data.section_id == SECTION and regroups[0].data.changed_students == 4
            assert regroups[0].data.section_size == 8 and regroups[0].data.competency_ids == (T0,)

            drop_starts = await end_offsets(kafka_bootstrap, topics.MASTERY.name)
            await produce(kafka_bootstrap, evidence_topic, [scored(district, STUDENTS[0], 0, 99)])
            await caught_up(sessions, group, 3 + len(evidence))
            after = [e for e in await read_since(kafka_bootstrap, drop_starts, district) if e.data.competency_id == T0]
            assert [(e.data.old_level, e.data.new_level, e.data.evidence_count) for e in after] == [
                ("Advanced", "Beginning", 2)
            ]

            token = mint_token(key, district_id=district, user_id="teacher-1", roles=("teacher",))
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mastery") as http:
                answer = await http.get(
                    f"/v1/districts/{district}/students/{STUDENTS[1]}/profile",
                    headers={"Authorization": f"Bearer {token}"},
                )
                heatmap = await http.get(
                    f"/v1/districts/{district}/sections/{SECTION}/heatmap", headers={"Authorization": f"Bearer {token}"}
                )
            assert answer.status_code == 200, answer.text
            entry = next(c for c in answer.json()["competencies"] if c["competency_id"] == T0)
            assert (
                entry["level"] == "Advanced"
                and entry["evidence_count"] == 1
                and "Estimate 1.00" in entry["explanation"]
            )
            assert heatmap.status_code == 200
            cells = {row["student_id"]: row["cells"][T0]["level"] for row in heatmap.json()["students"]}
            assert cells[STUDENTS[0]] == "Beginning" and cells[STUDENTS[1]] == "Advanced"
    finally:
        await engine.dispose()
