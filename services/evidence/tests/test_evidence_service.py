"""The evidence service over HTTP against a real Kafka broker and a real database.

Each test gets its own district; the topic is read from the offsets it had before the request,
so what a test sees on the broker is exactly what its request produced.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from sqlalchemy import func, select

from mosaic_events import Envelope, decode
from mosaic_events.topics import EVIDENCE, PEOPLE, REFERENCE
from mosaic_evidence.adapters.tables import evidence, evidence_history, idempotency_keys
from mosaic_evidence.main import build_app
from mosaic_evidence.settings import EvidenceSettings
from mosaic_runtime.auth import SigningKey, generate_signing_key, mint_token

pytestmark = pytest.mark.integration

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
NORTHFIELD = DATA / "oneroster" / "northfield-1.1"
L1_1 = "H.A.MATH.GM.PF.2DFP.L1.1"


class TopicProbe:
    """Reads what was appended to a topic between `mark()` and now."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap, self.topic = bootstrap, topic

    async def _consumer(self) -> tuple[AIOKafkaConsumer, list[TopicPartition]]:
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap)
        await producer.start()
        try:
            partitions = [TopicPartition(self.topic, p) for p in sorted(await producer.partitions_for(self.topic))]
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await consumer.start()
        return consumer, partitions

    async def mark(self) -> dict[TopicPartition, int]:
        consumer, partitions = await self._consumer()
        try:
            return await consumer.end_offsets(partitions)
        finally:
            await consumer.stop()

    async def since(self, mark: dict[TopicPartition, int], district_id: str) -> list[Envelope]:
        consumer, partitions = await self._consumer()
        try:
            ends = await consumer.end_offsets(partitions)
            consumer.assign(partitions)
            for tp in partitions:
                consumer.seek(tp, mark.get(tp, 0))
            found: list[Envelope] = []
            pending = {tp for tp in partitions if ends[tp] > mark.get(tp, 0)}
            while pending:
                batches = await consumer.getmany(timeout_ms=1000)
                for tp, records in batches.items():
                    for record in records:
                        if record.offset < ends[tp]:
                            envelope = decode(record.value)
                            if envelope.district_id == district_id:
                                found.append(envelope)
                    if await consumer.position(tp) >= ends[tp]:
                        pending.discard(tp)
            return found
        finally:
            await consumer.stop()


@dataclass
class Roster:
    """Who is who in the Northfield bundle, read straight from its CSV files."""

    student: str
    teacher: str
    other_teacher: str
    other_student: str


def northfield_roles() -> Roster:
    enrollments = list(csv.DictReader(io.StringIO((NORTHFIELD / "enrollments.csv").read_text("utf-8-sig"))))
    sections_of: dict[str, set[str]] = {}
    for row in enrollments:
        sections_of.setdefault(row["userSourcedId"], set()).add(row["classSourcedId"])
    teachers = [r["userSourcedId"] for r in enrollments if r["role"] == "teacher"]
    students = [r["userSourcedId"] for r in enrollments if r["role"] == "student"]
    student, teacher = next((s, t) for s in students for t in teachers if sections_of[s] & sections_of[t])
    other_teacher = next(t for t in teachers if not sections_of[t] & sections_of[student])
    other_student = next(s for s in students if sections_of[s] & sections_of[teacher] and s != student)
    return Roster(student, teacher, other_teacher, other_student)


def northfield_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(NORTHFIELD.glob("*.csv")):
            archive.writestr(path.name, path.read_bytes())
    return buffer.getvalue()


