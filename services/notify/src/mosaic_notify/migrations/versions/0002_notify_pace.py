"""notify: what each guardian was told lately, and instant messages per day (against notification fatigue)

Revision ID: 0002_notify_pace
Revises: 0001_notify_initial
Create Date: 2026-11-26 03:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_notify_pace"
down_revision: str | None = "0001_notify_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notify_told_news",
        sa.Column("district_id", sa.String(length=64), nullable=False),
        sa.Column("guardian_id", sa.String(length=128), nullable=False),
        sa.Column("news_key", sa.String(length=512), nullable=False),
        sa.Column("told_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("news_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("district_id", "guardian_id", "news_key"),
    )
    op.create_table(
        "notify_instant_counts",
        sa.Column("district_id", sa.String(length=64), nullable=False),
        sa.Column("guardian_id", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("district_id", "guardian_id", "channel", "day"),
    )


def downgrade() -> None:
    op.drop_table("notify_instant_counts")
    op.drop_table("notify_told_news")
