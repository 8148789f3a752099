"""analytics: the chassis tables

Revision ID: 0001_analytics_initial
Revises: (none)
Create Date: 2026-11-26 04:55:00
"""

from collections.abc import Sequence

from mosaic_runtime.migration_env import create_runtime_tables, drop_runtime_tables

revision: str = "0001_analytics_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_runtime_tables()


def downgrade() -> None:
    drop_runtime_tables()
