"""Alembic environment for evidence: the chassis runs it on the async engine."""

from mosaic_evidence.adapters.tables import metadata
from mosaic_runtime.migration_env import run_migrations_from_env

run_migrations_from_env(metadata)