@dataclass
class Service:
    app: object
    client: httpx.AsyncClient
    key: SigningKey
    district: str
    evidence_topic: TopicProbe
    reference_topic: TopicProbe
    roster: Roster

    def headers(self, user: str, *roles: str, key: str | None = None, district: str | None = None) -> dict:
        token = mint_token(self.key, district_id=district or self.district, user_id=user, roles=roles or ("teacher",))
        headers = {"Authorization": f"Bearer {token}"}
        if key:
            headers["Idempotency-Key"] = key
        return headers

    @property
    def admin(self) -> dict:
        return self.headers("district-admin", "districtAdministrator")

    @property
    def sessions(self):  # type: ignore[no-untyped-def]
        return self.app.state.ctx.sessions  # type: ignore[attr-defined]

    def path(self, tail: str) -> str:
        return f"/v1/districts/{self.district}/{tail}"

    async def count(self, table) -> int:  # type: ignore[no-untyped-def]
        async with self.sessions() as session:
            return int(
                await session.scalar(
                    select(func.count()).select_from(table).where(table.c.district_id == self.district)
                )
                or 0
            )

    async def seed(self) -> None:
        """Import the ACT math framework and the Northfield roster through the API."""
        framework = json.loads((DATA / "case" / "Ordering.json").read_text("utf-8"))
        reply = await self.client.post(self.path("frameworks"), json=framework, headers=self.admin)
        assert reply.status_code == 201, reply.text
        reply = await self.client.post(
            self.path("rosters"), content=northfield_zip(), headers={**self.admin, "Content-Type": "application/zip"}
        )
        assert reply.status_code == 201, reply.text


def evidence_body(roster: Roster, **overrides) -> dict:
    body = {
        "student_id": roster.student,
        "competency_ids": [L1_1],
        "kind": "rubric_rating",
        "observed_on": "2026-09-20",
        "score": {"value": 3, "minimum": 1, "maximum": 4},
        "comment": "names straight and curved lines",
    }
    return {**body, **overrides}


async def start_service(bootstrap: str, database_url: str, **overrides) -> tuple[object, EvidenceSettings]:
    key = generate_signing_key()
    settings = EvidenceSettings(
        database_url=database_url,
        kafka_bootstrap_servers=bootstrap,
        oidc_jwks_json=key.jwks_json,
        consumer_group=f"test-evidence-{uuid.uuid4().hex[:8]}",
        **{"project_evidence_topic": False, **overrides},
    )
    return build_app(settings), settings


@pytest.fixture
async def service(kafka_bootstrap: str, database_url: str) -> AsyncIterator[Service]:
    app, _ = await start_service(kafka_bootstrap, database_url)
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(  # type: ignore[attr-defined]
            transport=transport, base_url="http://evidence.test"
        ) as client,
    ):
        svc = Service(
            app,
            client,
            generate_signing_key(),
            f"district-{uuid.uuid4().hex[:10]}",
            TopicProbe(kafka_bootstrap, EVIDENCE.name),
            TopicProbe(kafka_bootstrap, REFERENCE.name),
            northfield_roles(),
        )
        await svc.seed()
        yield svc


async def test_recorded_evidence_is_read_back_from_the_broker(service: Service):
    roster = service.roster
    mark = await service.evidence_topic.mark()
    reply = await service.client.post(
        service.path("evidence"), json=evidence_body(roster), headers=service.headers(roster.teacher)
    )
    assert reply.status_code == 201, reply.text
    [envelope] = await service.evidence_topic.since(mark, service.district)
    assert envelope.type == "EvidenceRecorded" and envelope.subject == roster.student
    assert envelope.data.evidence_id == reply.json()["evidence_id"]
    assert envelope.data.recorded_by == roster.teacher and envelope.data.score.value == 3
    ordering = json.loads((DATA / "case" / "Ordering.json").read_text("utf-8"))
    assert envelope.data.competency_ids == tuple(
        i["identifier"] for i in ordering["CFItems"] if i.get("humanCodingScheme") == L1_1
    )
    assert envelope.school_id == "f49effb3-8322-5ad6-9d94-9ad6365874b2"
    history = await service.client.get(
        service.path(f"students/{roster.student}/evidence"), headers=service.headers(roster.teacher)
    )
    assert history.status_code == 200 and history.json()["total"] == 1
    assert history.json()["items"][0]["history"][0]["event_id"] == str(envelope.id)


