"""roster people keep their schools and related people (the access policy reads them)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 03:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("roster_people") as batch:
        batch.add_column(sa.Column("school_ids", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch.add_column(sa.Column("related_ids", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))


def downgrade() -> None:
    with op.batch_alter_table("roster_people") as batch:
        batch.drop_column("related_ids")
        batch.drop_column("school_ids")
