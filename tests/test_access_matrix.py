"""The access table, asserted on the real apps: every route of every service's OpenAPI × every role ×
a student (section, school, block…) of the caller's own or another × the caller's own or another district.

The relationships come from each service's own tables, filled the way the service fills them (roster
events through its consumer handlers, evidence's roster writer, scheduling's definition routes). What a
route is allowed to do is read from the decision the policy leaves on the request; a route under
/v1/districts without a declared rule fails.
"""

from __future__ import annotations

import functools
import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import ConsumerRecord
from fastapi import FastAPI, Request
from fastapi.routing import RouteContext, iter_route_contexts

from mosaic_events import Envelope, encode, new_envelope
from mosaic_events.catalog import Enrollment, EvidenceRecorded, Person, RosterChanged, Score, Section
from mosaic_events.topics import TOPICS
from mosaic_runtime.access import Rule, declared_rule, policy_markdown
from mosaic_runtime.auth import generate_signing_key, mint_token
from mosaic_runtime.consumer import BatchApplier, UnitOfWork

KEY = generate_signing_key()
DISTRICT, ELSEWHERE = "d-acl", "d-other"
PROBES = {"/healthz", "/readyz", "/metrics"}

# Who calls: (their role claim, their roster id). The district administrator and the service account act
# anywhere in the district, so they go last: a write they make can't hide a relationship from the others.
CALLERS: dict[str, tuple[tuple[str, ...], str]] = {
    "no role": ((), "nobody"),
    "student": (("student",), "p"),
    "guardian": (("guardian",), "g"),
    "teacher": (("teacher",), "t"),
    "school admin": (("siteAdministrator",), "sa"),
    "district admin": (("districtAdministrator",), "da"),
    "service": (("system",), "svc"),
}

# What a path names, for the caller's own student (section, school, …) and for another's.
OWN = {
    "student_id": "p",
    "person_id": "p",
    "guardian_id": "g",
    "evidence_id": "e-p",
    "section_id": "A",
    "block_id": "K1",
    "session_id": "X1",
    "teacher_id": "t",
    "room_id": "R1",
    "school_id": "S1",
    "item_id": "R1",
}
OTHER = {
    "student_id": "q",
    "person_id": "q",
    "guardian_id": "g2",
    "evidence_id": "e-q",
    "section_id": "B",
    "block_id": "K2",
    "session_id": "X2",
    "teacher_id": "t2",
    "room_id": "R2",
    "school_id": "S2",
    "item_id": "R2",
}
FIXED = {
    "version": "1",
    "framework_id": "f1",
    "placement_id": "pl-none",
    "kind": "rooms",
    "token": "x",
    "feed_id": "f-none",
    "goal_id": "goal-none",
}

EVERYONE = frozenset(CALLERS) - {"no role"}
ADMINS = frozenset({"district admin", "service"})

# The table, written out independently of mosaic_runtime.access: who is allowed (own, other).
EXPECTED: dict[Rule, tuple[frozenset[str], frozenset[str]]] = {
    Rule.DISTRICT_INFO: (EVERYONE, EVERYONE),
    Rule.DISTRICT_SETUP: (frozenset({"district admin"}), frozenset({"district admin"})),
    Rule.IMPORT: (ADMINS, ADMINS),
    Rule.DIRECTORY: (ADMINS, ADMINS),
    Rule.SECTION_LIST: (ADMINS | {"school admin", "teacher"}, ADMINS | {"school admin", "teacher"}),
    Rule.RECORD_EVIDENCE: (EVERYONE - {"guardian"}, EVERYONE - {"guardian"}),
    Rule.STUDENT_DATA: (EVERYONE, ADMINS),
    Rule.STUDENT_REQUEST: (EVERYONE - {"guardian"}, ADMINS),
    Rule.STUDENT_PLAN: (ADMINS | {"school admin"}, ADMINS),
    Rule.LEARNER_PLAN: (ADMINS | {"teacher", "student", "guardian"}, ADMINS),
    Rule.PLAN_WRITING: (frozenset({"student"}), frozenset()),
    Rule.PLAN_COMMENT: (frozenset({"teacher", "guardian"}), frozenset()),
    Rule.PLAN_REVIEW: (frozenset({"teacher"}), frozenset()),
    Rule.SECTION_DATA: (ADMINS | {"school admin", "teacher"}, ADMINS),
    Rule.SCHOOL_DATA: (ADMINS | {"school admin", "teacher"}, ADMINS),
    Rule.SCHOOL_OFFER: (EVERYONE, ADMINS),
    Rule.SCHOOL_SETUP: (ADMINS | {"school admin"}, ADMINS),
    Rule.BLOCK_DATA: (ADMINS | {"school admin", "teacher"}, ADMINS),
    Rule.BLOCK_WORK: (ADMINS | {"school admin", "teacher"}, ADMINS),
    Rule.PLACEMENT: (ADMINS | {"school admin", "teacher", "student"}, ADMINS),
    Rule.TEACHER_SCHEDULE: (ADMINS | {"school admin", "teacher"}, ADMINS),
    Rule.GUARDIAN_DATA: (ADMINS | {"guardian"}, ADMINS),
    Rule.AUDIT: (frozenset({"district admin"}), frozenset({"district admin"})),
    Rule.ERASURE: (frozenset({"district admin"}), frozenset({"district admin"})),
}
PERSONAL = ("student_id", "person_id", "guardian_id", "evidence_id")