async def test_the_permanent_log_carries_ids_and_the_people_topic_the_names(service: Service):
    """ADR 0019: no comment, name or contact on a forever topic; names and contacts on mosaic.people.v1."""
    roster = service.roster
    mark = await service.evidence_topic.mark()
    reply = await service.client.post(
        service.path("evidence"), json=evidence_body(roster), headers=service.headers(roster.teacher)
    )
    assert reply.status_code == 201, reply.text
    [envelope] = await service.evidence_topic.since(mark, service.district)
    assert envelope.data.comment is None and envelope.data.reflection is None
    history = await service.client.get(
        service.path(f"students/{roster.student}/evidence"), headers=service.headers(roster.teacher)
    )
    assert history.json()["items"][0]["comment"] == "names straight and curved lines"  # kept in evidence's store
    rosters = [e for e in await service.reference_topic.since({}, service.district) if e.type == "RosterChanged"]
    people = [p for e in rosters for p in e.data.people]
    assert len(people) > 60
    assert all(
        p.given_name == "" and p.family_name == "" and p.email is None and p.phone is None and p.sms is None
        for p in people
    )
    details = await TopicProbe(service.evidence_topic.bootstrap, PEOPLE.name).since({}, service.district)
    by_person = {d.data.person_id: d.data for d in details}
    assert {p.id for p in people} <= set(by_person)
    users = {r["sourcedId"]: r for r in csv.DictReader(io.StringIO((NORTHFIELD / "users.csv").read_text("utf-8-sig")))}
    student = users[roster.student]
    assert by_person[roster.student].given_name == (student.get("preferredGivenName") or student["givenName"])
    assert by_person[roster.student].role == "student"


async def test_a_district_administrator_erases_a_student_and_the_log_says_so_once(service: Service):
    roster = service.roster
    reply = await service.client.post(
        service.path("evidence"), json=evidence_body(roster), headers=service.headers(roster.teacher, key="erase-me")
    )
    assert reply.status_code == 201, reply.text
    erasure = service.path(f"people/{roster.student}/erasure")
    refused = await service.client.post(erasure, headers=service.headers(roster.teacher))
    assert refused.status_code == 404  # the access policy: a denied caller learns nothing about a person
    people = TopicProbe(service.evidence_topic.bootstrap, PEOPLE.name)
    mark = await people.mark()

    erased = await service.client.post(erasure, headers=service.admin)

    assert erased.status_code == 201, erased.text
    [event] = await people.since(mark, service.district)
    assert (event.type, event.data.person_id, event.data.role) == ("PersonErased", roster.student, "student")
    assert str(event.id) == erased.json()["event_id"] and erased.json()["idempotency_records_deleted"] == 1
    found = await service.client.get(service.path(f"people/{roster.student}"), headers=service.admin)
    assert found.status_code == 404
    history = await service.client.get(service.path(f"students/{roster.student}/evidence"), headers=service.admin)
    items = history.json()["items"]
    assert items and all(i["comment"] is None and i["history"][0]["data"]["comment"] is None for i in items)
    assert "names straight and curved lines" not in history.text
    again = await service.client.post(erasure, headers=service.admin)
    assert again.status_code == 404 and "erased already" in again.json()["detail"]


async def test_a_roster_reimported_after_an_erasure_skips_the_erased_person_and_says_so(service: Service):
    roster = service.roster
    erased = await service.client.post(service.path(f"people/{roster.student}/erasure"), headers=service.admin)
    assert erased.status_code == 201, erased.text
    people, reference = TopicProbe(service.evidence_topic.bootstrap, PEOPLE.name), service.reference_topic
    people_mark, reference_mark = await people.mark(), await reference.mark()

    again = await service.client.post(
        service.path("rosters"), content=northfield_zip(), headers={**service.admin, "Content-Type": "application/zip"}
    )

    assert again.status_code == 201, again.text
    skipped = again.json()["erased_skipped"]
    assert skipped["ids"] == [roster.student] and "erased" in skipped["detail"]
    published = [
        *await people.since(people_mark, service.district),
        *await reference.since(reference_mark, service.district),
    ]
    assert published and not [e for e in published if roster.student in e.model_dump_json()]
    assert any(e.type == "PersonDetailsChanged" and e.data.person_id == roster.other_student for e in published)
    found = await service.client.get(service.path(f"people/{roster.student}"), headers=service.admin)
    assert found.status_code == 404
    refused = await service.client.post(
        service.path("evidence"), json=evidence_body(roster), headers=service.headers(roster.teacher)
    )
    assert refused.status_code == 422 and "student_id" in refused.text


