"""reference versions: a counter per district, bumped with every roster, framework or erasure change

Revision ID: 0006_reference_versions
Revises: 0005_erased_people
Create Date: 2026-11-26 07:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_reference_versions"
down_revision: str | None = "0005_erased_people"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reference_versions",
        sa.Column("district_id", sa.String(length=255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("district_id"),
    )


def downgrade() -> None:
    op.drop_table("reference_versions")