def roster_events() -> list[Envelope]:
    """Two schools: S1 (section A: teacher t, student p, guardian g, site admin sa) and S2 (B: t2, q, g2)."""

    def person(pid: str, role: str, school: str, related: tuple[str, ...] = ()) -> Person:
        return Person(
            id=pid,
            role=role,
            given_name=pid.upper(),
            family_name="Acl",
            school_ids=(school,),
            email=f"{pid}@example.org",
            related_ids=related,
        )

    events = []
    for school, section, teacher, student, guardian, admin in (
        ("S1", "A", "t", "p", "g", "sa"),
        ("S2", "B", "t2", "q", "g2", "sa2"),
    ):
        people = (
            person(student, "student", school, (guardian,)),
            person(guardian, "guardian", school, (student,)),
            person(teacher, "teacher", school),
            person(admin, "siteAdministrator", school),
            person("da", "districtAdministrator", school),
        )
        data = RosterChanged(
            import_id=f"acl-{school}",
            school_id=school,
            mode="delta",
            sections=(Section(id=section, school_id=school, title=section),),
            people=people,
            enrollments=(
                Enrollment(section_id=section, user_id=student, role="student"),
                Enrollment(section_id=section, user_id=teacher, role="teacher"),
            ),
        )
        events.append(new_envelope(data, district_id=DISTRICT, school_id=school, producer="evidence"))
    return events


def as_records(envelopes: list[Envelope]) -> list[ConsumerRecord]:
    return [
        ConsumerRecord(
            e.topic,
            0,
            n,
            0,
            0,
            e.kafka_key,
            value := encode(e),
            None,
            len(e.kafka_key),
            len(value),
            [("type", e.type.encode())],
        )
        for n, e in enumerate(envelopes)
    ]


async def through_handler(app: FastAPI, handler: Callable[..., Awaitable[None]], deps: Any = None) -> None:
    async with app.state.ctx.sessions() as session, session.begin():
        for envelope in roster_events():
            await handler(UnitOfWork(session, deps=deps), envelope.data, envelope)


async def seed_evidence(app: FastAPI, client: httpx.AsyncClient) -> None:
    from mosaic_evidence.adapters import evidence_store, reference_store
    from mosaic_evidence.domain.roster import RosterChange, SchoolChange

    schools = {}
    for envelope in roster_events():
        data: RosterChanged = envelope.data  # type: ignore[assignment]
        schools[data.school_id] = SchoolChange(
            data.school_id,
            sections={s.id: s for s in data.sections},
            people={p.id: p for p in data.people},
            enrollments={(e.section_id, e.user_id): e for e in data.enrollments},
        )
    async with app.state.ctx.sessions() as session, session.begin():
        await reference_store.apply_roster(session, DISTRICT, RosterChange("acl", "delta", schools), {})
        for student in ("p", "q"):
            fact = EvidenceRecorded(
                evidence_id=f"e-{student}",
                student_id=student,
                competency_ids=("c1",),
                kind="observation",
                observed_on=date(2026, 9, 1),
                recorded_by="da",
                score=Score(value=1, maximum=4),
            )
            await evidence_store.apply_envelope(
                session, new_envelope(fact, district_id=DISTRICT, producer="evidence", subject=student)
            )


async def seed_mastery(app: FastAPI, client: httpx.AsyncClient) -> None:
    from mosaic_mastery.consumers import HANDLERS

    applier = BatchApplier("acl-test", HANDLERS, app.state.ctx.sessions, deps=app.state.ctx.state["store"])
    assert await applier.apply(as_records(roster_events())) == []