async def test_a_retry_with_the_same_key_records_nothing_new(service: Service):
    roster = service.roster
    mark = await service.evidence_topic.mark()
    headers = service.headers(roster.teacher, key="retry-1")
    first = await service.client.post(service.path("evidence"), json=evidence_body(roster), headers=headers)
    again = await service.client.post(service.path("evidence"), json=evidence_body(roster), headers=headers)
    assert (first.status_code, again.status_code) == (201, 201) and first.json() == again.json()
    other = await service.client.post(
        service.path("evidence"), json=evidence_body(roster, comment="changed"), headers=headers
    )
    assert other.status_code == 409 and "different request body" in other.json()["detail"]
    assert len(await service.evidence_topic.since(mark, service.district)) == 1
    assert await service.count(evidence) == 1


@pytest.mark.parametrize(
    ("who", "overrides", "status", "code", "field"),
    [
        ("teacher", {"student_id": "no-such-student"}, 422, "unknown_student", "student_id"),
        ("teacher", {"competency_ids": ["9.ZZ.9"]}, 422, "unknown_competency", "competency_ids[0]"),
        ("other_teacher", {}, 403, "not_permitted", "recorded_by"),
        ("teacher", {"score": {"value": 5, "minimum": 1, "maximum": 4}}, 422, "score_out_of_scale", "score.value"),
    ],
)
async def test_bad_evidence_is_refused_with_its_problem_and_no_event(
    service: Service, who, overrides, status, code, field
):
    roster = service.roster
    mark = await service.evidence_topic.mark()
    reply = await service.client.post(
        service.path("evidence"), json=evidence_body(roster, **overrides), headers=service.headers(getattr(roster, who))
    )
    assert reply.status_code == status, reply.text
    [refusal] = reply.json()["refused"]
    assert [(p["code"], p["field"]) for p in refusal["problems"]] == [(code, field)]
    assert await service.evidence_topic.since(mark, service.district) == []
    assert await service.count(evidence) == 0 and await service.count(evidence_history) == 0


async def test_another_districts_token_is_forbidden(service: Service):
    reply = await service.client.post(
        service.path("evidence"),
        json=evidence_body(service.roster),
        headers=service.headers(service.roster.teacher, district="elsewhere"),
    )
    assert reply.status_code == 403 and "not" in reply.json()["detail"]


async def test_a_batch_is_all_or_nothing_and_corrections_and_retractions_are_new_facts(service: Service):
    roster = service.roster
    teacher = service.headers(roster.teacher)
    mark = await service.evidence_topic.mark()
    bad_batch = [evidence_body(roster), evidence_body(roster, student_id=roster.other_student, observed_on="x")]
    assert (
        await service.client.post(service.path("evidence/batch"), json=bad_batch, headers=teacher)
    ).status_code == 422
    batch = [
        evidence_body(
            roster, observed_on=f"2026-09-{day:02d}", score={"value": day % 4 + 1, "minimum": 1, "maximum": 4}
        )
        for day in range(1, 6)
    ]
    batch.append(evidence_body(roster, student_id=roster.other_student, kind="observation"))
    reply = await service.client.post(service.path("evidence/batch"), json=batch, headers=teacher)
    assert reply.status_code == 201, reply.text
    first_id = reply.json()["recorded"][0]["evidence_id"]
    corrected = await service.client.post(
        service.path(f"evidence/{first_id}/corrections"),
        headers=teacher,
        json={"reason": "misread the rubric", "score": {"value": 4, "minimum": 1, "maximum": 4}},
    )
    assert corrected.status_code == 201, corrected.text
    retracted = await service.client.post(
        service.path(f"evidence/{first_id}/retraction"), headers=teacher, json={"reason": "wrong student"}
    )
    assert retracted.status_code == 201
    again = await service.client.post(
        service.path(f"evidence/{first_id}/retraction"), headers=teacher, json={"reason": "twice"}
    )
    assert again.status_code == 409 and again.json()["problems"][0]["code"] == "already_retracted"
    types = [e.type for e in await service.evidence_topic.since(mark, service.district)]
    assert sorted(types) == sorted(["EvidenceRecorded"] * 6 + ["EvidenceCorrected", "EvidenceRetracted"])
    one = (await service.client.get(service.path(f"evidence/{first_id}"), headers=teacher)).json()
    assert one["retracted"] and one["score"]["value"] == 4 and one["revision"] == 2
    assert [h["type"] for h in one["history"]] == ["EvidenceRecorded", "EvidenceCorrected", "EvidenceRetracted"]
    page = (
        await service.client.get(
            service.path(f"students/{roster.student}/evidence"),
            headers=teacher,
            params={"limit": 2, "from": "2026-09-02"},
        )
    ).json()
    assert (page["total"], len(page["items"]), page["next_offset"]) == (4, 2, 2)
    assert [i["observed_on"] for i in page["items"]] == ["2026-09-05", "2026-09-04"]
    kinds = (
        await service.client.get(
            service.path(f"students/{roster.other_student}/evidence"), headers=teacher, params={"kind": "observation"}
        )
    ).json()
    assert kinds["total"] == 1
    outsider = await service.client.get(
        service.path(f"students/{roster.student}/evidence"), headers=service.headers(roster.other_teacher)
    )
    assert outsider.status_code == 404  # the answer an unknown student gets: no existence oracle


