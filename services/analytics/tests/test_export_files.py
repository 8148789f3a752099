"""The export writes every table with its full columns and types, rows or not, so an analyst's query of last
week's files runs on this week's too (an empty table used to have one column)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from mosaic_analytics.service.export import TABLES, export_stream
from mosaic_events import encode, new_envelope
from mosaic_events.catalog import LearningObserved

HEX = "0123456789abcdef" * 2


async def records(values: list[bytes]) -> AsyncIterator[tuple[int, int, bytes]]:
    for offset, value in enumerate(values):
        yield 0, offset, value


async def test_every_table_has_its_columns_even_without_rows(tmp_path: Path) -> None:
    observed = LearningObserved(
        learner=HEX,
        key_version=1,
        evidence=HEX,
        competency_ids=("math-6.S0.T0",),
        kind="rubric_rating",
        observed_on=date(2026, 11, 26),
        score=0.75,
        observer=HEX,
    )
    envelope = new_envelope(observed, district_id="d-1", producer="analytics", school_id="s-1")

    result = await export_stream(records([encode(envelope), encode(envelope), b"not json"]), tmp_path)

    assert result.rows == {table: int(table == "learning_observed") for table in TABLES.values()}
    assert (result.duplicates, result.unreadable) == (1, 1)
    retracted = pq.read_table(tmp_path / "learning_retracted.parquet")
    assert retracted.num_rows == 0
    assert retracted.schema.field("competency_ids").type == pa.list_(pa.string())
    assert retracted.schema.names[:5] == ["event_id", "district_id", "school_id", "occurred_at", "recorded_at"]
    [row] = pq.read_table(tmp_path / "learning_observed.parquet").to_pylist()
    assert row["observed_on"] == date(2026, 11, 26) and row["score"] == 0.75 and row["section"] is None
    assert row["competency_ids"] == ["math-6.S0.T0"] and row["district_id"] == "d-1"
    assignments = pq.read_table(tmp_path / "group_assigned.parquet").schema
    assert assignments.field("starts_at").type == pa.timestamp("us", tz="UTC")
    assert assignments.field("schedule_version").type == pa.int64()
