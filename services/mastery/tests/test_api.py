"""The portal APIs over a real database: profiles with explanations, next targets, heatmaps, summaries,
settings that recalculate through the outbox, and who may read what."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest
from sqlalchemy import select

from mosaic_dev import synthetic_events as synthetic
from mosaic_events import decode
from mosaic_mastery.adapters.store import ProjectionStore
from mosaic_mastery.consumers import HANDLERS
from mosaic_mastery.main import build_app
from mosaic_mastery.settings import MasterySettings
from mosaic_runtime.auth import generate_signing_key, mint_token
from mosaic_runtime.consumer import BatchApplier
from mosaic_runtime.outbox import outbox_table

from .conftest import as_records

D, SECTION, SCHOOL = "d-api", "sec-1", "school-1"
T0, T1, T2 = "math-6.S0.T0", "math-6.S0.T1", "math-6.S0.T2"
KEY = generate_signing_key()


def token(user: str = "teacher-1", roles: tuple[str, ...] = ("teacher",), district: str = D) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(KEY, district_id=district, user_id=user, roles=roles)}"}


@pytest.fixture
async def api(database_url):
    settings = MasterySettings(database_url=database_url, kafka_enabled=False, oidc_jwks_json=KEY.jwks_json)
    app = build_app(settings)
    async with app.router.lifespan_context(app):
        envelopes = [
            synthetic.framework(D, strands=1, per_strand=3),
            synthetic.roster(D, SCHOOL, {SECTION: ["ana", "ben"]}),
        ]
        envelopes += [
            synthetic.evidence(
                D, student, (competency,), score, evidence_id=f"e{n}", observed_on=date(2026, 9, 1) + timedelta(n)
            )
            for n, (student, competency, score) in enumerate(
                [("ana", T0, 4), ("ana", T0, 3), ("ana", T1, 1), ("ben", T0, 1)]
            )
        ]
        applier = BatchApplier("api-test", HANDLERS, app.state.ctx.sessions, deps=ProjectionStore())
        await applier.apply(as_records(envelopes))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mastery") as client:
            yield client, app


async def test_a_profile_lists_every_competency_with_level_trend_and_explanation(api):
    client, _ = api
    answer = await client.get(f"/v1/districts/{D}/students/ana/profile", headers=token())
    assert answer.status_code == 200, answer.text
    entries = {e["competency_id"]: e for e in answer.json()["competencies"]}
    assert set(entries) == {"math-6.S0", T0, T1, T2}
    assert entries[T0]["evidence_count"] == 2 and entries[T0]["trend"] == "falling"
    assert entries[T0]["level"] == "Proficient" and "decaying average" in entries[T0]["explanation"]
    assert "Estimate 0.81 → Proficient (margin 0.05: Advanced needs 0.95" in entries[T0]["explanation"]
    assert entries[T2]["level"] is None and entries[T2]["explanation"] == "No evidence yet."
    assert "Rolled up from its 3 child competencies" in entries["math-6.S0"]["explanation"]


async def test_next_targets_follow_the_progression(api):
    client, _ = api
    answer = await client.get(f"/v1/districts/{D}/students/ana/next-targets", headers=token())
    assert [t["competency_id"] for t in answer.json()["targets"]] == [T1]  # T0 mastered, T2 needs T1
    answer = await client.get(f"/v1/districts/{D}/students/ben/next-targets", headers=token())
    assert [t["competency_id"] for t in answer.json()["targets"]] == [T0]


async def test_class_and_school_summaries_count_levels(api):
    client, _ = api
    section = (await client.get(f"/v1/districts/{D}/sections/{SECTION}/summary", headers=token())).json()
    school = (await client.get(f"/v1/districts/{D}/schools/{SCHOOL}/summary", headers=token())).json()
    t0 = next(c for c in section["competencies"] if c["competency_id"] == T0)
    assert t0["levels"]["Proficient"] == 1 and t0["levels"]["Beginning"] == 1 and t0["mastered_share"] == 0.5
    assert school["students"] == 2 and school["sections"] == 1


async def test_students_read_only_themselves_and_no_one_reads_another_district(api):
    client, _ = api
    own = await client.get(f"/v1/districts/{D}/students/ana/profile", headers=token("ana", ("student",)))
    other = await client.get(f"/v1/districts/{D}/students/ben/profile", headers=token("ana", ("student",)))
    elsewhere = await client.get(f"/v1/districts/{D}/students/ana/profile", headers=token(district="d-other"))
    heatmap = await client.get(f"/v1/districts/{D}/sections/{SECTION}/heatmap", headers=token("ana", ("student",)))
    assert (own.status_code, other.status_code, elsewhere.status_code, heatmap.status_code) == (200, 404, 403, 403)
    assert "no student 'ben'" in other.json()["detail"]  # the answer an unknown student gets: no existence oracle


async def test_a_new_method_recalculates_and_emits_marked_changes(api):
    client, app = api
    admin = token("admin-1", ("districtAdministrator",))
    denied = await client.put(f"/v1/districts/{D}/settings", json={"method": {"name": "highest"}}, headers=token())
    assert denied.status_code == 403
    bad = await client.put(f"/v1/districts/{D}/settings", json={"method": {"name": "vibes"}}, headers=admin)
    assert bad.status_code == 422 and "vibes" in bad.text
    answer = await client.put(f"/v1/districts/{D}/settings", json={"method": {"name": "average"}}, headers=admin)
    assert answer.status_code == 200 and answer.json()["recalculated"] is True
    async with app.state.ctx.sessions() as session:
        emitted = [decode(v) for v in await session.scalars(select(outbox_table().c.value))]
    recalculated = [e for e in emitted if e.data.recalculation]
    assert recalculated and all(e.causation_id is None for e in recalculated)
    assert {(e.subject, e.data.competency_id, e.data.new_level) for e in recalculated} >= {("ana", T0, "Advanced")}
    profile = (await client.get(f"/v1/districts/{D}/students/ana/profile", headers=token())).json()
    t0 = next(c for c in profile["competencies"] if c["competency_id"] == T0)
    assert t0["method"] == "average" and t0["estimate"] == pytest.approx(0.875)


async def test_grouping_competencies_must_exist_in_the_framework(api):
    client, _ = api
    url = f"/v1/districts/{D}/sections/{SECTION}/grouping-competencies"
    wrong = await client.put(url, json={"competency_ids": ["nope"]}, headers=token())
    right = await client.put(url, json={"competency_ids": [T0, T1]}, headers=token())
    assert wrong.status_code == 422 and "nope" in wrong.json()["detail"]
    assert right.status_code == 200 and right.json()["competency_ids"] == [T0, T1]
    heatmap = (await client.get(f"/v1/districts/{D}/sections/{SECTION}/heatmap", headers=token())).json()
    assert heatmap["grouping_competencies"] == [T0, T1] and len(heatmap["students"]) == 2


async def test_a_students_self_rating_counts_only_once_the_district_turns_self_assessments_on(api):
    client, app = api
    rating = synthetic.evidence(
        D, "ben", (T0,), 4, evidence_id="self-1", observed_on=date(2026, 9, 20), kind="self_assessment"
    )
    later = BatchApplier("api-test-later", HANDLERS, app.state.ctx.sessions, deps=ProjectionStore())  # own offsets
    await later.apply(as_records([rating]))
    url = f"/v1/districts/{D}/students/ben/profile"

    def t0(profile: dict) -> dict:
        return next(c for c in profile["competencies"] if c["competency_id"] == T0)

    before = t0((await client.get(url, headers=token())).json())
    assert before["evidence_count"] == 2 and before["estimate"] == pytest.approx(0.25)
    assert "1 goals or self-assessments are kept but not counted" in before["explanation"]
    settings = (await client.get(f"/v1/districts/{D}/settings", headers=token())).json()
    assert settings["count_goals"] is False and settings["count_self_assessments"] is False
    admin = token("admin-1", ("districtAdministrator",))
    answer = await client.put(f"/v1/districts/{D}/settings", json={"count_self_assessments": True}, headers=admin)
    assert answer.status_code == 200 and answer.json()["recalculated"] is True
    after = t0((await client.get(url, headers=token())).json())
    assert after["estimate"] > before["estimate"] and "kept but not counted" not in after["explanation"]
