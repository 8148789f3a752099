"""The Alembic history creates exactly the tables the code uses (no drift between models and migrations)."""

from mosaic_dev.migration_drift import schema_drift
from mosaic_mastery.adapters.tables import metadata
from mosaic_mastery.main import MIGRATIONS


async def test_migrations_match_the_tables(database_url: str) -> None:
    assert await schema_drift(database_url, MIGRATIONS, metadata) == []
