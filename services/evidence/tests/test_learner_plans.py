"""Learner plans over HTTP against a real broker and database: the student writes, teachers and guardians
comment, teachers review, others are refused, and the topic carries ids and statuses, never the words."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from mosaic_events.topics import PLANS
from mosaic_evidence.adapters.tables import learner_plans, plan_goals, plan_notes

from .test_evidence_service import L1_1, NORTHFIELD, Service, TopicProbe
from .test_evidence_service import service as evidence_service  # noqa: F401 - the fixture

pytestmark = pytest.mark.integration


@dataclass
class Family:
    student: str
    guardian: str
    teacher: str
    other_teacher: str


def northfield_family() -> Family:
    """A student with a guardian and a teacher, and a teacher of none of the student's sections."""
    read = lambda name: list(csv.DictReader(io.StringIO((NORTHFIELD / name).read_text("utf-8-sig"))))  # noqa: E731
    users, enrollments = read("users.csv"), read("enrollments.csv")
    sections: dict[str, set[str]] = {}
    for row in enrollments:
        sections.setdefault(row["userSourcedId"], set()).add(row["classSourcedId"])
    teachers = [r["userSourcedId"] for r in enrollments if r["role"] == "teacher"]
    for guardian in (u for u in users if u["role"] in ("parent", "guardian") and u["agentSourcedIds"]):
        for student in guardian["agentSourcedIds"].split(","):
            teacher = next((t for t in teachers if sections.get(student, set()) & sections[t]), None)
            other = next((t for t in teachers if not sections.get(student, set()) & sections[t]), None)
            if teacher and other:
                return Family(student, guardian["sourcedId"], teacher, other)
    raise AssertionError("Northfield has no student with a guardian and a teacher")


@pytest.fixture
async def service(evidence_service: Service, kafka_bootstrap: str) -> AsyncIterator[Service]:  # noqa: F811
    evidence_service.plans_topic = TopicProbe(kafka_bootstrap, PLANS.name)  # type: ignore[attr-defined]
    yield evidence_service


async def test_a_student_sets_a_goal_and_reflects_and_the_topic_carries_no_words(service: Service):
    family, client = northfield_family(), service.client
    me = service.headers(family.student, "student")
    mark = await service.plans_topic.mark()  # type: ignore[attr-defined]
    reply = await client.put(
        service.path(f"students/{family.student}/plan"),
        headers=me,
        json={"interests": ["drawing"], "strengths": ["patient with puzzles"]},
    )
    assert reply.status_code == 200, reply.text
    reply = await client.post(
        service.path(f"students/{family.student}/plan/goals"),
        headers=me,
        json={
            "what": "Name every shape in my sister's picture book",
            "why": "so I can explain them to her",
            "steps": ["practise curved lines", "quiz myself"],
            "target_date": "2026-12-18",
            "competency_ids": [L1_1],
        },
    )
    assert reply.status_code == 201, reply.text
    goal = reply.json()
    assert goal["status"] == "active" and len(goal["competency_ids"]) == 1
    reply = await client.patch(
        service.path(f"students/{family.student}/plan/goals/{goal['goal_id']}"),
        headers=me,
        json={"reflection": "curved lines are easy now"},
    )
    assert reply.status_code == 200, reply.text
    plan = reply.json()
    assert plan["interests"] == ["drawing"] and plan["goals"][0]["reflection"] == "curved lines are easy now"
    events = await service.plans_topic.since(mark, service.district)  # type: ignore[attr-defined]
    assert [e.data.change for e in events] == ["plan_updated", "goal_set", "reflected"]
    assert all(e.subject == family.student for e in events)
    on_the_topic = "".join(e.model_dump_json() for e in events)
    for words in ("drawing", "puzzles", "picture book", "sister", "curved lines are easy"):
        assert words not in on_the_topic


