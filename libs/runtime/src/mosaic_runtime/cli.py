"""The `serve` and `migrate` commands every service's command line shares (one implementation, four CLIs)."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from mosaic_runtime.settings import ServiceSettings

console = Console(stderr=True)


def serve_command(
    settings: Callable[[], ServiceSettings], main_module: str, log_level: str | None = None
) -> Callable[[], None]:
    """`serve`: uvicorn runs `<main_module>:app` on the settings' host and port."""

    def serve() -> None:
        import uvicorn

        loaded = settings()
        uvicorn.run(f"{main_module}:app", host=loaded.http_host, port=loaded.http_port, log_level=log_level)

    return serve


def migrate_command(settings: Callable[[], ServiceSettings], main_module: str) -> Callable[[], None]:
    """`migrate`: upgrade the database to `<main_module>.MIGRATIONS`' head; imports the service only when run."""

    def migrate() -> None:
        from mosaic_runtime.db import run_migrations

        migrations: Path = importlib.import_module(main_module).MIGRATIONS
        database_url = settings().database_url
        asyncio.run(run_migrations(database_url, migrations))
        console.print(f"migrated {database_url.split('@')[-1]}")

    return migrate
