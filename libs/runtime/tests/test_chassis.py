"""The chassis against a real broker and real databases: consume effectively once, emit via the outbox,
dead-letter what cannot be read, refuse callers without a valid token for the district."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from mosaic_events import decode, encode
from mosaic_events.tracing import kafka_headers
from mosaic_runtime.auth import generate_signing_key, mint_token
from sample_service.harness import (
    KEY,
    applied_rows,
    evidence,
    produce,
    read_all,
    running,
    sample_service,
    wait_for,
)


@pytest.mark.integration
async def test_each_event_is_applied_once_and_its_consequence_emitted_once(kafka_bootstrap, database_url, topic):
    group = f"g-{uuid.uuid4().hex[:8]}"
    events = [evidence(f"s-{i % 3}") for i in range(6)]
    records = [(e.kafka_key, encode(e), kafka_headers(e)) for e in events]
    records.append(records[0])  # an upstream re-send of the same envelope
    records.append((b"s-0", b'{"type": "EvidenceRecorded", "version": 1}', []))  # unreadable
    records.append((b"s-1", b" " * (300 * 1024), [("type", b"EvidenceRecorded")]))  # over the size limit
    await produce(kafka_bootstrap, topic, records)

    app = sample_service(kafka_bootstrap, database_url, topic, group)
    async with running(app):

        async def all_applied() -> bool:
            return len(await applied_rows(app)) == len(events)

        await wait_for(all_applied)
        first_run = await applied_rows(app)

    # A restart with a fresh Kafka group re-reads everything; stored positions make it a no-op.
    app2 = sample_service(kafka_bootstrap, database_url, topic, group)
    async with running(app2):
        await asyncio.sleep(3)
        assert await applied_rows(app2) == first_run
    assert set(first_run.values()) == {1}

    dead = await read_all(kafka_bootstrap, f"{topic}.dlq", 2)
    assert len(dead) == 2
    headers = {dict(d.headers)["x-mosaic-reason"]: dict(d.headers) for d in dead}
    assert set(headers) == {b"malformed", b"rejected"}
    assert b"field 'id'" in headers[b"malformed"]["x-mosaic-error"]
    assert headers[b"rejected"]["x-mosaic-error"] == (
        b"the record is 307200 bytes; a EvidenceRecorded may be at most 262144 bytes")
    assert {h["x-mosaic-consumer-group"] for h in headers.values()} == {group.encode()}  # who wrote each

    ids = {str(e.id) for e in events}
    emitted = [decode(r.value) for r in await read_all(kafka_bootstrap, "mosaic.mastery.v1", 10_000, timeout=5)]
    mine = [e for e in emitted if str(e.causation_id) in ids]
    assert len(mine) == len(events)
    assert {str(e.causation_id) for e in mine} == ids


@pytest.mark.integration
async def test_callers_need_a_valid_token_for_the_district(kafka_bootstrap, topic, tmp_path):
    app = sample_service(kafka_bootstrap, f"sqlite+aiosqlite:///{tmp_path}/auth.db", topic, "g-auth")
    other_key = generate_signing_key("not-the-idp")
    async with running(app) as client:
        url = "/v1/districts/d-1/whoami"
        assert (await client.get(url)).status_code == 401
        forged = mint_token(other_key, district_id="d-1", user_id="t-1")
        response = await client.get(url, headers={"Authorization": f"Bearer {forged}"})
        assert response.status_code == 401
        expired = mint_token(KEY, district_id="d-1", user_id="t-1", ttl_seconds=-60)
        response = await client.get(url, headers={"Authorization": f"Bearer {expired}"})
        assert response.status_code == 401 and "expired" in response.json()["detail"]
        other_district = mint_token(KEY, district_id="d-2", user_id="t-1")
        response = await client.get(url, headers={"Authorization": f"Bearer {other_district}"})
        assert response.status_code == 403 and "d-2" in response.json()["detail"]
        good = mint_token(KEY, district_id="d-1", user_id="t-1")
        response = await client.get(url, headers={"Authorization": f"Bearer {good}"})
        assert response.json() == {"user": "t-1", "district": "d-1"}
        assert (await client.get("/healthz")).status_code == 200
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
