"""A level about a student, or a regroup of a section, the district's roster lacks is dead-lettered as `rejected`
with the reason, and the next good record is applied (ADR 0004)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from mosaic_dev.topic_io import dead_letters
from mosaic_events import decode
from mosaic_runtime.db import make_engine, make_session_factory
from mosaic_scheduling.adapters import tables as t
from mosaic_scheduling.main import build_app
from mosaic_scheduling.settings import SchedulingSettings

from .test_service_on_broker import KEY, facts, people_topic, private_topics, produce, wait_for

pytestmark = pytest.mark.integration


async def test_a_level_or_regroup_about_what_the_roster_lacks_is_dead_lettered_and_the_next_is_applied(
    kafka_bootstrap, database_url
) -> None:
    mastery_topic, reference_topic, regroup_topic = await private_topics(kafka_bootstrap)
    district = f"d-{uuid.uuid4().hex[:8]}"
    group = f"scheduling-test-{district}"
    settings = SchedulingSettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        topic_overrides={
            "mosaic.mastery.v1": mastery_topic,
            "mosaic.reference.v1": reference_topic,
            "mosaic.people.v1": people_topic(reference_topic),
            "mosaic.regroup.v1": regroup_topic,
        },
        consumer_group=group,
        oidc_jwks_json=KEY.jwks_json,
        outbox_poll_seconds=0.05,
    )
    roster, levels, regroup = facts(district)
    ghost = levels[0].model_copy(
        update={
            "id": uuid.uuid4(),
            "subject": "ghost",
            "data": levels[0].data.model_copy(update={"student_id": "ghost"}),
        }
    )
    stray = regroup.model_copy(
        update={"id": uuid.uuid4(), "data": regroup.data.model_copy(update={"section_id": "no-such-section"})}
    )
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)

    async def students_with_levels(sessions) -> set[str]:
        async with sessions() as session:
            rows = await session.scalars(
                select(t.mastery_levels.c.student_id).where(t.mastery_levels.c.district_id == district)
            )
            return set(rows)

    try:
        app = build_app(settings)
        async with app.router.lifespan_context(app):
            await produce(kafka_bootstrap, reference_topic, roster)

            async def roster_applied(sessions) -> bool:
                async with sessions() as session:
                    return bool(
                        await session.scalar(
                            select(t.roster_people.c.id).where(t.roster_people.c.district_id == district).limit(1)
                        )
                    )

            await wait_for(sessions, roster_applied)
            await produce(kafka_bootstrap, mastery_topic, [ghost, levels[0]])
            await produce(kafka_bootstrap, regroup_topic, [stray])

            async def good_level_and_two_letters(sessions) -> bool:
                letters = [
                    *await dead_letters(kafka_bootstrap, mastery_topic),
                    *await dead_letters(kafka_bootstrap, regroup_topic),
                ]
                return await students_with_levels(sessions) == {levels[0].data.student_id} and len(letters) == 2

            await wait_for(sessions, good_level_and_two_letters, timeout=60)
    finally:
        await engine.dispose()
    [level_letter] = await dead_letters(kafka_bootstrap, mastery_topic)
    [regroup_letter] = await dead_letters(kafka_bootstrap, regroup_topic)
    assert (level_letter.reason, level_letter.group, decode(level_letter.value).id) == ("rejected", group, ghost.id)
    assert "student_id: no student 'ghost'" in level_letter.error
    assert (regroup_letter.reason, regroup_letter.group, decode(regroup_letter.value).id) == (
        "rejected",
        group,
        stray.id,
    )
    assert "section_id: no section 'no-such-section'" in regroup_letter.error
