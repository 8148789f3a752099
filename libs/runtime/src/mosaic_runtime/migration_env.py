"""The body of every service's Alembic `env.py`: run migrations on the async engine.

A service's env.py is two lines:
    from mosaic_runtime.migration_env import run_migrations_from_env
    run_migrations_from_env(metadata)
"""

from __future__ import annotations

import asyncio

from alembic import context, op
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from mosaic_runtime.db import make_engine, runtime_tables


def run_migrations_from_env(target_metadata: MetaData) -> None:
    url = context.config.get_main_option("sqlalchemy.url") or ""
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_online(url, target_metadata))


async def _run_online(url: str, target_metadata: MetaData) -> None:
    engine = make_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(_run_sync, target_metadata)
        await connection.commit()
    await engine.dispose()


def _run_sync(connection: Connection, target_metadata: MetaData) -> None:
    # render_as_batch lets ALTERs work on SQLite too.
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def create_runtime_tables() -> None:
    """In a service's first migration: the chassis' tables (outbox, consumer positions, processed ids),
    from the one definition in `mosaic_runtime.db.runtime_tables`."""
    metadata = MetaData()
    runtime_tables(metadata)
    metadata.create_all(op.get_bind())


def drop_runtime_tables() -> None:
    metadata = MetaData()
    runtime_tables(metadata)
    metadata.drop_all(op.get_bind())
