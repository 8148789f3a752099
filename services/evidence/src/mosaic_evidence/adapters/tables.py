"""The evidence service's own tables: every row carries its district (invariant 9).

Frameworks and rosters are the reference data evidence is checked against; `evidence` is
the current view and `evidence_history` every fact about it, both rebuildable from the log.
"""

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from mosaic_runtime.audit import audit_tables
from mosaic_runtime.db import runtime_tables

metadata = MetaData()
ID = 255

frameworks = Table(
    "frameworks",
    metadata,
    Column("district_id", String(ID), primary_key=True),
    Column("framework_id", String(ID), primary_key=True),
    Column("title", Text, nullable=False),
    Column("version", String(ID)),
    Column("competency_count", Integer, nullable=False),
    Column("rubrics", JSON, nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False),
)

competencies = Table(
    "competencies",
    metadata,
    Column("district_id", String(ID), primary_key=True),
    Column("id", String(ID), primary_key=True),
    Column("framework_id", String(ID), nullable=False),
    Column("code", String(ID)),
    Column("kind", String(64), nullable=False),
    Column("parent_id", String(ID)),
    Column("position", Integer, nullable=False, doc="pre-order position in the framework tree"),
    Column("data", JSON, nullable=False, doc="the catalog's Competency"),
    Column("retired", Boolean, nullable=False, default=False, doc="removed by a later version; evidence keeps it"),
    Index("ix_competencies_code", "district_id", "code"),
    Index("ix_competencies_framework", "district_id", "framework_id", "position"),
)

competency_links = Table(
    "competency_links",
    metadata,
    Column("district_id", String(ID), primary_key=True),
    Column("framework_id", String(ID), primary_key=True),
    Column("origin_id", String(ID), primary_key=True),
    Column("association_type", String(64), primary_key=True),
    Column("destination_id", String(ID), primary_key=True),
)

people = Table(
    "people",
    metadata,
    Column("district_id", String(ID), primary_key=True),
    Column("id", String(ID), primary_key=True),
    Column("role", String(64), nullable=False),
    Column("email", String(ID)),
    Column("data", JSON, nullable=False, doc="the catalog's Person"),
    Index("ix_people_email", "district_id", "email"),
    Index("ix_people_role", "district_id", "role"),
)

person_schools = Table(
    "person_schools",
    metadata,
    Column("district_id", String(ID), primary_key=True),
    Column("school_id", String(ID), primary_key=True),
    Column("person_id", String(ID), primary_key=True),
    Index("ix_person_schools_person", "district_id", "person_id"),
)

sections = Table(
    "sections",
    metadata,
    Column("district_id", String(ID), primary_key=True),
    Column("id", String(ID), primary_key=True),
    Column("school_id", String(ID), nullable=False),
    Column("data", JSON, nullable=False, doc="the catalog's Section"),
    Index("ix_sections_school", "district_id", "school_id"),
)

enrollments = Table(
    "enrollments",
    metadata,
    Column("district_id", String(ID), primary_key=True),
    Column("section_id", String(ID), primary_key=True),
    Column("user_id", String(ID), primary_key=True),
    Column("school_id", String(ID), nullable=False),
    Column("role", String(64), nullable=False),
    Column("is_primary", Boolean, nullable=False, default=False),
    Index("ix_enrollments_user", "district_id", "user_id"),
)

# Bumped in the transaction of every change to a district's people, enrollments or competencies: a process
# keeps what it read of them while the version it read them under is still the district's (adapters/reference_cache).
reference_versions = Table(
    "reference_versions",
    metadata,
    Column("district_id", String(ID), primary_key=True),
    Column("version", Integer, nullable=False),
)

erased_people = Table(
    "erased_people",
    metadata,
    Column("district_id", String(ID), primary_key=True),
    Column("person_id", String(ID), primary_key=True, doc="the SIS id only: a re-import must not bring them back"),
    Column("erasure_id", String(64), nullable=False),
    Column("erased_at", DateTime(timezone=True), nullable=False),
)

