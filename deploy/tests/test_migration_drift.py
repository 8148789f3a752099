"""The migration drift check finds what one side lacks, and says which side and what to do."""

from sqlalchemy import Column, Index, MetaData, String, Table, Text

from mosaic_dev.migration_drift import schema_drift
from mosaic_notify.adapters.tables import metadata
from mosaic_notify.main import MIGRATIONS


async def test_a_column_or_table_only_the_code_has_is_reported(database_url: str) -> None:
    drifted = MetaData()
    for table in metadata.tables.values():
        table.to_metadata(drifted)
    first = sorted(drifted.tables)[0]
    drifted.tables[first].append_column(Column("nickname", String(40)))
    Table("reminders", drifted, Column("id", String(36), primary_key=True), Column("body", Text))
    Index("ix_reminders_body", drifted.tables["reminders"].c.body)

    found = await schema_drift(database_url, MIGRATIONS, drifted)

    assert sorted(found) == sorted(
        [
            f"column {first}.nickname is in the code but no migration creates it: add a migration",
            "table reminders is in the code but no migration creates it: add a migration",
            "index ix_reminders_body on reminders is in the code but no migration creates it: add a migration",
        ]
    )


async def test_a_table_only_the_migrations_create_is_reported(database_url: str) -> None:
    trimmed = MetaData()
    for table in metadata.tables.values():
        table.to_metadata(trimmed)
    gone = sorted(trimmed.tables)[-1]
    trimmed.remove(trimmed.tables[gone])

    found = await schema_drift(database_url, MIGRATIONS, trimmed)

    assert any(f.startswith(f"table {gone} is created by the migrations but not in the code") for f in found), found


async def test_a_column_whose_type_differs_is_reported_with_both_types(database_url: str) -> None:
    retyped = MetaData()
    for table in metadata.tables.values():
        table.to_metadata(retyped)
    news = retyped.tables["notify_news"]
    news.c.kind.type = Text()

    found = await schema_drift(database_url, MIGRATIONS, retyped)

    assert found == ["notify_news.kind: type is VARCHAR(32) after the migrations, TEXT in the code"]
