"""A minimal service used to test the chassis for real: it counts the evidence it applied."""

from sqlalchemy import Column, Integer, MetaData, String, Table

from mosaic_runtime.db import runtime_tables

metadata = MetaData()
runtime_tables(metadata)
applied = Table(
    "applied",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("student_id", String(64), nullable=False),
    Column("times", Integer, nullable=False),
)
