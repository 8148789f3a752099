"""Alembic environment for analytics: only the chassis' tables (outbox, consumed positions)."""

from mosaic_analytics.adapters.tables import metadata
from mosaic_runtime.migration_env import run_migrations_from_env

run_migrations_from_env(metadata)
