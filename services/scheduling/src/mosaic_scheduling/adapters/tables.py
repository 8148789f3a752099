"""The scheduling service's tables. Every row carries its district (invariant 9)."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Date, DateTime, Float, Integer, MetaData, String, Table, Text

from mosaic_runtime.audit import audit_tables
from mosaic_runtime.db import runtime_tables

metadata = MetaData()
runtime_tables(metadata)
audit_tables(metadata)


def _district() -> Column:
    return Column("district_id", String(64), primary_key=True)


schools = Table(
    "schools",
    metadata,
    _district(),
    Column("id", String(64), primary_key=True),
    Column("publish_mode", String(16), nullable=False, default="auto"),  # auto | approval
    Column("timezone", String(64), nullable=False, default="UTC"),  # IANA name; blocks are in local time
)

blocks = Table(
    "blocks",
    metadata,
    _district(),
    Column("id", String(64), primary_key=True),
    Column("school_id", String(64), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("weekday", String(2), nullable=False),
    Column("starts_at", String(5), nullable=False),  # HH:MM, the school's wall clock
    Column("minutes", Integer, nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("until", Date),
    Column("every_weeks", Integer, nullable=False, default=1),
    Column("section_ids", JSON, nullable=False, default=list),
    Column("student_ids", JSON, nullable=False, default=list),
)

rooms = Table(
    "rooms",
    metadata,
    _district(),
    Column("id", String(64), primary_key=True),
    Column("school_id", String(64), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("capacity", Integer, nullable=False),
)

teachers = Table(
    "teachers",
    metadata,
    _district(),
    Column("id", String(64), primary_key=True),
    Column("school_id", String(64), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("expertise", JSON, nullable=False, default=list),
    Column("availability", JSON, nullable=False, default=list),  # [{weekday, starts_at, ends_at}]
)

sessions = Table(
    "sessions",
    metadata,
    _district(),
    Column("id", String(64), primary_key=True),
    Column("block_id", String(64), nullable=False, index=True),
    Column("school_id", String(64), nullable=False),
    Column("title", String(200), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("room_id", String(64)),
    Column("teacher_id", String(64)),
    Column("competency_ids", JSON, nullable=False, default=list),
    Column("band_lowest", Integer),
    Column("band_highest", Integer),
    Column("capacity", Integer),
    Column("locked", Boolean, nullable=False, default=False),
)

support_plans = Table(
    "support_plans",
    metadata,
    _district(),
    Column("student_id", String(64), primary_key=True),
    Column("required_kind", String(20), nullable=False),
    Column("note", Text, nullable=False, default=""),
)

student_requests = Table(
    "student_requests",
    metadata,
    _district(),
    Column("block_id", String(64), primary_key=True),
    Column("student_id", String(64), primary_key=True),
    Column("session_ids", JSON, nullable=False),
)

placements = Table(
    "placements",
    metadata,
    _district(),
    Column("id", String(64), primary_key=True),
    Column("block_id", String(64), nullable=False, index=True),
    Column("student_id", String(64), nullable=False),
    Column("session_id", String(64), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("placed_by", String(64), nullable=False),
    Column("placed_at", DateTime(timezone=True), nullable=False),
    Column("state", String(10), nullable=False),
    Column("note", Text, nullable=False, default=""),
)

# Local views of other services' facts, kept from their topics.
mastery_levels = Table(
    "mastery_levels",
    metadata,
    _district(),
    Column("student_id", String(64), primary_key=True),
    Column("competency_id", String(64), primary_key=True),
    Column("rank", Integer, nullable=False),
    Column("label", String(64), nullable=False),
    Column("code", String(64)),
)

roster_sections = Table(
    "roster_sections",
    metadata,
    _district(),
    Column("id", String(64), primary_key=True),
    Column("school_id", String(64), nullable=False),
    Column("title", String(200), nullable=False),
)

roster_people = Table(
    "roster_people",
    metadata,
    _district(),
    Column("id", String(64), primary_key=True),
    Column("role", String(32), nullable=False),
    Column("given_name", String(100), nullable=False),
    Column("family_name", String(100), nullable=False),
    Column("school_ids", JSON, nullable=False, default=list),
    Column("related_ids", JSON, nullable=False, default=list, doc="a guardian's students (the access policy)"),
)

roster_enrollments = Table(
    "roster_enrollments",
    metadata,
    _district(),
    Column("section_id", String(64), primary_key=True),
    Column("user_id", String(64), primary_key=True),
    Column("role", String(32), nullable=False),
)

schedules = Table(
    "schedules",
    metadata,
    _district(),
    Column("block_id", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("school_id", String(64), nullable=False),
    Column("status", String(12), nullable=False),  # draft | published | superseded | discarded | infeasible
    Column("trigger", String(200), nullable=False),
    Column("cause_event_id", String(36)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("published_at", DateTime(timezone=True)),
    Column("method", String(100), nullable=False, default=""),
    Column("cost", Integer),
    Column("bound", Float),
    Column("causes", JSON, nullable=False, default=list),
    Column("notes", JSON, nullable=False, default=list),
)

schedule_assignments = Table(
    "schedule_assignments",
    metadata,
    _district(),
    Column("block_id", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("student_id", String(64), primary_key=True),
    Column("session_id", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("pinned", Boolean, nullable=False, default=False),
    Column("previous_session_id", String(64)),
    Column("fit_key", String(32), nullable=False, default=""),
    Column("notes", JSON, nullable=False, default=list),
)

attendance = Table(
    "attendance",
    metadata,
    _district(),
    Column("block_id", String(64), primary_key=True),
    Column("session_id", String(64), primary_key=True),
    Column("block_date", Date, primary_key=True),
    Column("student_id", String(64), primary_key=True),
    Column("status", String(10), nullable=False),
    Column("taken_by", String(64), nullable=False),
    Column("taken_at", DateTime(timezone=True), nullable=False),
)

feed_tokens = Table(
    "calendar_feed_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True, doc="SHA-256 of the token; the token itself is never stored"),
    Column("feed_id", String(32), nullable=False, unique=True),
    Column("district_id", String(64), nullable=False),
    Column("subject_kind", String(16), nullable=False),  # student | teacher
    Column("subject_id", String(64), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)
