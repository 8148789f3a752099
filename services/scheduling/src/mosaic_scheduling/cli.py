"""`mosaic-scheduling`: run the service or migrate its database."""

from __future__ import annotations

import asyncio

import typer
from rich.console import Console

from mosaic_runtime.db import run_migrations
from mosaic_scheduling.settings import SchedulingSettings

app = typer.Typer(help="Mosaic scheduling service tools.", no_args_is_help=True)
console = Console(stderr=True)


@app.command()
def serve() -> None:
    """Run the service (HTTP API, consumers, outbox relay)."""
    import uvicorn

    settings = SchedulingSettings()
    uvicorn.run("mosaic_scheduling.main:app", host=settings.http_host, port=settings.http_port)


@app.command()
def migrate() -> None:
    """Bring the database schema to the latest version."""
    from mosaic_scheduling.main import MIGRATIONS

    settings = SchedulingSettings()
    asyncio.run(run_migrations(settings.database_url, MIGRATIONS))
    console.print(f"migrated {settings.database_url.split('@')[-1]}")


if __name__ == "__main__":
    app()