roster_imports = Table(
    "roster_imports",
    metadata,
    Column("district_id", String(ID), primary_key=True),
    Column("import_id", String(64), primary_key=True),
    Column("mode", String(16), nullable=False),
    Column("summary", JSON, nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False),
)

evidence = Table(
    "evidence",
    metadata,
    Column("district_id", String(ID), primary_key=True),
    Column("evidence_id", String(64), primary_key=True),
    Column("student_id", String(ID), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("observed_on", Date, nullable=False),
    Column("score_value", Float, nullable=False),
    Column("score_minimum", Float, nullable=False),
    Column("score_maximum", Float, nullable=False),
    Column("comment", Text),
    Column("competency_ids", JSON, nullable=False),
    Column("retracted", Boolean, nullable=False, default=False),
    Column("revision", Integer, nullable=False, default=0),
    Column("recorded", JSON, nullable=False, doc="the original EvidenceRecorded data"),
    Column("source_ref", String(ID)),
    Index("ix_evidence_student", "district_id", "student_id", "observed_on"),
    Index("ix_evidence_source", "district_id", "source_ref"),
)

evidence_competencies = Table(
    "evidence_competencies",
    metadata,
    Column("district_id", String(ID), primary_key=True),
    Column("evidence_id", String(64), primary_key=True),
    Column("competency_id", String(ID), primary_key=True),
    Index("ix_evidence_competencies_competency", "district_id", "competency_id"),
)

evidence_history = Table(
    "evidence_history",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("district_id", String(ID), nullable=False),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("evidence_id", String(64), nullable=False),
    Column("type", String(64), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("envelope", JSON, nullable=False),
    Index("ix_evidence_history_evidence", "district_id", "evidence_id", "seq"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("district_id", String(ID), primary_key=True),
    Column("key", String(ID), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

standards_mappings = Table(
    "standards_mappings",
    metadata,
    Column("district_id", String(ID), primary_key=True),
    Column("mapping", JSON, nullable=False, doc="a StandardsMapping: activities → competencies, actors → students"),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

received_statements = Table(
    "received_statements",
    metadata,
    Column("district_id", String(ID), primary_key=True),
    Column("source", String(16), primary_key=True, doc="xapi or caliper"),
    Column("statement_id", String(ID), primary_key=True, doc="the xAPI statement id or the Caliper event id"),
    Column("content_hash", String(64), nullable=False, doc="sha256 of the content as the standard compares it"),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

learner_plans = Table(
    "learner_plans",
    metadata,
    Column("district_id", String(ID), primary_key=True),
    Column("student_id", String(ID), primary_key=True),
    Column("interests", JSON, nullable=False, doc="what the student names; personal data, never on a topic"),
    Column("strengths", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

plan_goals = Table(
    "plan_goals",
    metadata,
    Column("district_id", String(ID), primary_key=True),
    Column("goal_id", String(ID), primary_key=True),
    Column("student_id", String(ID), nullable=False),
    Column("what", Text, nullable=False),
    Column("why", Text, nullable=False),
    Column("steps", JSON, nullable=False),
    Column("target_date", Date),
    Column("competency_ids", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("reflection", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_plan_goals_student", "district_id", "student_id"),
)

plan_notes = Table(
    "plan_notes",
    metadata,
    Column("district_id", String(ID), primary_key=True),
    Column("note_id", String(ID), primary_key=True),
    Column("student_id", String(ID), nullable=False),
    Column("goal_id", String(ID)),
    Column("kind", String(16), nullable=False, doc="comment or review (at a conference)"),
    Column("author_id", String(ID), nullable=False),
    Column("author_relationship", String(16), nullable=False),
    Column("text", Text, nullable=False),
    Column("written_at", DateTime(timezone=True), nullable=False),
    Index("ix_plan_notes_student", "district_id", "student_id"),
)

runtime_tables(metadata)
audit_tables(metadata)