async def test_xapi_and_caliper_become_evidence_through_the_districts_mapping(service: Service):
    roster = service.roster
    activity = "http://example.adlnet.gov/xapi/example/simpleCBT"
    quiz = "https://example.edu/terms/201601/courses/7/sections/1/assess/1"
    mapping = {
        "activities": [
            {"activity_id": activity, "competency_ids": [L1_1]},
            {"activity_id": quiz, "competency_ids": [L1_1]},
        ],
        "actors": {
            "mailto:example.learner@adlnet.gov": roster.student,
            "https://example.edu/users/554433": roster.student,
        },
    }
    assert (
        await service.client.put(service.path("standards-mapping"), json=mapping, headers=service.admin)
    ).status_code == 200
    lrs = service.headers("lrs", "integration")
    statements = json.loads((DATA / "xapi" / "spec-examples.json").read_text("utf-8"))
    mark = await service.evidence_topic.mark()
    whole = await service.client.post(service.path("xapi/statements"), json=statements, headers=lrs)
    assert whole.status_code == 400  # example 6 is a SubStatement on its own, 7 and 8 share an id
    assert [(p["index"], p["field"]) for p in whole.json()["problems"]] == [(6, "objectType"), (8, "id")]
    statements = statements[:6] + statements[7:8]
    reply = await service.client.post(service.path("xapi/statements"), json=statements, headers=lrs)
    assert reply.status_code == 200, reply.text
    assert reply.json()["counts"] == {"evidence": 1, "no_score": 3, "not_evidence": 2, "voided": 1}
    resent = await service.client.post(service.path("xapi/statements"), json=statements[4], headers=lrs)
    assert resent.json()["counts"] == {"duplicate": 1}
    unmapped = {**statements[4], "id": str(uuid.uuid4()), "object": {"id": "http://example.com/unmapped"}}
    reply = await service.client.post(service.path("xapi/statements"), json=[unmapped], headers=lrs)
    assert reply.json()["unmapped"] == ["http://example.com/unmapped"]
    void = {
        **statements[0],
        "id": str(uuid.uuid4()),
        "object": {"objectType": "StatementRef", "id": statements[4]["id"]},
    }
    assert (await service.client.post(service.path("xapi/statements"), json=void, headers=lrs)).json()["counts"] == {
        "voided": 1
    }
    batch = json.loads((DATA / "caliper" / "caliperEnvelopeEventBatch.json").read_text("utf-8"))
    batch["data"].append(json.loads((DATA / "caliper" / "caliperEventGradeGraded.json").read_text("utf-8")))
    reply = await service.client.post(service.path("caliper/events"), json=batch, headers=lrs)
    assert reply.json()["counts"] == {"evidence": 1, "not_evidence": 3}
    found = await service.evidence_topic.since(mark, service.district)
    assert sorted((e.type, e.data.source if e.type == "EvidenceRecorded" else "") for e in found) == [
        ("EvidenceRecorded", "caliper"),
        ("EvidenceRecorded", "xapi"),
        ("EvidenceRetracted", ""),
    ]


