"""The REST API without a broker: preferences, who may change them, SMS STOP from the provider."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from mosaic_notify.adapters import store
from mosaic_notify.domain.contacts import Guardian
from mosaic_notify.domain.signing import SIGNATURE_HEADER, webhook_signature
from mosaic_notify.main import build_app
from mosaic_notify.settings import NotifySettings
from mosaic_runtime.auth import generate_signing_key, mint_token

KEY = generate_signing_key()
PREFS = "/v1/districts/d1/guardians/g1/preferences"


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = NotifySettings(
        database_url=database_url,
        kafka_enabled=False,
        delivery_enabled=False,
        oidc_jwks_json=KEY.jwks_json,
        inbound_webhook_secret="provider-secret",
    )
    app = build_app(settings)
    async with app.router.lifespan_context(app):
        async with app.state.ctx.sessions() as session, session.begin():
            await store.save_guardian(
                session, Guardian("d1", "g1", "José", "P", "j@x.org", None, "+15550001", "es", ("s1",))
            )
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            yield client


def auth(district: str = "d1", user: str = "portal", roles: tuple[str, ...] = ("portal",)) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(KEY, district_id=district, user_id=user, roles=roles)}"}


async def test_defaults_come_from_the_roster_language_until_a_portal_sets_preferences(api: httpx.AsyncClient):
    reply = await api.get(PREFS, headers=auth())
    assert reply.status_code == 200 and reply.json()["language"] == "es"
    body = {**reply.json(), "timezone": "America/Chicago", "quiet_hours": {"start": "20:00", "end": "06:30"}}
    assert (await api.put(PREFS, headers=auth(), json=body)).status_code == 200
    assert (await api.get(PREFS, headers=auth())).json()["quiet_hours"] == {"start": "20:00:00", "end": "06:30:00"}


async def test_bad_requests_say_what_is_wrong(api: httpx.AsyncClient):
    assert (await api.get(PREFS)).status_code == 401
    assert (await api.get(PREFS, headers=auth(district="d2"))).status_code == 403
    other = await api.get(PREFS, headers=auth(user="g2", roles=("parent",)))
    assert other.status_code == 404 and "no guardian 'g1'" in other.json()["detail"]  # as if g1 did not exist
    for intruder in (auth(user="s1", roles=("student",)), auth(user="x", roles=())):  # a child, a roleless token
        assert (await api.get(PREFS, headers=intruder)).status_code == 404
        assert (await api.put(PREFS, headers=intruder, json={"language": "en"})).status_code == 404
        assert (await api.get(PREFS.replace("preferences", "notifications"), headers=intruder)).status_code == 404
    assert (await api.get(PREFS, headers=auth(user="g1", roles=("parent",)))).status_code == 200
    unknown = await api.get("/v1/districts/d1/guardians/nobody/preferences", headers=auth())
    assert unknown.status_code == 404
    body = {"language": "es", "timezone": "Mars/Olympus", "channels": {"email": {"frequency": "daily"}}}
    bad_zone = await api.put(PREFS, headers=auth(), json=body)
    assert bad_zone.status_code == 422 and "unknown time zone" in bad_zone.text
    rules = await api.put("/v1/districts/d1/rules", headers=auth(), json={"urgent_kinds": ["needs_support"]})
    assert rules.status_code == 403  # district rules are for administrators


async def test_an_sms_stop_reported_by_the_provider_opts_the_number_out_and_start_opts_it_back_in(
    api: httpx.AsyncClient,
):
    async def reply(text: str, secret: str = "provider-secret") -> httpx.Response:
        body = json.dumps({"from": "+15550001", "text": text}).encode()
        return await api.post(
            "/v1/providers/sms/inbound",
            content=body,
            headers={
                SIGNATURE_HEADER: webhook_signature(secret, int(time.time()), body),
                "Content-Type": "application/json",
            },
        )

    assert (await reply("STOP", secret="forged")).status_code == 401
    stopped = await reply("stop please")
    assert stopped.json() == {"action": "opt_out", "guardians": 1}
    assert (await api.get(PREFS, headers=auth())).json()["opted_out"] == ["sms"]
    assert (await reply("START")).json() == {"action": "opt_in", "guardians": 1}
    assert (await api.get(PREFS, headers=auth())).json()["opted_out"] == []
