"""Test support: does a service's Alembic history create exactly the tables its code declares?

Each service's `tests/test_migrations.py` runs the migrations on an empty database (SQLite, and PostgreSQL when
configured) and asserts `await schema_drift(...) == []`; each difference reads as what to change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from mosaic_runtime.db import make_engine, run_migrations


async def schema_drift(database_url: str, migrations: Path, metadata: MetaData) -> list[str]:
    """Migrate an empty database to head, then list how its schema differs from `metadata`."""
    await run_migrations(database_url, migrations)
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_compare, metadata)
    finally:
        await engine.dispose()
    return [describe(d) for d in differences]


def _compare(connection: Connection, metadata: MetaData) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def describe(difference: Any) -> str:
    """One of Alembic's autogenerate differences as a sentence that says which side lacks what."""
    if isinstance(difference, list):  # the modify_* changes of one column come grouped
        return "; ".join(describe(d) for d in difference)
    kind, *details = difference
    if kind in ("add_table", "remove_table"):
        return _sides(kind, f"table {details[0].name}")
    if kind in ("add_column", "remove_column"):
        return _sides(kind, f"column {details[1]}.{details[2].name}")
    if kind in ("add_index", "remove_index", "add_constraint", "remove_constraint"):
        item = details[0]
        return _sides(kind, f"{kind.split('_')[1]} {item.name} on {item.table.name}")
    if kind.startswith("modify_"):
        _schema, table, column, _existing, in_database, in_code = details
        what = kind.removeprefix("modify_")
        return f"{table}.{column}: {what} is {in_database} after the migrations, {in_code} in the code"
    return f"{kind}: {details}"


def _sides(kind: str, what: str) -> str:
    if kind.startswith("add_"):
        return f"{what} is in the code but no migration creates it: add a migration"
    return f"{what} is created by the migrations but not in the code: drop it in a migration, or declare it"
