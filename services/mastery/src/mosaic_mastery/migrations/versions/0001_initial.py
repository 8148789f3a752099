"""mastery projection, settings, reference, watches, chassis tables

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-23 18:25:16.918629
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mosaic_runtime.migration_env import create_runtime_tables, drop_runtime_tables


revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "district_references",
        sa.Column("district_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("district_id"),
    )
    op.create_table(
        "district_settings",
        sa.Column("district_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("district_id"),
    )
    op.create_table(
        "evidence_index",
        sa.Column("district_id", sa.String(length=64), nullable=False),
        sa.Column("evidence_id", sa.String(length=255), nullable=False),
        sa.Column("student_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("competency_ids", sa.JSON(), nullable=False),
        sa.Column("section_id", sa.String(length=128), nullable=True),
        sa.Column("retracted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("district_id", "evidence_id"),
    )
    op.create_table(
        "mastery_records",
        sa.Column("district_id", sa.String(length=64), nullable=False),
        sa.Column("student_id", sa.String(length=128), nullable=False),
        sa.Column("competency_id", sa.String(length=255), nullable=False),
        sa.Column("estimate", sa.Float(), nullable=True),
        sa.Column("previous_estimate", sa.Float(), nullable=True),
        sa.Column("level", sa.String(length=64), nullable=True),
        sa.Column("trend", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=64), nullable=False),
        sa.Column("evidence_count", sa.Integer(), nullable=False),
        sa.Column("last_evidence_on", sa.Date(), nullable=True),
        sa.Column("next_sequence", sa.Integer(), nullable=False),
        sa.Column("observations", sa.Text(), nullable=False),
        sa.Column("method_state", sa.Text(), nullable=False),
        sa.Column("rolled_up_count", sa.Integer(), nullable=False),
        sa.Column("rolled_up_last_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("district_id", "student_id", "competency_id"),
    )
    with op.batch_alter_table("mastery_records", schema=None) as batch_op:
        batch_op.create_index("ix_mastery_records_district_competency", ["district_id", "competency_id"], unique=False)

    create_runtime_tables()
    op.create_table(
        "section_watches",
        sa.Column("district_id", sa.String(length=64), nullable=False),
        sa.Column("section_id", sa.String(length=128), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("district_id", "section_id"),
    )


def downgrade() -> None:

    op.drop_table("section_watches")
    drop_runtime_tables()
    with op.batch_alter_table("mastery_records", schema=None) as batch_op:
        batch_op.drop_index("ix_mastery_records_district_competency")

    op.drop_table("mastery_records")
    op.drop_table("evidence_index")
    op.drop_table("district_settings")
    op.drop_table("district_references")
