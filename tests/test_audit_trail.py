"""The audit trail on every service: a person's read of a student's data is recorded (who, role, route,
student, when, outcome; no bodies), denied attempts too, service accounts are not; district
administrators read it with filters; entries past the district's retention are purged."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from mosaic_runtime.audit import audit_log, purge_expired

from .test_access_matrix import DISTRICT, app_of, headers

__all__ = ["app_of"]

BASE = f"/v1/districts/{DISTRICT}"
# service: (a read of the own student's data, of the other student's, route template, student recorded)
READS = {
    "evidence": ("/students/p/evidence", "/students/q/evidence", "/students/{student_id}/evidence", "p"),
    "mastery": ("/students/p/profile", "/students/q/profile", "/students/{student_id}/profile", "p"),
    "scheduling": ("/students/p/week", "/students/q/week", "/students/{student_id}/week", "p"),
    "notify": ("/guardians/g/preferences", "/guardians/g2/preferences", "/guardians/{guardian_id}/preferences", None),
}
ADMIN = headers(("districtAdministrator",), "da")
KEYS = {"at", "actor_id", "actor_roles", "method", "route", "rule", "target_kind", "target_id", "student_id", "outcome"}


async def entries(client, **params: str) -> list[dict]:
    answer = await client.get(f"{BASE}/audit", params=params, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


async def settled(client, count: int) -> list[dict]:
    """The writer batches off the request path: wait (bounded) until `count` entries are readable."""
    for _ in range(100):
        found = await entries(client)
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    return await entries(client)


@pytest.mark.parametrize("service", list(READS))
async def test_reads_of_a_students_data_are_recorded_and_readable_by_district_administrators(service, app_of):
    _app, client = await app_of(service)
    own, other, route, student = READS[service]
    caller = {"notify": (("guardian",), "g")}.get(service, (("teacher",), "t"))
    mine = await client.get(BASE + own, headers=headers(*caller))
    theirs = await client.get(BASE + other, headers=headers(*caller))
    unrecorded = await client.get(BASE + own, headers=headers(("system",), "svc"))
    assert (mine.status_code, theirs.status_code, unrecorded.status_code) == (200, 404, 200)

    found = await settled(client, 2)
    assert len(found) == 2, found  # the service account's read is not a person's
    newest, oldest = found
    assert set(newest) == KEYS  # no bodies, no query strings
    assert (oldest["actor_id"], oldest["actor_roles"], oldest["method"], oldest["route"], oldest["outcome"]) == (
        caller[1],
        list(caller[0]),
        "GET",
        f"/v1/districts/{{district_id}}{route}",
        200,
    )
    assert oldest["student_id"] == student and newest["outcome"] == 404  # a denied attempt is recorded too
    if student:
        assert [e["outcome"] for e in await entries(client, student_id="p")] == [200]
    assert len(await entries(client, actor_id=caller[1])) == 2 and await entries(client, actor_id="da") == []
    moment = datetime.fromisoformat(oldest["at"])
    assert len(await entries(client, **{"from": (moment + timedelta(seconds=1)).isoformat()})) == 0
    assert len(await entries(client, **{"to": (moment + timedelta(seconds=1)).isoformat()})) == 2

    for outsider in (headers(("teacher",), "t"), headers(("siteAdministrator",), "sa"), headers(("system",), "svc")):
        assert (await client.get(f"{BASE}/audit", headers=outsider)).status_code == 403


async def test_learner_plan_reads_and_write_attempts_are_recorded_like_other_student_data(app_of):
    _app, client = await app_of("evidence")
    plan = f"{BASE}/students/p/plan"
    read = await client.get(plan, headers=headers(("guardian",), "g"))
    write = await client.put(plan, headers=headers(("guardian",), "g"), json={"interests": ["chess"]})
    assert (read.status_code, write.status_code) == (200, 404)  # a guardian reads the plan but does not write it

    found = await settled(client, 2)
    assert [(e["method"], e["rule"], e["student_id"], e["outcome"]) for e in reversed(found)] == [
        ("GET", "LEARNER_PLAN", "p", 200),
        ("PUT", "PLAN_WRITING", "p", 404),
    ]


async def test_entries_past_the_districts_retention_are_purged(app_of):
    app, client = await app_of("mastery")
    assert (await client.put(f"{BASE}/audit/retention", json={"days": 30}, headers=ADMIN)).json() == {"days": 30}
    assert (await client.get(f"{BASE}/audit/retention", headers=ADMIN)).json() == {"days": 30}
    now = datetime.now(UTC)
    rows = [
        {
            "district_id": district,
            "at": now - timedelta(days=age),
            "actor_id": "t",
            "actor_roles": "teacher",
            "method": "GET",
            "route": "/r",
            "rule": "STUDENT_DATA",
            "target_kind": "student",
            "target_id": "p",
            "student_id": "p",
            "outcome": 200,
        }
        for district, age in ((DISTRICT, 40), (DISTRICT, 10), ("d-elsewhere", 40), ("d-elsewhere", 400))
    ]
    sessions = app.state.ctx.sessions
    async with sessions() as session, session.begin():
        await session.execute(audit_log.insert(), rows)
    assert await purge_expired(sessions, default_days=365, now=now) == 2  # ours at 40 days, theirs at 400
    async with sessions() as session:
        left = (
            await session.execute(
                select(audit_log.c.district_id, func.count())
                .group_by(audit_log.c.district_id)
                .order_by(audit_log.c.district_id)
            )
        ).all()
    assert [tuple(r) for r in left] == [(DISTRICT, 1), ("d-elsewhere", 1)]
