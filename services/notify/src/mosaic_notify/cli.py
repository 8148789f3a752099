"""`mosaic-notify`: run the service, or upgrade its database."""

from __future__ import annotations

import asyncio

import typer

from mosaic_notify.settings import NotifySettings

app = typer.Typer(help="Mosaic notify: family notifications.", no_args_is_help=True)


@app.command()
def serve() -> None:
    """Run the API, the consumers and the delivery worker (settings from MOSAIC_NOTIFY_*)."""
    import uvicorn

    settings = NotifySettings()
    uvicorn.run("mosaic_notify.main:app", host=settings.http_host, port=settings.http_port, log_level="warning")


@app.command()
def migrate() -> None:
    """Upgrade the database to the latest schema."""
    from mosaic_notify.main import MIGRATIONS
    from mosaic_runtime.db import run_migrations

    asyncio.run(run_migrations(NotifySettings().database_url, MIGRATIONS))


if __name__ == "__main__":
    app()
