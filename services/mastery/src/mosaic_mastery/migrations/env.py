"""Alembic environment of the mastery service (runs on the async engine, see mosaic_runtime.migration_env)."""

from mosaic_mastery.adapters.tables import metadata
from mosaic_runtime.migration_env import run_migrations_from_env

run_migrations_from_env(metadata)
