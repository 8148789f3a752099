from mosaic_runtime.migration_env import run_migrations_from_env

from sample_service.models import metadata

run_migrations_from_env(metadata)