async def test_framework_and_roster_imports_publish_and_refuse_bad_rows(service: Service):
    mark = await service.reference_topic.mark()
    framework = json.loads((DATA / "case" / "Ordering.json").read_text("utf-8"))
    framework["CFItems"][1]["fullStatement"] = "Plane figures, reworded"
    reply = await service.client.post(service.path("frameworks"), json=framework, headers=service.admin)
    assert reply.status_code == 200 and reply.json()["diff"]["changed"] == [framework["CFItems"][1]["identifier"]]
    broken_users = (NORTHFIELD / "users.csv").read_text("utf-8").replace(",teacher,", ",wizard,", 1)
    reply = await service.client.post(
        service.path("rosters"),
        headers=service.admin,
        files=[
            ("files", ("users.csv", broken_users.encode(), "text/csv")),
            *[
                ("files", (p.name, p.read_bytes(), "text/csv"))
                for p in NORTHFIELD.glob("*.csv")
                if p.name != "users.csv"
            ],
        ],
    )
    assert reply.status_code == 422
    assert reply.json()["problems"][0] == {
        "file": "users.csv",
        "line": 2,
        "field": "role",
        "reason": reply.json()["problems"][0]["reason"],
    }
    found = await service.reference_topic.since(mark, service.district)
    assert [e.type for e in found] == ["FrameworkPublished"]
    assert found[0].data.diff.changed == (framework["CFItems"][1]["identifier"],)
    tree = (
        await service.client.get(
            service.path(f"frameworks/{framework['CFDocument']['identifier']}"), headers=service.admin
        )
    ).json()
    assert len(tree["competencies"]) == 28 and tree["competencies"][1]["statement"] == "Plane figures, reworded"
    students = (
        await service.client.get(
            service.path("people"), params={"role": "student", "limit": 1000}, headers=service.admin
        )
    ).json()
    assert len(students["items"]) == 60
    teacher = service.headers(service.roster.teacher)
    refused = await service.client.post(service.path("frameworks"), json=framework, headers=teacher)
    assert refused.status_code == 403
    family = service.headers(service.roster.student, "student")
    assert (await service.client.get(service.path("people"), headers=family)).status_code == 403
    assert (
        await service.client.get(service.path(f"students/{service.roster.student}/evidence"), headers=family)
    ).status_code == 200


async def test_with_the_broker_stopped_recording_answers_503_and_succeeds_once_after(local_kafka, database_url):
    from mosaic_runtime.topics_admin import ensure_topics

    await asyncio.to_thread(ensure_topics, local_kafka.bootstrap)
    app, _ = await start_service(
        local_kafka.bootstrap, database_url, project_evidence_topic=True, publish_timeout_seconds=4
    )
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(  # type: ignore[attr-defined]
            transport=transport, base_url="http://evidence.test", timeout=120
        ) as client,
    ):
        svc = Service(
            app,
            client,
            generate_signing_key(),
            f"district-{uuid.uuid4().hex[:10]}",
            TopicProbe(local_kafka.bootstrap, EVIDENCE.name),
            TopicProbe(local_kafka.bootstrap, REFERENCE.name),
            northfield_roles(),
        )
        await svc.seed()
        mark = await svc.evidence_topic.mark()
        headers = svc.headers(svc.roster.teacher, key="during-outage")
        await asyncio.to_thread(local_kafka.stop)
        down = await client.post(svc.path("evidence"), json=evidence_body(svc.roster), headers=headers)
        assert down.status_code == 503, down.text
        assert "nothing was recorded" in down.json()["detail"]
        assert await svc.count(evidence) == 0 and await svc.count(evidence_history) == 0
        assert await svc.count(idempotency_keys) == 0
        await asyncio.to_thread(local_kafka.start)
        for _attempt in range(5):  # a client retries a 503 with the same key while the broker comes back
            up = await client.post(svc.path("evidence"), json=evidence_body(svc.roster), headers=headers)
            if up.status_code != 503:
                break
        assert up.status_code == 201, up.text
        again = await client.post(svc.path("evidence"), json=evidence_body(svc.roster), headers=headers)
        assert again.json() == up.json()
        found = await svc.evidence_topic.since(mark, svc.district)
        # The send we stopped waiting for lands when the broker returns; the retry waits for it instead of
        # sending the same event (same id, derived from the Idempotency-Key) a second time.
        assert [e.id for e in found] == [uuid.UUID(up.json()["event_id"])]
        assert [e.data.evidence_id for e in found] == [up.json()["evidence_id"]]
        assert await svc.count(evidence) == 1 and await svc.count(evidence_history) == 1
        await _imported_evidence_is_projected(svc, local_kafka.bootstrap)


