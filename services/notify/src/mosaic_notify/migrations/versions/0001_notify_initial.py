"""notify tables and the chassis tables

Revision ID: 0001_notify_initial
Revises: (none)
Create Date: 2026-11-23 18:23:55.111078
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mosaic_runtime.migration_env import create_runtime_tables, drop_runtime_tables


revision: str = "0001_notify_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    create_runtime_tables()
    op.create_table(
        "notify_competencies",
        sa.Column("district_id", sa.String(length=64), nullable=False),
        sa.Column("competency_id", sa.String(length=256), nullable=False),
        sa.Column("code", sa.String(length=128), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("district_id", "competency_id"),
    )
    op.create_table(
        "notify_delivery_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("notification_id", sa.String(length=36), nullable=False),
        sa.Column("district_id", sa.String(length=64), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("notify_delivery_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notify_delivery_log_notification_id"), ["notification_id"], unique=False)

    op.create_table(
        "notify_digest_items",
        sa.Column("district_id", sa.String(length=64), nullable=False),
        sa.Column("guardian_id", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("news_id", sa.String(length=36), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("digest_notification_id", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("district_id", "guardian_id", "channel", "news_id"),
    )
    with op.batch_alter_table("notify_digest_items", schema=None) as batch_op:
        batch_op.create_index("ix_notify_digest_items_due", ["digest_notification_id", "due_at"], unique=False)

    op.create_table(
        "notify_district_rules",
        sa.Column("district_id", sa.String(length=64), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("district_id"),
    )
    op.create_table(
        "notify_guardian_students",
        sa.Column("district_id", sa.String(length=64), nullable=False),
        sa.Column("student_id", sa.String(length=128), nullable=False),
        sa.Column("guardian_id", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("district_id", "student_id", "guardian_id"),
    )
    op.create_table(
        "notify_guardians",
        sa.Column("district_id", sa.String(length=64), nullable=False),
        sa.Column("guardian_id", sa.String(length=128), nullable=False),
        sa.Column("given_name", sa.String(length=200), nullable=False),
        sa.Column("family_name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=64), nullable=True),
        sa.Column("sms", sa.String(length=64), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("district_id", "guardian_id"),
    )
    with op.batch_alter_table("notify_guardians", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notify_guardians_sms"), ["sms"], unique=False)

    op.create_table(
        "notify_news",
        sa.Column("news_id", sa.String(length=36), nullable=False),
        sa.Column("district_id", sa.String(length=64), nullable=False),
        sa.Column("student_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("cause_event_id", sa.String(length=36), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("news_id"),
    )
    op.create_table(
        "notify_notifications",
        sa.Column("notification_id", sa.String(length=36), nullable=False),
        sa.Column("district_id", sa.String(length=64), nullable=False),
        sa.Column("guardian_id", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("news_kind", sa.String(length=32), nullable=False),
        sa.Column("news_ids", sa.JSON(), nullable=False),
        sa.Column("digest", sa.Boolean(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("trace_context", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("notification_id"),
    )
    with op.batch_alter_table("notify_notifications", schema=None) as batch_op:
        batch_op.create_index("ix_notify_notifications_due", ["status", "due_at"], unique=False)
        batch_op.create_index("ix_notify_notifications_guardian", ["district_id", "guardian_id"], unique=False)

    op.create_table(
        "notify_preferences",
        sa.Column("district_id", sa.String(length=64), nullable=False),
        sa.Column("guardian_id", sa.String(length=128), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("district_id", "guardian_id"),
    )
    op.create_table(
        "notify_students",
        sa.Column("district_id", sa.String(length=64), nullable=False),
        sa.Column("student_id", sa.String(length=128), nullable=False),
        sa.Column("given_name", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("district_id", "student_id"),
    )


def downgrade() -> None:

    op.drop_table("notify_students")
    op.drop_table("notify_preferences")
    with op.batch_alter_table("notify_notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notify_notifications_guardian")
        batch_op.drop_index("ix_notify_notifications_due")

    op.drop_table("notify_notifications")
    op.drop_table("notify_news")
    with op.batch_alter_table("notify_guardians", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notify_guardians_sms"))

    op.drop_table("notify_guardians")
    op.drop_table("notify_guardian_students")
    op.drop_table("notify_district_rules")
    with op.batch_alter_table("notify_digest_items", schema=None) as batch_op:
        batch_op.drop_index("ix_notify_digest_items_due")

    op.drop_table("notify_digest_items")
    with op.batch_alter_table("notify_delivery_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notify_delivery_log_notification_id"))

    op.drop_table("notify_delivery_log")
    op.drop_table("notify_competencies")
    drop_runtime_tables()
