"""/readyz follows its dependencies: unready when the broker or the database goes away, ready when they return."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from tcp_proxy import TcpProxy

from sample_service.harness import running, sample_service


async def readiness(client) -> tuple[int, dict]:  # type: ignore[no-untyped-def]
    response = await client.get("/readyz")
    return response.status_code, response.json()["checks"]


async def eventually(client, status: int, timeout: float = 60.0) -> dict:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        code, checks = await readiness(client)
        if code == status:
            return checks
        assert asyncio.get_running_loop().time() < deadline, f"/readyz stayed {code} {checks}, wanted {status}"
        await asyncio.sleep(0.5)


@pytest.mark.integration
async def test_readyz_follows_the_broker(local_kafka, tmp_path):
    app = sample_service(local_kafka.bootstrap, f"sqlite+aiosqlite:///{tmp_path}/ready.db", "test.readiness", "g-r")
    async with running(app) as client:
        assert (await eventually(client, 200)) == {"database": "ok", "broker": "ok"}
        await asyncio.to_thread(local_kafka.stop)
        assert (await eventually(client, 503))["broker"] == "unreachable"
        assert (await client.get("/healthz")).status_code == 200  # alive, just not ready
        await asyncio.to_thread(local_kafka.start)
        assert (await eventually(client, 200))["broker"] == "ok"


def _through_proxy(server_url: str, port: int, database: str) -> str:
    parts = urlsplit(server_url)
    netloc = f"{parts.username}:{parts.password}@127.0.0.1:{port}" if parts.username else f"127.0.0.1:{port}"
    return urlunsplit(("postgresql+asyncpg", netloc, f"/{database}", "", ""))


@pytest.mark.integration
@pytest.mark.postgres
async def test_readyz_follows_the_database(kafka_bootstrap):
    server_url = os.environ.get("MOSAIC_TEST_POSTGRES_URL")
    if not server_url:
        pytest.skip("database loss is tested on PostgreSQL: set MOSAIC_TEST_POSTGRES_URL (.ci/run does)")
    from mosaic_dev.postgres import temporary_database

    with temporary_database(server_url) as url:
        database = urlsplit(url).path.lstrip("/")
        target = urlsplit(server_url)
        proxy = await TcpProxy(target.hostname or "127.0.0.1", target.port or 5432).start()
        app = sample_service(
            kafka_bootstrap, _through_proxy(server_url, proxy.port, database), "test.readiness", "g-db"
        )
        async with running(app) as client:
            assert (await eventually(client, 200))["database"] == "ok"
            await proxy.cut()
            assert (await eventually(client, 503))["database"] == "unreachable"
            await proxy.restore()
            assert (await eventually(client, 200))["database"] == "ok"
        await proxy.cut()