async def seed_scheduling(app: FastAPI, client: httpx.AsyncClient) -> None:
    from mosaic_scheduling.consumers import keep_roster

    await through_handler(app, keep_roster)
    admin = headers(("districtAdministrator",), "da")
    base = f"/v1/districts/{DISTRICT}"
    for school, section, block, session, room, teacher in (
        ("S1", "A", "K1", "X1", "R1", "t"),
        ("S2", "B", "K2", "X2", "R2", "t2"),
    ):
        for url, body in (
            (f"schools/{school}", {"publish_mode": "auto"}),
            (f"rooms/{room}", {"school_id": school, "name": room, "capacity": 10}),
            (f"teachers/{teacher}", {"school_id": school, "name": teacher}),
            (
                f"blocks/{block}",
                {
                    "school_id": school,
                    "name": block,
                    "weekday": "TH",
                    "starts_at": "10:00",
                    "minutes": 45,
                    "starts_on": "2026-09-03",
                    "section_ids": [section],
                },
            ),
            (
                f"sessions/{session}?regroup=false",
                {"block_id": block, "title": session, "kind": "enrichment", "room_id": room, "teacher_id": teacher},
            ),
        ):
            answer = await client.put(f"{base}/{url}", json=body, headers=admin)
            assert answer.status_code == 200, answer.text


async def seed_notify(app: FastAPI, client: httpx.AsyncClient) -> None:
    from mosaic_notify.consumers import Wiring, on_roster_changed

    await through_handler(app, on_roster_changed, Wiring(app.state.settings, app.state.clock))


def build(service: str, database_url: str, bootstrap: str | None = None, run: str = "acl") -> FastAPI:
    """The service on the session's broker: writes publish to the catalog topics (this test's district only), its
    consumers read private, empty topics under their own group. Without a broker: Kafka off (the docs' routes)."""
    common: dict[str, Any] = {"database_url": database_url, "oidc_jwks_json": KEY.jwks_json}
    if bootstrap is None:
        common["kafka_enabled"] = False
    else:
        common |= {
            "kafka_bootstrap_servers": bootstrap,
            "topic_overrides": private_topics(run),
            "consumer_group": f"{run}-{service}",
        }
    if service == "evidence":
        from mosaic_evidence.main import build_app
        from mosaic_evidence.settings import EvidenceSettings

        return build_app(EvidenceSettings(**common))
    if service == "mastery":
        from mosaic_mastery.main import build_app as build_mastery
        from mosaic_mastery.settings import MasterySettings

        return build_mastery(MasterySettings(**common))
    if service == "scheduling":
        from mosaic_scheduling.main import build_app as build_scheduling
        from mosaic_scheduling.settings import SchedulingSettings

        return build_scheduling(SchedulingSettings(**common, solver_time_limit_seconds=2))
    from mosaic_notify.main import build_app as build_notify
    from mosaic_notify.settings import NotifySettings

    return build_notify(NotifySettings(**common), clock=lambda: datetime(2026, 9, 1, 16, tzinfo=UTC))


def private_topics(run: str) -> dict[str, str]:
    return {t.name: f"{run}.{t.name}" for t in TOPICS}


async def create_private_topics(bootstrap: str, run: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 1, 1) for name in private_topics(run).values()])
    finally:
        await admin.close()


SEEDS = {"evidence": seed_evidence, "mastery": seed_mastery, "scheduling": seed_scheduling, "notify": seed_notify}


@functools.cache
def headers(roles: tuple[str, ...], user: str, district: str = DISTRICT) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(KEY, district_id=district, user_id=user, roles=roles)}"}


@dataclass(frozen=True)
class Check:
    method: str
    path: str
    caller: str
    relation: str
    district: str


async def capture_decisions(request: Request, call_next: Any) -> Any:
    """Copies the policy's decision onto the response, so the test reads what the table decided."""
    response = await call_next(request)
    decision = request.scope.get("state", {}).get("access")
    if decision is not None:
        response.headers["x-test-access"] = f"{decision.rule.name}:{'allowed' if decision.allowed else 'denied'}"
    return response


def routes_of(app: FastAPI) -> list[tuple[str, str, RouteContext]]:
    """(method, path, route) for every operation in the app's OpenAPI, reads first, removals last."""
    contexts = list(iter_route_contexts(app.routes))
    found = []
    for path, operations in app.openapi()["paths"].items():
        for method in operations:
            route = next(r for r in contexts if r.path == path and method.upper() in (r.methods or ()))
            found.append((method.upper(), path, route))
    order = {"GET": 0, "POST": 1, "PUT": 2, "PATCH": 2, "DELETE": 3}
    return sorted(found, key=lambda f: (order[f[0]], f[1]))


