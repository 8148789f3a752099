"""The Alembic history creates exactly the tables the code uses (no drift between models and migrations)."""

import asyncio
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import mosaic_evidence
from mosaic_evidence.adapters.tables import metadata
from mosaic_runtime.db import make_engine, run_migrations

MIGRATIONS = Path(mosaic_evidence.__file__).parent / "migrations"


def test_migrations_match_the_tables(database_url):
    async def differences() -> list:
        await run_migrations(database_url, MIGRATIONS)
        engine = make_engine(database_url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(
                    lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}),
                                                  metadata))
        finally:
            await engine.dispose()

    assert asyncio.run(differences()) == []
