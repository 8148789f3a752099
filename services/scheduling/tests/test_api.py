"""The scheduling API over a real database (Kafka off: what would be published is read from the outbox)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select

from mosaic_events import decode, new_envelope
from mosaic_events.catalog import Enrollment, MasteryChanged, Person, RosterChanged, Section
from mosaic_runtime.auth import generate_signing_key, mint_token
from mosaic_runtime.consumer import UnitOfWork
from mosaic_runtime.outbox import outbox_table
from mosaic_scheduling.consumers import keep_mastery_level, keep_roster
from mosaic_scheduling.main import build_app
from mosaic_scheduling.settings import SchedulingSettings

DISTRICT, SCHOOL, SECTION = "d1", "school-1", "math-6a"
LABELS = ("Beginning", "Developing", "Proficient", "Advanced")
STUDENTS = [f"st{i}" for i in range(8)]
KEY = generate_signing_key()


def token(roles: tuple[str, ...] = ("administrator",), district: str = DISTRICT, user: str = "admin-1") -> str:
    return mint_token(KEY, district_id=district, user_id=user, roles=roles)


def auth(roles: tuple[str, ...] = ("administrator",), **kw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(roles, **kw)}"}


@pytest.fixture
async def service(database_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, object]]:
    settings = SchedulingSettings(
        database_url=database_url, kafka_enabled=False, oidc_jwks_json=KEY.jwks_json, solver_time_limit_seconds=5
    )
    app = build_app(settings)
    async with app.router.lifespan_context(app):
        await feed_roster(app.state.ctx)  # scheduling writes name only schools and students the roster has
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client, app.state.ctx


async def define_school(client: httpx.AsyncClient, publish_mode: str = "auto") -> None:
    base = f"/v1/districts/{DISTRICT}"
    calls = [
        ("put", f"{base}/schools/{SCHOOL}", {"publish_mode": publish_mode, "timezone": "America/Chicago"}),
        ("put", f"{base}/rooms/r1", {"school_id": SCHOOL, "name": "Room 101", "capacity": 4}),
        ("put", f"{base}/rooms/r2", {"school_id": SCHOOL, "name": "Room 102", "capacity": 4}),
        (
            "put",
            f"{base}/teachers/t1",
            {
                "school_id": SCHOOL,
                "name": "Ms Ito",
                "expertise": ["6.RP.A.1"],
                "availability": [{"weekday": "TH", "starts_at": "08:00", "ends_at": "15:00"}],
            },
        ),
        (
            "put",
            f"{base}/teachers/t2",
            {
                "school_id": SCHOOL,
                "name": "Mr Diaz",
                "availability": [{"weekday": "TH", "starts_at": "08:00", "ends_at": "15:00"}],
            },
        ),
        (
            "put",
            f"{base}/blocks/win",
            {
                "school_id": SCHOOL,
                "name": "WIN",
                "weekday": "TH",
                "starts_at": "10:00",
                "minutes": 45,
                "starts_on": "2026-09-03",
                "section_ids": [SECTION],
            },
        ),
        (
            "put",
            f"{base}/sessions/low?regroup=false",
            {
                "block_id": "win",
                "title": "Ratios",
                "kind": "skill_group",
                "room_id": "r1",
                "teacher_id": "t1",
                "competency_ids": ["c-ratios"],
                "band": {"lowest": 0, "highest": 1},
            },
        ),
        (
            "put",
            f"{base}/sessions/high?regroup=false",
            {
                "block_id": "win",
                "title": "Ratios+",
                "kind": "skill_group",
                "room_id": "r2",
                "teacher_id": "t2",
                "competency_ids": ["c-ratios"],
                "band": {"lowest": 2, "highest": 3},
            },
        ),
    ]
    for method, url, body in calls:
        response = await client.request(method, url, json=body, headers=auth())
        assert response.status_code == 200, response.text


async def feed_roster(ctx) -> None:
    """Through the real consumer handler, as if RosterChanged had arrived."""
    async with ctx.sessions() as session, session.begin():
        roster = new_envelope(roster_changed(), district_id=DISTRICT, producer="test", school_id=SCHOOL)
        await keep_roster(UnitOfWork(session), roster.data, roster)


def roster_changed() -> RosterChanged:
    return RosterChanged(
        import_id="i1",
        school_id=SCHOOL,
        sections=(Section(id=SECTION, school_id=SCHOOL, title="Math 6A"),),
        people=tuple(Person(id=s, role="student", given_name=s, family_name="X") for s in STUDENTS),
        enrollments=tuple(Enrollment(section_id=SECTION, user_id=s, role="student") for s in STUDENTS),
    )


async def feed_roster_and_levels(ctx, ranks: list[int]) -> None:
    """Through the real consumer handlers, as if RosterChanged and MasteryChanged had arrived."""
    roster = roster_changed()
    async with ctx.sessions() as session, session.begin():
        uow = UnitOfWork(session)
        await keep_roster(uow, roster, new_envelope(roster, district_id=DISTRICT, producer="test", school_id=SCHOOL))
        for student, rank in zip(STUDENTS, ranks, strict=True):
            change = MasteryChanged(
                student_id=student,
                competency_id="c-ratios",
                competency_code="6.RP.A.1",
                old_level=None,
                new_level=LABELS[rank],
                new_rank=rank,
                mastered=rank >= 2,
                estimate=rank / 3,
                method="decaying_average",
                evidence_count=1,
                cause_evidence_ids=(str(uuid.uuid4()),),
            )
            await keep_mastery_level(
                uow, change, new_envelope(change, district_id=DISTRICT, producer="test", subject=student)
            )


async def outbox(ctx) -> list:
    table = outbox_table()
    async with ctx.sessions() as session:
        rows = (await session.execute(select(table.c.value).order_by(table.c.seq))).all()
    return [decode(r.value) for r in rows]


async def test_a_teacher_request_publishes_the_block_and_one_change_per_student(service) -> None:
    client, ctx = service
    await define_school(client)
    await feed_roster_and_levels(ctx, [0, 1, 2, 3, 0, 1, 2, 3])
    response = await client.post(
        f"/v1/districts/{DISTRICT}/blocks/win/regroup",
        json={"reason": "new unit"},
        headers=auth(("teacher",), user="t1"),
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "published"
    events = await outbox(ctx)
    assert [e.type for e in events] == ["SchedulePublished"] + ["GroupAssignmentChanged"] * 8
    published = events[0].data
    placed = {a.student_id: a.session_id for a in published.assignments}
    assert placed == {s: ("low" if i % 4 < 2 else "high") for i, s in enumerate(STUDENTS)}
    assert published.starts_at == datetime(2026, 9, 3, 15, 0, tzinfo=UTC) or published.starts_at.hour == 10
    first = next(a for a in published.assignments if a.student_id == "st1")
    assert first.reason == "in Ratios group: Developing on 6.RP.A.1; Ms Ito teaches 6.RP.A.1"
    assert {e.id for e in events[1:]} == {e.id for e in events[1:]} and all(
        e.causation_id == events[0].id for e in events[1:]
    )

    again = await client.post(
        f"/v1/districts/{DISTRICT}/blocks/win/regroup", json={}, headers=auth(("teacher",), user="t1")
    )
    assert again.json()["events"] == 1  # the block again, and nobody moved
    by_room = (await client.get(f"/v1/districts/{DISTRICT}/blocks/win/schedule?by=room", headers=auth())).json()
    assert {g["room"]: g["size"] for g in by_room["groups"]} == {"r1": 4, "r2": 4}


async def test_a_pin_moves_the_student_and_says_it_forces_a_worse_fit(service) -> None:
    client, ctx = service
    await define_school(client)
    await feed_roster_and_levels(ctx, [0, 1, 2, 3, 0, 1, 2, 2])
    await client.post(f"/v1/districts/{DISTRICT}/blocks/win/regroup", json={}, headers=auth())
    pin = await client.post(
        f"/v1/districts/{DISTRICT}/blocks/win/placements",
        json={"student_id": "st3", "session_id": "low"},
        headers=auth(("teacher",), user="t1"),
    )
    assert pin.status_code == 201, pin.text
    changes = [e for e in await outbox(ctx) if e.type == "GroupAssignmentChanged" and e.data.schedule_version == 2]
    assert {(e.data.student_id, e.data.old_session_id, e.data.new_session_id) for e in changes} >= {
        ("st3", "high", "low")
    }
    schedule = (await client.get(f"/v1/districts/{DISTRICT}/blocks/win/schedule", headers=auth())).json()
    st3 = next(s for g in schedule["groups"] for s in g["students"] if s["student_id"] == "st3")
    assert st3["pinned"] and st3["notes"][0].startswith("pin forces a worse fit")

    outranked = await client.post(
        f"/v1/districts/{DISTRICT}/blocks/win/placements",
        json={"student_id": "st3", "session_id": "high", "priority": "student_choice"},
        headers=auth(("student",), user="st3"),
    )
    assert outranked.status_code == 409 and "outranks student_choice" in outranked.json()["detail"]


async def test_bad_definitions_are_refused_with_every_reason(service) -> None:
    client, _ = service
    await define_school(client)
    base = f"/v1/districts/{DISTRICT}"
    overlap = await client.put(
        f"{base}/blocks/lunch",
        headers=auth(),
        json={
            "school_id": SCHOOL,
            "name": "Lunch",
            "weekday": "TH",
            "starts_at": "10:30",
            "minutes": 30,
            "starts_on": "2026-09-03",
        },
    )
    assert overlap.status_code == 422
    assert [p["field"] for p in overlap.json()["detail"]["problems"]] == ["blocks[win]"]
    assert "overlaps block 'lunch'" in overlap.text
    no_room = await client.put(
        f"{base}/sessions/art",
        headers=auth(),
        json={"block_id": "win", "title": "Art", "kind": "enrichment", "teacher_id": None},
    )
    assert no_room.status_code == 422 and "needs a room" in no_room.text
    double = await client.put(
        f"{base}/sessions/help",
        headers=auth(),
        json={"block_id": "win", "title": "Help", "kind": "intervention", "room_id": "r2", "teacher_id": "t1"},
    )
    problems = double.json()["detail"]["problems"]
    assert {p["field"] for p in problems} == {"sessions[low].teacher_id", "sessions[high].room_id"}
    assert all("'help'" in p["message"] for p in problems)
    in_use = await client.delete(f"{base}/rooms/r1", headers=auth())
    assert in_use.status_code == 422 and "no room 'r1'" in in_use.text
    definition = (await client.get(f"{base}/schools/{SCHOOL}/definition", headers=auth())).json()
    assert [s["id"] for s in definition["sessions"]] == ["high", "low"] and definition["problems"] == []


async def test_who_may_do_what(service) -> None:
    client, _ = service
    base = f"/v1/districts/{DISTRICT}"
    room = {"school_id": SCHOOL, "name": "Room", "capacity": 10}
    assert (await client.put(f"{base}/rooms/r9", json=room)).status_code == 401
    assert (await client.put(f"{base}/rooms/r9", json=room, headers=auth(district="other"))).status_code == 403
    teacher = await client.put(f"{base}/rooms/r9", json=room, headers=auth(("teacher",)))
    assert teacher.status_code == 403 and "administrator" in teacher.text


async def test_with_approval_a_rebuild_waits_as_a_draft_until_published(service) -> None:
    client, ctx = service
    await define_school(client, publish_mode="approval")
    await feed_roster_and_levels(ctx, [0, 1, 2, 3, 0, 1, 2, 3])
    draft = (await client.post(f"/v1/districts/{DISTRICT}/blocks/win/regroup", json={}, headers=auth())).json()
    assert (draft["status"], draft["events"]) == ("draft", 0)
    preview = (
        await client.get(
            f"/v1/districts/{DISTRICT}/blocks/win/schedules/{draft['version']}", headers=auth(("teacher",), user="t1")
        )
    ).json()
    assert len(preview["assignments"]) == 8 and await outbox(ctx) == []
    teacher = await client.post(
        f"/v1/districts/{DISTRICT}/blocks/win/schedules/1/publish", headers=auth(("teacher",), user="t1")
    )
    assert teacher.status_code == 403
    published = await client.post(f"/v1/districts/{DISTRICT}/blocks/win/schedules/1/publish", headers=auth())
    assert published.json()["events"] == 9
    twice = await client.post(f"/v1/districts/{DISTRICT}/blocks/win/schedules/1/publish", headers=auth())
    assert twice.status_code == 409


async def test_attendance_is_published_for_the_sis(service) -> None:
    client, ctx = service
    await define_school(client)
    marks = {
        "block_date": "2026-09-10",
        "marks": [{"student_id": "st0", "status": "present"}, {"student_id": "st1", "status": "tardy"}],
    }
    taken = await client.post(
        f"/v1/districts/{DISTRICT}/blocks/win/sessions/low/attendance",
        json=marks,
        headers=auth(("teacher",), user="t1"),
    )
    assert taken.status_code == 202, taken.text
    [event] = await outbox(ctx)
    assert (event.type, event.data.taken_by, [m.status for m in event.data.marks]) == (
        "AttendanceTaken",
        "t1",
        ["present", "tardy"],
    )
    wrong_day = await client.post(
        f"/v1/districts/{DISTRICT}/blocks/win/sessions/low/attendance",
        json={**marks, "block_date": "2026-09-09"},
        headers=auth(("teacher",), user="t1"),
    )
    assert wrong_day.status_code == 422 and "not a day block 'win' meets" in wrong_day.text


async def test_a_students_week_and_calendar_feeds(service) -> None:
    client, ctx = service
    await define_school(client)
    await feed_roster_and_levels(ctx, [0, 1, 2, 3, 0, 1, 2, 3])
    await client.post(f"/v1/districts/{DISTRICT}/blocks/win/regroup", json={}, headers=auth())
    week = (await client.get(f"/v1/districts/{DISTRICT}/students/st0/week?on=2026-09-08", headers=auth())).json()
    assert [(e["date"], e["session_id"], e["starts_at"]) for e in week["sessions"]] == [("2026-09-10", "low", "10:00")]
    bearer_in_url = await client.get(f"/v1/districts/{DISTRICT}/students/st0/calendar.ics?access_token={token()}")
    assert bearer_in_url.status_code == 401  # a bearer token never travels in a URL
    made = await client.post(
        f"/v1/districts/{DISTRICT}/students/st0/calendar-feeds", headers=auth(("student",), user="st0")
    )
    assert made.status_code == 201 and token() not in made.text
    feed = await client.get(made.json()["url"])  # what a calendar app does: no header, the URL is all it has
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    text = feed.text
    assert "SUMMARY:WIN: Ratios" in text and "RRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=TH" in text
    assert "DTSTART;TZID=America/Chicago:20260903T100000" in text
    teacher = await client.get(f"/v1/districts/{DISTRICT}/teachers/t2/calendar.ics", headers=auth())
    assert "SUMMARY:WIN: Ratios+" in teacher.text and "4 students" in teacher.text
    assert (await client.get(f"/v1/districts/{DISTRICT}/students/st0/calendar.ics")).status_code == 401
    other = await client.post(
        f"/v1/districts/{DISTRICT}/students/st1/calendar-feeds", headers=auth(("student",), user="st0")
    )
    assert other.status_code == 404  # a student makes feeds of their own calendar only
    revoked = await client.delete(
        f"/v1/districts/{DISTRICT}/students/st0/calendar-feeds/{made.json()['feed_id']}",
        headers=auth(("student",), user="st0"),
    )
    assert revoked.status_code == 200 and (await client.get(made.json()["url"])).status_code == 404
    teacher_feed = await client.post(
        f"/v1/districts/{DISTRICT}/teachers/t2/calendar-feeds", headers=auth(("teacher",), user="t2")
    )
    assert "Ratios+" in (await client.get(teacher_feed.json()["url"])).text


async def test_an_infeasible_block_is_reported_with_its_cause_and_nothing_is_published(service) -> None:
    client, ctx = service
    await define_school(client)
    await feed_roster_and_levels(ctx, [0, 1, 2, 3, 0, 1, 2, 3])
    plan = await client.put(
        f"/v1/districts/{DISTRICT}/students/st0/support-plan", json={"required_kind": "intervention"}, headers=auth()
    )
    assert plan.status_code == 200
    outcome = (await client.post(f"/v1/districts/{DISTRICT}/blocks/win/regroup", json={}, headers=auth())).json()
    assert outcome["status"] == "infeasible"
    assert outcome["causes"] == [
        "student st0's support plan requires a intervention session and block WIN "
        "offers none that can run; add one or give it a room"
    ]
    assert await outbox(ctx) == []


async def test_the_openapi_document_describes_every_route(service) -> None:
    client, _ = service
    paths = (await client.get("/openapi.json")).json()["paths"]
    for path in (
        "/v1/districts/{district_id}/blocks/{block_id}/regroup",
        "/v1/districts/{district_id}/blocks/{block_id}/schedule",
        "/v1/districts/{district_id}/students/{student_id}/calendar.ics",
        "/v1/districts/{district_id}/blocks/{block_id}/sessions/{session_id}/attendance",
    ):
        assert path in paths


async def test_a_feed_token_never_reaches_the_request_span(service) -> None:
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    client, _ = service
    app = client._transport.app  # type: ignore[attr-defined]
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider)
    app.middleware_stack = app.build_middleware_stack()
    await define_school(client)
    url = (await client.post(f"/v1/districts/{DISTRICT}/students/st0/calendar-feeds", headers=auth())).json()["url"]
    assert (await client.get(url)).status_code == 200
    secret = url.removeprefix("/v1/calendar-feeds/").removesuffix(".ics")
    spans = exporter.get_finished_spans()
    assert any(s.attributes.get("http.route") == "/v1/calendar-feeds/{token}.ics" for s in spans)
    leaked = [(s.name, k) for s in spans for k, v in (s.attributes or {}).items() if secret in str(v)]
    assert leaked == [] and not any(secret in s.name for s in spans)


async def test_writes_name_only_schools_and_students_the_district_has(service) -> None:
    client, _ = service
    await define_school(client)
    base = f"/v1/districts/{DISTRICT}"
    ghost_school = await client.put(f"{base}/schools/atlantis", json={}, headers=auth())
    assert ghost_school.status_code == 404 and "no school 'atlantis'" in ghost_school.text
    room = await client.put(
        f"{base}/rooms/r9", json={"school_id": "atlantis", "name": "R", "capacity": 3}, headers=auth()
    )
    assert room.status_code == 422 and "school_id" in room.text
    plan = await client.put(
        f"{base}/students/ghost/support-plan", json={"required_kind": "intervention"}, headers=auth()
    )
    assert plan.status_code == 404 and "no student 'ghost'" in plan.text
    placed = await client.post(
        f"{base}/blocks/win/placements", json={"student_id": "ghost", "session_id": "low"}, headers=auth()
    )
    assert placed.status_code == 422 and "student_id" in placed.text
    marks = {
        "block_date": "2026-09-10",
        "marks": [{"student_id": "st0", "status": "present"}, {"student_id": "ghost", "status": "absent"}],
    }
    taken = await client.post(f"{base}/blocks/win/sessions/low/attendance", json=marks, headers=auth())
    assert taken.status_code == 422 and "marks[1].student_id" in taken.text
    asked = await client.put(f"{base}/blocks/win/requests/ghost", json={"session_ids": ["low"]}, headers=auth())
    assert asked.status_code == 404
    block = {"school_id": SCHOOL, "name": "W2", "weekday": "FR", "starts_at": "10:00", "minutes": 45}
    strange = await client.put(
        f"{base}/blocks/b2",
        json={**block, "starts_on": "2026-09-04", "section_ids": [SECTION, "sec-x"]},
        headers=auth(),
    )
    assert strange.status_code == 422 and "section_ids[1]: no section 'sec-x'" in strange.text
    stranger = await client.put(
        f"{base}/blocks/b2", json={**block, "starts_on": "2026-09-04", "student_ids": ["ghost"]}, headers=auth()
    )
    assert stranger.status_code == 422 and "student_ids[0]: no student 'ghost'" in stranger.text


async def test_writes_name_only_blocks_rooms_teachers_and_sessions_the_school_defined(service) -> None:
    """Each answers 4xx naming what is missing, never 5xx."""
    client, _ = service
    await define_school(client)
    base = f"/v1/districts/{DISTRICT}"
    session = {"title": "T", "kind": "skill_group", "competency_ids": ["c"], "band": {"lowest": 0, "highest": 1}}
    marks = {"block_date": "2026-09-10", "marks": [{"student_id": "st0", "status": "present"}]}
    cases = [
        ("post", f"{base}/blocks/nowhere/placements", {"student_id": "st0", "session_id": "low"}, 404, "no block"),
        ("put", f"{base}/blocks/nowhere/requests/st0", {"session_ids": ["low"]}, 404, "no block 'nowhere'"),
        ("post", f"{base}/blocks/nowhere/sessions/low/attendance", marks, 404, "no block 'nowhere'"),
        ("delete", f"{base}/blocks/nowhere/placements/p1", None, 404, "no block 'nowhere'"),
        ("delete", f"{base}/rooms/nowhere", None, 404, "no room 'nowhere'"),
        (
            "put",
            f"{base}/sessions/s9?regroup=false",
            {**session, "block_id": "nowhere", "room_id": "r1", "teacher_id": "t1"},
            404,
            "no block 'nowhere'",
        ),
        (
            "put",
            f"{base}/sessions/s9?regroup=false",
            {**session, "block_id": "win", "room_id": "nowhere", "teacher_id": "t1"},
            422,
            "sessions[s9].room_id",
        ),
        (
            "put",
            f"{base}/sessions/s9?regroup=false",
            {**session, "block_id": "win", "room_id": "r1", "teacher_id": "nobody"},
            422,
            "sessions[s9].teacher_id",
        ),
        ("post", f"{base}/blocks/win/placements", {"student_id": "st0", "session_id": "nosuch"}, 422, "session_id"),
        ("put", f"{base}/blocks/win/requests/st0", {"session_ids": ["nosuch"]}, 422, "session_ids"),
        ("post", f"{base}/blocks/win/sessions/nosuch/attendance", marks, 404, "no session 'nosuch'"),
    ]
    for method, url, body, status, says in cases:
        answer = await client.request(method, url, json=body, headers=auth())
        assert (answer.status_code, says in answer.text) == (status, True), (method, url, answer.text)
