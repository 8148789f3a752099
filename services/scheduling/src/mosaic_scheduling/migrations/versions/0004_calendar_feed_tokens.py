"""calendar feed tokens: read-only, revocable, one calendar each; only their hash is stored

Revision ID: 0004_calendar_feed_tokens
Revises: 0003_audit_trail
Create Date: 2026-11-26 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_calendar_feed_tokens"
down_revision: str | None = "0003_audit_trail"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_feed_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("feed_id", sa.String(length=32), nullable=False),
        sa.Column("district_id", sa.String(length=64), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("token_hash"),
        sa.UniqueConstraint("feed_id"),
    )


def downgrade() -> None:
    op.drop_table("calendar_feed_tokens")
