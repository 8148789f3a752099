"""erased people: the ids a district erased, so a roster re-import skips them

Revision ID: 0005_erased_people
Revises: 0004_learner_plans
Create Date: 2026-11-26 07:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_erased_people"
down_revision: str | None = "0004_learner_plans"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "erased_people",
        sa.Column("district_id", sa.String(length=255), nullable=False),
        sa.Column("person_id", sa.String(length=255), nullable=False),
        sa.Column("erasure_id", sa.String(length=64), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("district_id", "person_id"),
    )


def downgrade() -> None:
    op.drop_table("erased_people")
