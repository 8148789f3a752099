"""The chassis against a real broker and real databases: consume effectively once, emit via the outbox,
dead-letter what cannot be read, refuse callers without a valid token for the district."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import uvicorn
from fastapi import APIRouter, Request
from pydantic import BaseModel

from mosaic_events import decode, encode
from mosaic_events.tracing import kafka_headers
from mosaic_runtime.app import create_service
from mosaic_runtime.auth import generate_signing_key, mint_token
from mosaic_runtime.settings import ServiceSettings
from sample_service.harness import (
    KEY,
    MIGRATIONS,
    applied_rows,
    evidence,
    produce,
    read_all,
    running,
    sample_service,
    wait_for,
)
from sample_service.models import metadata


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
        b"the record is 307200 bytes; a EvidenceRecorded may be at most 262144 bytes"
    )
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


# The door: every service's limits on what it reads, over real HTTP (uvicorn on a free port). ------------


class Reading(BaseModel):
    value: float
    note: str = ""


def limited_service(tmp_path, received: list[int]):  # type: ignore[no-untyped-def]
    """A service with a JSON route and a multipart route, 64 KiB for JSON and 256 KiB for uploads."""
    settings = ServiceSettings(
        service_name="door",
        kafka_enabled=False,
        database_url=f"sqlite+aiosqlite:///{tmp_path}/door.db",
        max_request_bytes=64 * 1024,
        max_upload_bytes=256 * 1024,
    )
    router = APIRouter()

    @router.post("/readings")
    async def add_reading(reading: Reading) -> dict[str, float]:
        received.append(len(reading.note))
        return {"value": reading.value}

    @router.post("/uploads")
    async def upload(request: Request) -> dict[str, int]:
        form = await request.form()
        sizes = [len(await f.read()) for _, f in form.multi_items() if not isinstance(f, str)]
        received.append(sum(sizes))
        return {"bytes": sum(sizes)}

    return create_service(settings, title="door", migrations=MIGRATIONS, metadata=metadata, routers=[router])


@asynccontextmanager
async def served(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client
    finally:
        server.should_exit = True
        await task


async def test_a_body_over_the_limit_is_413_read_no_further(tmp_path):
    received: list[int] = []
    async with served(limited_service(tmp_path, received)) as client:
        declared = await client.post("/readings", json={"value": 1, "note": "x" * (5 * 1024 * 1024)})
        assert declared.status_code == 413, declared.text[:200]
        assert "65536 bytes" in declared.json()["detail"]
        sent = 0

        async def stream():  # chunked, no Content-Length: the limit must hold on the stream itself
            nonlocal sent
            yield b'{"value": 1, "note": "'
            for _ in range(5 * 16):
                sent += 64 * 1024
                yield b"x" * (64 * 1024)
            yield b'"}'

        streamed = await client.post("/readings", content=stream(), headers={"Content-Type": "application/json"})
        assert streamed.status_code == 413
        fits = await client.post("/readings", json={"value": 2, "note": "y" * 1000})
        assert fits.status_code == 200 and fits.json() == {"value": 2}
    assert received == [1000]  # the route never saw an oversized body


async def test_a_multipart_upload_is_limited_while_it_streams(tmp_path):
    received: list[int] = []
    async with served(limited_service(tmp_path, received)) as client:
        small = await client.post("/uploads", files={"f": ("a.csv", b"a" * 100_000, "text/csv")})
        assert small.status_code == 200 and small.json() == {"bytes": 100_000}
        big = await client.post("/uploads", files={"f": ("b.csv", b"b" * 400_000, "text/csv")})
        assert big.status_code == 413, big.text[:200]
        assert "262144 bytes" in big.json()["detail"]
        as_json = await client.post(
            "/readings", content=b"{" + b" " * 100_000 + b"}", headers={"Content-Type": "application/json"}
        )
        assert as_json.status_code == 413  # an upload's allowance is not a JSON body's
    assert received == [100_000]


async def test_a_json_route_says_415_to_another_content_type(tmp_path):
    async with served(limited_service(tmp_path, [])) as client:
        for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
            reply = await client.post("/readings", content=b'{"value": 1}', headers={"Content-Type": content_type})
            assert reply.status_code == 415, (content_type, reply.text)
            assert "application/json" in reply.json()["detail"]
        huge = await client.post("/readings", files={"f": ("big.csv", b"z" * 1024 * 1024, "text/csv")})
        assert huge.status_code == 415  # decided before reading: not 413 for passing the upload allowance
        for content_type in ("application/json", "application/json; charset=utf-8", "application/vnd.x+json"):
            reply = await client.post("/readings", content=b'{"value": 1}', headers={"Content-Type": content_type})
            assert reply.status_code == 200, (content_type, reply.text)


async def test_a_422_quotes_only_an_excerpt_of_the_input(tmp_path):
    async with served(limited_service(tmp_path, [])) as client:
        reply = await client.post("/readings", json={"value": "n" * 60_000, "note": 5})
        assert reply.status_code == 422
        assert len(reply.content) < 1_000, len(reply.content)
        errors = {tuple(e["loc"]): e for e in reply.json()["detail"]}
        assert errors[("body", "value")]["input"].endswith("(60002 characters)")
        assert errors[("body", "note")]["input"] == 5  # a short input is quoted as it is
        boolean = await client.post("/readings", json={"value": True})
        assert boolean.status_code == 200  # a plain float field is lax; evidence scores are strict (their test)


async def test_a_422_about_nan_or_a_deeply_nested_input_is_still_a_422(tmp_path):
    async with served(limited_service(tmp_path, [])) as client:
        nan = await client.post(
            "/readings", content=b'{"value": 1, "note": NaN}', headers={"Content-Type": "application/json"}
        )
        assert nan.status_code == 422 and nan.json()["detail"][0]["input"] == "NaN"
        deep = b'{"value": 1, "note": ' + b"[" * 5000 + b"]" * 5000 + b"}"
        reply = await client.post("/readings", content=deep, headers={"Content-Type": "application/json"})
        assert 400 <= reply.status_code < 500, reply.text[:200]
