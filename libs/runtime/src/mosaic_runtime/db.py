"""Each service's own database: async SQLAlchemy, SQLite by default, PostgreSQL in production.

Alembic migrations run at start. The chassis' own tables (outbox, consumer positions,
processed event ids) join each service's metadata so its one Alembic history creates them.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    event,
    text,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

OUTBOX = "mosaic_outbox"
POSITIONS = "mosaic_consumer_positions"
PROCESSED = "mosaic_processed_events"


# The chassis' tables live in their own MetaData so the chassis can query them; a service's
# models call `runtime_tables(metadata)` to add identical definitions to its own metadata,
# which its Alembic history then creates.
RUNTIME_METADATA = MetaData()


def runtime_tables(metadata: MetaData) -> dict[str, Table]:
    """Add the chassis' tables to a service's metadata (call once, in its models module)."""
    if OUTBOX in metadata.tables:
        return {name: metadata.tables[name] for name in (OUTBOX, POSITIONS, PROCESSED)}
    outbox = Table(
        OUTBOX,
        metadata,
        Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("topic", String(255), nullable=False),
        Column("key", LargeBinary, nullable=False),
        Column("value", LargeBinary, nullable=False),
        Column("headers", JSON, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("sent", Boolean, nullable=False, default=False, index=True),
    )
    positions = Table(
        POSITIONS,
        metadata,
        Column("consumer_group", String(255), primary_key=True),
        Column("topic", String(255), primary_key=True),
        Column("partition", Integer, primary_key=True),
        Column("next_offset", BigInteger, nullable=False),
    )
    processed = Table(
        PROCESSED,
        metadata,
        Column("consumer_group", String(255), primary_key=True),
        Column("event_id", String(36), primary_key=True),
    )
    return {OUTBOX: outbox, POSITIONS: positions, PROCESSED: processed}


def make_engine(database_url: str, **kwargs: object) -> AsyncEngine:
    """An async engine; SQLite gets WAL and a busy timeout so a reader never blocks the writer."""
    if database_url.startswith("postgresql://"):
        database_url = database_url.replace("postgresql://", "postgresql+asyncpg://", 1)
    if database_url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30})
    engine = create_async_engine(database_url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(database_url: str, script_location: str | Path) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", database_url)
    return cfg


async def run_migrations(database_url: str, script_location: str | Path) -> None:
    """Upgrade the service's schema to head. The migration env runs on the async engine."""
    cfg = alembic_config(database_url, script_location)
    await asyncio.to_thread(command.upgrade, cfg, "head")


def new_revision(database_url: str, script_location: str | Path, message: str) -> None:
    """Autogenerate a migration from the models (a developer command; review what it writes)."""
    command.revision(alembic_config(database_url, script_location), message=message, autogenerate=True)


async def begin_writing(session: AsyncSession) -> None:
    """Open the session's transaction as a writer: on SQLite `BEGIN IMMEDIATE` takes the write lock now (waiting
    under the busy timeout), and savepoints then nest inside a real transaction — pysqlite opens none before the
    first write, so a RELEASE would commit. Other databases need nothing."""
    if session.bind.dialect.name == "sqlite":
        await session.execute(text("BEGIN IMMEDIATE"))
