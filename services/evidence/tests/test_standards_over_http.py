"""The xAPI and Caliper resources, and the limits at the evidence service's door, over HTTP against a real
broker and database: malformed input is a 400 that names every problem and records nothing, an id reused
for other content is a 409, a resend is an idempotent success, and no bad input is ever a 5xx."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from mosaic_evidence.adapters.tables import evidence, received_statements
from mosaic_evidence.main import build_app
from mosaic_evidence.settings import EvidenceSettings
from mosaic_runtime.auth import SigningKey, generate_signing_key, mint_token

from . import small_district
from .test_standards_validation import GRADE_ID, XAPI_RULES, envelope, grade_event, statement

pytestmark = pytest.mark.integration
QUIZ = "https://quiz.example/ratios/1"
ASSESSMENT = "https://lms.example/assessments/ratios-1"


@dataclass
class Door:
    app: Any
    client: httpx.AsyncClient
    key: SigningKey
    district: str

    def path(self, tail: str) -> str:
        return f"/v1/districts/{self.district}/{tail}"

    def headers(self, user: str, *roles: str) -> dict[str, str]:
        token = mint_token(self.key, district_id=self.district, user_id=user, roles=roles or ("integration",))
        return {"Authorization": f"Bearer {token}"}

    @property
    def admin(self) -> dict[str, str]:
        return self.headers("district-admin", "districtAdministrator")

    async def count(self, table) -> int:  # type: ignore[no-untyped-def]
        async with self.app.state.ctx.sessions() as session:
            return int(
                await session.scalar(
                    select(func.count()).select_from(table).where(table.c.district_id == self.district)
                )
                or 0
            )

    async def post(self, tail: str, body: Any, **kwargs: Any) -> httpx.Response:
        return await self.client.post(self.path(tail), json=body, headers=self.headers("lrs"), **kwargs)


@pytest.fixture
async def door(kafka_bootstrap: str, database_url: str) -> AsyncIterator[Door]:
    key = generate_signing_key()
    settings = EvidenceSettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        oidc_jwks_json=key.jwks_json,
        consumer_group=f"test-door-{uuid.uuid4().hex[:8]}",
        project_evidence_topic=False,
        max_upload_bytes=64 * 1024,
    )
    app = build_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://evidence.test") as client,
    ):
        door = Door(app, client, key, f"district-{uuid.uuid4().hex[:10]}")
        reply = await client.post(door.path("frameworks"), json=small_district.framework(), headers=door.admin)
        assert reply.status_code == 201, reply.text
        reply = await client.post(
            door.path("rosters"),
            content=small_district.roster_zip(),
            headers={**door.admin, "Content-Type": "application/zip"},
        )
        assert reply.status_code == 201, reply.text
        mapping = {
            "activities": [
                {"activity_id": a, "competency_ids": [small_district.COMPETENCY]} for a in (QUIZ, ASSESSMENT)
            ],
            "actors": {"https://lms.example/users/ana": small_district.STUDENT},
        }
        assert (await client.put(door.path("standards-mapping"), json=mapping, headers=door.admin)).status_code == 200
        yield door


async def test_a_list_with_one_bad_statement_is_refused_whole_with_each_reason(door: Door):
    good = statement()
    bad = statement(id=str(uuid.uuid4()), result__score={"raw": "abc", "max": 10})
    worse = statement(id=str(uuid.uuid4()), actor={"name": "nobody"}, result__success="yes")
    reply = await door.post("xapi/statements", [good, bad, worse])
    assert reply.status_code == 400, reply.text
    assert "nothing was recorded" in reply.json()["detail"]
    assert [(p["index"], p["field"]) for p in reply.json()["problems"]] == [
        (1, "result.score.raw"),
        (2, "actor"),
        (2, "result.success"),
    ]
    assert await door.count(evidence) == 0 and await door.count(received_statements) == 0
    reply = await door.post("xapi/statements", [good])  # the good one, sent alone, is taken
    assert reply.status_code == 200 and reply.json()["counts"] == {"evidence": 1}


async def test_no_malformed_statement_or_event_is_answered_5xx(door: Door):
    for rule, (body, field, _) in XAPI_RULES.items():
        reply = await door.post("xapi/statements", body)
        assert reply.status_code == 400, (rule, reply.text)
        assert field in [
            p["field"] if p["field"] != "(the whole statement)" else "" for p in reply.json()["problems"]
        ], rule
    for body in (
        {},
        "hello",
        [],
        7,
        envelope(grade_event(generated__scoreGiven="ten")),
        envelope(grade_event(generated__maxScore="x")),
        envelope(grade_event(generated__scoreGiven=True)),
    ):
        reply = await door.post("caliper/events", body)
        assert reply.status_code == 400, (body, reply.text)
    for depth in (100, 800, 5000):  # nested deeper than any statement needs, up to what no parser takes
        deep = b'{"actor": ' + b"[" * depth + b"]" * depth + b"}"
        for resource in ("xapi/statements", "caliper/events"):
            reply = await door.client.post(
                door.path(resource), content=deep, headers={**door.headers("lrs"), "Content-Type": "application/json"}
            )
            assert reply.status_code == 400, (depth, resource, reply.text[:200])
    assert await door.count(evidence) == 0


async def test_raw_true_and_score_value_true_are_not_a_score_of_one(door: Door):
    reply = await door.post("xapi/statements", statement(result__score={"raw": True, "max": 10}))
    assert reply.status_code == 400 and reply.json()["problems"][0]["field"] == "result.score.raw"
    item = {
        "student_id": small_district.STUDENT,
        "competency_ids": [small_district.COMPETENCY],
        "kind": "assessment_score",
        "observed_on": "2026-11-20",
        "score": {"value": True, "maximum": 4},
    }
    reply = await door.client.post(door.path("evidence"), json=item, headers=door.headers("t", "teacher"))
    assert reply.status_code == 422 and reply.json()["detail"][0]["loc"] == ["body", "score", "value"]
    assert await door.count(evidence) == 0


async def test_a_statement_id_is_an_idempotent_resend_or_a_conflict(door: Door):
    first = await door.post("xapi/statements", statement())
    assert first.status_code == 200 and first.json()["counts"] == {"evidence": 1}
    # The same statement with what an LRS may change (version, stored) and another timestamp notation.
    resend = statement(version="1.0.3", timestamp="2026-11-20T11:15:00.000+01:00")
    again = await door.post("xapi/statements", resend)
    assert again.status_code == 200 and again.json()["counts"] == {"duplicate": 1}
    changed = await door.post("xapi/statements", statement(result__score={"raw": 2, "max": 10}))
    assert changed.status_code == 409, changed.text
    assert changed.json()["conflicts"][0]["id"] == statement()["id"]
    assert "new id" in changed.json()["conflicts"][0]["reason"]
    assert await door.count(evidence) == 1
    twins = [statement(id=(twin := str(uuid.uuid4()))), statement(id=twin)]
    reply = await door.post("xapi/statements", twins)
    assert reply.status_code == 400 and reply.json()["problems"][0]["field"] == "id"


async def test_mapping_outcomes_stay_per_statement_reports(door: Door):
    unmapped = statement(id=str(uuid.uuid4()), object__id="https://quiz.example/unmapped")
    stranger = statement(id=str(uuid.uuid4()), actor={"mbox": "mailto:stranger@elsewhere.example"})
    unscored = statement(id=str(uuid.uuid4()), result=None)
    reply = await door.post("xapi/statements", [statement(), unmapped, stranger, unscored])
    assert reply.status_code == 200, reply.text
    assert [r["status"] for r in reply.json()["results"]] == [
        "evidence",
        "unmapped_activity",
        "unknown_actor",
        "no_score",
    ]
    void = statement(
        id=str(uuid.uuid4()),
        verb__id="http://adlnet.gov/expapi/verbs/voided",
        result=None,
        object={"objectType": "StatementRef", "id": statement()["id"]},
    )
    reply = await door.post("xapi/statements", void)
    assert reply.json()["results"][0]["reason"].startswith("retracted evidence")


async def test_caliper_events_are_validated_deduplicated_by_content_and_conflict_by_id(door: Door):
    grade = grade_event()
    reply = await door.post("caliper/events", envelope(grade, grade))  # one event sent twice in one envelope
    assert reply.status_code == 200, reply.text
    assert [r["status"] for r in reply.json()["results"]] == ["evidence", "duplicate"]
    assert (await door.post("caliper/events", envelope(grade))).json()["counts"] == {"duplicate": 1}
    other = grade_event(generated__scoreGiven=3)  # the same id, other content
    reply = await door.post("caliper/events", envelope(other))
    assert reply.status_code == 409 and reply.json()["conflicts"][0]["id"] == GRADE_ID
    fresh = grade_event(id=f"urn:uuid:{uuid.uuid4()}")
    reply = await door.post(
        "caliper/events", envelope(fresh, {**fresh, "action": "Graded", "eventTime": "2026-11-20T10:16:00.000Z"})
    )
    assert reply.status_code == 409 and "earlier in this request" in reply.json()["conflicts"][0]["reason"]
    assert await door.count(evidence) == 1


async def test_a_5_mb_body_is_413_not_503_and_a_422_quotes_only_an_excerpt(door: Door):
    huge = {
        "student_id": small_district.STUDENT,
        "competency_ids": [small_district.COMPETENCY],
        "kind": "assessment_score",
        "observed_on": "2026-11-20",
        "score": {"value": 3, "maximum": 4},
        "comment": "x" * (5 * 1024 * 1024),
    }
    reply = await door.client.post(door.path("evidence"), json=huge, headers=door.headers("t", "teacher"))
    assert reply.status_code == 413, reply.text[:300]
    assert "split" in reply.json()["detail"]
    big_and_wrong = {**huge, "comment": "y" * 500_000, "score": {"value": "three", "maximum": 4}}
    reply = await door.client.post(door.path("evidence"), json=big_and_wrong, headers=door.headers("t", "teacher"))
    assert reply.status_code == 422 and len(reply.content) < 2_000, len(reply.content)


async def test_a_wrong_content_type_is_415(door: Door):
    reply = await door.client.post(
        door.path("xapi/statements"),
        content=b"actor=ana",
        headers={**door.headers("lrs"), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert reply.status_code == 415 and "application/json" in reply.json()["detail"]
    reply = await door.client.post(
        door.path("evidence"),
        content=b'{"a": 1}',
        headers={**door.headers("t", "teacher"), "Content-Type": "text/plain"},
    )
    assert reply.status_code == 415


async def test_an_upload_over_the_limit_is_413_for_multipart_and_zip(door: Door):
    padding = {"padding.csv": random.Random(7).randbytes(70 * 1024)}  # the fixture allows 64 KiB uploads
    reply = await door.client.post(
        door.path("rosters"),
        headers=door.admin,
        files=[
            (name, (name, content, "text/csv"))
            for name, content in {**small_district.roster_files(), **padding}.items()
        ],
    )
    assert reply.status_code == 413, reply.text
    reply = await door.client.post(
        door.path("rosters"),
        content=small_district.roster_zip(padding),
        headers={**door.admin, "Content-Type": "application/zip"},
    )
    assert reply.status_code == 413, reply.text
    assert "larger than this endpoint accepts (65536 bytes)" in reply.json()["detail"]


async def test_two_requests_racing_with_one_id_record_one_and_refuse_the_other(door: Door):
    sid = str(uuid.uuid4())
    one, other = statement(id=sid), statement(id=sid, result__score={"raw": 1, "max": 10})
    replies = await asyncio.gather(*(door.post("xapi/statements", body) for body in (one, other, one, other)))
    statuses = sorted(r.status_code for r in replies)
    assert statuses[0] == 200 and statuses[-1] == 409 and set(statuses) <= {200, 409}, [r.text for r in replies]
    assert await door.count(evidence) == 1


async def test_a_roster_keeping_and_deleting_one_enrollment_is_refused_not_applied(door: Door):
    files = small_district.roster_files()
    text = files["enrollments.csv"].decode()
    ana = next(line for line in text.splitlines() if line.startswith("e-ana,"))
    files["enrollments.csv"] = (text + ana.replace("e-ana,active", "e-ana-2,tobedeleted") + "\n").encode()
    reply = await door.client.post(
        door.path("rosters"),
        content=small_district.roster_zip(files),
        headers={**door.admin, "Content-Type": "application/zip"},
    )
    assert reply.status_code == 422, reply.text
    problems = [p for p in reply.json()["problems"] if p["file"] == "enrollments.csv"]
    assert [(p["line"], p["field"]) for p in problems] == [(5, "status")]
    assert "active on line 3 and tobedeleted on line 5" in problems[0]["reason"]
