"""Throw-away PostgreSQL databases for tests: one fresh, uniquely named database per use, dropped afterwards."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import make_url


def _plain_dsn(url: str, database: str | None = None) -> str:
    """asyncpg wants `postgresql://…` without a SQLAlchemy driver suffix."""
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def async_url(url: str, database: str) -> str:
    """The SQLAlchemy async URL of `database` on the server `url` points at."""
    return make_url(url).set(drivername="postgresql+asyncpg", database=database).render_as_string(hide_password=False)


def _run(coroutine: Any) -> Any:
    """Run a coroutine on its own loop in a worker thread, so a test's event loop is never touched."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _execute(server_url: str, statement: str) -> None:
    import asyncpg

    try:
        connection = await asyncpg.connect(_plain_dsn(server_url), timeout=10)
    except Exception as exc:
        safe = make_url(server_url).render_as_string(hide_password=True)
        raise RuntimeError(
            f"cannot reach PostgreSQL at {safe} (from MOSAIC_TEST_POSTGRES_URL): {exc}. Start the "
            f"server, or unset MOSAIC_TEST_POSTGRES_URL to test on SQLite only."
        ) from exc
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextmanager
def temporary_database(server_url: str, prefix: str = "mosaic_test") -> Iterator[str]:
    """Create a database on the server, yield its `postgresql+asyncpg://` URL, then drop it (closing leftovers)."""
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    _run(_execute(server_url, f'CREATE DATABASE "{name}"'))
    try:
        yield async_url(server_url, name)
    finally:
        _run(_execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
