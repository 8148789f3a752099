"""Notify's tables (SQLAlchemy Core); every row carries its district (invariant 9)."""

from __future__ import annotations

from datetime import UTC

from sqlalchemy import JSON, Boolean, Column, DateTime, Index, Integer, MetaData, String, Table, Text
from sqlalchemy.types import TypeDecorator

from mosaic_runtime.audit import audit_tables
from mosaic_runtime.db import runtime_tables

metadata = MetaData()
runtime_tables(metadata)
audit_tables(metadata)


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; pass an aware datetime")
        return value.astimezone(UTC)  # SQLite keeps wall time only: store everything as UTC

    def process_result_value(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


guardians = Table(
    "notify_guardians",
    metadata,
    Column("district_id", String(64), primary_key=True),
    Column("guardian_id", String(128), primary_key=True),
    Column("given_name", String(200), nullable=False),
    Column("family_name", String(200), nullable=False),
    Column("email", String(320)),
    Column("phone", String(64)),
    Column("sms", String(64), index=True),
    Column("language", String(16), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
)

guardian_students = Table(
    "notify_guardian_students",
    metadata,
    Column("district_id", String(64), primary_key=True),
    Column("student_id", String(128), primary_key=True),
    Column("guardian_id", String(128), primary_key=True),
)

students = Table(
    "notify_students",
    metadata,
    Column("district_id", String(64), primary_key=True),
    Column("student_id", String(128), primary_key=True),
    Column("given_name", String(200), nullable=False),
)

competencies = Table(
    "notify_competencies",
    metadata,
    Column("district_id", String(64), primary_key=True),
    Column("competency_id", String(256), primary_key=True),
    Column("code", String(128)),
    Column("name", Text, nullable=False),
)

preferences = Table(
    "notify_preferences",
    metadata,
    Column("district_id", String(64), primary_key=True),
    Column("guardian_id", String(128), primary_key=True),
    Column("document", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

district_rules = Table(
    "notify_district_rules",
    metadata,
    Column("district_id", String(64), primary_key=True),
    Column("document", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

news = Table(
    "notify_news",
    metadata,
    Column("news_id", String(36), primary_key=True),
    Column("district_id", String(64), nullable=False),
    Column("student_id", String(128), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("cause_event_id", String(36), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("document", JSON, nullable=False),
)

notifications = Table(
    "notify_notifications",
    metadata,
    Column("notification_id", String(36), primary_key=True),
    Column("district_id", String(64), nullable=False),
    Column("guardian_id", String(128), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("news_kind", String(32), nullable=False),  # the kind, or "digest"
    Column("news_ids", JSON, nullable=False),
    Column("digest", Boolean, nullable=False),
    Column("urgent", Boolean, nullable=False, default=False),
    Column("status", String(16), nullable=False),  # pending, sending, delivered, failed, cancelled, in_doubt
    Column("due_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("lease_until", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("last_error", Text),
    Column("trace_context", JSON),  # W3C traceparent of the event that caused it: delivery joins that trace
    Index("ix_notify_notifications_due", "status", "due_at"),
    Index("ix_notify_notifications_guardian", "district_id", "guardian_id"),
)

digest_items = Table(
    "notify_digest_items",
    metadata,
    Column("district_id", String(64), primary_key=True),
    Column("guardian_id", String(128), primary_key=True),
    Column("channel", String(16), primary_key=True),
    Column("news_id", String(36), primary_key=True),
    Column("due_at", UTCDateTime, nullable=False),
    Column("digest_notification_id", String(36)),
    Index("ix_notify_digest_items_due", "digest_notification_id", "due_at"),
)

delivery_log = Table(
    "notify_delivery_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("notification_id", String(36), nullable=False, index=True),
    Column("district_id", String(64), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("outcome", String(32), nullable=False),  # sending, delivered, retry, failed, cancelled, in_doubt, ...
    Column("detail", Text, nullable=False, default=""),
)

told_news = Table(
    "notify_told_news",
    metadata,  # the last time each guardian was told one kind of news about one competency
    Column("district_id", String(64), primary_key=True),
    Column("guardian_id", String(128), primary_key=True),
    Column("news_key", String(512), primary_key=True),
    Column("told_at", UTCDateTime, nullable=False),
    Column("news_id", String(36), nullable=False),
)

instant_counts = Table(
    "notify_instant_counts",
    metadata,  # instant messages planned per guardian, channel and local day
    Column("district_id", String(64), primary_key=True),
    Column("guardian_id", String(128), primary_key=True),
    Column("channel", String(16), primary_key=True),
    Column("day", String(10), primary_key=True),  # ISO date in the guardian's time zone
    Column("sent", Integer, nullable=False),
)
