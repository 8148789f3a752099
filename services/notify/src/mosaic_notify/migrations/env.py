"""Alembic environment for notify: the chassis runs it on the async engine."""

from mosaic_notify.adapters.tables import metadata
from mosaic_runtime.migration_env import run_migrations_from_env

run_migrations_from_env(metadata)