async def test_teacher_and_guardian_comment_the_teacher_reviews_and_nobody_else_writes(service: Service):
    family, client = northfield_family(), service.client
    plan = service.path(f"students/{family.student}/plan")
    goal = (
        await client.post(
            f"{plan}/goals",
            headers=service.headers(family.student, "student"),
            json={"what": "Learn polygon names", "competency_ids": [L1_1]},
        )
    ).json()
    guardian = service.headers(family.guardian, "parent")
    teacher = service.headers(family.teacher, "teacher")
    reply = await client.post(
        f"{plan}/comments", headers=guardian, json={"text": "We can practise at dinner", "goal_id": goal["goal_id"]}
    )
    assert reply.status_code == 201, reply.text
    assert reply.json()["author_relationship"] == "guardian"
    assert (await client.post(f"{plan}/reviews", headers=teacher, json={"text": "On track"})).status_code == 201
    read = (await client.get(plan, headers=guardian)).json()
    assert [n["kind"] for n in read["notes"]] == ["review", "comment"]
    refusals = [
        await client.post(f"{plan}/goals", headers=teacher, json={"what": "a teacher's goal"}),
        await client.post(f"{plan}/reviews", headers=guardian, json={"text": "a guardian's review"}),
        await client.post(
            f"{plan}/comments",
            headers=service.headers(family.other_teacher, "teacher"),
            json={"text": "not my student"},
        ),
        await client.get(plan, headers=service.headers(family.other_teacher, "teacher")),
    ]
    # The access policy refuses on a student with the 404 an unknown student gets (docs/access.md).
    assert [r.status_code for r in refusals] == [404, 404, 404, 404]
    assert "that you may see" in refusals[0].json()["detail"]
    assert (await client.get(plan, headers=service.admin)).status_code == 200
    async with service.sessions() as session:
        texts = (
            (await session.execute(select(plan_notes.c.text).where(plan_notes.c.district_id == service.district)))
            .scalars()
            .all()
        )
    assert sorted(texts) == ["On track", "We can practise at dinner"]


async def test_bad_goals_are_refused_with_the_field_and_nothing_is_written(service: Service):
    family, client = northfield_family(), service.client
    me = service.headers(family.student, "student")
    plan = service.path(f"students/{family.student}/plan")
    unknown = await client.post(f"{plan}/goals", headers=me, json={"what": "x", "competency_ids": ["NOPE"]})
    assert unknown.status_code == 422 and unknown.json()["problems"][0]["field"] == "competency_ids[0]"
    empty = await client.post(f"{plan}/goals", headers=me, json={"what": ""})
    assert empty.status_code == 422
    missing = await client.patch(f"{plan}/goals/no-such-goal", headers=me, json={"status": "achieved"})
    assert missing.status_code == 404
    bad_status = await client.post(f"{plan}/goals", headers=me, json={"what": "x", "status": "won"})
    assert bad_status.status_code == 422
    assert (await client.get(plan, headers=me)).json()["goals"] == []


async def test_a_retried_goal_with_the_same_key_is_one_goal_and_one_event(service: Service):
    family, client = northfield_family(), service.client
    plan = service.path(f"students/{family.student}/plan")
    headers = service.headers(family.student, "student", key="goal-once")
    mark = await service.plans_topic.mark()  # type: ignore[attr-defined]
    first = await client.post(f"{plan}/goals", headers=headers, json={"what": "Read one chapter a week"})
    again = await client.post(f"{plan}/goals", headers=headers, json={"what": "Read one chapter a week"})
    other = await client.post(f"{plan}/goals", headers=headers, json={"what": "Something else"})
    assert (first.status_code, again.status_code, other.status_code) == (201, 201, 409)
    assert first.json()["goal_id"] == again.json()["goal_id"]
    assert len((await client.get(plan, headers=headers)).json()["goals"]) == 1
    events = await service.plans_topic.since(mark, service.district)  # type: ignore[attr-defined]
    assert [e.data.change for e in events] == ["goal_set"]


async def test_erasing_a_student_and_a_guardian_deletes_the_plan_and_the_notes_they_wrote(service: Service):
    family, client = northfield_family(), service.client
    plan = service.path(f"students/{family.student}/plan")
    me, guardian = service.headers(family.student, "student"), service.headers(family.guardian, "parent")
    assert (await client.put(plan, headers=me, json={"interests": ["drawing"], "strengths": []})).status_code == 200
    assert (await client.post(f"{plan}/goals", headers=me, json={"what": "Learn polygon names"})).status_code == 201
    assert (await client.post(f"{plan}/comments", headers=guardian, json={"text": "At dinner"})).status_code == 201

    for person in (family.guardian, family.student):
        erased = await client.post(service.path(f"people/{person}/erasure"), headers=service.admin)
        assert erased.status_code == 201, erased.text
        assert erased.json()["plan_rows_deleted"] >= 1

    async with service.sessions() as session:
        for table in (learner_plans, plan_goals, plan_notes):
            rows = await session.execute(select(table).where(table.c.district_id == service.district))
            assert rows.all() == [], table.name
