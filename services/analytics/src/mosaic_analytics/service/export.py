"""Materialize the analytics stream into one Parquet file per record type an analyst can open.

Idempotent: every run reads the stream from its first offset, drops repeated event ids (a relay retry
may publish one twice) and replaces the files atomically, so running it again gives the same files.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from types import NoneType, UnionType
from typing import Any, Literal, Union, get_args, get_origin

from mosaic_events import Envelope, EventData
from mosaic_events.catalog import GroupAssigned, LearningCorrected, LearningObserved, LearningRetracted, LevelChanged
from mosaic_events.errors import EventError
from mosaic_events.serde import decode

TABLES = {
    LearningObserved.event_type: "learning_observed",
    LearningCorrected.event_type: "learning_corrected",
    LearningRetracted.event_type: "learning_retracted",
    LevelChanged.event_type: "level_changed",
    GroupAssigned.event_type: "group_assigned",
}
MODELS: dict[str, type[EventData]] = {
    table: model
    for model in (LearningObserved, LearningCorrected, LearningRetracted, LevelChanged, GroupAssigned)
    for event_type, table in TABLES.items()
    if model.event_type == event_type
}


@dataclass
class Export:
    """What one run read and wrote."""

    records_read: int = 0
    duplicates: int = 0
    unreadable: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)


def row_of(envelope: Envelope) -> dict[str, Any]:
    """One flat row: the envelope's who-and-when (no subject: analytics records have none) and the data."""
    row: dict[str, Any] = {
        "event_id": str(envelope.id),
        "district_id": envelope.district_id,
        "school_id": envelope.school_id,
        "occurred_at": envelope.occurred_at,
        "recorded_at": envelope.recorded_at,
    }
    for name, value in envelope.data.model_dump().items():
        row[name] = list(value) if isinstance(value, tuple) else value
    return row


def arrow_type(annotation: Any) -> Any:
    """The Arrow type of a record field, so every file has its columns and types even with no rows."""
    import pyarrow as pa

    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, UnionType):
        (inner,) = [a for a in args if a is not NoneType]
        return arrow_type(inner)
    if origin in (tuple, list):
        return pa.list_(arrow_type(args[0]))
    if origin is Literal:
        return arrow_type(type(args[0]))
    simple = {
        str: pa.string(),
        int: pa.int64(),
        float: pa.float64(),
        bool: pa.bool_(),
        date: pa.date32(),
        datetime: pa.timestamp("us", tz="UTC"),
    }
    return simple[annotation]


def arrow_schema(table: str) -> Any:
    """The envelope's who-and-when, then the record's fields, as `row_of` lays them out."""
    import pyarrow as pa

    columns = {
        "event_id": pa.string(),
        "district_id": pa.string(),
        "school_id": pa.string(),
        "occurred_at": pa.timestamp("us", tz="UTC"),
        "recorded_at": pa.timestamp("us", tz="UTC"),
    }
    for name, info in MODELS[table].model_fields.items():
        columns[name] = arrow_type(info.annotation)
    return pa.schema(list(columns.items()))


async def export_stream(
    records: AsyncIterator[tuple[int, int, bytes]], out_dir: Path, advance: Callable[[int], None] = lambda _n: None
) -> Export:
    """Read every record, then write `<table>.parquet` per record type and `manifest.json`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    result = Export()
    seen: set[str] = set()
    rows: dict[str, list[dict[str, Any]]] = {table: [] for table in TABLES.values()}
    async for _partition, _offset, value in records:
        result.records_read += 1
        advance(1)
        try:
            envelope = decode(value)
        except EventError:
            result.unreadable += 1
            continue
        table = TABLES.get(envelope.type)
        if table is None:
            result.unreadable += 1
            continue
        if str(envelope.id) in seen:
            result.duplicates += 1
            continue
        seen.add(str(envelope.id))
        rows[table].append(row_of(envelope))
    out_dir.mkdir(parents=True, exist_ok=True)
    for table, table_rows in rows.items():
        path = out_dir / f"{table}.parquet"
        result.rows[table] = len(table_rows)
        table_rows.sort(key=lambda r: (r["occurred_at"], r["event_id"]))
        temporary = path.with_suffix(".parquet.tmp")
        pq.write_table(pa.Table.from_pylist(table_rows, schema=arrow_schema(table)), temporary)
        os.replace(temporary, path)
        result.files.append(path)
    manifest = {
        "rows": result.rows,
        "records_read": result.records_read,
        "duplicates": result.duplicates,
        "unreadable": result.unreadable,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, default=_json_default) + "\n")
    return result


def _json_default(value: object) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)
