"""The mastery service's tables (SQLAlchemy Core). Every row carries its district (invariant 9)."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Date, Float, Index, Integer, MetaData, String, Table, Text

from mosaic_runtime.audit import audit_tables
from mosaic_runtime.db import runtime_tables

metadata = MetaData()
runtime_tables(metadata)
audit_tables(metadata)

mastery_records = Table(
    "mastery_records",
    metadata,
    Column("district_id", String(64), primary_key=True),
    Column("student_id", String(128), primary_key=True),
    Column("competency_id", String(255), primary_key=True),
    Column("estimate", Float, nullable=True),
    Column("previous_estimate", Float, nullable=True),
    Column("level", String(64), nullable=True),
    Column("trend", String(16), nullable=False),
    Column("method", String(64), nullable=False),
    Column("evidence_count", Integer, nullable=False),
    Column("last_evidence_on", Date, nullable=True),
    Column("next_sequence", Integer, nullable=False),
    Column("observations", Text, nullable=False, doc="JSON: [[evidence_id, observed_on, sequence, score, kind], ...]"),
    Column("method_state", Text, nullable=False, doc="JSON: the method's running sums, for O(1) folding"),
    Column("rolled_up_count", Integer, nullable=False, default=0),
    Column("rolled_up_last_on", Date, nullable=True),
)
Index("ix_mastery_records_district_competency", mastery_records.c.district_id, mastery_records.c.competency_id)

evidence_index = Table(
    "evidence_index",
    metadata,
    Column("district_id", String(64), primary_key=True),
    Column("evidence_id", String(255), primary_key=True),
    Column("student_id", String(128), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("competency_ids", JSON, nullable=False),
    Column("section_id", String(128), nullable=True),
    Column("retracted", Boolean, nullable=False, default=False),
)

district_references = Table(
    "district_references",
    metadata,
    Column("district_id", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("body", Text, nullable=False, doc="JSON: competencies, links, sections, enrollments, students"),
)

district_settings = Table(
    "district_settings",
    metadata,
    Column("district_id", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("body", Text, nullable=False, doc="JSON: DistrictSettings"),
)

section_watches = Table(
    "section_watches",
    metadata,
    Column("district_id", String(64), primary_key=True),
    Column("section_id", String(128), primary_key=True),
    Column("body", Text, nullable=False, doc="JSON: pending level changes since the last grouping"),
)

PROJECTION_TABLES = (mastery_records, evidence_index, district_references, section_watches)
