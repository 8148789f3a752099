"""learner plans: a student's profile, goals, and the comments and conference reviews on them

Revision ID: 0004_learner_plans
Revises: 0003_audit_trail
Create Date: 2026-11-26 04:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_learner_plans"
down_revision: str | None = "0003_audit_trail"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "learner_plans",
        sa.Column("district_id", sa.String(length=255), nullable=False),
        sa.Column("student_id", sa.String(length=255), nullable=False),
        sa.Column("interests", sa.JSON(), nullable=False),
        sa.Column("strengths", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("district_id", "student_id"),
    )
    op.create_table(
        "plan_goals",
        sa.Column("district_id", sa.String(length=255), nullable=False),
        sa.Column("goal_id", sa.String(length=255), nullable=False),
        sa.Column("student_id", sa.String(length=255), nullable=False),
        sa.Column("what", sa.Text(), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("target_date", sa.Date(), nullable=True),
        sa.Column("competency_ids", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reflection", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("district_id", "goal_id"),
    )
    op.create_index("ix_plan_goals_student", "plan_goals", ["district_id", "student_id"])
    op.create_table(
        "plan_notes",
        sa.Column("district_id", sa.String(length=255), nullable=False),
        sa.Column("note_id", sa.String(length=255), nullable=False),
        sa.Column("student_id", sa.String(length=255), nullable=False),
        sa.Column("goal_id", sa.String(length=255), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("author_id", sa.String(length=255), nullable=False),
        sa.Column("author_relationship", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("district_id", "note_id"),
    )
    op.create_index("ix_plan_notes_student", "plan_notes", ["district_id", "student_id"])


def downgrade() -> None:
    op.drop_index("ix_plan_notes_student", table_name="plan_notes")
    op.drop_table("plan_notes")
    op.drop_index("ix_plan_goals_student", table_name="plan_goals")
    op.drop_table("plan_goals")
    op.drop_table("learner_plans")
