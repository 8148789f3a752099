"""Scheduling's handler map on FastStream's in-memory broker: events in, views and the outbox out.

The same wiring as production (`setup_consumers`), a real database, no Kafka; the real-broker tests
(test_service_on_broker.py) cover what only a broker shows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import func, select

from mosaic_dev.handler_harness import HandlerHarness, handler_harness
from mosaic_events import Envelope, catalog, new_envelope
from mosaic_runtime.auth import generate_signing_key, mint_token
from mosaic_scheduling.adapters import tables as t
from mosaic_scheduling.consumers import setup_consumers
from mosaic_scheduling.main import MIGRATIONS, build_app
from mosaic_scheduling.settings import SchedulingSettings

DISTRICT, SCHOOL, SECTION, COMPETENCY = "d1", "school-1", "sci-7b", "c-cells"
LEVELS = ("Beginning", "Developing", "Proficient", "Advanced")
RANKS = {"ana": 0, "ben": 1, "caro": 2, "dev": 3}
KEY = generate_signing_key()


@pytest.fixture
async def harness(database_url: str) -> AsyncIterator[HandlerHarness]:
    settings = SchedulingSettings(
        database_url=database_url,
        kafka_enabled=False,
        oidc_jwks_json=KEY.jwks_json,
        solver_time_limit_seconds=5,
        solver_workers=1,
    )
    async with handler_harness(settings, MIGRATIONS, setup_consumers) as running:
        await running.deliver(_roster())  # scheduling's writes refer to the roster's schools and sections
        await _a_flex_block_with_two_groups(settings)
        yield running


async def _a_flex_block_with_two_groups(settings: SchedulingSettings) -> None:
    """What a school defines through the API before any event matters: rooms, teachers, a block, two groups."""
    app = build_app(settings)
    token = mint_token(KEY, district_id=DISTRICT, user_id="admin", roles=("administrator",))
    teaching = {"school_id": SCHOOL, "availability": [{"weekday": "MO", "starts_at": "08:00", "ends_at": "16:00"}]}
    definitions = {
        f"schools/{SCHOOL}": {"timezone": "America/Denver"},
        "rooms/lab": {"school_id": SCHOOL, "name": "Lab", "capacity": 3},
        "rooms/library": {"school_id": SCHOOL, "name": "Library", "capacity": 3},
        "teachers/okafor": {**teaching, "name": "Mx Okafor"},
        "teachers/lund": {**teaching, "name": "Ms Lund"},
        "blocks/flex": {
            "school_id": SCHOOL,
            "name": "Flex",
            "weekday": "MO",
            "starts_at": "13:00",
            "minutes": 30,
            "starts_on": "2026-09-07",
            "section_ids": [SECTION],
        },
    }
    for session_id, (room, teacher, lowest, highest) in {
        "review": ("lab", "okafor", 0, 1),
        "extend": ("library", "lund", 2, 3),
    }.items():
        definitions[f"sessions/{session_id}?regroup=false"] = {
            "block_id": "flex",
            "title": session_id.title(),
            "kind": "skill_group",
            "room_id": room,
            "teacher_id": teacher,
            "competency_ids": [COMPETENCY],
            "band": {"lowest": lowest, "highest": highest},
        }
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://scheduling") as client,
    ):
        for path, body in definitions.items():
            reply = await client.put(
                f"/v1/districts/{DISTRICT}/{path}", json=body, headers={"Authorization": f"Bearer {token}"}
            )
            assert reply.status_code == 200, reply.text


def _event(data: object, subject: str = SECTION) -> Envelope:
    return new_envelope(data, district_id=DISTRICT, producer="test", school_id=SCHOOL, subject=subject)


def _roster() -> Envelope:
    section = catalog.Section(id=SECTION, school_id=SCHOOL, title="Science 7B")
    return _event(
        catalog.RosterChanged(
            import_id="sis-1",
            school_id=SCHOOL,
            sections=(section,),
            people=tuple(catalog.Person(id=s, role="student") for s in RANKS),
            enrollments=tuple(catalog.Enrollment(section_id=SECTION, user_id=s, role="student") for s in RANKS),
        )
    )


def _level(student: str, rank: int) -> Envelope:
    return _event(
        catalog.MasteryChanged(
            student_id=student,
            competency_id=COMPETENCY,
            competency_code="MS-LS1-1",
            old_level=None,
            new_level=LEVELS[rank],
            new_rank=rank,
            mastered=rank >= 2,
            estimate=rank / 3,
            method="decaying_average",
            evidence_count=2,
            cause_evidence_ids=(f"e-{student}",),
            section_ids=(SECTION,),
        ),
        subject=student,
    )


async def test_a_regroup_needed_rebuilds_the_block_from_the_levels_and_emits_the_schedule(harness) -> None:
    await harness.deliver(_roster(), *(_level(s, r) for s, r in RANKS.items()))
    moved = catalog.StudentLevelChange(
        student_id="ben", competency_id=COMPETENCY, old_level="Beginning", new_level="Developing", new_rank=1
    )
    regroup = _event(
        catalog.RegroupNeeded(
            section_id=SECTION,
            school_id=SCHOOL,
            competency_ids=(COMPETENCY,),
            changes=(moved,),
            changed_students=1,
            section_size=len(RANKS),
            threshold=0.2,
            window_started_at=datetime(2026, 9, 7, 12, tzinfo=UTC),
            reason="levels moved",
        )
    )

    await harness.deliver(regroup)

    emitted = await harness.outbox()
    assert [e.type for e in emitted] == ["SchedulePublished"] + ["GroupAssignmentChanged"] * len(RANKS)
    schedule = emitted[0]
    assert schedule.causation_id == regroup.id
    assert {a.student_id: a.session_id for a in schedule.data.assignments} == {
        "ana": "review",
        "ben": "review",
        "caro": "extend",
        "dev": "extend",
    }
    assert harness.dead_letters == []


async def test_levels_and_rosters_are_kept_and_an_ignored_framework_changes_nothing(harness) -> None:
    framework = _event(catalog.FrameworkPublished(framework_id="f1", title="Science", competencies=()), subject="f1")

    await harness.deliver(_roster(), _level("caro", 2), framework)

    async with harness.sessions() as session:
        levels = (await session.execute(select(t.mastery_levels.c.student_id, t.mastery_levels.c.rank))).all()
        enrolled = await session.scalar(select(func.count()).select_from(t.roster_enrollments))
    assert [tuple(row) for row in levels] == [("caro", 2)]
    assert enrolled == len(RANKS)
    assert await harness.outbox() == [] and harness.dead_letters == []


async def test_an_erased_student_leaves_no_placement_level_enrolment_or_assignment(harness) -> None:
    moved = catalog.StudentLevelChange(
        student_id="ben", competency_id=COMPETENCY, old_level="Beginning", new_level="Developing", new_rank=1
    )
    regroup = _event(
        catalog.RegroupNeeded(
            section_id=SECTION,
            school_id=SCHOOL,
            competency_ids=(COMPETENCY,),
            changes=(moved,),
            changed_students=1,
            section_size=len(RANKS),
            threshold=0.2,
            window_started_at=datetime(2026, 9, 7, 12, tzinfo=UTC),
            reason="levels moved",
        )
    )
    await harness.deliver(_roster(), *(_level(s, r) for s, r in RANKS.items()), regroup)
    before = len(await harness.outbox())

    await harness.deliver(
        _event(catalog.PersonErased(person_id="ana", erasure_id="erasure-1", role="student"), subject="ana")
    )

    async with harness.sessions() as session:
        for table, column in (
            ("mastery_levels", "student_id"),
            ("roster_enrollments", "user_id"),
            ("roster_people", "id"),
            ("schedule_assignments", "student_id"),
            ("placements", "student_id"),
        ):
            table_ = t.metadata.tables[table]
            left = await session.scalar(select(func.count()).select_from(table_).where(table_.c[column] == "ana"))
            assert left == 0, f"{table} still names the erased student"
        others = await session.scalar(select(func.count()).select_from(t.mastery_levels))
    assert others == len(RANKS) - 1
    assert len(await harness.outbox()) == before and harness.dead_letters == []  # nothing new derives from it
