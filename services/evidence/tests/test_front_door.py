"""The front door under concurrency, on the real broker and database: writes that arrive together share one
transaction and one acknowledged send, yet each keeps its own answer, key and refusal; and what a process keeps of
the roster is dropped as soon as another replica changes it."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from sqlalchemy import func, select

from mosaic_evidence.adapters.tables import evidence, idempotency_keys

from .test_evidence_service import Service, evidence_body, start_service
from .test_evidence_service import service as service  # the fixture: a seeded district on the real broker

pytestmark = pytest.mark.integration


async def test_concurrent_writes_each_keep_their_own_answer_key_and_refusal(service: Service):
    roster = service.roster
    mark = await service.evidence_topic.mark()
    teacher = roster.teacher
    valid = [
        (evidence_body(roster, observed_on=f"2026-09-{day:02d}"), service.headers(teacher, key=f"k-{day}"))
        for day in range(1, 21)
    ]
    repeated = valid[0]  # the same key and body again, in the same crowd
    conflicting = (evidence_body(roster, comment="another body"), service.headers(teacher, key="k-1"))
    refused = (evidence_body(roster, competency_ids=["9.ZZ.9"]), service.headers(teacher, key="k-bad"))
    forbidden = (evidence_body(roster), service.headers(roster.other_teacher))
    crowd = [*valid, repeated, conflicting, refused, forbidden]

    replies = await asyncio.gather(
        *(service.client.post(service.path("evidence"), json=body, headers=headers) for body, headers in crowd)
    )

    statuses = [r.status_code for r in replies]
    assert statuses[:20] == [201] * 20, [r.text for r in replies if r.status_code != 201][:2]
    assert statuses[20] == 201 and replies[20].json() == replies[0].json()
    assert statuses[21] == 409 and "different request body" in replies[21].json()["detail"]
    assert statuses[22] == 422 and replies[22].json()["refused"][0]["problems"][0]["code"] == "unknown_competency"
    assert statuses[23] == 403
    on_the_log = await service.evidence_topic.since(mark, service.district)
    assert sorted(e.data.evidence_id for e in on_the_log) == sorted(r.json()["evidence_id"] for r in replies[:20])
    assert await service.count(evidence) == 20
    async with service.sessions() as session:
        keys = await session.scalar(
            select(func.count()).select_from(idempotency_keys).where(idempotency_keys.c.district_id == service.district)
        )
    assert keys == 20  # the refused and the conflicting requests left no record


async def test_a_replica_sees_the_roster_another_replica_changed_at_its_next_request(
    service: Service, kafka_bootstrap: str, database_url: str
):
    """Two processes on one database: B erases the student A has just recorded for; A's next write refuses."""
    roster = service.roster
    first = await service.client.post(
        service.path("evidence"), json=evidence_body(roster), headers=service.headers(roster.teacher)
    )
    assert first.status_code == 201, first.text  # A now keeps the student, the teacher and the competency
    other, _ = await start_service(kafka_bootstrap, database_url)
    async with (
        other.router.lifespan_context(other),  # type: ignore[attr-defined]
        httpx.AsyncClient(transport=httpx.ASGITransport(app=other), base_url="http://b") as replica_b,  # type: ignore[arg-type]
    ):
        erased = await replica_b.post(service.path(f"people/{roster.student}/erasure"), headers=service.admin)
        assert erased.status_code == 201, erased.text

    after = await service.client.post(
        service.path("evidence"),
        json=evidence_body(roster, observed_on="2026-09-21"),
        headers=service.headers(roster.teacher, key=str(uuid.uuid4())),
    )

    assert after.status_code in (404, 422), after.text  # not 201: the erased student is no longer on A's roster
    assert await service.count(evidence) == 1