async def _imported_evidence_is_projected(svc: Service, bootstrap: str) -> None:
    """Evidence the bulk importer sends straight to Kafka reaches the reads through the service's own consumer."""
    from mosaic_events import encode, new_envelope
    from mosaic_events.catalog import EvidenceRecorded, Score

    imported = EvidenceRecorded(
        evidence_id="imported-1",
        student_id=svc.roster.student,
        competency_ids=("c-x",),
        kind="assessment_score",
        observed_on="2026-06-01",
        recorded_by="import",
        score=Score(value=7, maximum=10),
        source="import",
    )
    envelope = new_envelope(imported, district_id=svc.district, producer="evidence-import", subject=svc.roster.student)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(envelope.topic, encode(envelope), key=envelope.kafka_key)
    finally:
        await producer.stop()
    url = svc.path(f"students/{svc.roster.student}/evidence")
    for _ in range(200):
        page = (await svc.client.get(url, headers=svc.headers(svc.roster.teacher))).json()
        if any(item["evidence_id"] == "imported-1" for item in page["items"]):
            return
        await asyncio.sleep(0.1)
    pytest.fail("evidence sent straight to the topic never reached the student's history (consumer projection)")


async def test_a_delta_roster_removes_a_tobedeleted_student_and_says_so_on_the_topic(service: Service):
    gone = service.roster.other_student
    users = list(csv.DictReader(io.StringIO((NORTHFIELD / "users.csv").read_text("utf-8-sig"))))
    row = next(u for u in users if u["sourcedId"] == gone)
    row["status"] = "tobedeleted"
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=list(row), lineterminator="\r\n")
    writer.writeheader()
    writer.writerow(row)
    manifest = (NORTHFIELD / "manifest.csv").read_text("utf-8").replace("file.users,bulk", "file.users,delta")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("manifest.csv", manifest)
        archive.writestr("users.csv", "\ufeff" + out.getvalue())
    mark = await service.reference_topic.mark()
    reply = await service.client.post(
        service.path("rosters"), content=buffer.getvalue(), headers={**service.admin, "Content-Type": "application/zip"}
    )
    assert reply.status_code == 201, reply.text
    assert reply.json()["mode"] == "delta" and reply.json()["removed"]["people"] == 1
    assert (await service.client.get(service.path(f"people/{gone}"), headers=service.admin)).status_code == 404
    [event] = await service.reference_topic.since(mark, service.district)
    assert (event.type, event.data.mode, event.data.removed.people) == ("RosterChanged", "delta", (gone,))
    refused = await service.client.post(
        service.path("evidence"),
        json=evidence_body(service.roster, student_id=gone),
        headers=service.headers(service.roster.teacher),
    )
    assert refused.status_code == 422 and refused.json()["refused"][0]["problems"][0]["code"] == "unknown_student"


async def test_a_person_and_a_section_are_read_with_their_enrollments(service: Service):
    person = await service.client.get(service.path(f"people/{service.roster.student}"), headers=service.admin)
    assert person.status_code == 200, person.text
    shared = next(s["section_id"] for s in person.json()["sections"])
    section = (await service.client.get(service.path(f"sections/{shared}"), headers=service.admin)).json()
    enrolled = {(e["user_id"], e["role"]) for e in section["enrollments"]}
    assert section["id"] == shared and (service.roster.student, "student") in enrolled
    missing = await service.client.get(service.path("sections/no-such-section"), headers=service.admin)
    assert missing.status_code == 404 and "no section no-such-section" in missing.text
