"""The Alembic history creates exactly the tables the code uses: the chassis' outbox and positions, nothing else."""

from mosaic_analytics.adapters.tables import metadata
from mosaic_analytics.main import MIGRATIONS
from mosaic_dev.migration_drift import schema_drift


async def test_migrations_match_the_tables(database_url: str) -> None:
    assert await schema_drift(database_url, MIGRATIONS, metadata) == []