@pytest.fixture
async def app_of(
    database_url: str, kafka_bootstrap: str
) -> AsyncIterator[Callable[[str], Awaitable[tuple[FastAPI, httpx.AsyncClient]]]]:
    stack: list[Any] = []
    run = f"acl-{uuid.uuid4().hex[:8]}"
    await create_private_topics(kafka_bootstrap, run)

    async def start(service: str) -> tuple[FastAPI, httpx.AsyncClient]:
        app = build(service, database_url, kafka_bootstrap, run)
        app.middleware("http")(capture_decisions)
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        stack.append(lifespan)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://acl")
        stack.append(client)
        await SEEDS[service](app, client)
        return app, client

    yield start
    for item in reversed(stack):
        await item.__aexit__(None, None, None)


@pytest.mark.parametrize("service", ["evidence", "mastery", "scheduling", "notify"])
async def test_every_route_answers_every_role_as_the_access_table_says(service: str, app_of, request) -> None:
    app, client = await app_of(service)
    checked, wrong = 0, []
    # Erasures after everything: on the broker an allowed erasure erases the own student for every later check.
    for method, path, route in sorted(routes_of(app), key=lambda r: r[1].endswith("/erasure")):
        rule = declared_rule(route)
        if not path.startswith("/v1/districts/"):
            assert path in PROBES or str(rule).startswith("public:"), f"{method} {path} declares no rule"
            continue
        assert isinstance(rule, Rule), f"{method} {path} declares no access rule"
        for caller, relation, district in itertools.product(CALLERS, ("own", "other"), (DISTRICT, ELSEWHERE)):
            roles, user = CALLERS[caller]
            names = {**FIXED, **(OWN if relation == "own" else OTHER), "district_id": DISTRICT}
            url = path.format(**names)
            body = {"student_id": names["student_id"], "school_id": names["school_id"]}
            answer = await client.request(
                method,
                url,
                headers=headers(roles, user, district),
                json=body if method in ("POST", "PUT", "PATCH") else None,
            )
            checked += 1
            seen = Check(method, path, caller, relation, district)
            if answer.status_code >= 500:
                wrong.append((seen, f"answered {answer.status_code}: {answer.text[:200]}"))
                continue
            if district == ELSEWHERE:
                if answer.status_code != 403:
                    wrong.append((seen, f"another district's token answered {answer.status_code}"))
                continue
            expected = caller in EXPECTED[rule][0 if relation == "own" else 1]
            decided = answer.headers.get("x-test-access", "")
            if decided != f"{rule.name}:{'allowed' if expected else 'denied'}":
                wrong.append(
                    (
                        seen,
                        f"expected {'allowed' if expected else 'denied'}, the policy said {decided!r} "
                        f"({answer.status_code})",
                    )
                )
            elif not expected:
                personal = any(f"{{{name}}}" in path for name in PERSONAL)
                if answer.status_code != (404 if personal else 403):
                    wrong.append((seen, f"denied with {answer.status_code}, not {404 if personal else 403}"))
    request.node.user_properties.append(("access_checks", checked))
    print(f"{service}: {checked} checks")
    assert not wrong, "\n".join(
        f"{c.method} {c.path} as {c.caller} ({c.relation}, {c.district}): {why}" for c, why in wrong[:40]
    )


DOCS = Path(__file__).parents[1] / "docs" / "access.md"
SERVICES = ("evidence", "mastery", "scheduling", "notify")


def routes_markdown() -> str:
    """Every route of every service with the rule it declares (docs/access.md, generated)."""
    lines = ["| service | method | path | rule |", "|---|---|---|---|"]
    for service in SERVICES:
        for method, path, route in routes_of(build(service, "sqlite+aiosqlite:///:memory:")):
            rule = declared_rule(route)
            named = f"`{rule.name}`" if isinstance(rule, Rule) else (rule or "probe, no data")
            lines.append(f"| {service} | {method} | `{path}` | {named} |")
    return "\n".join(lines)


def test_docs_print_the_table_and_every_route_rule() -> None:
    text = DOCS.read_text()
    assert policy_markdown() in text, "docs/access.md is out of date: run `uv run python tests/test_access_matrix.py`"
    assert routes_markdown() in text, "docs/access.md is out of date: run `uv run python tests/test_access_matrix.py`"


if __name__ == "__main__":
    head, _, _ = DOCS.read_text().partition("<!-- generated -->")
    DOCS.write_text(
        f"{head}<!-- generated -->\n\n## The table\n\n{policy_markdown()}\n\n"
        f"## Every route and its rule\n\n{routes_markdown()}\n"
    )
