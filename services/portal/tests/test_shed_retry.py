"""A service that sheds a page's request (503, not started) is asked once more after its Retry-After: a real uvicorn
server behind the chassis' own load shedding, one request in flight at most, while a slow one holds the slot."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from fastapi import FastAPI

from mosaic_dev.kafka import free_port
from mosaic_portal.services import ServiceRefused, Services
from mosaic_portal.settings import PortalSettings
from mosaic_runtime.shedding import InFlightLimit

from .conftest import ThreadedServer


def shedding_service() -> tuple[InFlightLimit, dict[str, int]]:
    """One request in flight at most; `slow` holds the slot for 0.6 s. Counts the requests its routes ran."""
    app = FastAPI()
    ran = {"slow": 0, "fast": 0}

    @app.get("/v1/districts/d-1/slow")
    async def slow() -> dict[str, str]:
        ran["slow"] += 1
        await asyncio.sleep(0.6)
        return {"answer": "slow"}

    @app.get("/v1/districts/d-1/fast")
    async def fast() -> dict[str, str]:
        ran["fast"] += 1
        return {"answer": "fast"}

    return InFlightLimit(app, max_in_flight=1, retry_after_seconds=1), ran


async def ask_while_busy(port: int, longest: float) -> tuple[object, float]:
    settings = PortalSettings(environment="development", evidence_url=f"http://127.0.0.1:{port}")
    async with httpx.AsyncClient(timeout=10) as http:
        services = Services(settings.model_copy(update={"shed_retry_max_seconds": longest}), http, "token", "d-1")
        busy = asyncio.create_task(services.get("evidence", "/slow"))
        await asyncio.sleep(0.2)  # the slow request holds the one slot
        started = time.monotonic()
        try:
            return await services.get("evidence", "/fast"), time.monotonic() - started
        finally:
            assert await busy == {"answer": "slow"}


def test_a_shed_request_is_asked_once_more_after_retry_after_and_answers() -> None:
    service, ran = shedding_service()
    port = free_port()
    with ThreadedServer(service, port):  # type: ignore[arg-type]
        answer, waited = asyncio.run(ask_while_busy(port, longest=2.0))
    assert answer == {"answer": "fast"}
    assert waited >= 1.0  # the service's Retry-After, honoured
    assert ran == {"slow": 1, "fast": 1}  # the shed request never ran: asking again did it once


def test_a_shed_request_is_refused_when_retry_after_is_longer_than_the_portal_waits() -> None:
    service, ran = shedding_service()
    port = free_port()
    with ThreadedServer(service, port), pytest.raises(ServiceRefused) as refused:  # type: ignore[arg-type]
        asyncio.run(ask_while_busy(port, longest=0.5))
    assert refused.value.status == 503 and "retry in 1 s" in refused.value.detail
    assert ran == {"slow": 1, "fast": 0}
