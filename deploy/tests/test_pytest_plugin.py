"""The test harness: broker choice order, throw-away databases, and the `mosaic-dev` CLI."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from typer.testing import CliRunner

from mosaic_dev import pytest_plugin
from mosaic_dev.cli import app
from mosaic_dev.kafka import lib_dir


def test_configured_bootstrap_wins_over_docker_and_launcher(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    source, broker = pytest_plugin._broker_source()
    assert "KAFKA_BOOTSTRAP_SERVERS" in source
    with broker as bootstrap:
        assert bootstrap == "127.0.0.1:1"


def test_without_configured_broker_or_docker_the_local_launcher_is_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.setattr(pytest_plugin, "_docker_answers", lambda: False)
    source, _broker = pytest_plugin._broker_source()  # not entered: nothing is started
    assert "local launcher" in source


async def _count_rows(url: str) -> int:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(sa.text("CREATE TABLE probe (id INTEGER PRIMARY KEY, note TEXT)"))
            await connection.execute(sa.text("INSERT INTO probe (id, note) VALUES (1, 'a'), (2, 'b')"))
        async with engine.connect() as connection:
            return (await connection.execute(sa.text("SELECT count(*) FROM probe"))).scalar_one()
    finally:
        await engine.dispose()


async def _database_exists(server_url: str, name: str) -> bool:
    engine = create_async_engine(make_url(server_url).set(drivername="postgresql+asyncpg"))
    try:
        async with engine.connect() as connection:
            found = await connection.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            return found.first() is not None
    finally:
        await engine.dispose()


async def test_database_url_is_a_fresh_empty_database(database_url: str) -> None:
    assert await _count_rows(database_url) == 2  # CREATE TABLE would fail if an earlier test left one


async def test_temporary_postgres_database_is_dropped_afterwards(database_url: str) -> None:
    """On SQLite the URL points into the test's own temp folder; on PostgreSQL the database goes away after use."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        assert url.drivername == "sqlite+aiosqlite"
        return
    from mosaic_dev.postgres import temporary_database

    server_url = os.environ[pytest_plugin.POSTGRES_URL_VARIABLE]
    with temporary_database(server_url) as inner_url:
        name = make_url(inner_url).database
        assert await _database_exists(server_url, name)
        assert await _count_rows(inner_url) == 2
    assert not await _database_exists(server_url, name)


def test_cli_fetch_only_reports_the_jar_cache() -> None:
    result = CliRunner().invoke(app, ["kafka", "--fetch-only"])
    assert result.exit_code == 0, result.output
    assert str(lib_dir()) in result.output
