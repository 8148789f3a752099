"""the audit trail: who read or changed which student's data (mosaic_runtime.audit)

Revision ID: 0003_audit_trail
Revises: 0002_notify_pace
Create Date: 2026-11-26 04:00:00
"""

from collections.abc import Sequence

from mosaic_runtime.audit import create_audit_tables, drop_audit_tables

revision: str = "0003_audit_trail"
down_revision: str | None = "0002_notify_pace"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_audit_tables()


def downgrade() -> None:
    drop_audit_tables()
